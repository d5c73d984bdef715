"""Do several engines (helm 3, helm 4, the in-process SDK) render the same objects?

Helm versions do differ on the same chart and values (Helm 4.2 drops ``null``
defaults that Helm 3 keeps, so a template that tests them with ``get`` renders an
HPA memory target of 0 % on one and none on the other). This module compares the
outcomes of one render request across engines:

* every engine must succeed, or every engine must fail;
* the rendered objects, keyed by kind, namespace and name, must be equal;
* leaves a chart generates afresh on every render (random passwords, generated
  certificates) cannot be equal between two renders of the *same* engine, so they
  are found by rendering twice with one engine and compared by *shape* instead:
  a string's runs of letters and digits by length (``<32>`` for a 32-character
  password), base64 data decoded first, certificates and keys by subject, issuer,
  names, validity period and key type and size.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from charthouse import rendercache, variants
from charthouse.charts import ChartInfo
from charthouse.errors import CharthouseError
from charthouse.manifests import Manifests, Object
from charthouse.render import (
    HelmBinaryRenderer,
    RenderRequest,
    SdkRenderer,
    sdk_available,
)
from charthouse.render_choices import DEFAULT_KUBE_VERSION
from charthouse.rendercache import Outcome

ObjectKey = tuple[str, str, str]
MAX_REPORTED = 8
_VOLATILE = "\0volatile"
_ALNUM = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class Generated:
    """A volatile leaf, reduced to its shape."""

    shape: Any

    def __repr__(self) -> str:
        return f"<generated {self.shape!r}>"


_SEPARATOR = re.compile(r"^---[ \t]*$", re.M)


def documents(outcome: Outcome) -> tuple[str, ...]:
    """The rendered documents as text, sorted, without helm's ``# Source:`` comments:
    engines order documents differently (helm by kind, the SDK by template), and two
    outcomes with equal documents render equal objects."""
    found = []
    for chunk in _SEPARATOR.split(outcome.text or ""):
        lines = [ln for ln in chunk.strip().splitlines() if not ln.startswith("# Source: ")]
        body = "\n".join(lines).strip()
        if body:
            found.append(body)
    return tuple(sorted(found))


def objects(outcome: Outcome) -> dict[ObjectKey, Object]:
    """The outcome's objects by kind, namespace and name (parsed once per text;
    callers must not mutate them)."""
    return _objects(outcome.text or "")


@lru_cache(maxsize=16)
def _objects(text: str) -> dict[ObjectKey, Object]:
    manifests = Manifests.parse(text)
    found: dict[ObjectKey, Object] = {}
    for obj in manifests:
        meta = obj.get("metadata") or {}
        found[(str(obj["kind"]), str(meta.get("namespace", "")), str(meta.get("name", "")))] = obj
    return found


def _mask(a: Any, b: Any) -> Any:
    """``a`` with every leaf (or subtree) that differs from ``b`` replaced by _VOLATILE."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return {k: _mask(a[k], b[k]) for k in a}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [_mask(x, y) for x, y in zip(a, b, strict=True)]
    return a if a == b else _VOLATILE


def volatile_mask(first: Outcome, second: Outcome) -> dict[ObjectKey, Any]:
    """Which leaves of each object differ between two renders by one engine."""
    if not (first.ok and second.ok):
        return {}
    again = objects(second)
    return {key: _mask(obj, again.get(key)) for key, obj in objects(first).items()}


