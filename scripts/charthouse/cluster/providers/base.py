"""The interface every cluster provider implements, and the status it reports.

A leaf module: it imports no provider, so providers and the code that picks one
(:mod:`charthouse.cluster.provider`) both depend on it and never on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Status:
    """What ``cluster status`` reports."""

    provider: str
    running: bool
    kubeconfig: Path | None
    components: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"provider:   {self.provider}",
            f"state:      {'running' if self.running else 'stopped'}",
        ]
        if self.kubeconfig is not None:
            lines.append(f"kubeconfig: {self.kubeconfig}")
        lines += [f"  {name:26} {state}" for name, state in self.components.items()]
        lines += [f"problem: {problem}" for problem in self.problems]
        return "\n".join(lines)


class Provider(Protocol):
    """A source of a Kubernetes cluster that tests and ``helm`` can use by kubeconfig."""

    name: str

    def up(self) -> Path:
        """Start (or reuse) the cluster; return its kubeconfig once a node is Ready."""
        ...

    def down(self) -> None:
        """Stop what ``up`` started; leave nothing running."""
        ...

    def status(self) -> Status: ...

    def kubeconfig(self) -> Path:
        """The kubeconfig path (it may not exist before ``up``)."""
        ...
