"""The charts/common helpers, through a test-only chart that prints each one's output.

``fixtures/common-harness`` depends on charts/common and writes every helper's
result into a ConfigMap, so each helper is checked on its own, independently of
how the application charts happen to call it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from support.rendering import RenderErrorFn, RenderFn

HARNESS = str(Path(__file__).parent / "fixtures" / "common-harness")
PINNED = {"image": {"tag": "1.0.0"}}


def helpers(
    render: RenderFn, values: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    merged = {**PINNED, **(values or {})}
    data: dict[str, str] = render(HARNESS, merged, **kwargs).get("ConfigMap", "helpers")["data"]
    return data


def as_yaml(text: str) -> Any:
    return yaml.safe_load(text) if text else None


# -- names -------------------------------------------------------------------


def test_fullname_is_release_dash_chart(render: RenderFn) -> None:
    out = helpers(render, release="shop")
    assert out["fullname"] == "shop-harness"
    assert out["componentFullname"] == "shop-harness-worker"
    assert out["name"] == "harness"


def test_fullname_does_not_repeat_a_chart_name_already_in_the_release(render: RenderFn) -> None:
    assert helpers(render, release="my-harness")["fullname"] == "my-harness"


def test_overrides_replace_names(render: RenderFn) -> None:
    out = helpers(render, {"nameOverride": "api", "fullnameOverride": "edge-api"})
    assert out["name"] == "api"
    assert out["fullname"] == "edge-api"
    assert out["componentFullname"] == "edge-api-worker"


def test_names_are_cut_to_63_characters_without_a_trailing_dash(render: RenderFn) -> None:
    out = helpers(render, {"fullnameOverride": "a" * 62 + "-b"})
    assert out["fullname"] == "a" * 62
    assert len(out["componentFullname"]) <= 63
    assert not out["componentFullname"].endswith("-")


def test_chart_label_replaces_plus_of_build_metadata(render: RenderFn) -> None:
    assert helpers(render)["chart"] == "harness-1.0.0_build.7"


def test_namespace_is_the_release_namespace(render: RenderFn) -> None:
    assert helpers(render, namespace="payments")["namespace"] == "payments"


@pytest.mark.parametrize(
    ("service_account", "expected"),
    [
        ({"create": True, "name": ""}, "rel-harness"),
        ({"create": True, "name": "runner"}, "runner"),
        ({"create": False, "name": ""}, "default"),
        ({"create": False, "name": "shared"}, "shared"),
    ],
)
def test_service_account_name(
    render: RenderFn, service_account: dict[str, Any], expected: str
) -> None:
    assert helpers(render, {"serviceAccount": service_account})["serviceAccountName"] == expected


# -- labels and annotations ---------------------------------------------------


def test_standard_labels_are_the_recommended_set(render: RenderFn) -> None:
    labels = as_yaml(helpers(render)["labelsStandard"])
    assert labels == {
        "app.kubernetes.io/name": "harness",
        "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/version": "2.3.4",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/component": "web",
        "app.kubernetes.io/part-of": "shop",
        "helm.sh/chart": "harness-1.0.0_build.7",
    }
    assert "app.kubernetes.io/component" not in as_yaml(helpers(render)["labelsNoComponent"])


def test_common_labels_are_added_but_cannot_replace_chart_labels(render: RenderFn) -> None:
    labels = as_yaml(
        helpers(
            render,
            {
                "commonLabels": {
                    "team": "{{ .Release.Name }}-team",
                    "app.kubernetes.io/name": "hijacked",
                }
            },
        )["labelsStandard"]
    )
    assert labels["team"] == "rel-team"
    assert labels["app.kubernetes.io/name"] == "harness"


def test_selector_labels_are_name_instance_component_only(render: RenderFn) -> None:
    values = {"commonLabels": {"team": "a"}, "nameOverride": ""}
    selector = as_yaml(helpers(render, values)["labelsSelector"])
    assert selector == {
        "app.kubernetes.io/name": "harness",
        "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/component": "web",
    }
    assert as_yaml(helpers(render)["labelsSelectorNoComponent"]) == {
        "app.kubernetes.io/name": "harness",
        "app.kubernetes.io/instance": "rel",
    }


def test_selector_ignores_chart_version_and_common_labels(render: RenderFn) -> None:
    """An upgrade that changes labels or the version must leave selectors as they were."""
    before = helpers(render)["labelsSelector"]
    after = helpers(render, {"commonLabels": {"tier": "gold"}, "image": {"tag": "9.9.9"}})
    assert after["labelsSelector"] == before


def test_annotations_merge_common_and_extra_and_render_templates(render: RenderFn) -> None:
    out = helpers(
        render,
        {
            "commonAnnotations": {"owner": "team-a", "shared": "common"},
            "extraAnnotations": {"shared": "extra", "release": "{{ .Release.Name }}"},
        },
    )
    assert as_yaml(out["annotations"]) == {"owner": "team-a", "shared": "extra", "release": "rel"}


def test_annotations_render_nothing_when_empty(render: RenderFn) -> None:
    assert helpers(render)["annotations"] == ""


# -- images -------------------------------------------------------------------


def test_image_reference_parts(render: RenderFn) -> None:
    image = {
        "registry": "ghcr.io",
        "repository": "org/api",
        "tag": "v2",
        "digest": "sha256:" + "a" * 64,
    }
    assert helpers(render, {"image": image})["image"] == f"ghcr.io/org/api:v2@sha256:{'a' * 64}"


def test_image_without_registry_has_no_leading_slash(render: RenderFn) -> None:
    out = helpers(render, {"image": {"registry": "", "repository": "org/api", "tag": "v2"}})
    assert out["image"] == "org/api:v2"


def test_global_registry_replaces_the_image_registry(render: RenderFn) -> None:
    out = helpers(render, {"global": {"imageRegistry": "mirror.internal:5000"}})
    assert out["image"] == "mirror.internal:5000/example/app:1.0.0"


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("ghcr.io/org/api", "ghcr.io/org/api:1.0.0"),
        ("registry.example.com:5000/api", "registry.example.com:5000/api:1.0.0"),
        ("localhost/api", "localhost/api:1.0.0"),
        ("org/api", "docker.io/org/api:1.0.0"),
        ("api", "docker.io/api:1.0.0"),
    ],
)
def test_a_registry_host_in_the_repository_is_the_registry(
    render: RenderFn, repository: str, expected: str
) -> None:
    """`helm create` charts name the whole image in `repository`: its host is not
    prefixed by the chart's default `registry` (docker.io/ghcr.io/... would not pull)."""
    assert (
        helpers(render, {"image": {"repository": repository, "tag": "1.0.0"}})["image"] == expected
    )


