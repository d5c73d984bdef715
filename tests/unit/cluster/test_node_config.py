"""The real node's configuration: what each file promises, checked without starting it.

These are the decisions that keep a pod's traffic on the machine and the host
unchanged; the integration tests prove the same promises on a running node.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

from charthouse.cluster.providers.embedded import (
    cni,
    containerd,
    dns,
    kubelet,
    kubeproxy,
    kwok,
    loadbalancer,
    network,
    storage,
)


def _containerd_config(tmp_path: Path) -> dict[str, Any]:
    paths = containerd.ContainerdPaths(tmp_path / "containerd")
    text = containerd.config(
        paths,
        runc=tmp_path / "runc",
        shim=tmp_path / "shim",
        cni_bin_dir=tmp_path / "cni-bin",
        cni_conf_dir=tmp_path / "cni-conf",
        sandbox_image="registry.k8s.io/pause:3.10.2",
    )
    return tomllib.loads(text)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_containerd_keeps_every_path_in_the_state_dir(tmp_path: Path) -> None:
    config = _containerd_config(tmp_path)
    assert config["imports"] == [], "the host's /etc/containerd/conf.d must not apply"
    paths = [s for s in _strings(config) if s.startswith("/")]
    assert paths and all(p.startswith(str(tmp_path)) for p in paths), paths
    plugins = config["plugins"]
    assert plugins["io.containerd.server.v1.grpc"]["address"].startswith(str(tmp_path))


def test_containerd_settings_these_machines_need(tmp_path: Path) -> None:
    runtime = _containerd_config(tmp_path)["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True  # no CAP_SYS_RESOURCE here
    assert runtime["netns_mounts_under_state_dir"] is True
    assert "io.containerd.nri.v1.nri" in _containerd_config(tmp_path)["disabled_plugins"]


def test_mirrors_never_fall_back_to_the_upstream_registry(tmp_path: Path) -> None:
    containerd.write_mirrors(tmp_path, "127.0.0.1:5000", ["docker.io", "registry.k8s.io"])
    for host in ("docker.io", "registry.k8s.io", "127.0.0.1:5000"):
        hosts = tomllib.loads((tmp_path / host / "hosts.toml").read_text())
        assert hosts["server"] == "http://127.0.0.1:5000"
        assert list(hosts["host"]) == ["http://127.0.0.1:5000"]


def test_pods_get_no_default_route_and_no_masquerade(tmp_path: Path) -> None:
    bridge, portmap = cni.conflist(tmp_path)["plugins"]
    assert bridge["ipMasq"] is False and bridge["isDefaultGateway"] is False
    routes = {route["dst"] for route in bridge["ipam"]["routes"]}
    assert routes == {str(network.CLUSTER_CIDR), str(network.SERVICE_CIDR)}
    assert "0.0.0.0/0" not in routes
    assert bridge["ipam"]["dataDir"] == str(tmp_path)
    assert portmap["conditionsV4"] == ["-d", f"{network.NODE_IP}/32"]


def test_kubelet_listens_on_the_node_address_and_gives_pods_no_host_resolver(
    tmp_path: Path,
) -> None:
    paths = kubelet.KubeletPaths(tmp_path)
    config = kubelet.config(
        paths,
        port=10250,
        healthz_port=10248,
        runtime_socket=tmp_path / "containerd.sock",
        ca_cert=tmp_path / "ca.crt",
        serving_cert=tmp_path / "kubelet.crt",
        serving_key=tmp_path / "kubelet.key",
    )
    assert config["failCgroupV1"] is False
    assert config["address"] == str(network.NODE_IP)
    assert config["healthzBindAddress"] == "127.0.0.1"
    assert config["readOnlyPort"] == 0
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["resolvConf"] == str(paths.resolv_conf)
    assert config["clusterDNS"] == [str(network.DNS_SERVICE_IP)]
    assert config["makeIPTablesUtilChains"] is False


def test_kube_proxy_leaves_host_sysctls_alone(tmp_path: Path) -> None:
    config = kubeproxy.config(tmp_path / "kubeconfig", healthz_port=1, metrics_port=2)
    assert config["iptables"]["localhostNodePorts"] is False  # no global route_localnet
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["conntrack"]["tcpEstablishedTimeout"] == "0s"
    assert config["nodePortAddresses"] == [f"{network.NODE_IP}/32"]
    assert config["healthzBindAddress"].startswith("127.0.0.1:")


def test_dns_answers_cluster_zones_only() -> None:
    assert "forward" not in dns.COREFILE
    zones = dns.COREFILE.split("{", 1)[0].split()
    assert zones == [f"{network.CLUSTER_DOMAIN}:1053", "in-addr.arpa:1053", "ip6.arpa:1053"]
    objects = {obj["kind"]: obj for _path, obj in dns.objects("example/coredns:1")}
    assert objects["Service"]["spec"]["clusterIP"] == str(network.DNS_SERVICE_IP)
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_address_plan_is_consistent() -> None:
    assert network.NODE_IP in network.NODE_POD_CIDR
    assert network.NODE_POD_CIDR.subnet_of(network.CLUSTER_CIDR)  # type: ignore[arg-type]
    assert network.DNS_SERVICE_IP in network.SERVICE_CIDR
    assert network.LOADBALANCER_POOL.subnet_of(ipaddress.ip_network("127.0.0.0/8"))  # type: ignore[arg-type]
    assert network.overlaps("10.96.5.0/24") and network.overlaps("10.0.0.0/8")
    assert not network.overlaps("192.168.0.0/16")


def claim(**annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "data", "namespace": "ns", "uid": "1234", "annotations": annotations},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "2Gi"}},
            "storageClassName": "standard",
        },
    }


def test_provisions_only_claims_handed_to_it() -> None:
    ours = claim(**{"volume.kubernetes.io/storage-provisioner": storage.PROVISIONER})
    assert storage.wants_volume(ours)
    assert not storage.wants_volume(claim(**{"volume.kubernetes.io/storage-provisioner": "x"}))
    ours["spec"]["volumeName"] = "pvc-1234"
    assert not storage.wants_volume(ours)


def test_volume_is_a_local_directory_on_the_node_prebound_to_the_claim(tmp_path: Path) -> None:
    volume = storage.volume_for(claim(), path=tmp_path / "pvc-1234", node="node-0")
    spec = volume["spec"]
    assert spec["claimRef"]["uid"] == "1234"
    assert spec["local"] == {"path": str(tmp_path / "pvc-1234")}
    term = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert term["values"] == ["node-0"]


def test_only_our_released_delete_volumes_are_reclaimed(tmp_path: Path) -> None:
    volume = storage.volume_for(claim(), path=tmp_path / "v", node="n")
    volume["status"] = {"phase": "Released"}
    assert storage.reclaimable(volume)
    volume["spec"]["persistentVolumeReclaimPolicy"] = "Retain"
    assert not storage.reclaimable(volume)


def _service(uid: str) -> dict[str, Any]:
    return {"metadata": {"uid": uid}, "spec": {"type": "LoadBalancer"}, "status": {}}


def test_load_balancer_addresses_are_on_loopback_and_never_shared() -> None:
    service = _service("0f8e7d6c-0000-4000-8000-000000000001")
    assert loadbalancer.needs_address(service)
    first = loadbalancer.pick(service, set())
    assert first is not None and ipaddress.ip_address(first) in network.LOADBALANCER_POOL
    assert loadbalancer.pick(service, set()) == first  # stable for the same Service
    second = loadbalancer.pick(service, {first})
    assert second is not None and second != first
    service["spec"]["loadBalancerClass"] = "example.com/other"
    assert not loadbalancer.needs_address(service)


def test_load_balancer_pool_exhaustion_gives_no_address() -> None:
    everything = {str(ip) for ip in network.LOADBALANCER_POOL.hosts()}
    assert loadbalancer.pick(_service("1"), everything) is None


def test_kwok_stages_cover_the_promised_lifecycles() -> None:
    stages = {s["metadata"]["name"]: s["spec"] for s in kwok.stages()}
    assert set(stages) == {
        "node-initialize",
        "pod-ready",
        "pod-complete-job",
        "pod-complete-helm-test",
        "pod-delete",
    }
    hook = stages["pod-complete-helm-test"]["selector"]["matchExpressions"][-1]
    assert hook["values"] == ["test", "test-success"]
