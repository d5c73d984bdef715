"""Cluster DNS for the real node: CoreDNS as a Deployment behind ``kube-dns`` (10.96.0.10).

CoreDNS serves the cluster zones only (``cluster.local`` and the reverse
zones). The image links no ``forward`` plugin and the Corefile has no root
zone, so a pod asking for an outside name gets REFUSED at once: name lookups
never leave the machine. It listens on 1053 (no NET_BIND_SERVICE needed; the
Service maps 53 to it) and meets Pod Security ``restricted``.
"""

from __future__ import annotations

from typing import Any

from charthouse.cluster.providers.embedded import network

NAMESPACE = "kube-system"
NAME = "coredns"
PORT = 1053
_LABELS = {"k8s-app": "kube-dns", "app.kubernetes.io/name": "coredns"}

COREFILE = f"""\
{network.CLUSTER_DOMAIN}:{PORT} in-addr.arpa:{PORT} ip6.arpa:{PORT} {{
    errors
    health :8080 {{
        lameduck 2s
    }}
    ready :8181
    kubernetes {network.CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        ttl 30
    }}
    prometheus :9153
    cache 30
    loop
    reload
    loadbalance
}}
"""


def objects(image: str) -> list[tuple[str, dict[str, Any]]]:
    """(URL, object) pairs to apply, in order."""
    ns = f"/api/v1/namespaces/{NAMESPACE}"
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    return [
        (
            f"{ns}/serviceaccounts/{NAME}",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": NAME, "namespace": NAMESPACE},
            },
        ),
        (
            f"{rbac}/clusterroles/system:{NAME}",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": f"system:{NAME}"},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["endpoints", "services", "pods", "namespaces"],
                        "verbs": ["list", "watch"],
                    },
                    {
                        "apiGroups": ["discovery.k8s.io"],
                        "resources": ["endpointslices"],
                        "verbs": ["list", "watch"],
                    },
                ],
            },
        ),
        (
            f"{rbac}/clusterrolebindings/system:{NAME}",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": f"system:{NAME}"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": f"system:{NAME}",
                },
                "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
            },
        ),
        (
            f"{ns}/configmaps/{NAME}",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": NAME, "namespace": NAMESPACE},
                "data": {"Corefile": COREFILE},
            },
        ),
        (f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{NAME}", _deployment(image)),
        (
            f"{ns}/services/kube-dns",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "kube-dns", "namespace": NAMESPACE, "labels": _LABELS},
                "spec": {
                    "clusterIP": str(network.DNS_SERVICE_IP),
                    "selector": {"k8s-app": "kube-dns"},
                    "ports": [
                        {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": PORT},
                        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": PORT},
                        {"name": "metrics", "port": 9153, "protocol": "TCP"},
                    ],
                },
            },
        ),
    ]


def _deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": _LABELS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "template": {
                "metadata": {"labels": _LABELS},
                "spec": {
                    "serviceAccountName": NAME,
                    "priorityClassName": "system-cluster-critical",
                    "dnsPolicy": "Default",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "coredns",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [
                                {"name": "dns", "containerPort": PORT, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": PORT, "protocol": "TCP"},
                                {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": 8181},
                                "periodSeconds": 1,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/health", "port": 8080},
                                "periodSeconds": 10,
                                "failureThreshold": 5,
                            },
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "32Mi"},
                                "limits": {"memory": "128Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": "/etc/coredns", "readOnly": True}
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "config",
                            "configMap": {
                                "name": NAME,
                                "items": [{"key": "Corefile", "path": "Corefile"}],
                            },
                        }
                    ],
                },
            },
        },
    }
