"""The subcommands, by name: where each lives and its one-line summary.

The CLI lists every command from this table and imports only the module of the
command being run (pip's ``commands_dict``), so ``charthouse --help`` and a quick
command never pay for the dependencies of the others. Each module provides
``configure(parser)``, which adds its arguments and sets ``func(args) -> int``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandInfo:
    module: str
    summary: str


COMMANDS: dict[str, CommandInfo] = {
    "tools": CommandInfo(
        "charthouse.commands.tools", "build/locate pinned tools (helm3, helm4, ct, ...)"
    ),
    "cluster": CommandInfo(
        "charthouse.commands.cluster",
        "start/stop the Kubernetes cluster the integration tests use",
    ),
    "images": CommandInfo(
        "charthouse.commands.images",
        "build the images the real node runs (from images/, pinned in ci/tools.yaml)",
    ),
    "render": CommandInfo("charthouse.commands.render", "print a chart's rendered manifests"),
    "validate": CommandInfo(
        "charthouse.commands.validate", "lint, render and strictly validate charts"
    ),
    "judge": CommandInfo(
        "charthouse.commands.judge",
        "run the pinned third-party linters over the rendered charts (ci/judges.yaml)",
    ),
    "release": CommandInfo(
        "charthouse.commands.release",
        "package, sign, index and publish the charts changed since their last release",
    ),
    "serve": CommandInfo(
        "charthouse.commands.serve",
        "serve a chart repository (default dist/repo) for `helm repo add`",
    ),
    "docs": CommandInfo(
        "charthouse.commands.docs", "generate the README values tables from values.yaml comments"
    ),
    "schemas": CommandInfo(
        "charthouse.commands.schemas",
        "generate each chart's values.schema.json from its source and charts/common/schemas",
    ),
    "rollout": CommandInfo(
        "charthouse.commands.rollout",
        "gated blue-green and canary rollouts of app chart releases, one helm revision a step",
    ),
}
