"""The database chart's promises, proven on a running PostgreSQL 18.

Every check logs in the way an application does: a client pod (the postgres image,
restricted, uid 999) connects to the release's Service by its DNS name over TCP with
a password taken from the chart's Secret. What users report about other database
charts is what these tests rule out:

- a password that changes on ``helm upgrade`` (bitnami/charts#16417);
- "password authentication failed" after a reinstall over a kept volume
  (helm/charts#19867, bitnami/charts#15975);
- data gone after an upgrade, a reinstall or a killed pod;
- a backup that never restored.

Each lifecycle step prints ``FIGURE database.<step>[helmN]: rows written=N found=M``.
Steps that helm drives (install, upgrade, uninstall, values) run with helm 3 and 4;
the rest (a Job started by hand, a killed pod, a scrape, the process's identity) run
once, with helm 4: helm 3 and 4 render identical objects (the differential test), and
after the install nothing of helm takes part.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

import pytest

from . import pods, psql
from .harness import Deployer
from .helm import Helm
from .kube import Kube, Obj, eventually, kubectl
from .psql import Login

pytestmark = pytest.mark.integration

RELEASE = "database"
FULLNAME = "database"  # the release name contains the chart name
SECRET = FULLNAME
CLAIM = "data-database-0"
POD = "database-0"
# The NetworkPolicy admits pods of the release and pods carrying this label.
CLIENT = {"charthouse.dev/database-client": FULLNAME}
ROWS = 100
HELM4_ONLY = pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])

APP = Login("app", psql.from_secret(SECRET, "password"))
SUPERUSER = Login("postgres", psql.from_secret(SECRET, "postgres-password"))
WHOAMI = "SELECT current_user || ' ' || rolsuper FROM pg_roles WHERE rolname = current_user"
COUNT = "SELECT count(*) FROM orders"


def figure(step: str, helm: Helm, *, written: int, found: int, **more: object) -> None:
    extra = "".join(f" {name.replace('_', ' ')}={value}" for name, value in more.items())
    print(f"FIGURE database.{step}[helm{helm.major}]: rows written={written} found={found}{extra}")


def host(namespace: str) -> str:
    return f"{FULLNAME}.{namespace}.svc.cluster.local"


def sql(kube: Kube, namespace: str, *steps: tuple[Login, str]) -> list[psql.Answer]:
    return psql.run(kube, namespace, host(namespace), list(steps), labels=CLIENT)


def write_orders(kube: Kube, namespace: str, rows: int = ROWS) -> int:
    """As the application role: a table and ``rows`` rows in it; returns the count."""
    (answer,) = sql(
        kube,
        namespace,
        (
            APP,
            "CREATE TABLE orders (id integer PRIMARY KEY, note text NOT NULL);\n"
            f"INSERT INTO orders SELECT n, 'order ' || n FROM generate_series(1, {rows}) n;\n"
            + COUNT,
        ),
    )
    return int(answer.value())


def secret_data(kube: Kube, namespace: str, name: str = SECRET) -> dict[str, str]:
    secret = kube.get("v1", "Secret", name, namespace)
    assert secret is not None, f"Secret {name} not found"
    data: dict[str, str] = secret["data"]
    return data


def passwords(kube: Kube, namespace: str, name: str = SECRET) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret_data(kube, namespace, name).items()}


def claim(kube: Kube, namespace: str, name: str = CLAIM) -> Obj:
    found = kube.get("v1", "PersistentVolumeClaim", name, namespace)
    assert found is not None, f"PVC {name} not found"
    return found


def pod_uid(kube: Kube, namespace: str) -> str | None:
    pod = kube.get("v1", "Pod", POD, namespace)
    return None if pod is None else str(pod["metadata"]["uid"])


def wait_replaced(kube: Kube, namespace: str, before: str | None) -> None:
    """Wait for a pod other than ``before`` to be Ready."""
    eventually(
        lambda: pod_uid(kube, namespace) not in (None, before),
        timeout=120,
        what=f"the StatefulSet to replace pod {POD}",
    )
    pods.ready(kube, POD, namespace, timeout=240)


# --- credentials and data through the lifecycle (helm 3 and 4) ---------------------------


def test_app_user_and_superuser_log_in_through_the_service(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy("database", helm, release=RELEASE)
    app, superuser = sql(kube, namespace, (APP, WHOAMI), (SUPERUSER, WHOAMI))
    assert app.value() == "app false", "the application role must not be a superuser"
    assert superuser.value() == "postgres true"

    written = write_orders(kube, namespace)
    (found,) = sql(kube, namespace, (SUPERUSER, COUNT))
    figure("install", helm, written=written, found=int(found.value()))
    assert int(found.value()) == written == ROWS


def test_upgrade_with_a_config_change_keeps_the_password_and_the_rows(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    release = deploy("database", helm, release=RELEASE)
    secret_before = secret_data(kube, namespace)
    assert secret_before["password"] and secret_before["postgres-password"]
    written = write_orders(kube, namespace)
    (setting,) = sql(kube, namespace, (APP, "SHOW max_connections"))
    assert setting.value() == "100"

    # An upgrade without --reuse-values and without the password: the usual CI/CD call.
    before = pod_uid(kube, namespace)
    deploy.upgrade(release, set_values=["config.parameters.max_connections=150"])
    wait_replaced(kube, namespace, before)

    assert secret_data(kube, namespace) == secret_before, "the upgrade changed the Secret"
    setting, found, superuser = sql(
        kube, namespace, (APP, "SHOW max_connections"), (APP, COUNT), (SUPERUSER, "SELECT 1")
    )
    assert setting.value() == "150", "the restarted server did not take the new setting"
    assert superuser.value() == "1"
    figure("upgrade", helm, written=written, found=int(found.value()))
    assert int(found.value()) == written


def test_reinstall_over_the_kept_volume_logs_in_and_finds_the_rows(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy("database", helm, release=RELEASE)
    written = write_orders(kube, namespace)
    secret_before = secret_data(kube, namespace)
    claim_uid = claim(kube, namespace)["metadata"]["uid"]

    helm.uninstall(RELEASE, namespace).check()
    assert kube.get("apps/v1", "StatefulSet", FULLNAME, namespace) is None
    assert secret_data(kube, namespace) == secret_before, "Secret deleted or changed"
    kept = claim(kube, namespace)
    assert kept["metadata"]["uid"] == claim_uid and not kept["metadata"].get("deletionTimestamp")

    deploy("database", helm, release=RELEASE)
    assert secret_data(kube, namespace) == secret_before  # byte-identical, base64 and all
    assert claim(kube, namespace)["metadata"]["uid"] == claim_uid, "the volume was recreated"
    app, found = sql(kube, namespace, (APP, WHOAMI), (SUPERUSER, COUNT))
    assert app.value() == "app false"
    figure("reinstall", helm, written=written, found=int(found.value()))
    assert int(found.value()) == written


def test_reinstall_after_the_secret_was_deleted_applies_the_new_passwords(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    """The data keeps the old passwords; the new Secret's must win (helm/charts#19867)."""
    deploy("database", helm, release=RELEASE)
    written = write_orders(kube, namespace)
    old = passwords(kube, namespace)
    helm.uninstall(RELEASE, namespace).check()
    kube.delete("v1", "Secret", SECRET, namespace)
    eventually(lambda: kube.get("v1", "Secret", SECRET, namespace) is None, what="Secret gone")

    deploy("database", helm, release=RELEASE)
    new = passwords(kube, namespace)
    assert new["password"] != old["password"]
    assert new["postgres-password"] != old["postgres-password"]
    app, superuser, old_app, old_superuser = sql(
        kube,
        namespace,
        (APP, COUNT),
        (SUPERUSER, COUNT),
        (Login("app", psql.literal(old["password"])), "SELECT 1"),
        (Login("postgres", psql.literal(old["postgres-password"])), "SELECT 1"),
    )
    assert old_app.refused_password, old_app.output
    assert old_superuser.refused_password, old_superuser.output
    figure("reinstall-new-secret", helm, written=written, found=int(app.value()))
    assert int(app.value()) == int(superuser.value()) == written


