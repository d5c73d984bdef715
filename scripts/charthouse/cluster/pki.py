"""Certificates and keys for the embedded cluster: one CA, leaf certs, SA keys, kubeconfigs.

Everything is ECDSA P-256: key generation takes microseconds (RSA-2048 takes tens
of milliseconds each), and every component we run accepts it. The CA signs both
serving and client certificates; the API server trusts it for client auth, so a
client certificate's CN is the user name and its O entries are the groups RBAC
sees (``system:masters`` is bound to cluster-admin by the bootstrap policy).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from charthouse import atomicfile

# Long enough that a cached test cluster never expires under a developer; the CA
# never leaves the cache directory.
_VALIDITY = dt.timedelta(days=3650)
# Clocks of freshly booted CI machines drift; avoid "certificate not yet valid".
_BACKDATE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, both PEM-encoded."""

    cert_pem: bytes
    key_pem: bytes

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``<stem>.crt`` and ``<stem>.key`` (0600) atomically."""
        cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        write_private(key_path, self.key_pem)
        write_private(cert_path, self.cert_pem)
        return cert_path, key_path

    @classmethod
    def read(cls, directory: Path, stem: str) -> KeyPair:
        cert, key = (directory / f"{stem}.crt"), (directory / f"{stem}.key")
        return cls(cert.read_bytes(), key.read_bytes())


def write_private(path: Path, data: bytes) -> None:
    """Atomically write ``data`` readable only by the owner: no torn or world-readable keys."""
    atomicfile.write(path, data, mode=0o600, fsync=False)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _base_builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, *, ca: bool
) -> x509.CertificateBuilder:
    """What CA and leaf certificates share: validity, serial, basic constraints and key
    usage (only a CA may sign certificates and CRLs)."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )


def create_ca(common_name: str) -> KeyPair:
    """A self-signed CA allowed to sign leaf certificates only (path length 0)."""
    key = _new_key()
    name = _name(common_name)
    cert = (
        _base_builder(name, name, key.public_key(), ca=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue(
    ca: KeyPair,
    common_name: str,
    *,
    organizations: Sequence[str] = (),
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    server: bool = False,
    client: bool = False,
) -> KeyPair:
    """A leaf certificate signed by ``ca``, for serving, client auth, or both."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("CA key must be an ECDSA key")
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    )
    if not usages:
        raise ValueError("a certificate must be for serving, client auth or both")
    key = _new_key()
    builder = (
        _base_builder(
            _name(common_name, organizations), ca_cert.subject, key.public_key(), ca=False
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def certificate_request(common_name: str, organizations: Sequence[str] = ()) -> tuple[bytes, bytes]:
    """(private key PEM, CSR PEM) for a certificate another CA signs (the cluster's,
    through the Kubernetes CertificateSigningRequest API): the key never leaves us."""
    key = _new_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(common_name, organizations))
        .sign(key, hashes.SHA256())
    )
    return _key_pem(key), csr.public_bytes(serialization.Encoding.PEM)


def service_account_keys() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) used to sign and verify service-account tokens."""
    key = _new_key()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _key_pem(key), public
