"""Property test: values generated from each chart's own ``values.schema.json``
either render to manifests that pass ``charthouse validate`` (strict Kubernetes
schemas + security policy), or are rejected by the schema with the field named.
Nothing may fail *inside* a template: a schema that accepts what the templates
cannot handle is a bug in the chart. The one exception is a relation between fields
that JSON Schema cannot state (a preStop sleep below the grace period, a grace period
above Traefik's drain): the template refuses it with ``fail``, and the message starts
with the dotted path of a field the schema defines, as a schema error would.

Free text the schema leaves unconstrained is generated as DNS-label-like strings,
and free-form maps (affinity, annotations, ...) are generated empty: their
content is passed through to Kubernetes verbatim, which validates it, so
exploring it here would only test Kubernetes' own field formats.

``make test`` runs a bounded number of examples per chart from a fixed seed, so CI
gives the same verdict on the same tree; ``make fuzz`` sets ``CHARTHOUSE_FUZZ_EXAMPLES``
for a larger run and ``CHARTHOUSE_FUZZ_RANDOM=1`` to explore new examples each run (a
value it finds belongs in a chart's own tests once fixed). The first
``CHARTHOUSE_DIFFERENTIAL_EXAMPLES`` (default 8) examples per chart also go to the helm
3 / helm 4 / SDK comparison of ``test_helm_differential.py``: generating examples from
these schemas costs seconds each, so one generation serves both.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from charthouse.charts import ChartInfo, all_charts
from charthouse.manifests import Manifests
from charthouse.render import RenderError, RenderRequest, render
from charthouse.validate import check_objects
from charthouse.values import ValuesSource, schema_errors
from unit.test_helm_differential import assert_engines_agree

EXAMPLES = int(os.environ.get("CHARTHOUSE_FUZZ_EXAMPLES", "25"))
DIFFERENTIAL_EXAMPLES = int(os.environ.get("CHARTHOUSE_DIFFERENTIAL_EXAMPLES", "8"))
RANDOM = os.environ.get("CHARTHOUSE_FUZZ_RANDOM") == "1"
NAME_PATTERN = "^[a-z][a-z0-9]{0,8}$"


def narrow(schema: Any) -> Any:
    """The chart schema with unconstrained leaves made Kubernetes-shaped (see module doc)."""
    if isinstance(schema, list):
        return [narrow(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: narrow(v) for k, v in schema.items() if k not in ("description", "$comment")}
    if "properties" in schema:
        out["properties"] = {k: narrow(v) for k, v in schema["properties"].items()}
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types and "properties" not in schema and "$ref" not in schema:
        out["maxProperties"] = 0
    if "string" in types and not ({"enum", "const", "pattern", "format"} & schema.keys()):
        out["pattern"] = NAME_PATTERN
    return out


# helm's report of a template's ``fail``: "execution error at (<template>): <message>"
DELIBERATE_FAIL = re.compile(r"execution error at \([^)]*\): ([A-Za-z][\w.]*)[: ]")


def refused_by_name(schema: Any, error: str) -> bool:
    """``error`` is a template's deliberate refusal naming a field ``schema`` defines, or a
    field inside an object the schema takes in Kubernetes' own form (``lifecycle.preStop``
    is one: ``lifecycle.preStop.sleep.seconds`` is a field of it)."""
    match = DELIBERATE_FAIL.search(error)
    if match is None:
        return False
    node = schema
    for key in match.group(1).split("."):
        if not isinstance(node, dict):
            return False
        if node.get("type") == "object" and "properties" not in node:
            return True  # free-form: Kubernetes defines what lies below
        properties = node.get("properties", {})
        if key not in properties:
            return False
        node = properties[key]
    return True


def json_object(value: object) -> dict[str, Any]:
    """A generated document as the values mapping it is: every chart schema's top is an object."""
    assert isinstance(value, dict), f"the schema generated a non-object: {value!r}"
    return value


def fuzz_cases() -> list[Any]:
    return [
        pytest.param(c, id=c.name)
        for c in all_charts()
        if (c.path / "values.schema.json").is_file()
    ]


def check_generated(chart: ChartInfo, values: dict[str, Any], *, compare: bool = False) -> None:
    if compare:  # every engine accepts or rejects it alike, and renders the same objects
        assert_engines_agree(RenderRequest(chart.path, values=values))
    problems = schema_errors(chart, [ValuesSource("generated values", values)])
    if problems:
        assert all(p.startswith("generated values: ") or ": " in p for p in problems)
        return
    try:
        text = render(chart.path, values_inline=values, engine="auto")
    except RenderError as exc:
        schema = json.loads((chart.path / "values.schema.json").read_text())
        if refused_by_name(schema, str(exc)):
            return
        pytest.fail(
            f"{chart.name}: schema-valid values failed inside a template:\n{exc}\n"
            f"values: {json.dumps(values)}"
        )
    failures = check_objects(Manifests.parse(text), "1.37.0")
    assert failures == [], f"{chart.name}: values {json.dumps(values)} rendered invalid objects"


@pytest.mark.parametrize("chart", fuzz_cases())
def test_schema_generated_values_render_valid_or_are_rejected(chart: ChartInfo) -> None:
    schema = narrow(json.loads((chart.path / "values.schema.json").read_text()))
    schema.pop("required", None)  # overrides may leave out what defaults provide
    strategy: st.SearchStrategy[dict[str, Any]] = from_schema(schema).map(json_object)

    budget = {"compared": 0, "failing": False}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        suppress_health_check=list(HealthCheck),
    )
    @given(values=strategy)
    def run(values: dict[str, Any]) -> None:
        # the first examples, and every one after a failure, so that shrinking compares too
        compare = bool(budget["failing"]) or int(budget["compared"]) < DIFFERENTIAL_EXAMPLES
        budget["compared"] = int(budget["compared"]) + compare
        try:
            check_generated(chart, values, compare=compare)
        except AssertionError:
            budget["failing"] = True
            raise

    run()
