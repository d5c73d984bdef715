"""The values keys a rollout owns, and composing the values of each revision.

Each step's revision gets one complete values file: the user's values of the
rollout (as the previous revision stored them) with the step's keys set or unset.
No ``--reuse-values`` and no ``--set`` precedence games: ``helm get values`` of any
revision shows exactly what that step asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from charthouse.errors import CharthouseError
from charthouse.values import ValuesSource

Values = dict[str, Any]

# Keys only the command writes while it drives a strategy: a user value for one of them
# would fight the plan (and helm's --set would silently win over a values file).
OWNED_KEYS: dict[str, tuple[str, ...]] = {
    "blueGreen": (
        "rollout.blueGreen.activeColor",
        "rollout.blueGreen.blue.tag",
        "rollout.blueGreen.green.tag",
    ),
    "canary": ("rollout.canary.weight", "rollout.canary.tag"),
}
_OWNED_HINT = {
    "blueGreen": "put the version in image.tag; the command picks the colour",
    "canary": "put the version in image.tag; the weights come from rollout.canary.steps",
}


@dataclass(frozen=True)
class Change:
    """What one revision changes in the user values: keys set, keys removed."""

    set: Mapping[str, Any] = field(default_factory=dict)
    unset: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"set": dict(self.set), "unset": list(self.unset)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(set=dict(data.get("set", {})), unset=tuple(data.get("unset", ())))


def _has(values: Mapping[str, Any], path: str) -> bool:
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def apply(values: Mapping[str, Any], change: Change) -> Values:
    """A copy of ``values`` with ``change`` made (parents created as needed)."""
    result: Values = copy.deepcopy(dict(values))
    for path, value in change.set.items():
        *parents, leaf = path.split(".")
        node = result
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[leaf] = copy.deepcopy(value)
    for path in change.unset:
        *parents, leaf = path.split(".")
        node = result
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                break
            node = child
        else:
            node.pop(leaf, None)
    return result


def owned_keys(strategy: str, layers: Iterable[ValuesSource]) -> list[tuple[str, str]]:
    """``(layer label, key)`` of every key the plan drives that user input sets.

    A values file may carry them (the file a release was installed with usually does):
    the plan overrides them in every revision. A ``--set`` of one is a contradiction
    and is refused by :func:`refuse_set_owned_keys`."""
    return [
        (layer.label, path)
        for layer in layers
        for path in OWNED_KEYS.get(strategy, ())
        if _has(layer.values, path)
    ]


def refuse_set_owned_keys(strategy: str, layers: Iterable[ValuesSource]) -> None:
    """Fail, naming the ``--set``, when one asks for a key the plan drives."""
    for label, path in owned_keys(strategy, layers):
        if label.startswith("--set"):
            raise CharthouseError(
                f"{label}: {path}: set by `charthouse rollout` under {strategy} "
                f"({_OWNED_HINT[strategy]})"
            )


def keep_or_unset(path: str, user_values: Mapping[str, Any]) -> Change:
    """A change that puts ``path`` back as the user had it: their value, or no key."""
    node: Any = user_values
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return Change(unset=(path,))
        node = node[key]
    return Change(set={path: node})


def merge(*changes: Change) -> Change:
    """One change doing all of ``changes`` (later ones win on the same key)."""
    sets: dict[str, Any] = {}
    unsets: list[str] = []
    for change in changes:
        for path, value in change.set.items():
            sets[path] = value
            if path in unsets:
                unsets.remove(path)
        for path in change.unset:
            sets.pop(path, None)
            if path not in unsets:
                unsets.append(path)
    return Change(set=sets, unset=tuple(unsets))