def test_a_password_changed_in_values_logs_in_and_the_old_one_is_refused(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    release = deploy("database", helm, release=RELEASE)
    written = write_orders(kube, namespace)
    old = passwords(kube, namespace)
    new_app, new_admin = secrets.token_urlsafe(18), "admin: it's 'quoted' \\ and spaced"

    before = pod_uid(kube, namespace)
    deploy.upgrade(release, values={"auth": {"password": new_app, "postgresPassword": new_admin}})
    wait_replaced(kube, namespace, before)

    assert passwords(kube, namespace)["password"] == new_app
    found, superuser, old_app, old_superuser = sql(
        kube,
        namespace,
        (Login("app", psql.literal(new_app)), COUNT),
        (Login("postgres", psql.literal(new_admin)), WHOAMI),
        (Login("app", psql.literal(old["password"])), "SELECT 1"),
        (Login("postgres", psql.literal(old["postgres-password"])), "SELECT 1"),
    )
    assert superuser.value() == "postgres true"
    assert old_app.refused_password, old_app.output
    assert old_superuser.refused_password, old_superuser.output
    figure("password-values", helm, written=written, found=int(found.value()))
    assert int(found.value()) == written


def _credentials(admin: str, app: str) -> dict[str, str]:
    return {"admin-password": admin, "app-password": app}


def test_a_password_from_an_existing_secret_logs_in_and_the_old_one_is_refused(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    """Moving to a Secret managed outside the chart, then rotating that Secret."""
    release = deploy("database", helm, release=RELEASE)
    written = write_orders(kube, namespace)
    generated = passwords(kube, namespace)
    external = {
        "auth": {
            "existingSecret": "db-credentials",
            "secretKeys": {"adminPasswordKey": "admin-password", "userPasswordKey": "app-password"},
        }
    }
    app_login = Login("app", psql.from_secret("db-credentials", "app-password"))
    admin_login = Login("postgres", psql.from_secret("db-credentials", "admin-password"))

    def logins(old_app: str, old_admin: str) -> int:
        found, superuser, refused_app, refused_admin = sql(
            kube,
            namespace,
            (app_login, COUNT),
            (admin_login, WHOAMI),
            (Login("app", psql.literal(old_app)), "SELECT 1"),
            (Login("postgres", psql.literal(old_admin)), "SELECT 1"),
        )
        assert superuser.value() == "postgres true"
        assert refused_app.refused_password, refused_app.output
        assert refused_admin.refused_password, refused_admin.output
        return int(found.value())

    # 1. From the chart's generated Secret to the external one.
    first = {"admin": secrets.token_urlsafe(18), "app": secrets.token_urlsafe(18)}
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db-credentials", "namespace": namespace},
            "stringData": _credentials(**first),
        }
    )
    before = pod_uid(kube, namespace)
    deploy.upgrade(release, values=external)
    wait_replaced(kube, namespace, before)
    found = logins(generated["password"], generated["postgres-password"])
    figure("password-existing-secret", helm, written=written, found=found)
    assert found == written

    # 2. The external Secret rotated in place (what a secrets operator does), then the
    # usual `helm upgrade` with unchanged values: the server must take the new passwords.
    second = {"admin": secrets.token_urlsafe(18), "app": secrets.token_urlsafe(18)}
    kube.patch("v1", "Secret", "db-credentials", namespace, {"stringData": _credentials(**second)})
    before = pod_uid(kube, namespace)
    deploy.upgrade(release, values=external)
    wait_replaced(kube, namespace, before)
    found = logins(first["app"], first["admin"])
    figure("password-existing-secret-rotated", helm, written=written, found=found)
    assert found == written