def test_the_global_mirror_replaces_a_registry_host_in_the_repository(render: RenderFn) -> None:
    values = {
        "global": {"imageRegistry": "mirror.internal"},
        "image": {"repository": "ghcr.io/org/api", "tag": "1.0.0"},
    }
    assert helpers(render, values)["image"] == "mirror.internal/org/api:1.0.0"


def test_tag_defaults_to_app_version(render: RenderFn) -> None:
    assert helpers(render, {"image": {"tag": ""}})["image"] == "docker.io/example/app:2.3.4"


@pytest.mark.parametrize("tag", ["latest"])
def test_latest_tag_fails_naming_the_value(render_error: RenderErrorFn, tag: str) -> None:
    message = render_error(HARNESS, {"image": {"tag": tag}, "imagePath": "worker.image"})
    assert "worker.image.tag" in message
    assert '"latest"' in message


def test_latest_is_accepted_when_a_digest_pins_the_image(render: RenderFn) -> None:
    digest = "sha256:" + "b" * 64
    out = helpers(render, {"image": {"tag": "latest", "digest": digest}})
    assert out["image"] == f"docker.io/example/app@{digest}"


def test_pull_secrets_merge_global_strings_and_maps_without_duplicates(render: RenderFn) -> None:
    out = helpers(
        render,
        {
            "global": {"imagePullSecrets": ["corp", {"name": "mirror"}]},
            "imagePullSecrets": [{"name": "corp"}, "app"],
        },
    )
    assert as_yaml(out["pullSecrets"]) == {
        "imagePullSecrets": [{"name": "corp"}, {"name": "mirror"}, {"name": "app"}]
    }


