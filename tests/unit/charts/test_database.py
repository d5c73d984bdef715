"""charts/database: what a user of the PostgreSQL chart relies on, asserted on rendered objects.

What offline rendering cannot show is left to the integration suite and named there:
``lookup`` (password reuse on upgrade, the immutable-field guard) returns nothing
under ``helm template``. Here we test the paths that do not depend on it: explicit
credentials are stable, generated ones are well-formed, and the guard stays silent.
The shell scripts the chart ships (backup, restore-verify, password sync) run
against a real local PostgreSQL when its binaries are installed.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from charthouse.manifests import Manifests
from support.podspec import container, env, mounts, volumes
from support.rendering import RenderErrorFn, RenderFn

CHART = "database"
CHART_DIR = Path(__file__).resolve().parents[3] / "charts" / CHART
STS = "rel-database"
SELECTOR = {
    "app.kubernetes.io/name": "database",
    "app.kubernetes.io/instance": "rel",
    "app.kubernetes.io/component": "primary",
}


def sts(m: Manifests) -> dict[str, Any]:
    return m.get("StatefulSet", STS)


def pod_spec(m: Manifests) -> dict[str, Any]:
    spec: dict[str, Any] = sts(m)["spec"]["template"]["spec"]
    return spec


def secret_data(m: Manifests, name: str = STS) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in m.get("Secret", name)["data"].items()}


def chart_app_version() -> str:
    return str(yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"])


# -- image and pod security ---------------------------------------------------


def test_runs_the_official_debian_postgres_image_pinned_to_app_version(render: RenderFn) -> None:
    image = container(pod_spec(render(CHART)), "postgresql")["image"]
    assert image == f"docker.io/library/postgres:{chart_app_version()}"
    # The Debian variants run postgres as uid 999; the Alpine ones use 70.
    assert "alpine" not in image


def test_runs_as_uid_999_non_root_with_fsgroup_999(render: RenderFn) -> None:
    spec = pod_spec(render(CHART))
    psc = spec["securityContext"]
    assert (psc["runAsUser"], psc["runAsGroup"], psc["fsGroup"]) == (999, 999, 999)
    assert psc["runAsNonRoot"] is True
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}


def test_root_filesystem_is_read_only_and_writable_paths_are_emptydirs(render: RenderFn) -> None:
    spec = pod_spec(render(CHART))
    pg = container(spec, "postgresql")
    sc = pg["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    vols, mnt = volumes(spec), mounts(pg)
    for path in ("/var/run/postgresql", "/tmp", "/dev/shm"):
        assert "emptyDir" in vols[mnt[path]], f"{path} must be an emptyDir"
    assert vols[mnt["/dev/shm"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    # Data on the volume root: the 18+ image keeps PGDATA in a subdirectory of it.
    assert mnt["/var/lib/postgresql"] == "data"
    assert "PGDATA" not in env(pg)


def test_no_init_container_and_no_token(render: RenderFn) -> None:
    spec = pod_spec(render(CHART))
    assert "initContainers" not in spec
    assert spec["automountServiceAccountToken"] is False
    assert render(CHART).get("ServiceAccount", STS)["automountServiceAccountToken"] is False


def test_probes_ask_three_different_questions(render: RenderFn) -> None:
    """Startup: the final server listens on TCP. Liveness: the postmaster answers.
    Readiness: the application's role logs in to its database with the Secret's password."""
    pg = container(pod_spec(render(CHART)), "postgresql")
    startup = pg["startupProbe"]["exec"]["command"]
    assert startup[0] == "pg_isready" and startup[startup.index("-h") + 1] == "127.0.0.1"
    assert pg["livenessProbe"]["exec"]["command"] == [
        "bash",
        "/opt/charthouse/scripts/probe.sh",
        "live",
    ]
    assert pg["readinessProbe"]["exec"]["command"] == [
        "bash",
        "/opt/charthouse/scripts/probe.sh",
        "ready",
        "app",
        "app",
        "/run/secrets/database/user-password",
    ]


def test_readiness_logs_in_as_the_superuser_when_the_app_is_postgres(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "superuser-app-values.yaml"])
    command = container(pod_spec(m), "postgresql")["readinessProbe"]["exec"]["command"]
    assert command[3:] == ["postgres", "shop", "/run/secrets/database/admin-password"]


# -- workload shape ------------------------------------------------------------


def test_statefulset_with_headless_and_clusterip_services(render: RenderFn) -> None:
    m = render(CHART)
    s = sts(m)
    assert s["spec"]["replicas"] == 1
    assert s["spec"]["serviceName"] == "rel-database-hl"
    assert s["spec"]["selector"]["matchLabels"] == SELECTOR
    headless = m.get("Service", "rel-database-hl")["spec"]
    assert headless["clusterIP"] == "None"
    client = m.get("Service", STS)["spec"]
    assert client["type"] == "ClusterIP"
    assert client["ports"][0]["port"] == 5432
    assert headless["selector"] == client["selector"] == SELECTOR


# -- persistence (the rest: test_data_volumes.py) -------------------------------


def test_backup_pvc_survives_uninstall(render: RenderFn) -> None:
    """The data claim and the Secret are kept as in every data chart
    (test_data_volumes.py); the backup PVC is kept too."""
    backup_pvc = render(CHART, {"backup": {"enabled": True}}).get(
        "PersistentVolumeClaim", "rel-database-backup"
    )
    assert backup_pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


# -- credentials ---------------------------------------------------------------


def test_secret_holds_passwords_and_a_connection_uri(render: RenderFn) -> None:
    data = secret_data(
        render(CHART, {"auth": {"password": "app-pw", "postgresPassword": "root-pw"}})
    )
    assert data["password"] == "app-pw"
    assert data["postgres-password"] == "root-pw"
    assert data["uri"] == "postgresql://app:app-pw@rel-database.default.svc.cluster.local:5432/app"
    assert (data["username"], data["database"], data["port"]) == ("app", "app", "5432")


def test_uri_percent_encodes_the_password(render: RenderFn) -> None:
    password = "p@ss w:rd/+?#%'"
    uri = secret_data(render(CHART, {"auth": {"password": password}}))["uri"]
    parts = urlsplit(uri)
    assert parts.hostname == "rel-database.default.svc.cluster.local"
    assert parts.port == 5432
    assert parts.path == "/app"
    assert unquote(parts.password or "") == password


def test_explicit_passwords_render_a_byte_identical_secret(render: RenderFn) -> None:
    values = {"auth": {"password": "app-pw", "postgresPassword": "root-pw"}}
    first = render(CHART, values).get("Secret", STS)
    # The same values through --set: a second, independent helm run
    # (renders are memoised per arguments).
    second = render(
        CHART, set_values=["auth.password=app-pw", "auth.postgresPassword=root-pw"]
    ).get("Secret", STS)
    assert first == second


def test_generated_passwords_are_strong_and_distinct(render: RenderFn) -> None:
    data = secret_data(render(CHART))
    for key in ("password", "postgres-password"):
        assert len(data[key]) == 32 and data[key].isalnum()
    assert data["password"] != data["postgres-password"]
    assert f":{data['password']}@" in data["uri"]


def secret_env_refs(m: Manifests) -> list[str]:
    """Every environment variable of every pod that reads a Secret."""
    found = []
    for template in m.pod_templates():
        spec = template.spec
        for c in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            for e in c.get("env", []):
                if "secretKeyRef" in (e.get("valueFrom") or {}):
                    found.append(f"{template.owner['kind']} {c['name']} {e['name']}")
    return found


@pytest.mark.parametrize(
    "values_file",
    [None, "backup-verify", "metrics", "existing-secret", "superuser-app"],
)
def test_no_password_is_an_environment_variable(render: RenderFn, values_file: str | None) -> None:
    """PostgreSQL, the exporter, the backup Job and helm test read the Secret as files."""
    files = [CHART_DIR / "ci" / f"{values_file}-values.yaml"] if values_file else []
    assert secret_env_refs(render(CHART, values_files=files)) == []


def test_passwords_are_mounted_read_only_for_the_pods_group(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "metrics-values.yaml"])
    spec = pod_spec(m)
    assert volumes(spec)["passwords"]["secret"] == {
        "secretName": STS,
        "defaultMode": 0o440,
        "items": [
            {"key": "postgres-password", "path": "admin-password"},
            {"key": "password", "path": "user-password"},
        ],
    }
    for name in ("postgresql", "metrics"):
        assert mounts(container(spec, name))["/run/secrets/database"] == "passwords"
    pg = env(container(spec, "postgresql"))
    assert pg["POSTGRES_PASSWORD_FILE"] == "/run/secrets/database/admin-password"
    assert pg["CHARTHOUSE_APP_PASSWORD_FILE"] == "/run/secrets/database/user-password"
    exporter = env(container(spec, "metrics"))
    assert exporter["DATA_SOURCE_PASS_FILE"] == "/run/secrets/database/admin-password"


def test_generated_passwords_never_reach_the_pod_template(render: RenderFn) -> None:
    """Pods read passwords from the Secret's files only, and no checksum of a generated
    Secret sits on the pod template (it would roll pods on every GitOps render)."""
    # Two independent renders (a no-op --set defeats the per-arguments memo).
    a = render(CHART, set_values=["nameOverride=database"])
    b = render(CHART)
    assert sts(a)["spec"]["template"] == sts(b)["spec"]["template"]
    assert secret_data(a)["password"] != secret_data(b)["password"]
    assert secret_env_refs(b) == []


def test_changing_an_explicit_password_restarts_postgres_to_sync_it(render: RenderFn) -> None:
    def annotations(pw: str) -> dict[str, str]:
        tpl = sts(render(CHART, {"auth": {"password": pw}}))["spec"]["template"]
        return dict(tpl["metadata"]["annotations"])

    assert annotations("one")["checksum/auth"] != annotations("two")["checksum/auth"]
    hook = container(pod_spec(render(CHART)), "postgresql")["lifecycle"]["postStart"]["exec"][
        "command"
    ]
    assert hook == ["bash", "/opt/charthouse/scripts/sync-passwords.sh"]


def test_existing_secret_renders_no_secret_and_is_referenced_everywhere(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "existing-secret-values.yaml"])
    assert m.names("Secret") == ["app-db-credentials"]  # from extraObjects, not the chart
    assert volumes(pod_spec(m))["passwords"]["secret"]["secretName"] == "app-db-credentials"
    assert [i["key"] for i in volumes(pod_spec(m))["passwords"]["secret"]["items"]] == [
        "admin-password",
        "app-password",
    ]
    test_pod = m.get("Pod", "rel-database-test-connection")["spec"]
    uri = volumes(test_pod)["uri"]["secret"]
    assert uri["secretName"] == "app-db-credentials" and uri["optional"] is True
    assert uri["items"] == [{"key": "database-url", "path": "uri"}]
    assert volumes(test_pod)["passwords"]["secret"]["secretName"] == "app-db-credentials"


def test_secret_keys_may_be_any_valid_key_name(render: RenderFn) -> None:
    keys = {"adminPasswordKey": "0", "userPasswordKey": "-", "uriKey": "DATABASE_URL"}
    m = render(CHART, {"auth": {"secretKeys": keys, "password": "pw"}})
    data = secret_data(m)
    assert data["-"] == "pw" and data["DATABASE_URL"].startswith("postgresql://app:pw@")
    items = volumes(pod_spec(m))["passwords"]["secret"]["items"]
    assert items == [
        {"key": "0", "path": "admin-password"},
        {"key": "-", "path": "user-password"},
    ]


def test_a_uri_key_that_is_also_a_password_key_keeps_the_password(render: RenderFn) -> None:
    m = render(CHART, {"auth": {"secretKeys": {"uriKey": "password"}, "password": "pw"}})
    data = secret_data(m)
    assert data["password"] == "pw" and "uri" not in data
    test_pod = m.get("Pod", "rel-database-test-connection")["spec"]
    assert "uri" not in volumes(test_pod)  # helm test logs in with PG* instead
    test_env = env(test_pod["containers"][0])
    assert test_env["CHARTHOUSE_PASSWORD_FILE"] == "/run/secrets/database/user-password"


def test_one_key_for_both_passwords_means_one_shared_password(render: RenderFn) -> None:
    keys = {"adminPasswordKey": "pw", "userPasswordKey": "pw", "uriKey": "uri"}
    m = render(CHART, {"auth": {"secretKeys": keys, "password": "app-pw"}})
    data = secret_data(m)
    assert data["pw"] == "app-pw" and data["uri"].startswith("postgresql://app:app-pw@")
    assert volumes(pod_spec(m))["passwords"]["secret"]["items"] == [
        {"key": "pw", "path": "admin-password"}
    ]
    pg = env(container(pod_spec(m), "postgresql"))
    assert pg["POSTGRES_PASSWORD_FILE"] == pg["CHARTHOUSE_APP_PASSWORD_FILE"]


def test_app_role_is_created_by_an_init_script_not_as_superuser(render: RenderFn) -> None:
    m = render(CHART)
    pg = container(pod_spec(m), "postgresql")
    assert env(pg)["POSTGRES_USER"] == "postgres"
    assert env(pg)["CHARTHOUSE_APP_USERNAME"] == "app"
    script = m.get("ConfigMap", "rel-database-initdb")["data"]["00-charthouse-app-user.sh"]
    assert 'CREATE ROLE :"user" LOGIN PASSWORD' in script
    assert "SUPERUSER" not in script


def test_superuser_app_shares_one_password(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "superuser-app-values.yaml"])
    data = secret_data(m)
    assert data["password"] == data["postgres-password"] == "not-a-real-password"
    assert data["uri"].startswith("postgresql://postgres:not-a-real-password@")
    assert "CHARTHOUSE_APP_USERNAME" not in env(container(pod_spec(m), "postgresql"))
    assert "rel-database-initdb" not in m.names("ConfigMap")


# -- configuration ---------------------------------------------------------------


def test_config_parameters_become_postgresql_conf(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "config-values.yaml"])
    conf = m.get("ConfigMap", "rel-database-config")["data"]["postgresql.conf"]
    assert "max_connections = '200'" in conf  # the user's value wins over the chart default
    assert "shared_preload_libraries = 'pg_stat_statements'" in conf
    assert "listen_addresses = '*'" in conf
    assert "hba_file = '/etc/postgresql/pg_hba.conf'" in conf
    args = container(pod_spec(m), "postgresql")["args"]
    assert args == ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]


def test_config_values_are_quoted_and_large_numbers_stay_integers(render: RenderFn) -> None:
    conf = render(
        CHART, {"config": {"parameters": {"search_path": "a'b", "max_wal_size_mb_demo": 1000000}}}
    ).get("ConfigMap", "rel-database-config")["data"]["postgresql.conf"]
    assert "search_path = 'a''b'" in conf
    assert "max_wal_size_mb_demo = '1000000'" in conf


def test_config_change_restarts_the_pod(render: RenderFn) -> None:
    def checksum(values: dict[str, Any]) -> str:
        return str(
            sts(render(CHART, values))["spec"]["template"]["metadata"]["annotations"][
                "checksum/configmap"
            ]
        )

    assert checksum({}) != checksum({"config": {"parameters": {"work_mem": "64MB"}}})


def test_chart_managed_parameters_cannot_be_overridden(render_error: RenderErrorFn) -> None:
    message = render_error(CHART, {"config": {"parameters": {"port": 5433}}})
    assert "config.parameters.port" in message


def test_pg_hba_lines_come_before_the_chart_rules(render: RenderFn) -> None:
    hba = render(CHART, {"pgHba": ["host all all 10.0.0.0/8 reject"]}).get(
        "ConfigMap", "rel-database-config"
    )["data"]["pg_hba.conf"]
    rules = [line for line in hba.splitlines() if line and not line.startswith("#")]
    assert rules[0] == "host all all 10.0.0.0/8 reject"
    assert rules[-1] == "host all all ::/0 scram-sha-256"
    assert "local all all trust" in rules


def test_initdb_scripts_are_mounted_after_the_chart_script(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "config-values.yaml"])
    data = m.get("ConfigMap", "rel-database-initdb")["data"]
    assert sorted(data) == ["00-charthouse-app-user.sh", "10-extensions.sql", "20-schema.sh"]
    pg = container(pod_spec(m), "postgresql")
    assert mounts(pg)["/docker-entrypoint-initdb.d"] == "initdb"
    assert env(pg)["POSTGRES_INITDB_ARGS"] == "--data-checksums"


# -- backup ------------------------------------------------------------------------


def test_backup_cronjob_dumps_to_a_kept_pvc(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "backup-values.yaml"])
    cron = m.get("CronJob", "rel-database-backup")
    assert cron["spec"]["schedule"] == "30 2 * * *"
    assert cron["spec"]["timeZone"] == "Etc/UTC"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "initContainers" not in spec
    backup = container(spec, "backup")
    assert backup["command"] == ["bash", "/opt/charthouse/scripts/backup.sh"]
    e = env(backup)
    assert (e["PGHOST"], e["BACKUP_DATABASES"], e["BACKUP_RETENTION"]) == (
        "rel-database",
        "app",
        "14",
    )
    assert volumes(spec)["backups"]["persistentVolumeClaim"] == {"claimName": "rel-database-backup"}
    pvc = m.get("PersistentVolumeClaim", "rel-database-backup")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert "backup.sh" in m.get("ConfigMap", "rel-database-scripts")["data"]


def test_backup_verify_restores_after_the_dump_without_credentials(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "backup-verify-values.yaml"])
    spec = m.get("CronJob", "rel-database-backup")["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]
    # The dump is an init container: verify starts only once it succeeded.
    assert [c["name"] for c in spec["initContainers"]] == ["backup"]
    verify = container(spec, "verify")
    assert verify["command"] == ["bash", "/opt/charthouse/scripts/verify.sh"]
    e = env(verify)
    # The scratch server is local to the Job: verify cannot touch the live database.
    assert "PGPASSWORD" not in e and "PGHOST" not in e
    assert mounts(verify)["/scratch"] == "scratch"
    for c in (verify, container(spec, "backup", init=True)):
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["resources"]["limits"]["memory"]


def test_backup_existing_claim_creates_no_pvc(render: RenderFn) -> None:
    m = render(
        CHART, {"backup": {"enabled": True, "persistence": {"existingClaim": "nfs-backups"}}}
    )
    assert m.names("PersistentVolumeClaim") == []
    spec = m.get("CronJob", "rel-database-backup")["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]
    assert volumes(spec)["backups"]["persistentVolumeClaim"] == {"claimName": "nfs-backups"}


# -- metrics, network, disruption -----------------------------------------------------


def test_metrics_sidecar_service_and_optional_servicemonitor(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "metrics-values.yaml"])
    exporter = container(pod_spec(m), "metrics")
    assert exporter["image"] == "quay.io/prometheuscommunity/postgres-exporter:v0.20.1"
    assert exporter["ports"] == [{"name": "http-metrics", "containerPort": 9187, "protocol": "TCP"}]
    assert env(exporter)["DATA_SOURCE_PASS_FILE"] == "/run/secrets/database/admin-password"
    assert m.get("Service", "rel-database-metrics")["spec"]["ports"][0]["port"] == 9187
    assert m.of_kind("ServiceMonitor") == []
    sm = render(CHART, values_files=[CHART_DIR / "ci" / "servicemonitor-values.yaml"]).get(
        "ServiceMonitor", STS
    )
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert sm["spec"]["endpoints"][0]["port"] == "http-metrics"


def test_network_policy_admits_the_release_and_labelled_clients_only(render: RenderFn) -> None:
    policy_spec = render(CHART).get("NetworkPolicy", STS)["spec"]
    assert policy_spec["podSelector"]["matchLabels"] == SELECTOR
    (rule,) = policy_spec["ingress"]
    assert rule["ports"] == [{"port": "tcp-postgresql", "protocol": "TCP"}]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "rel"}}} in rule["from"]
    assert {
        "podSelector": {"matchLabels": {"charthouse.dev/database-client": "rel-database"}}
    } in rule["from"]
    open_rule = render(CHART, {"networkPolicy": {"allowExternal": True}}).get("NetworkPolicy", STS)
    assert "from" not in open_rule["spec"]["ingress"][0]


DNS_EGRESS = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def test_network_policy_lets_postgresql_reach_dns_only(render: RenderFn) -> None:
    spec = render(CHART).get("NetworkPolicy", STS)["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["egress"] == [DNS_EGRESS]
    extra = {"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}], "ports": [{"port": 5432}]}
    opened = render(CHART, {"networkPolicy": {"egress": {"extraEgress": [extra]}}})
    assert opened.get("NetworkPolicy", STS)["spec"]["egress"] == [DNS_EGRESS, extra]
    unrestricted = render(CHART, {"networkPolicy": {"egress": {"enabled": False}}})
    spec = unrestricted.get("NetworkPolicy", STS)["spec"]
    assert spec["policyTypes"] == ["Ingress"] and "egress" not in spec


def test_backup_pods_accept_nothing_and_reach_dns_and_the_database(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHART_DIR / "ci" / "backup-values.yaml"])
    spec = m.get("NetworkPolicy", "rel-database-backup")["spec"]
    assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "backup"
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec
    to_primary = {"to": [{"podSelector": {"matchLabels": SELECTOR}}]}
    assert spec["egress"] == [
        DNS_EGRESS,
        {**to_primary, "ports": [{"port": 5432, "protocol": "TCP"}]},
    ]
    job = m.get("CronJob", "rel-database-backup")["spec"]["jobTemplate"]["spec"]["template"]
    labels = job["metadata"]["labels"]
    assert all(labels[k] == v for k, v in spec["podSelector"]["matchLabels"].items())


def test_backup_cronjob_never_overlaps_and_skips_a_run_it_missed(render: RenderFn) -> None:
    cron = render(CHART, values_files=[CHART_DIR / "ci" / "backup-values.yaml"]).get(
        "CronJob", "rel-database-backup"
    )["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["startingDeadlineSeconds"] == 3600


def test_network_policy_opens_metrics_to_the_namespace(render: RenderFn) -> None:
    rules = render(CHART, values_files=[CHART_DIR / "ci" / "metrics-values.yaml"]).get(
        "NetworkPolicy", STS
    )["spec"]["ingress"]
    metrics = next(r for r in rules if r["ports"][0]["port"] == "http-metrics")
    assert {"podSelector": {}} in metrics["from"]
    assert any("namespaceSelector" in peer for peer in metrics["from"])


def test_pdb_is_opt_in_and_production_blocks_evictions(render: RenderFn) -> None:
    assert render(CHART).of_kind("PodDisruptionBudget") == []
    pdb = render(CHART, values_files=[CHART_DIR / "ci" / "production-values.yaml"]).get(
        "PodDisruptionBudget", STS
    )
    assert pdb["spec"]["maxUnavailable"] == 0
    assert "minAvailable" not in pdb["spec"]
    assert pdb["spec"]["selector"]["matchLabels"] == SELECTOR


def test_helm_test_pod_logs_in_with_the_secret_uri(render: RenderFn) -> None:
    pod = render(CHART).get("Pod", "rel-database-test-connection")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["command"][-1]
    assert 'pg_isready -h "$PGHOST"' in script
    assert 'psql "$(< /run/secrets/database-uri/uri)"' in script
    assert volumes(pod["spec"])["uri"]["secret"]["items"] == [{"key": "uri", "path": "uri"}]


# -- schema ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"persistance": {"size": "1Gi"}}, "persistance"),
        ({"auth": {"pasword": "x"}}, "pasword"),
        ({"backup": {"verify": {"enable": True}}}, "enable"),
        ({"persistence": {"size": 10}}, "persistence.size"),
        ({"image": {"tag": "latest"}}, "image.tag"),
        ({"metrics": {"image": {"tag": ""}}}, "metrics.image.tag"),
        ({"backup": {"retention": 0}}, "backup.retention"),
        ({"service": {"type": "ExternalName"}}, "service.type"),
        ({"initdb": {"scripts": {"evil.py": "print()"}}}, "evil.py"),
        ({"auth": {"username": "bad name"}}, "auth.username"),
        ({"securityContext": {"runAsNonRoot": False}}, "securityContext.runAsNonRoot"),
        ({"securityContext": {"privileged": True}}, "securityContext.privileged"),
        ({"securityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
        ({"metrics": {"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}}, "add"),
        ({"podSecurityContext": {"runAsUser": 0}}, "podSecurityContext.runAsUser"),
        ({"podDisruptionBudget": {"maxUnavailable": "150%"}}, "maxUnavailable"),
        ({"pgHba": ["host all all 0.0.0.0/0 trust\nlocal all all trust"]}, "pgHba"),
        (
            {
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "z",
                        "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelectr": {},
                    }
                ]
            },
            "labelSelectr",
        ),
        ({"extraObjects": ["kind: ConfigMap"]}, "extraObjects"),
    ],
)
def test_schema_rejects_bad_values_naming_the_field(
    render_error: RenderErrorFn, values: dict[str, Any], field: str
) -> None:
    message = render_error(CHART, values)
    # Dotted (our validator) or JSON-pointer (helm's) spelling of the same field.
    assert field in message or "/" + field.replace(".", "/") in message


def test_schema_accepts_free_form_global(render: RenderFn) -> None:
    render(
        CHART, {"global": {"imageRegistry": "mirror.example", "somethingForAnotherChart": {"x": 1}}}
    )


def test_global_image_registry_applies_to_every_image(render: RenderFn) -> None:
    m = render(
        CHART,
        {
            "global": {"imageRegistry": "mirror.example"},
            "metrics": {"enabled": True},
            "backup": {"enabled": True},
        },
    )
    images = {
        c["image"]
        for p in m.pod_templates()
        for c in p.spec["containers"] + p.spec.get("initContainers", [])
    }
    assert images and all(i.startswith("mirror.example/") for i in images)


# -- the shipped scripts against a real PostgreSQL -------------------------------------


def _pg_bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_dump").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


PG_BIN = _pg_bindir()
needs_postgres = pytest.mark.skipif(
    PG_BIN is None, reason="PostgreSQL server binaries not installed"
)


class LocalPostgres:
    """A real PostgreSQL server in a temp dir, run as an unprivileged OS user
    (initdb refuses root), reachable on a socket and on 127.0.0.1:<port>."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.socket = root / "run"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def run(
        self, cmd: list[str], env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        full_env = {"PATH": f"{PG_BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})}
        return subprocess.run(
            [*self.as_user, "env", *[f"{k}={v}" for k, v in full_env.items()], *cmd],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def sql(self, statement: str, db: str = "postgres", user: str = "postgres") -> str:
        out = self.run(
            [
                "psql",
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket),
                "-p",
                str(self.port),
                "-U",
                user,
                "-d",
                db,
                "-c",
                statement,
            ]
        )
        return out.stdout.strip()

    def start(self) -> None:
        # As the server's user: the server creates its socket there.
        self.run(["mkdir", "-p", str(self.socket)])
        self.run(
            [
                "initdb",
                "-D",
                str(self.root / "data"),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            ]
        )
        self.run(
            [
                "pg_ctl",
                "-D",
                str(self.root / "data"),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-o",
                f"-c listen_addresses=127.0.0.1 -p {self.port}"
                f" -c unix_socket_directories={self.socket}",
                "start",
            ]
        )

    def secret_file(self, name: str, content: str) -> Path:
        """A Secret key as the pod sees it: a file the server's user can read."""
        path = self.root / "secrets" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(content)
        path.chmod(0o400)
        if self.as_user:
            shutil.chown(path.parent, "postgres", "postgres")
            shutil.chown(path, "postgres", "postgres")
        return path

    def stop(self) -> None:
        self.run(
            ["pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"], check=False
        )


@pytest.fixture
def postgres() -> Iterator[LocalPostgres]:
    # Not tmp_path: pytest's base dir is private to root, and the server runs as "postgres".
    root = Path(tempfile.mkdtemp(prefix="charthouse-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = LocalPostgres(root, 55000 + os.getpid() % 1000)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"local PostgreSQL did not start: {exc.stderr}")
    server.sql("ALTER ROLE postgres PASSWORD 'admin-pw'")
    server.sql("CREATE DATABASE app")
    server.sql(
        "CREATE TABLE orders (id int PRIMARY KEY, note text);"
        "INSERT INTO orders SELECT g, 'line ' || g || E'\\nsecond line'"
        " FROM generate_series(1, 500) g;"
        'CREATE TABLE "Odd Name" (a int); INSERT INTO "Odd Name" VALUES (1), (2), (3);'
        "CREATE TABLE events (id int) PARTITION BY RANGE (id);"
        "CREATE TABLE events_0 PARTITION OF events FOR VALUES FROM (0) TO (1000);"
        "INSERT INTO events SELECT generate_series(0, 49); CREATE TABLE empty_table (x int);",
        db="app",
    )
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _script_env(server: LocalPostgres, **extra: str) -> dict[str, str]:
    return {"BACKUP_DIR": str(server.root / "backups"), "BACKUP_DATABASES": "app", **extra}


def _backup(server: LocalPostgres, retention: int = 7) -> subprocess.CompletedProcess[str]:
    env = _script_env(
        server,
        PGHOST="127.0.0.1",
        PGPORT=str(server.port),
        PGUSER="postgres",
        CHARTHOUSE_PASSWORD_FILE=str(server.secret_file("admin-password", "admin-pw")),
        BACKUP_RETENTION=str(retention),
        TMPDIR=str(server.root),
    )
    return server.run(["bash", str(CHART_DIR / "files" / "backup.sh")], env)


def _verify(server: LocalPostgres) -> subprocess.CompletedProcess[str]:
    env = _script_env(server, SCRATCH_DIR=str(server.root / "scratch"))
    return server.run(["bash", str(CHART_DIR / "files" / "verify.sh")], env, check=False)


@needs_postgres
def test_backup_then_verify_checks_every_row(postgres: LocalPostgres) -> None:
    _backup(postgres)
    result = _verify(postgres)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 with data, 553 rows match" in result.stdout  # 500 + 3 + 50 + 0
    (verified,) = (postgres.root / "backups" / "app").glob("*.dump.verified")
    assert "rows=553" in verified.read_text()


@needs_postgres
def test_verify_fails_on_a_corrupted_dump(postgres: LocalPostgres) -> None:
    _backup(postgres)
    (dump,) = (postgres.root / "backups" / "app").glob("*.dump")
    blob = bytearray(dump.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    dump.write_bytes(bytes(blob))
    result = _verify(postgres)
    assert result.returncode != 0
    assert "does not match its sha256" in result.stdout


@needs_postgres
def test_backup_keeps_only_the_newest_dumps(postgres: LocalPostgres) -> None:
    for _ in range(3):
        _backup(postgres, retention=2)
        time.sleep(1.1)  # dump names carry a one-second UTC timestamp
    dumps = sorted(p.name for p in (postgres.root / "backups" / "app").glob("*.dump"))
    assert len(dumps) == 2
    assert len(list((postgres.root / "backups" / "app").glob("*.sha256"))) == 2
    assert not list((postgres.root / "backups").rglob("*.partial"))


@needs_postgres
def test_sync_passwords_makes_the_database_accept_the_secret(postgres: LocalPostgres) -> None:
    """The reinstall-over-a-kept-volume case: the stored password is stale."""
    postgres.sql("CREATE ROLE app LOGIN PASSWORD 'stale'")
    env = {
        "PGPORT": str(postgres.port),
        "CHARTHOUSE_SOCKET_DIR": str(postgres.socket),
        "POSTGRES_PASSWORD_FILE": str(postgres.secret_file("admin-password", "new admin")),
        "CHARTHOUSE_APP_USERNAME": "app",
        "CHARTHOUSE_APP_PASSWORD_FILE": str(postgres.secret_file("user-password", "new'app")),
    }
    result = postgres.run(["bash", str(CHART_DIR / "files" / "sync-passwords.sh")], env)
    assert "synchronised" in result.stdout

    def login(user: str, password: str) -> int:
        return postgres.run(
            [
                "psql",
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                str(postgres.port),
                "-U",
                user,
                "-d",
                "postgres",
                "-c",
                "SELECT 1",
            ],
            {"PGPASSWORD": password},
            check=False,
        ).returncode

    assert login("app", "new'app") == 0
    assert login("app", "stale") != 0
    assert login("postgres", "new admin") == 0
    assert "new admin" not in (postgres.root / "server.log").read_text()


def _probe(server: LocalPostgres, *args: str) -> int:
    env = {
        "PGPORT": str(server.port),
        "CHARTHOUSE_SOCKET_DIR": str(server.socket),
        "TMPDIR": str(server.root),
    }
    probe = str(CHART_DIR / "files" / "probe.sh")
    return server.run(["bash", probe, *args], env, check=False).returncode


@needs_postgres
def test_readiness_needs_a_login_of_the_app_role_to_its_database(postgres: LocalPostgres) -> None:
    postgres.sql("CREATE ROLE app LOGIN PASSWORD 'a:b\\c'")
    good = str(postgres.secret_file("user-password", "a:b\\c"))
    wrong = str(postgres.secret_file("wrong-password", "stale"))
    assert _probe(postgres, "ready", "app", "app", good) == 0
    assert _probe(postgres, "ready", "app", "app", wrong) != 0  # e.g. a reinstall over old data
    assert _probe(postgres, "ready", "app", "missing_db", good) != 0
    assert _probe(postgres, "ready", "nobody", "app", good) != 0
    assert not list(postgres.root.glob("charthouse-pgpass.*"))  # no password left behind


@needs_postgres
def test_liveness_is_the_postmaster_answering_not_a_login(postgres: LocalPostgres) -> None:
    assert _probe(postgres, "live") == 0
    postgres.stop()
    assert _probe(postgres, "live") != 0
