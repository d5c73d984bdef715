"""The findings we reject, and why: ``ci/judges.yaml``, one file for every judge.

Each rule names a judge and a check, says why the finding is not a defect of the
charts, and may narrow where it applies (charts, scenarios, objects, helm hook,
message). A finding no rule covers fails ``make lint``; so does a rule that
covers nothing any more (a stale rejection hides the next real finding).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from charthouse import paths
from charthouse.errors import CharthouseError
from charthouse.judges.model import Finding
from charthouse.yamlfile import read_mapping

POLICY_FILE = paths.CI_DIR / "judges.yaml"
_SCOPES = ("charts", "scenarios", "objects", "hook", "message")
_KEYS = {"judge", "check", "reason", *_SCOPES}


@dataclass(frozen=True)
class Rejection:
    """One rule of the policy file."""

    index: int
    judge: str
    check: str
    reason: str
    charts: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    hook: str = ""
    message: str = ""

    def covers(self, finding: Finding) -> bool:
        if (finding.judge, finding.check) != (self.judge, self.check):
            return False
        if self.charts and finding.chart not in self.charts:
            return False
        if self.scenarios and finding.scenario not in self.scenarios:
            return False
        if self.objects and not any(fnmatchcase(finding.object, o) for o in self.objects):
            return False
        if self.hook and finding.hook != self.hook:
            return False
        return not self.message or fnmatchcase(finding.message, self.message)

    def describe(self) -> str:
        scope = [f"{k}={getattr(self, k)!r}" for k in _SCOPES if getattr(self, k)]
        return f"rejected[{self.index}] {self.judge} {self.check}" + (
            f" ({', '.join(scope)})" if scope else ""
        )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise CharthouseError(f"{where}: expected a string or a list of strings")
    return tuple(items)


def load(path: Path = POLICY_FILE, *, judges: Iterable[str] = ()) -> list[Rejection]:
    """Parse the policy file, naming the file and the field on any mistake."""
    data = read_mapping(path, what="judge policy")
    rules = data.get("rejected")
    if not isinstance(rules, list):
        raise CharthouseError(f"{path}: rejected: expected a list of rules")
    known = set(judges)
    found = []
    for index, rule in enumerate(rules):
        where = f"{path}: rejected[{index}]"
        if not isinstance(rule, dict):
            raise CharthouseError(f"{where}: expected a mapping")
        unknown = sorted(set(rule) - _KEYS)
        if unknown:
            raise CharthouseError(f"{where}: unknown key {unknown[0]!r} (known: {sorted(_KEYS)})")
        for key in ("judge", "check", "reason"):
            if not isinstance(rule.get(key), str) or not rule[key].strip():
                raise CharthouseError(f"{where}.{key}: required, a non-empty string")
        if known and rule["judge"] not in known:
            raise CharthouseError(
                f"{where}.judge: unknown judge {rule['judge']!r} (known: {sorted(known)})"
            )
        found.append(
            Rejection(
                index=index,
                judge=rule["judge"],
                check=rule["check"],
                reason=" ".join(rule["reason"].split()),
                charts=_strings(rule["charts"], f"{where}.charts") if "charts" in rule else (),
                scenarios=_strings(rule["scenarios"], f"{where}.scenarios")
                if "scenarios" in rule
                else (),
                objects=_strings(rule["objects"], f"{where}.objects") if "objects" in rule else (),
                hook=str(rule.get("hook", "")),
                message=str(rule.get("message", "")),
            )
        )
    return found


@dataclass
class Verdict:
    """The findings of the judges, split by the policy."""

    rejected: dict[int, list[Finding]]
    open: list[Finding]
    stale: list[Rejection]


def judge(
    findings: Sequence[Finding], rules: Sequence[Rejection], *, judges_run: Iterable[str]
) -> Verdict:
    """Split ``findings`` into rejected (by rule) and open; rules of the judges that
    ran which covered nothing are stale."""
    rejected: dict[int, list[Finding]] = {rule.index: [] for rule in rules}
    still_open = []
    for finding in findings:
        rule = next((r for r in rules if r.covers(finding)), None)
        if rule is None:
            still_open.append(finding)
        else:
            rejected[rule.index].append(finding)
    ran = set(judges_run)
    stale = [r for r in rules if r.judge in ran and not rejected[r.index]]
    return Verdict(rejected, still_open, stale)
