"""Provenance files (``<chart>-<version>.tgz.prov``) signed with GnuPG.

``helm package --sign`` cannot be used: it signs the archive helm just wrote, and we
replace that archive with a reproducible one, so its digest would no longer match;
it also needs a legacy ``secring.gpg`` that GnuPG >= 2.1 no longer keeps. We write the
provenance in helm's format ourselves (helm.sh/helm/v*/pkg/provenance):

    <Chart.yaml metadata as YAML>
    ...
    files:
      <name>.tgz: sha256:<hex>

clear-signed by ``gpg --clearsign`` with SHA-512 (helm's default hash). ``...`` (YAML's
document end) separates the parts because a clear-signed text cannot hold ``---``.
``helm verify`` / ``helm pull --verify`` of helm 3 and helm 4 check exactly this.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from charthouse.errors import CharthouseError
from charthouse.proc import run
from charthouse.release.archive import chart_yaml

PASSPHRASE_FILE_ENV = "CHARTHOUSE_GPG_PASSPHRASE_FILE"


def message_block(archive: Path) -> str:
    """The text helm signs: chart metadata, ``...``, then the archive's checksum."""
    data = archive.read_bytes()
    meta = chart_yaml(data, str(archive))
    metadata = yaml.safe_dump(meta, sort_keys=True, default_flow_style=False, allow_unicode=True)
    sums = yaml.safe_dump(
        {"files": {archive.name: "sha256:" + hashlib.sha256(data).hexdigest()}},
        sort_keys=True,
        default_flow_style=False,
    )
    return f"{metadata}\n...\n{sums}"


def sign(archive: Path, key: str, *, gnupg_home: Path | None = None) -> Path:
    """Write ``archive``.prov signed by ``key`` (a key id, fingerprint or user id)."""
    cmd: list[str] = [
        "gpg",
        "--batch",
        "--yes",
        "--armor",
        "--clearsign",
        "--digest-algo",
        "SHA512",
        "--local-user",
        key,
    ]
    if gnupg_home is not None:
        cmd[1:1] = ["--homedir", str(gnupg_home)]
    passphrase_file = os.environ.get(PASSPHRASE_FILE_ENV)
    if passphrase_file:
        cmd += ["--pinentry-mode", "loopback", "--passphrase-file", passphrase_file]
    try:
        result = run(cmd, input=message_block(archive), timeout=120)
    except CharthouseError as exc:
        raise CharthouseError(f"--sign {key}: gpg could not sign {archive.name}: {exc}") from exc
    prov = archive.with_name(archive.name + ".prov")
    prov.write_text(result.stdout)
    return prov
