"""Certificates the embedded cluster's components trust each other with."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from charthouse.cluster import kubeconfig as kubeconfigs
from charthouse.cluster import pki


@pytest.fixture(scope="module")
def ca() -> pki.KeyPair:
    return pki.create_ca("test-ca")


def test_leaf_chains_to_the_ca_for_tls(ca: pki.KeyPair, tmp_path: Path) -> None:
    server = pki.issue(
        ca, "kube-apiserver", dns_names=["localhost"], ip_addresses=["127.0.0.1"], server=True
    )
    ca.write(tmp_path, "ca")
    cert_path, key_path = server.write(tmp_path, "server")
    # The standard library's verifier accepts the pair: what every client does.
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    context.load_cert_chain(str(cert_path), str(key_path))
    cert = x509.load_pem_x509_certificate(server.cert_pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    cert.verify_directly_issued_by(ca_cert)


def test_client_cert_carries_user_and_groups_for_rbac(ca: pki.KeyPair) -> None:
    admin = pki.issue(ca, "charthouse-admin", organizations=["system:masters"], client=True)
    cert = x509.load_pem_x509_certificate(admin.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "charthouse-admin"
    groups = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert groups == ["system:masters"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_a_certificate_must_have_a_purpose(ca: pki.KeyPair) -> None:
    with pytest.raises(ValueError, match="serving, client auth or both"):
        pki.issue(ca, "nothing")


def test_keys_are_written_owner_only(ca: pki.KeyPair, tmp_path: Path) -> None:
    _, key_path = ca.write(tmp_path, "ca")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*")), "temporary files left behind"
    assert pki.KeyPair.read(tmp_path, "ca") == ca


def test_kubeconfig_points_at_the_files(tmp_path: Path) -> None:
    config = kubeconfigs.kubeconfig(
        cluster="c",
        server="https://127.0.0.1:6443",
        ca_cert=tmp_path / "ca",
        client_cert=tmp_path / "a.crt",
        client_key=tmp_path / "a.key",
        user="u",
    )
    kubeconfigs.write(tmp_path / "kubeconfig", config)
    loaded = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    assert loaded["current-context"] == "c"
    assert loaded["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert loaded["users"][0]["user"]["client-key"] == str(tmp_path / "a.key")
