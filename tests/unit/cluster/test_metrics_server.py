"""metrics-server's objects for the test cluster: the kubelet flags each provider
needs, files mounted where the flags point, upstream's RBAC and APIService, Pod
Security ``restricted``, and when its kubelet client certificate is renewed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from charthouse import policy
from charthouse.cluster import metrics_server as ms
from charthouse.cluster import pki
from charthouse.manifests import Manifests

IMAGE = "registry.k8s.io/metrics-server/metrics-server:v0.8.0"
EMBEDDED = ms.KubeletAccess.for_provider("embedded")
KIND = ms.KubeletAccess.for_provider("kind")
EXISTING = ms.KubeletAccess.for_provider("existing")


def _by_kind(objects: list[dict[str, object]], kind: str) -> list[dict[str, object]]:
    return [o for o in objects if o["kind"] == kind]


def test_embedded_verifies_the_kubelet_and_logs_in_with_a_client_certificate() -> None:
    args = ms.args(EMBEDDED)
    assert "--kubelet-insecure-tls" not in args
    assert any(a.startswith("--kubelet-certificate-authority=") for a in args)
    assert any(a.startswith("--kubelet-client-certificate=") for a in args)
    assert any(a.startswith("--kubelet-client-key=") for a in args)
    assert "--kubelet-preferred-address-types=InternalIP" in args
    assert f"--metric-resolution={ms.METRIC_RESOLUTION}" in args


def test_kind_skips_verifying_its_self_signed_kubelet_certificates_only() -> None:
    args = ms.args(KIND)
    assert "--kubelet-insecure-tls" in args
    # metrics-server refuses a CA together with --kubelet-insecure-tls ("cannot use both")
    unwanted = ("--kubelet-certificate-authority", "--kubelet-client")
    assert not any(a.startswith(unwanted) for a in args)


def test_other_clusters_verify_with_the_cluster_ca_and_use_the_service_account_token() -> None:
    args = ms.args(EXISTING)
    assert "--kubelet-insecure-tls" not in args
    assert not any(a.startswith("--kubelet-client") for a in args)


@pytest.mark.parametrize("access", [EMBEDDED, KIND, EXISTING], ids=["embedded", "kind", "existing"])
def test_every_file_a_flag_names_is_mounted(access: ms.KubeletAccess) -> None:
    deployment = ms.deployment(IMAGE, access)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert set(mounts) == set(volumes)
    for arg in container["args"]:
        match = re.match(r"--(kubelet-[a-z-]+)=(/.+)$", arg)
        if not match:
            continue
        path = match.group(2)
        owner = [name for name, mount in mounts.items() if path.startswith(mount + "/")]
        assert owner, f"{arg}: no volume mounted there ({mounts})"
        volume = volumes[owner[0]]
        source = volume.get("configMap") or volume.get("secret") or {}
        filename = path.rsplit("/", 1)[1]
        if "configMap" in volume:
            assert volume["configMap"]["name"] == ms.ROOT_CA_CONFIGMAP
            assert [i["path"] for i in source["items"]] == [filename]
        else:
            assert volume["secret"]["secretName"] == ms.CLIENT_SECRET
            assert filename in ms.client_secret(b"cert", b"key")["data"]


def test_the_deployment_meets_pod_security_restricted() -> None:
    objects = ms.objects(IMAGE, EMBEDDED)
    assert policy.check(Manifests(objects)) == []
    container = ms.deployment(IMAGE, EMBEDDED)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE


def test_rbac_and_the_api_service_are_upstreams() -> None:
    objects = ms.objects(IMAGE, EMBEDDED)
    roles = {
        (b["kind"], b["roleRef"]["name"]) for b in objects if str(b["kind"]).endswith("Binding")
    }
    assert roles == {
        ("RoleBinding", "extension-apiserver-authentication-reader"),
        ("ClusterRoleBinding", "system:auth-delegator"),
        ("ClusterRoleBinding", f"system:{ms.NAME}"),
    }
    reader = [o for o in objects if o["metadata"]["name"] == "system:aggregated-metrics-reader"]
    assert (
        reader
        and reader[0]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    )
    service = _by_kind(objects, "Service")[0]
    pod_labels = ms.deployment(IMAGE, EMBEDDED)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()  # type: ignore[index]
    api = ms.api_service()
    assert api["metadata"]["name"] == ms.API_SERVICE
    assert api["spec"]["service"] == {"name": ms.NAME, "namespace": ms.NAMESPACE}
    assert _by_kind(objects, "APIService") == []  # applied only once the pods are ready


def test_the_client_certificate_is_renewed_when_missing_broken_or_near_its_end() -> None:
    ca = pki.create_ca("test-ca")
    cert_pem = pki.issue(ca, "charthouse:metrics-server", client=True).cert_pem
    ends = x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc
    assert ms.needs_renewal(None, ends)
    assert ms.needs_renewal(b"not a certificate", ends)
    assert ms.needs_renewal(cert_pem, ends - ms.RENEW_BEFORE + dt.timedelta(hours=1))
    assert not ms.needs_renewal(cert_pem, ends - ms.RENEW_BEFORE - dt.timedelta(hours=1))


def test_a_certificate_request_carries_the_name_and_is_signed_by_its_key() -> None:
    key_pem, csr_pem = pki.certificate_request("charthouse:metrics-server", ["some-group"])
    csr = x509.load_pem_x509_csr(csr_pem)
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "charthouse:metrics-server"
    )
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "some-group"
    assert b"PRIVATE KEY" in key_pem


def test_available_reads_the_api_service_condition() -> None:
    assert not ms.available(None)
    assert not ms.available({"status": {"conditions": [{"type": "Available", "status": "False"}]}})
    assert ms.available({"status": {"conditions": [{"type": "Available", "status": "True"}]}})


def _live(image: str, args: list[str], ready: bool) -> dict[str, object]:
    deployment = ms.deployment(image, EMBEDDED)
    deployment["spec"]["template"]["spec"]["containers"][0]["args"] = args
    deployment["metadata"]["generation"] = 1
    replicas = 1 if ready else 0
    deployment["status"] = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [{"type": "Available", "status": "True" if ready else "False"}],
    }
    return deployment


def test_a_running_install_is_reused_only_with_the_same_image_and_flags() -> None:
    wanted = ms.args(EMBEDDED)
    assert ms.runs_as_wanted(_live(IMAGE, wanted, ready=True), IMAGE, EMBEDDED)
    assert not ms.runs_as_wanted(None, IMAGE, EMBEDDED)
    assert not ms.runs_as_wanted(_live(IMAGE, wanted, ready=False), IMAGE, EMBEDDED)
    assert not ms.runs_as_wanted(_live(IMAGE + "-old", wanted, ready=True), IMAGE, EMBEDDED)
    assert not ms.runs_as_wanted(_live(IMAGE, ms.args(KIND), ready=True), IMAGE, EMBEDDED)