def pem_summary(text: str) -> tuple[Any, ...]:
    """Certificates and keys in ``text`` by what they are, not their random bytes."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    summary: list[Any] = []
    for block in re.findall(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", text, re.S):
        summary.append(block)
    for cert in _certificates(text):
        try:
            names: list[str] = [
                str(n)
                for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            ]
        except x509.ExtensionNotFound:
            names = []
        key = cert.public_key()
        summary.append(
            (
                cert.subject.rfc4514_string(),
                cert.issuer.rfc4514_string(),
                tuple(sorted(names)),
                round((cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()),
                type(key).__name__,
                getattr(key, "key_size", None),
            )
        )
    for match in re.finditer(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", text, re.S
    ):
        try:
            private = load_pem_private_key(match.group().encode(), password=None)
        except (ValueError, TypeError):
            summary.append(("unreadable private key",))
            continue
        size = (
            private.key_size
            if isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            else None
        )
        summary.append((type(private).__name__, size))
    return tuple(summary)


def _certificates(text: str) -> list[Any]:
    from cryptography import x509

    if "-----BEGIN CERTIFICATE-----" not in text:
        return []
    try:
        return list(x509.load_pem_x509_certificates(text.encode()))
    except ValueError:
        return []


def shape(value: Any, *, base64_encoded: bool = False) -> Any:
    """What must stay equal about a generated value across engines."""
    if isinstance(value, str):
        text = value
        if base64_encoded:
            try:
                text = base64.b64decode(value, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return ("base64 bytes", len(value))
        if "-----BEGIN " in text:
            return ("pem", pem_summary(text))
        return ("text", _ALNUM.sub(lambda m: f"<{len(m.group())}>", text))
    if isinstance(value, dict):
        return ("map", tuple(sorted(value)))
    if isinstance(value, list):
        return ("list",)
    return (type(value).__name__,)


def _apply(value: Any, mask: Any, *, base64_encoded: bool = False) -> Any:
    if mask == _VOLATILE:
        return Generated(shape(value, base64_encoded=base64_encoded))
    if isinstance(value, dict) and isinstance(mask, dict):
        return {k: _apply(v, mask.get(k), base64_encoded=base64_encoded) for k, v in value.items()}
    if isinstance(value, list) and isinstance(mask, list) and len(value) == len(mask):
        return [
            _apply(v, m, base64_encoded=base64_encoded) for v, m in zip(value, mask, strict=True)
        ]
    return value


def view(obj: Object, mask: Any) -> Object:
    """``obj`` with its volatile leaves replaced by their shapes."""
    if not isinstance(mask, dict):
        return obj
    out: Object = {}
    for key, value in obj.items():
        encoded = (obj.get("kind"), key) in {("Secret", "data"), ("ConfigMap", "binaryData")}
        out[key] = _apply(value, mask.get(key), base64_encoded=encoded)
    return out


def _describe(path: str, a: Any, b: Any) -> str:
    def short(v: Any) -> str:
        text = repr(v)
        return text if len(text) <= 160 else text[:157] + "..."

    return f"{path or '(object)'}: {short(a)} != {short(b)}"


def _diff(a: Any, b: Any, path: str = "") -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                yield _describe(sub, a.get(key, "<absent>"), b.get(key, "<absent>"))
            else:
                yield from _diff(a[key], b[key], sub)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _diff(x, y, f"{path}[{index}]")
    elif a != b:
        yield _describe(path, a, b)


def compare(outcomes: Mapping[str, Outcome], mask: Mapping[ObjectKey, Any]) -> list[str]:
    """Differences between ``outcomes`` (engine name -> outcome); empty when they agree.

    ``mask`` (from :func:`volatile_mask`) says which leaves are generated afresh on
    every render. The first engine is the reference the others are compared with.
    """
    names = list(outcomes)
    failed = [name for name in names if not outcomes[name].ok]
    if failed and len(failed) < len(names):
        return [
            f"{name} failed where {', '.join(n for n in names if n not in failed)} rendered: "
            f"{(outcomes[name].error or '').strip()}"
            for name in failed
        ]
    if failed:
        return []
    reference_name, *others = names
    reference = {k: view(o, mask.get(k)) for k, o in objects(outcomes[reference_name]).items()}
    problems: list[str] = []
    for name in others:
        rendered = {k: view(o, mask.get(k)) for k, o in objects(outcomes[name]).items()}
        for key in sorted(set(reference) - set(rendered)):
            problems.append(f"{'/'.join(key)}: rendered by {reference_name}, not by {name}")
        for key in sorted(set(rendered) - set(reference)):
            problems.append(f"{'/'.join(key)}: rendered by {name}, not by {reference_name}")
        for key in sorted(set(reference) & set(rendered)):
            for line in _diff(reference[key], rendered[key]):
                problems.append(f"{'/'.join(key)}: {reference_name} vs {name}: {line}")
    if len(problems) > MAX_REPORTED:
        problems = [*problems[:MAX_REPORTED], f"... and {len(problems) - MAX_REPORTED} more"]
    return problems


@dataclass(frozen=True)
class Case:
    """One render request to compare across engines, with a name for reports."""

    name: str
    request: RenderRequest


class Engines:
    """The engines compared: the pinned helm 3 and helm 4 binaries (results cached
    on disk, see :mod:`charthouse.rendercache`) and, when it loads, the SDK.

    Volatile leaves are found from two fresh renders by one engine: the SDK when
    available (~1 ms a render), else the helm 4 binary with the cache bypassed.
    """

    def __init__(self) -> None:
        self.binaries = {f"helm{major}": HelmBinaryRenderer(major) for major in (3, 4)}
        self.sdk: SdkRenderer | None = SdkRenderer() if sdk_available() else None

    @property
    def names(self) -> list[str]:
        return [*self.binaries, *(["sdk"] if self.sdk else [])]

    def _fresh(self, request: RenderRequest) -> Outcome:
        if self.sdk is None:
            return rendercache.render(self.binaries["helm4"], request, use_cache=False)
        try:
            return Outcome(self.sdk.render(request), None, ())
        except CharthouseError as exc:
            return Outcome(None, str(exc), ())

    def outcomes(self, request: RenderRequest) -> dict[str, Outcome]:
        found = {name: rendercache.render(r, request) for name, r in self.binaries.items()}
        if self.sdk is not None:
            found["sdk"] = self._fresh(request)
        return found

    def compare(self, request: RenderRequest) -> tuple[list[str], dict[str, Outcome]]:
        """Differences for ``request`` (empty when the engines agree) and the outcomes."""
        found = self.outcomes(request)
        if all(o.ok for o in found.values()) and len({documents(o) for o in found.values()}) == 1:
            return [], found  # the same documents, byte for byte: nothing to parse
        first = found.get("sdk") or self._fresh(request)
        mask = volatile_mask(first, self._fresh(request))
        return compare(found, mask), found


def chart_cases(
    chart: ChartInfo, kube_versions: Sequence[str] = (DEFAULT_KUBE_VERSION,)
) -> list[Case]:
    """Every scenario (defaults and ``ci/*-values.yaml``) at each Kubernetes version,
    then each toggle and each null default set to a sample value (newest version)."""
    cases: list[Case] = []
    for kube_version in kube_versions:
        minor = kube_version.rsplit(".", 1)[0]
        cases.append(
            Case(
                f"{chart.name}:defaults@{minor}",
                RenderRequest(chart.path, kube_version=kube_version),
            )
        )
        for path in chart.scenarios():
            cases.append(
                Case(
                    f"{chart.name}:{path.name}@{minor}",
                    RenderRequest(chart.path, values_files=(path,), kube_version=kube_version),
                )
            )
    for variant in variants.toggles(chart):
        cases.append(
            Case(f"{chart.name}:{variant.name}", RenderRequest(chart.path, values=variant.values))
        )
    for dotted, samples in variants.null_defaults(chart):
        for sample in samples:
            values = variants.nested(tuple(dotted.split(".")), sample)
            cases.append(
                Case(f"{chart.name}:{dotted}={sample}", RenderRequest(chart.path, values=values))
            )
    return cases