def test_pull_secrets_render_nothing_when_there_are_none(render: RenderFn) -> None:
    assert helpers(render)["pullSecrets"] == ""


# -- security contexts ----------------------------------------------------------


def test_pod_security_context_defaults_meet_restricted(render: RenderFn) -> None:
    assert as_yaml(helpers(render)["podSecurityContext"]) == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "fsGroupChangePolicy": "OnRootMismatch",
    }


def test_container_security_context_defaults_meet_restricted(render: RenderFn) -> None:
    assert as_yaml(helpers(render)["containerSecurityContext"]) == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_overrides_deep_merge_and_keep_the_other_defaults(render: RenderFn) -> None:
    out = helpers(
        render,
        {
            "podSecurityContext": {"runAsUser": 999, "fsGroup": 999},
            "securityContext": {
                "readOnlyRootFilesystem": False,
                "capabilities": {"add": ["NET_BIND_SERVICE"]},
            },
        },
    )
    pod = as_yaml(out["podSecurityContext"])
    assert pod["runAsUser"] == 999
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    container = as_yaml(out["containerSecurityContext"])
    assert container["readOnlyRootFilesystem"] is False
    assert container["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert container["allowPrivilegeEscalation"] is False


# -- checksums, storage, tplvalues, extraObjects -------------------------------


def test_checksums_cover_templates_that_render_and_change_with_content(render: RenderFn) -> None:
    assert helpers(render)["checksums"] == ""
    one = as_yaml(helpers(render, {"config": {"a": "1"}})["checksums"])
    assert set(one) == {"checksum/config"}
    two = as_yaml(helpers(render, {"config": {"a": "2"}, "secret": {"k": "v"}})["checksums"])
    assert set(two) == {"checksum/config", "checksum/secret"}
    assert one["checksum/config"] != two["checksum/config"]
    assert len(two["checksum/config"]) == 64


def test_checksums_are_stable_for_equal_content(render: RenderFn) -> None:
    first = helpers(render, {"config": {"a": "1"}}, release="one")["checksums"]
    second = helpers(render, {"config": {"a": "1"}}, release="two")["checksums"]
    assert first == second


@pytest.mark.parametrize(
    ("global_values", "persistence", "expected"),
    [
        ({}, {}, ""),
        ({}, {"storageClass": "fast-ssd"}, 'storageClassName: "fast-ssd"'),
        ({}, {"storageClass": "-"}, 'storageClassName: ""'),
        (
            {"storageClass": "global-ssd"},
            {"storageClass": "fast-ssd"},
            'storageClassName: "global-ssd"',
        ),
        ({"storageClass": "-"}, {"storageClass": "fast-ssd"}, 'storageClassName: ""'),
    ],
)
def test_storage_class(
    render: RenderFn, global_values: dict[str, Any], persistence: dict[str, Any], expected: str
) -> None:
    out = helpers(render, {"global": global_values, "persistence": persistence})
    assert out["storageClass"] == expected


def test_claim_template_guard_is_silent_without_a_cluster(render: RenderFn) -> None:
    """``lookup`` finds no StatefulSet under ``helm template``, so GitOps renders pass and
    the guard renders nothing. The refusing path needs an API server: the cache chart's
    integration tests change an installed release's volume size."""
    assert helpers(render)["claimTemplateGuard"] == ""


def test_tplvalues_renders_templates_in_values(render: RenderFn) -> None:
    assert helpers(render, release="shop")["tplvalues"] == "shop-x"


def test_extra_objects_accept_maps_and_strings_with_templates(render: RenderFn) -> None:
    manifests = render(
        HARNESS,
        {
            **PINNED,
            "extraObjects": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "{{ .Release.Name }}-map"},
                },
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-secret\n",
            ],
        },
    )
    assert sorted(manifests.names("ConfigMap")) == ["helpers", "rel-map"]
    assert manifests.names("Secret") == ["rel-secret"]