# --- behaviour of the running server (helm 4) ----------------------------------------------


def _job_finished(kube: Kube, namespace: str, name: str) -> str:
    def verdict() -> str | None:
        job = kube.get("batch/v1", "Job", name, namespace)
        for condition in (job or {}).get("status", {}).get("conditions") or []:
            if condition["type"] in ("Complete", "Failed") and condition["status"] == "True":
                return str(condition["type"])
        return None

    result: str = eventually(verdict, timeout=300, what=f"Job {name} to finish")
    return result


def _job_logs(kube: Kube, namespace: str, name: str, container: str) -> str:
    result = kubectl(kube.kubeconfig, "logs", "-n", namespace, f"job/{name}", "-c", container)
    return result.stdout + result.stderr


BACKUPS = {"name": "backups", "persistentVolumeClaim": {"claimName": f"{FULLNAME}-backup"}}
BACKUPS_MOUNT = {"name": "backups", "mountPath": "/backups"}


def _on_the_backup_volume(kube: Kube, namespace: str, script: str) -> str:
    phase, output = pods.run(
        kube,
        namespace,
        script,
        image=psql.IMAGE,
        security=psql.CLIENT_SECURITY,
        volumes=[BACKUPS],
        mounts=[BACKUPS_MOUNT],
    )
    assert phase == "Succeeded", output
    return output


