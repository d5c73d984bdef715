"""metrics-server in a test cluster: the resource-metrics API (``metrics.k8s.io``)
that HorizontalPodAutoscalers and ``kubectl top`` read.

It is the real metrics-server (the ``metrics-server`` pin of ci/tools.yaml, its
image built as ``registry.k8s.io/metrics-server/metrics-server``): it scrapes
each kubelet's ``/metrics/resource`` every :data:`METRIC_RESOLUTION` and serves
the figures through the API server's aggregation layer (the APIService
``v1beta1.metrics.k8s.io``). The objects are upstream's manifests
(``manifests/base`` of the module) with the kubelet flags a cluster needs
(:class:`KubeletAccess`) and Pod Security ``restricted`` settings.

Installing is idempotent (server-side apply) and leaves metrics-server running:
it is a cluster add-on like CoreDNS, shared by every test session on the cluster,
and an APIService removed under a running session would fail its HPAs. The
APIService is applied only once the Deployment is ready, so the API server never
advertises a metrics API that cannot answer. A cluster that already serves
``metrics.k8s.io`` from an APIService of its own is left as it is.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from charthouse import kubeapi
from charthouse.cluster import kstatus, pki
from charthouse.cluster.gateway_crds import apply
from charthouse.errors import CharthouseError

NAMESPACE = "kube-system"
NAME = "metrics-server"
API_SERVICE = "v1beta1.metrics.k8s.io"
# How often kubelets are scraped; an HPA sees a new figure at most this often.
METRIC_RESOLUTION = "15s"
SELECTOR = {"k8s-app": NAME}
MANAGED_BY = {"app.kubernetes.io/managed-by": "charthouse"}
LABELS = {**SELECTOR, "app.kubernetes.io/name": NAME, **MANAGED_BY}
# The cluster CA, as the controller manager publishes it into every namespace.
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
CLIENT_SECRET = f"{NAME}-kubelet-client"
# A client certificate from the cluster's CA, renewed when less than RENEW_BEFORE is left.
CLIENT_CERT_LIFETIME = dt.timedelta(days=90)
RENEW_BEFORE = dt.timedelta(days=14)
_PORT = 10250
_CA_DIR = "/etc/kubelet-ca"
_CLIENT_DIR = "/etc/kubelet-client"


@dataclass(frozen=True)
class KubeletAccess:
    """How metrics-server talks to each kubelet.

    ``verify``: check the kubelets' serving certificates against the cluster CA
    (``kube-root-ca.crt``); otherwise ``--kubelet-insecure-tls``, for kubelets whose
    serving certificates are self-signed (kind's). ``client_certificate``: log in
    with a client certificate the cluster CA signed (CertificateSigningRequest API)
    instead of the ServiceAccount token, for kubelets that accept only certificates
    (the embedded node's: no token webhook).
    """

    verify: bool
    client_certificate: bool

    @classmethod
    def for_provider(cls, provider: str) -> KubeletAccess:
        if provider == "kind":  # self-signed kubelet serving certs; token webhook on
            return cls(verify=False, client_certificate=False)
        if provider == "embedded":  # serving cert from the cluster CA; x509 client auth only
            return cls(verify=True, client_certificate=True)
        return cls(verify=True, client_certificate=False)  # kubeadm-like clusters


def args(access: KubeletAccess) -> list[str]:
    """metrics-server's command line (upstream's, with the kubelet flags of ``access``)."""
    result = [
        "--cert-dir=/tmp",
        f"--secure-port={_PORT}",
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-use-node-status-port",
        f"--metric-resolution={METRIC_RESOLUTION}",
    ]
    if access.verify:
        result.append(f"--kubelet-certificate-authority={_CA_DIR}/ca.crt")
    else:
        result.append("--kubelet-insecure-tls")
    if access.client_certificate:
        result += [
            f"--kubelet-client-certificate={_CLIENT_DIR}/tls.crt",
            f"--kubelet-client-key={_CLIENT_DIR}/tls.key",
        ]
    return result


def _meta(name: str, *, namespaced: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": LABELS}
    if namespaced:
        meta["namespace"] = NAMESPACE
    return meta


def _binding(kind: str, name: str, role_kind: str, role: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": _meta(name, namespaced=kind == "RoleBinding"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    }


def objects(image: str, access: KubeletAccess) -> list[dict[str, Any]]:
    """Everything but the APIService, in apply order."""
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME)},
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {
                "name": "system:aggregated-metrics-reader",
                "labels": {
                    **LABELS,
                    "rbac.authorization.k8s.io/aggregate-to-view": "true",
                    "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                    "rbac.authorization.k8s.io/aggregate-to-admin": "true",
                },
            },
            "rules": [
                {
                    "apiGroups": ["metrics.k8s.io"],
                    "resources": ["pods", "nodes"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": _meta(f"system:{NAME}", namespaced=False),
            "rules": [
                {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                {
                    "apiGroups": [""],
                    "resources": ["pods", "nodes"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },
        # Reads the front-proxy CA and header names, to trust the API server's requests.
        _binding(
            "RoleBinding",
            f"{NAME}-auth-reader",
            "Role",
            "extension-apiserver-authentication-reader",
        ),
        # Checks callers' tokens and permissions with the API server.
        _binding(
            "ClusterRoleBinding",
            f"{NAME}:system:auth-delegator",
            "ClusterRole",
            "system:auth-delegator",
        ),
        _binding("ClusterRoleBinding", f"system:{NAME}", "ClusterRole", f"system:{NAME}"),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(NAME),
            "spec": {
                "selector": SELECTOR,
                "ports": [
                    {
                        "name": "https",
                        "port": 443,
                        "protocol": "TCP",
                        "targetPort": "https",
                        "appProtocol": "https",
                    }
                ],
            },
        },
        deployment(image, access),
    ]


def deployment(image: str, access: KubeletAccess) -> dict[str, Any]:
    """upstream's Deployment, Pod Security ``restricted``, with ``access``'s files mounted."""
    volumes: list[dict[str, Any]] = [{"name": "tmp-dir", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp-dir", "mountPath": "/tmp"}]
    if access.verify:
        volumes.append(
            {
                "name": "kubelet-ca",
                "configMap": {
                    "name": ROOT_CA_CONFIGMAP,
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                },
            }
        )
        mounts.append({"name": "kubelet-ca", "mountPath": _CA_DIR, "readOnly": True})
    if access.client_certificate:
        volumes.append({"name": "kubelet-client", "secret": {"secretName": CLIENT_SECRET}})
        mounts.append({"name": "kubelet-client", "mountPath": _CLIENT_DIR, "readOnly": True})
    probe = {"scheme": "HTTPS", "port": "https"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": SELECTOR},
            "strategy": {"rollingUpdate": {"maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "serviceAccountName": NAME,
                    "priorityClassName": "system-cluster-critical",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65534,
                        "runAsGroup": 65534,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": NAME,
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": args(access),
                            "ports": [{"name": "https", "containerPort": _PORT, "protocol": "TCP"}],
                            "readinessProbe": {
                                "httpGet": {"path": "/readyz", **probe},
                                "periodSeconds": 2,
                                "failureThreshold": 3,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/livez", **probe},
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                            },
                            "resources": {
                                "requests": {"cpu": "20m", "memory": "64Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def api_service() -> dict[str, Any]:
    """The APIService routing ``metrics.k8s.io`` to the Service. Like upstream's, it
    skips checking metrics-server's self-signed serving certificate; the API server
    still authenticates itself to metrics-server with the front-proxy client cert."""
    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": _meta(API_SERVICE, namespaced=False),
        "spec": {
            "service": {"name": NAME, "namespace": NAMESPACE},
            "group": "metrics.k8s.io",
            "version": "v1beta1",
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    }


def client_secret(cert_pem: bytes, key_pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(CLIENT_SECRET),
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(cert_pem).decode(),
            "tls.key": base64.b64encode(key_pem).decode(),
        },
    }


def needs_renewal(cert_pem: bytes | None, now: dt.datetime) -> bool:
    """Whether the client certificate is missing, unreadable or due for renewal."""
    if not cert_pem:
        return True
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return True
    return cert.not_valid_after_utc - now < RENEW_BEFORE


def available(api_service_obj: dict[str, Any] | None) -> bool:
    conditions = ((api_service_obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)


class _Cluster:
    """The few API calls :func:`install` makes (dynamic client, lazily imported)."""

    def __init__(self, kubeconfig: Path) -> None:
        from kubernetes import dynamic

        self.kubeconfig = kubeconfig
        self.dyn = dynamic.DynamicClient(kubeapi.connect(kubeconfig))  # type: ignore[no-untyped-call]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            found = self.dyn.resources.get(api_version=api_version, kind=kind).get(
                name=name, namespace=namespace
            )
        except NotFoundError:
            return None
        return found.to_dict()

    def create(self, obj: dict[str, Any]) -> None:
        self.dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"]).create(body=obj)

    def delete(self, api_version: str, kind: str, name: str) -> None:
        from kubernetes.dynamic.exceptions import NotFoundError

        with contextlib.suppress(NotFoundError):
            self.dyn.resources.get(api_version=api_version, kind=kind).delete(name=name)

    def raw(self, method: str, path: str, body: Any = None) -> Any:
        return self.dyn.request(method, path, body=body)


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # the API answers 503 while the APIService comes up
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    raise CharthouseError(f"metrics-server: {what} not within {timeout:.0f}s (last: {last!r})")


def _issue_client_certificate(cluster: _Cluster, timeout: float) -> tuple[bytes, bytes]:
    """A client certificate signed by the cluster CA: a CertificateSigningRequest for
    the ``kube-apiserver-client`` signer, approved by us (cluster admin), then deleted."""
    key_pem, csr_pem = pki.certificate_request(f"charthouse:{NAME}")
    name = f"charthouse-{NAME}-{secrets.token_hex(4)}"
    api = "certificates.k8s.io/v1"
    cluster.create(
        {
            "apiVersion": api,
            "kind": "CertificateSigningRequest",
            "metadata": {"name": name, "labels": LABELS},
            "spec": {
                "request": base64.b64encode(csr_pem).decode(),
                "signerName": "kubernetes.io/kube-apiserver-client",
                "usages": ["digital signature", "client auth"],
                "expirationSeconds": int(CLIENT_CERT_LIFETIME.total_seconds()),
            },
        }
    )
    try:
        csr = cluster.get(api, "CertificateSigningRequest", name)
        csr.setdefault("status", {})["conditions"] = [
            {
                "type": "Approved",
                "status": "True",
                "reason": "CharthouseTests",
                "message": "metrics-server's client certificate for the kubelets",
            }
        ]
        cluster.raw("PUT", f"/apis/{api}/certificatesigningrequests/{name}/approval", csr)

        def signed() -> str | None:
            status = cluster.get(api, "CertificateSigningRequest", name).get("status") or {}
            certificate: str | None = status.get("certificate")
            return certificate

        certificate = _until(signed, timeout, "the cluster CA signing its client certificate")
    finally:
        cluster.delete(api, "CertificateSigningRequest", name)
    return base64.b64decode(certificate), key_pem


def _client_cert_pem(cluster: _Cluster) -> bytes | None:
    current = cluster.get("v1", "Secret", CLIENT_SECRET, NAMESPACE)
    cert_b64 = ((current or {}).get("data") or {}).get("tls.crt")
    return base64.b64decode(cert_b64) if cert_b64 else None


def _ensure_client_secret(cluster: _Cluster, timeout: float) -> None:
    if needs_renewal(_client_cert_pem(cluster), dt.datetime.now(dt.UTC)):
        cert, key = _issue_client_certificate(cluster, timeout)
        apply(cluster.kubeconfig, [client_secret(cert, key)])


def node_metrics(kubeconfig: Path) -> list[dict[str, Any]]:
    """NodeMetrics of every node, as ``kubectl top nodes`` reads them."""
    answer = _Cluster(kubeconfig).raw("GET", "/apis/metrics.k8s.io/v1beta1/nodes")
    items: list[dict[str, Any]] = answer.to_dict().get("items") or []
    return items


def runs_as_wanted(
    deployment_obj: dict[str, Any] | None, image: str, access: KubeletAccess
) -> bool:
    """Whether the live Deployment is ready and runs ``image`` with ``access``'s flags."""
    if deployment_obj is None or not kstatus.compute(deployment_obj).current:
        return False
    containers = deployment_obj["spec"]["template"]["spec"].get("containers") or [{}]
    return bool(containers[0].get("image") == image and containers[0].get("args") == args(access))


def _describe(image: str, access: KubeletAccess) -> str:
    return f"metrics-server {image} in {NAMESPACE} ({', '.join(args(access)[2:])})"


def _foreign(api_service_obj: dict[str, Any] | None) -> bool:
    labels = ((api_service_obj or {}).get("metadata") or {}).get("labels") or {}
    return api_service_obj is not None and not MANAGED_BY.items() <= labels.items()


def serving(kubeconfig: Path, access: KubeletAccess, image: str) -> str | None:
    """How ``metrics.k8s.io`` is served already as :func:`install` would leave it, or
    None: read without changing anything, so callers take no lock when all is well."""
    cluster = _Cluster(kubeconfig)
    existing = cluster.get("apiregistration.k8s.io/v1", "APIService", API_SERVICE)
    if _foreign(existing):
        return f"the cluster's own {API_SERVICE} (left as it is)" if available(existing) else None
    if not available(existing):
        return None
    if not runs_as_wanted(cluster.get("apps/v1", "Deployment", NAME, NAMESPACE), image, access):
        return None
    if access.client_certificate and needs_renewal(
        _client_cert_pem(cluster), dt.datetime.now(dt.UTC)
    ):
        return None
    try:
        answered = bool(node_metrics(kubeconfig))
    except Exception:  # the API answers 503 while metrics-server restarts
        return None
    return _describe(image, access) if answered else None


def install(kubeconfig: Path, access: KubeletAccess, image: str, *, timeout: float = 240.0) -> str:
    """Make ``metrics.k8s.io`` answer with figures for every node; say how."""
    cluster = _Cluster(kubeconfig)
    existing = cluster.get("apiregistration.k8s.io/v1", "APIService", API_SERVICE)
    if _foreign(existing):
        _until(lambda: available(existing), timeout, f"the cluster's own {API_SERVICE}")
        return f"the cluster's own {API_SERVICE} (left as it is)"
    if access.client_certificate:
        _ensure_client_secret(cluster, timeout)
    apply(kubeconfig, objects(image, access))

    _until(
        lambda: runs_as_wanted(
            cluster.get("apps/v1", "Deployment", NAME, NAMESPACE), image, access
        ),
        timeout,
        f"Deployment {NAMESPACE}/{NAME} ready",
    )
    apply(kubeconfig, [api_service()])
    _until(
        lambda: available(cluster.get("apiregistration.k8s.io/v1", "APIService", API_SERVICE)),
        timeout,
        f"APIService {API_SERVICE} Available",
    )
    _until(lambda: node_metrics(kubeconfig), timeout, "figures for the nodes")
    return _describe(image, access)