def _verify_only(kube: Kube, namespace: str, name: str) -> str:
    """A Job of the CronJob's own template without its dump step: verify what is there."""
    cronjob = kube.get("batch/v1", "CronJob", f"{FULLNAME}-backup", namespace)
    assert cronjob is not None
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]
    spec["template"]["spec"].pop("initContainers")
    spec["backoffLimit"] = 0
    kube.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )
    return _job_finished(kube, namespace, name)


@HELM4_ONLY
def test_backup_restores_in_verify_and_a_corrupted_dump_fails_it(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy(
        "database",
        helm,
        release=RELEASE,
        values={"backup": {"enabled": True, "verify": {"enabled": True}}},
    )
    written = write_orders(kube, namespace, 250)

    created = kubectl(
        kube.kubeconfig,
        "create",
        "job",
        "-n",
        namespace,
        f"--from=cronjob/{FULLNAME}-backup",
        "backup-now",
    )
    assert created.returncode == 0, created.stderr
    outcome = _job_finished(kube, namespace, "backup-now")
    verify_log = _job_logs(kube, namespace, "backup-now", "verify")
    assert outcome == "Complete", _job_logs(kube, namespace, "backup-now", "backup") + verify_log

    listing = _on_the_backup_volume(
        kube,
        namespace,
        "cd /backups/app && ls && cat ./*.verified && pg_restore --list ./*.dump | grep ' TABLE '",
    )
    (dump,) = re.findall(r"^app-\d{8}T\d{6}Z\.dump$", listing, re.M)
    assert f"{dump}.sha256" in listing
    assert re.search(r" TABLE public orders ", listing), listing
    restored = int(re.search(r"^rows=(\d+)$", listing, re.M).group(1))  # type: ignore[union-attr]
    assert f"1 with data, {written} rows match" in verify_log, verify_log
    figure("backup", helm, written=written, found=restored)
    assert restored == written

    # A dump damaged after it was written: its checksum no longer matches.
    _on_the_backup_volume(
        kube,
        namespace,
        f"f=/backups/app/{dump}; size=$(stat -c %s $f); "
        "printf 'CORRUPTED' | dd of=$f bs=1 seek=$((size / 2)) conv=notrunc status=none",
    )
    assert _verify_only(kube, namespace, "verify-damaged") == "Failed"
    log = _job_logs(kube, namespace, "verify-damaged", "verify")
    assert "does not match its sha256" in log, log

    # A dump cut short before its checksum was taken (a full disk, a killed dump of
    # another tool): the checksum matches, so the restore itself must catch it.
    _on_the_backup_volume(
        kube,
        namespace,
        f"cd /backups/app && truncate -s $(( $(stat -c %s {dump}) * 3 / 4 )) {dump} "
        f"&& sha256sum {dump} > {dump}.sha256",
    )
    assert _verify_only(kube, namespace, "verify-corrupt") == "Failed"
    log = _job_logs(kube, namespace, "verify-corrupt", "verify")
    assert f"FAILED: pg_restore of /backups/app/{dump}" in log, log


WRITER = r"""
committed=0 failed=0 i=0
end=$(( $(date +%s) + 300 ))
while [ "$committed" -lt "$TARGET" ] && [ "$(date +%s)" -lt "$end" ]; do
  i=$((i + 1))
  if out=$(PGCONNECT_TIMEOUT=3 psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -U app -d app \
      -c "INSERT INTO writes (id) VALUES ($i)" 2>&1); then
    committed=$((committed + 1)); echo "committed $i"
  else
    failed=$((failed + 1)); echo "failed $i: $(printf '%s' "$out" | head -n 1)"; sleep 0.2
  fi
done
echo "done committed=$committed failed=$failed"
"""


@HELM4_ONLY
def test_every_committed_row_survives_a_force_deleted_pod(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy("database", helm, release=RELEASE)
    sql(kube, namespace, (APP, "CREATE TABLE writes (id integer PRIMARY KEY)"))
    kube.create(
        pods.pod(
            "writer",
            namespace,
            WRITER,
            image=psql.IMAGE,
            security=psql.CLIENT_SECURITY,
            labels=CLIENT,
            env=[
                {"name": "HOST", "value": host(namespace)},
                {"name": "TARGET", "value": "400"},
                {"name": "PGPASSWORD", **psql.from_secret(SECRET, "password")},
            ],
        )
    )

    def committed() -> list[int]:
        return [
            int(n)
            for n in re.findall(r"^committed (\d+)$", pods.logs(kube, "writer", namespace), re.M)
        ]

    pods.ready(kube, "writer", namespace, timeout=60)
    eventually(lambda: len(committed()) >= 100, timeout=120, what="100 committed writes")
    before = pod_uid(kube, namespace)
    killed = kubectl(
        kube.kubeconfig, "delete", "pod", "-n", namespace, POD, "--grace-period=0", "--force"
    )
    assert killed.returncode == 0, killed.stderr
    at_kill = len(committed())
    wait_replaced(kube, namespace, before)
    assert pods.finished(kube, "writer", namespace, timeout=330) == "Succeeded"

    log = pods.logs(kube, "writer", namespace)
    acknowledged = set(committed())
    failed = len(re.findall(r"^failed ", log, re.M))
    assert re.search(r"^done committed=400 ", log, re.M), log[-2000:]  # writes resumed
    (rows,) = sql(kube, namespace, (SUPERUSER, "SELECT string_agg(id::text, ' ') FROM writes"))
    found = {int(n) for n in rows.value().split()}
    figure(
        "force-delete",
        helm,
        written=len(acknowledged),
        found=len(found),
        committed_before_kill=at_kill,
        attempts_failed=failed,
    )
    lost = sorted(acknowledged - found)
    assert not lost, f"{len(lost)} committed rows lost, e.g. {lost[:10]}"


@HELM4_ONLY
def test_the_exporter_reports_the_server_up(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy("database", helm, release=RELEASE, values={"metrics": {"enabled": True}})
    url = f"http://{FULLNAME}-metrics.{namespace}.svc.cluster.local:9187/metrics"
    samples = pods.scrape_metrics(kube, namespace, url)
    assert samples.get("pg_up") == "1", {k: v for k, v in samples.items() if k.startswith("pg_")}


@HELM4_ONLY
def test_the_server_runs_as_999_with_a_read_only_root_filesystem(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy("database", helm, release=RELEASE)
    labels = kube.get("v1", "Namespace", namespace)["metadata"]["labels"]  # type: ignore[index]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    result = kubectl(
        kube.kubeconfig,
        "exec",
        "-n",
        namespace,
        POD,
        "-c",
        "postgresql",
        "--",
        "bash",
        "-c",
        "id -u; id -g; grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' /proc/1/status; "
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; "
        "if touch /written-by-test 2>&1; then echo WRITABLE; fi; "
        "touch /var/lib/postgresql/18/docker/written-by-test && echo data-writable",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    uid, gid = out.splitlines()[:2]
    assert (uid, gid) == ("999", "999"), out
    assert re.search(r"^Uid:\s+999\s+999\s+999\s+999$", out, re.M), out  # the postmaster too
    assert re.search(r"^CapEff:\s+0+$", out, re.M), out
    assert re.search(r"^NoNewPrivs:\s+1$", out, re.M), out
    assert re.search(r"^Seccomp:\s+2$", out, re.M), out
    assert "postgres" in out
    assert "Read-only file system" in out and "WRITABLE" not in out, out
    assert "data-writable" in out, out
