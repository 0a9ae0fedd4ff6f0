"""The image on a real engine: none of cron-in-Docker's failure modes, items 1 to 12 of the issue.

Scheduling is every minute; tests poll for files with a deadline. The containers that wait for
cron start together in one fixture, so the suite waits for one cron minute, not one per test.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from tests.apiserver import ApiServer, Exchange, Reply, paged
from tests.container.conftest import (
    JOB,
    REPO,
    Containers,
    build_image,
    data_files,
    docker,
    run_records,
    temp_files,
    wait_for,
)

CRON_WAIT_S = 150  # one cron minute, plus start-up, plus a slow machine
SECRET = f"tok-container-{uuid.uuid4().hex}"
RECORDS = [{"id": n, "name": f"n{n}", "geo": {"lat": n / 10}} for n in range(30)]


def _secure(exchange: Exchange) -> Reply:
    if exchange.headers.get("Authorization") != f"Bearer {SECRET}":
        return 401, {"error": "bad token"}
    return 200, {"data": RECORDS[:3]}


def toml(path: Path, url: str, name: str, schedule: str = "* * * * *", extra: str = "") -> Path:
    path.write_text(
        f'[[sources]]\nname = "{name}"\nurl = "{url}"\nrecords = "data"\nschedule = "{schedule}"\n'
        f'[sources.pagination]\ntype = "page"\nsize = 10\n{extra}'
    )
    return path


def mounts(out: Path, config: Path | None = None) -> list[str]:
    volumes = ["-v", f"{out}:/out"]
    return volumes + (["-v", f"{config}:/etc/fetcher/fetcher.toml:ro"] if config else [])


def owners(paths: list[Path]) -> set[tuple[int, int]]:
    return {(path.stat().st_uid, path.stat().st_gid) for path in paths}


@pytest.fixture(scope="module")
def api() -> Iterator[ApiServer]:
    with ApiServer() as server:
        server.route("/records", paged(RECORDS, size=10))
        server.route("/secure", _secure)
        yield server


@pytest.fixture(scope="module")
def module_containers(image: str) -> Iterator[Containers]:
    fleet = Containers(image)
    yield fleet
    fleet.remove_all()


class Fleet:
    """The containers that wait for cron, started together."""

    def __init__(self, containers: Containers, api: ApiServer, root: Path) -> None:
        self.c = containers
        self.dirs: dict[str, Path] = {}
        for name in ("toml", "env", "tz", "hardened"):
            self.dirs[name] = root / name
            self.dirs[name].mkdir()
            os.chown(self.dirs[name], 1234, 1234)
        self.dirs["env"].chmod(0o777)  # shared with the PUID below, as PUID users' directories are

        self.toml = containers.run(
            "-e",
            "FETCH_ON_START=never",
            *mounts(self.dirs["toml"], toml(root / "toml.toml", api.url("/records"), "toml")),
        )

        env_file = root / "fetch.env"
        env_file.write_text(f"FETCH_URL={api.url('/secure')}\nFETCH_RECORDS=data\nFETCH_SCHEDULE=* * * * *\n")
        secret = root / "token"
        secret.write_text(SECRET + "\n")
        os.chown(secret, 2345, 3456)
        secret.chmod(0o400)
        self.env = containers.run(
            "--env-file",
            str(env_file),
            "-e",
            "FETCH_NAME=env",
            "-e",
            "FETCH_ON_START=never",
            "-e",
            "FETCH_BEARER_TOKEN_FILE=/run/secrets/token",
            "-e",
            "PUID=2345",
            "-e",
            "PGID=3456",
            "-v",
            f"{secret}:/run/secrets/token:ro",
            *mounts(self.dirs["env"]),
        )

        # A daily schedule at the next minute *in Berlin*: it fires within a minute only if cron
        # schedules in Berlin time; read as UTC it would be an hour away.
        now = datetime.now(ZoneInfo("Europe/Berlin"))
        target = now.replace(second=0, microsecond=0) + timedelta(minutes=1 if now.second < 40 else 2)
        self.tz_target_utc = target.astimezone(UTC)
        self.tz = containers.run(
            "-e",
            "TZ=Europe/Berlin",
            "-e",
            "FETCH_ON_START=never",
            *mounts(
                self.dirs["tz"],
                toml(root / "tz.toml", api.url("/records"), "tz", f"{target.minute} {target.hour} * * *"),
            ),
        )

        self.hardened = containers.run(
            "--read-only",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "SETUID",
            "--cap-add",
            "SETGID",
            "--security-opt",
            "no-new-privileges",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/tmp",
            "-e",
            "FETCH_ON_START=never",
            *mounts(self.dirs["hardened"], toml(root / "hardened.toml", api.url("/records"), "hardened")),
        )

    def wait_for_run(self, name: str) -> dict[str, object]:
        return wait_for(lambda: run_records(self.dirs[name], name), CRON_WAIT_S, f"cron to run {name}")[0]


@pytest.fixture(scope="module")
def fleet(module_containers: Containers, api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return Fleet(module_containers, api, tmp_path_factory.mktemp("fleet"))


class TestScheduled:
    def test_cron_with_mounted_toml_lands_files_on_host_owned_by_out_owner(self, fleet: Fleet) -> None:
        record = fleet.wait_for_run("toml")

        assert record["status"] == "succeeded" and record["records"] == 30
        files = data_files(fleet.dirs["toml"], "toml")
        assert [path.suffix for path in files] == [".csv", ".parquet"]
        assert pq.read_table(files[1]).num_rows == 30
        assert owners(files) == {(1234, 1234)}

    def test_cron_job_sees_env_file_variables_and_secret_file_with_puid_override(
        self, fleet: Fleet, api: ApiServer
    ) -> None:
        record = fleet.wait_for_run("env")

        assert record["status"] == "succeeded", record["error"]
        assert owners(data_files(fleet.dirs["env"], "env")) == {(2345, 3456)}
        assert any(e.headers.get("Authorization") == f"Bearer {SECRET}" for e in api.requests)

    def test_secret_is_in_no_log_and_no_world_readable_file(self, fleet: Fleet) -> None:
        fleet.wait_for_run("env")

        assert SECRET not in fleet.c.logs(fleet.env)
        assert SECRET not in fleet.c.exec(fleet.env, "cat", "/var/log/fetch.log").stdout
        readable = fleet.c.exec(
            fleet.env,
            "bash",
            "-c",
            "echo scanned $(find / -xdev -type f -perm -o+r -size -2M 2>/dev/null | wc -l);"
            "find / -xdev -type f -perm -o+r -size -2M -print0 2>/dev/null"
            f" | xargs -0 grep -l -s -F {SECRET} || true",
        )
        scanned, *found = readable.stdout.split("\n", 1)
        assert int(scanned.split()[1]) > 1000 and "".join(found).strip() == ""
        assert fleet.c.exec(fleet.env, "stat", "-c", "%a %U", "/run/fetcher/env").stdout.strip() == "600 root"
        for path in fleet.dirs["env"].rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path

    def test_job_output_reaches_log_file_and_docker_logs(self, fleet: Fleet) -> None:
        record = fleet.wait_for_run("toml")
        summary = "event=run source=toml status=succeeded pages=4 records=30"

        assert summary in fleet.c.exec(fleet.toml, "cat", "/var/log/fetch.log").stdout
        wait_for(lambda: summary in fleet.c.logs(fleet.toml), 10, "the run's summary in docker logs")
        assert record["run_id"] in fleet.c.logs(fleet.toml)

    def test_tz_schedules_in_that_zone_while_file_names_stay_utc(self, fleet: Fleet) -> None:
        record = fleet.wait_for_run("tz")

        started = datetime.fromisoformat(str(record["started_at"]).replace("Z", "+00:00"))
        assert fleet.tz_target_utc <= started < fleet.tz_target_utc + timedelta(minutes=1)
        (parquet,) = [path for path in data_files(fleet.dirs["tz"], "tz") if path.suffix == ".parquet"]
        assert parquet.name == f"tz_{started:%Y%m%dT%H%M%SZ}.parquet"
        assert parquet.parent.name == f"fetch_date={started:%Y-%m-%d}"

    def test_hardened_read_only_cap_drop_all_still_runs_jobs(self, fleet: Fleet) -> None:
        record = fleet.wait_for_run("hardened")

        assert record["status"] == "succeeded"
        host = fleet.c.inspect(fleet.hardened)["HostConfig"]
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
        assert sorted(cap.removeprefix("CAP_") for cap in host["CapAdd"]) == ["SETGID", "SETUID"]
        assert owners(data_files(fleet.dirs["hardened"], "hardened")) == {(1234, 1234)}


class TestStop:
    def test_docker_stop_of_idle_container_ends_on_sigterm_within_2s(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        name = containers.run(
            "-e",
            "FETCH_ON_START=never",
            *mounts(out_dir, toml(tmp_path / "c.toml", api.url("/records"), "idle")),
        )
        wait_for(lambda: _cron_running(containers, name), 30, "cron")

        docker("stop", "--time", "2", name)  # after 2 s docker would SIGKILL: exit code 137

        assert containers.inspect(name)["State"]["ExitCode"] == 143

    def test_stop_during_run_leaves_no_partial_file_and_next_run_cleans_up(
        self, containers: Containers, out_dir: Path, tmp_path: Path
    ) -> None:
        release = threading.Event()
        rows = [{"id": n, "blob": "x" * 200} for n in range(50)]

        def slow_third_page(exchange: Exchange) -> Reply:
            page = int(exchange.query.get("page", "1"))
            if page == 3 and not release.is_set():
                release.wait(timeout=120)
            return 200, {"data": rows[(page - 1) * 10 : page * 10]}

        with ApiServer() as server:
            server.route("/slow", slow_third_page)
            config = toml(tmp_path / "c.toml", server.url("/slow"), "stopped", "0 0 1 1 *")
            name = containers.run("-e", "FETCH_ON_START=always", *mounts(out_dir, config))
            wait_for(lambda: temp_files(out_dir), 60, "a run mid-write (temporary files)")

            docker("stop", "--time", "5", name)

            assert data_files(out_dir, "stopped") == []
            assert temp_files(out_dir)
            release.set()
            docker("start", name)
            wait_for(lambda: run_records(out_dir, "stopped"), 60, "the next run")

        assert temp_files(out_dir) == []
        (parquet,) = [path for path in data_files(out_dir, "stopped") if path.suffix == ".parquet"]
        assert pq.read_table(parquet).num_rows == 50


def _cron_running(containers: Containers, name: str) -> bool:
    script = 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = cron ] && exit 0; done; exit 1'
    return containers.exec(name, "bash", "-c", script).returncode == 0


class TestRunOnce:
    def test_run_once_during_a_run_says_so_and_exits_cleanly(
        self, containers: Containers, out_dir: Path, tmp_path: Path
    ) -> None:
        release = threading.Event()

        def held(exchange: Exchange) -> Reply:
            release.wait(timeout=120)
            return 200, {"data": [{"id": 1}]}

        with ApiServer() as server:
            server.route("/held", held)
            config = toml(tmp_path / "c.toml", server.url("/held"), "held", "0 0 1 1 *")
            name = containers.run("-e", "FETCH_ON_START=always", *mounts(out_dir, config))
            wait_for(lambda: server.requests, 60, "the start-up run to reach the API")

            once = _make(
                "run-once", CONTAINER=name, IMAGE=containers.image, CONFIG=str(config), OUTPUT=str(out_dir)
            )
            release.set()

        assert once.returncode == 0, once.stderr
        assert "skipped: run in progress (pid" in once.stdout
        assert "run-once: a run is already in progress" in once.stdout
        assert "skipped: run in progress" in containers.exec(name, "cat", "/var/log/fetch.log").stdout

    def test_run_once_in_running_container_uses_its_user_config_lock_and_log(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        config = toml(tmp_path / "c.toml", api.url("/records"), "once", "0 0 1 1 *")
        name = containers.run("-e", "FETCH_ON_START=never", *mounts(out_dir, config))
        wait_for(
            lambda: containers.exec(name, "test", "-s", "/run/fetcher/env").returncode == 0, 30, "start-up"
        )

        once = _make(
            "run-once",
            CONTAINER=name,
            IMAGE=containers.image,
            CONFIG="/nonexistent.toml",
            OUTPUT="/nonexistent",
        )

        assert once.returncode == 0, once.stderr
        assert "event=run source=once status=succeeded" in once.stdout  # streamed to the terminal
        assert owners(data_files(out_dir, "once")) == {(1234, 1234)}
        assert (
            "event=run source=once status=succeeded"
            in containers.exec(name, "cat", "/var/log/fetch.log").stdout
        )
        assert (out_dir / "once" / ".lock").exists()

    def test_run_once_without_container_uses_a_throwaway_one(
        self, image: str, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        config = toml(tmp_path / "c.toml", api.url("/records"), "throwaway")
        name = f"fetcher-test-none-{uuid.uuid4().hex[:8]}"

        once = _make(
            "run-once",
            CONTAINER=name,
            IMAGE=image,
            CONFIG=str(config),
            OUTPUT=str(out_dir),
            RUN_FLAGS="--network host",
        )

        assert once.returncode == 0, once.stderr
        assert run_records(out_dir, "throwaway")[0]["status"] == "succeeded"
        assert owners(data_files(out_dir, "throwaway")) == {(1234, 1234)}
        assert (
            docker("ps", "-a", "--filter", f"ancestor={image}", "--format", "{{.Names}}").stdout.count(name)
            == 0
        )


def _make(target: str, **variables: str) -> subprocess.CompletedProcess[str]:
    args = [
        "make",
        "--no-print-directory",
        "-C",
        str(REPO),
        target,
        *(f"{k}={v}" for k, v in variables.items()),
    ]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    return subprocess.CompletedProcess(args, result.returncode, result.stdout + result.stderr, result.stderr)


class TestHealth:
    FAST = (
        "--health-interval",
        "1s",
        "--health-timeout",
        "10s",
        "--health-start-period",
        "1s",
        "--health-retries",
        "1",
    )

    def test_healthy_after_a_successful_run(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        name = containers.run(
            *self.FAST,
            "-e",
            "FETCH_ON_START=always",
            *mounts(out_dir, toml(tmp_path / "c.toml", api.url("/records"), "ok", "0 * * * *")),
        )

        wait_for(lambda: containers.health(name)[0] == "healthy", 60, "healthy")
        assert containers.health(name)[1] == "healthy: cron running, 1 source(s) fresh"

    def test_healthy_before_first_run_while_young(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        name = containers.run(
            *self.FAST,
            "-e",
            "FETCH_ON_START=never",
            *mounts(out_dir, toml(tmp_path / "c.toml", api.url("/records"), "young", "0 * * * *")),
        )

        wait_for(lambda: containers.health(name)[0] == "healthy", 60, "healthy")

    def test_unhealthy_when_latest_run_failed_and_inspect_says_why(
        self, containers: Containers, out_dir: Path, tmp_path: Path
    ) -> None:
        with ApiServer() as server:
            server.route("/down", lambda exchange: (500, {"error": "database down"}))
            config = toml(
                tmp_path / "c.toml",
                server.url("/down"),
                "down",
                "0 * * * *",
                "[sources.retry]\nmax_attempts = 1\n",
            )
            name = containers.run(*self.FAST, "-e", "FETCH_ON_START=always", *mounts(out_dir, config))

            _, output = wait_for(lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy")

        assert "\n" not in output
        assert (
            output.startswith("unhealthy: down: last run ") and "failed:" in output and "HTTP 500" in output
        )

    def test_unhealthy_when_last_success_is_stale(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        finished = datetime.now(UTC) - timedelta(hours=3)
        _seed_success(out_dir, "stale", finished)
        name = containers.run(
            *self.FAST,
            "-e",
            "FETCH_ON_START=never",
            *mounts(out_dir, toml(tmp_path / "c.toml", api.url("/records"), "stale", "0 * * * *")),
        )

        _, output = wait_for(lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy")

        assert "stale: last success 3h00m ago, older than 2h00m (2x its interval)" in output

    def test_unhealthy_when_cron_is_not_running(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        config = toml(tmp_path / "c.toml", api.url("/records"), "nocron", "0 * * * *")
        name = containers.run(*self.FAST, *mounts(out_dir, config), command=("sleep", "300"))

        _, output = wait_for(lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy")

        assert output == "unhealthy: cron is not running"

    @pytest.mark.parametrize(
        ("config_text", "words"),
        [
            pytest.param(
                '[[sources]]\nname = "x"\nurl = "http://127.0.0.1:1/"\nschedule = "every hour"\n',
                'sources[0].schedule: \\"every hour\\" has 2 fields',
                id="invalid",
            ),
            pytest.param(None, "FETCH_URL: no configuration", id="missing"),
        ],
    )
    def test_bad_config_logs_one_line_and_container_stays_up_unhealthy(
        self, containers: Containers, out_dir: Path, tmp_path: Path, config_text: str | None, words: str
    ) -> None:
        config = None
        if config_text is not None:
            config = tmp_path / "bad.toml"
            config.write_text(config_text)
        name = containers.run(*self.FAST, *mounts(out_dir, config))

        _, output = wait_for(lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy")

        errors = [line for line in containers.logs(name).splitlines() if "event=config_error" in line]
        assert len(errors) == 1 and words in errors[0]
        assert containers.inspect(name)["State"]["Running"]
        assert output.startswith("unhealthy: configuration error: ") and words.replace('\\"', '"') in output


class TestTruthfulHealth:
    """Health and status tell the truth at once: the failed run's cause, and the schedule cron runs."""

    FAST = TestHealth.FAST
    YEARLY = "0 0 1 1 *"  # cron never runs it during a test: every run here is `docker exec`'s

    def test_read_only_out_is_unhealthy_after_the_first_failed_run_naming_the_cause(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        config = toml(tmp_path / "c.toml", api.url("/records"), "ro", self.YEARLY)
        name = containers.run(
            *self.FAST,
            "-e",
            "FETCH_ON_START=never",
            "-v",
            f"{out_dir}:/out:ro",
            "-v",
            f"{config}:/etc/fetcher/fetcher.toml:ro",
        )
        cause = "cannot write /out/ro: Read-only file system; the output is mounted read-only: remove :ro"
        assert "remove :ro" not in _started(containers, name)  # no wrong hint at start either

        assert containers.exec(name, JOB).returncode == 1

        health = containers.exec(name, "fetcher", "health")
        assert health.returncode == 1
        assert health.stdout.startswith("unhealthy: ro: last run at ") and health.stdout.endswith(
            f" failed: {cause}\n"
        )
        _, output = wait_for(
            lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy in docker inspect"
        )
        assert output == health.stdout.strip()
        row = _status_row(containers, name, "ro")
        assert row.split()[3:7] == ["failed", "0", "0", "never"]
        assert "  cannot write /out/ro: Read-only file sy" in row and row.endswith(
            "mounted read-only: remove :ro"
        )

        # The fix: the same directory, mounted writable; the next run makes it healthy.
        fixed = containers.run(*self.FAST, "-e", "FETCH_ON_START=never", *mounts(out_dir, config))
        _started(containers, fixed)
        assert containers.exec(fixed, JOB).returncode == 0
        assert (
            containers.exec(fixed, "fetcher", "health").stdout == "healthy: cron running, 1 source(s) fresh\n"
        )
        wait_for(lambda: _settled(containers, fixed, "healthy"), 60, "healthy in docker inspect")
        assert _status_row(containers, fixed, "ro").split()[3:5] == ["succeeded", "30"]

    def test_read_only_out_alerts_once_then_recovers_once_in_the_same_container(
        self, containers: Containers, api: ApiServer, tmp_path: Path
    ) -> None:
        """Issue 12's scenario end to end: a read-only /out fails the first run; health, status and a
        webhook on 127.0.0.1 say so at once; after the fix and the next run, one recovery message."""
        hooks: list[dict[str, object]] = []
        api.route("/hook", lambda exchange: hooks.append(exchange.json()) or (200, {}))
        out = tmp_path / "rofs"
        out.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(out)], check=True)
        try:
            os.chown(out, 1234, 1234)
            extra = '[notify]\nwebhook_url_env = "HOOK_URL"\n'
            config = toml(tmp_path / "c.toml", api.url("/records"), "alerted", self.YEARLY, extra)
            name = containers.run(
                *self.FAST,
                "-e",
                "FETCH_ON_START=never",
                "-e",
                f"HOOK_URL={api.url('/hook')}",
                *mounts(out, config),
            )
            _started(containers, name)
            # The filesystem under /out turns read-only (the container's own mount of it stays as
            # it was: a remount of the filesystem, not of its mounts, is what the fix undoes).
            subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)

            assert containers.exec(name, JOB).returncode == 1

            _, output = wait_for(
                lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy in docker inspect"
            )
            assert output.startswith("unhealthy: alerted: last run at ")
            assert "cannot write /out/alerted: Read-only file system" in output
            assert _status_row(containers, name, "alerted").split()[3] == "failed"
            assert [(hook["event"], hook["status"]) for hook in hooks] == [("failure", "failed")]
            assert "Read-only file system" in str(hooks[0]["error"])

            subprocess.run(["mount", "-o", "remount,rw", str(out)], check=True)  # the fix
            assert containers.exec(name, JOB).returncode == 0

            wait_for(lambda: _settled(containers, name, "healthy"), 60, "healthy in docker inspect")
            assert _status_row(containers, name, "alerted").split()[3:5] == ["succeeded", "30"]
            assert [(hook["event"], hook["status"]) for hook in hooks] == [
                ("failure", "failed"),
                ("recovery", "succeeded"),
            ]
        finally:
            subprocess.run(["umount", "-l", str(out)], check=False)

    def test_puid_on_a_root_owned_folder_says_chown_and_heals_after_the_fix_and_next_run(
        self, containers: Containers, api: ApiServer, tmp_path: Path
    ) -> None:
        out = tmp_path / "rootout"
        out.mkdir()  # root's, 0755: PUID 1000 cannot write it
        config = toml(tmp_path / "c.toml", api.url("/records"), "puid", self.YEARLY)
        name = containers.run(
            *self.FAST,
            "-e",
            "FETCH_ON_START=never",
            "-e",
            "PUID=1000",
            "-e",
            "PGID=1000",
            *mounts(out, config),
        )
        _started(containers, name)

        assert containers.exec(name, JOB).returncode == 1

        _, output = wait_for(
            lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy in docker inspect"
        )
        assert output.endswith(
            "failed: cannot write /out/puid: Permission denied; "
            "/out belongs to root and the job runs as 1000:1000 (never as root): chown it to 1000:1000"
        )
        assert "chown it to 1000:1000" in _status_row(containers, name, "puid")

        os.chown(out, 1000, 1000)
        assert containers.exec(name, JOB).returncode == 0

        _, output = wait_for(lambda: _settled(containers, name, "healthy"), 60, "healthy again")
        assert output == "healthy: cron running, 1 source(s) fresh"
        assert _status_row(containers, name, "puid").split()[3:5] == ["succeeded", "30"]

    def test_config_fixed_in_place_says_restart_to_apply_until_restarted(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        config = toml(tmp_path / "c.toml", api.url("/records"), "later", "every hour")
        name = containers.run(*self.FAST, "-e", "FETCH_ON_START=never", *mounts(out_dir, config))
        wait_for(lambda: _settled(containers, name, "unhealthy"), 60, "unhealthy: invalid config")
        assert (
            "0 * * * * root /usr/local/bin/run-job >>"
            in containers.exec(name, "cat", "/etc/cron.d/fetcher").stdout
        )

        toml(config, api.url("/records"), "later", "*/30 * * * *")  # fixed in place: the same file

        health = containers.exec(name, "fetcher", "health").stdout.strip()
        assert health == (
            "unhealthy: later: cron runs it at '0 * * * *', "
            "the configuration says '*/30 * * * *': restart to apply"
        )
        assert _status_row(containers, name, "later").endswith(":00 UTC (restart to apply)")

        docker("restart", "--time", "2", name)
        wait_for(
            lambda: "*/30" in containers.exec(name, "cat", "/run/fetcher/schedules.json").stdout,
            30,
            "the start-up to install the fixed schedule",
        )

        assert "*/30 * * * * root" in containers.exec(name, "cat", "/etc/cron.d/fetcher").stdout
        assert (
            containers.exec(name, "fetcher", "health").stdout == "healthy: cron running, 1 source(s) fresh\n"
        )
        assert "restart to apply" not in _status_row(containers, name, "later")


def _started(containers: Containers, name: str) -> str:
    """Wait for the start-up (prepare) to finish; return the container's log so far."""
    wait_for(
        lambda: containers.exec(name, "test", "-s", "/run/fetcher/schedules.json").returncode == 0,
        30,
        "start-up",
    )
    return containers.logs(name)


def _status_row(containers: Containers, name: str, source: str) -> str:
    result = containers.exec(name, "fetcher", "status")
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.split()[0] == source]
    return row


def _settled(containers: Containers, name: str, wanted: str) -> tuple[str, str] | None:
    status, output = containers.health(name)
    return (status, output) if status == wanted else None


def _seed_success(out: Path, source: str, finished: datetime) -> None:
    runs = out / source / "_runs"
    runs.mkdir(parents=True)
    started = finished - timedelta(seconds=3)
    record = {
        "run_id": f"{started:%Y%m%dT%H%M%SZ}",
        "source": source,
        "status": "succeeded",
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "finished_at": finished.isoformat().replace("+00:00", "Z"),
        "records": 1,
        "files": [],
        "error": None,
    }
    (runs / f"{record['run_id']}.json").write_text(json.dumps(record))
    for path in (out / source, runs, runs / f"{record['run_id']}.json"):
        os.chown(path, 1234, 1234)


class TestStart:
    def test_missed_catches_up_only_sources_older_than_their_interval(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        _seed_success(out_dir, "behind", datetime.now(UTC) - timedelta(hours=2))
        _seed_success(out_dir, "current", datetime.now(UTC) - timedelta(minutes=5))
        config = tmp_path / "c.toml"
        config.write_text(
            "".join(
                f'[[sources]]\nname = "{name}"\nurl = "{api.url("/records")}"\n'
                'records = "data"\nschedule = "0 * * * *"\n'
                for name in ("behind", "current")
            )
        )
        name = containers.run(*mounts(out_dir, config))  # FETCH_ON_START defaults to missed

        wait_for(lambda: len(run_records(out_dir, "behind")) == 2, 60, "the catch-up run")
        wait_for(
            lambda: "event=catch_up sources=behind" in containers.logs(name),
            10,
            "the catch-up line in docker logs",
        )
        assert len(run_records(out_dir, "current")) == 1

    def test_always_runs_every_source_at_start(
        self, containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
    ) -> None:
        _seed_success(out_dir, "fresh", datetime.now(UTC) - timedelta(minutes=1))
        containers.run(
            "-e",
            "FETCH_ON_START=always",
            *mounts(out_dir, toml(tmp_path / "c.toml", api.url("/records"), "fresh", "0 * * * *")),
        )

        wait_for(lambda: len(run_records(out_dir, "fresh")) == 2, 60, "the start-up run")

    def test_root_owned_out_is_handed_to_the_image_user_never_root(
        self, containers: Containers, tmp_path: Path, api: ApiServer
    ) -> None:
        out = tmp_path / "rootout"
        out.mkdir()
        name = containers.run(
            "-e",
            "FETCH_ON_START=always",
            *mounts(out, toml(tmp_path / "c.toml", api.url("/records"), "rooted", "0 * * * *")),
        )

        wait_for(lambda: run_records(out, "rooted"), 60, "the start-up run")
        assert owners(data_files(out, "rooted")) == {(10001, 10001)}
        assert "event=output_handed_over dir=/out uid=10001 gid=10001" in containers.logs(name)

    @pytest.mark.parametrize(
        ("env", "words"),
        [
            pytest.param(
                ["-e", "TZ=Mars/Olympus"], "TZ: 'Mars/Olympus' is not a known time zone", id="bad-tz"
            ),
            pytest.param(["-e", "PUID=0", "-e", "PGID=0"], "the job never runs as root", id="puid-root"),
            pytest.param(
                ["-e", "FETCH_ON_START=sometimes"],
                "FETCH_ON_START: 'sometimes' is not one of",
                id="bad-on-start",
            ),
        ],
    )
    def test_bad_start_settings_stop_the_container_with_one_line(
        self, containers: Containers, out_dir: Path, env: list[str], words: str
    ) -> None:
        name = containers.run("-e", "FETCH_URL=http://127.0.0.1:1/", *env, *mounts(out_dir))

        wait_for(lambda: not containers.inspect(name)["State"]["Running"], 30, "the container to stop")
        assert containers.inspect(name)["State"]["ExitCode"] == 2
        assert words in containers.logs(name)


def test_log_file_is_capped(containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path) -> None:
    config = toml(tmp_path / "c.toml", api.url("/records"), "capped", "0 0 1 1 *")
    name = containers.run(
        "-e", "FETCH_ON_START=never", "-e", "FETCHER_LOG_MAX_BYTES=600", *mounts(out_dir, config)
    )
    wait_for(lambda: containers.exec(name, "test", "-s", "/run/fetcher/env").returncode == 0, 30, "start-up")
    as_cron = f"{JOB} >> /var/log/fetch.log 2>&1"

    for _ in range(3):
        assert containers.exec(name, "bash", "-c", as_cron).returncode == 0

    log = containers.exec(name, "cat", "/var/log/fetch.log").stdout
    assert "event=log_truncated" in log
    assert log.count("event=run source=capped") == 1


def test_suite_passes_on_the_images_python(image: str) -> None:
    """The image's Python (Debian trixie's 3.13) passes the same suite as the host's."""
    tag = f"{image}-py313"
    build = build_image(tag, "--target", "test")
    assert build.returncode == 0, build.stderr
    name = f"fetcher-test-py313-{uuid.uuid4().hex[:8]}"

    version = docker(
        "run", "--rm", "--network", "none", tag, "python", "-c", "import sys; print(sys.version_info[:2])"
    )
    suite = docker(
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "host",
        "--cap-add",
        "SYS_ADMIN",
        tag,
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-m",
        "not docker",
        "-q",
        check=False,
        timeout=1200,
    )

    assert version.stdout.strip() == "(3, 13)"
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout and " failed" not in suite.stdout


class TestOnce:
    @pytest.mark.parametrize(
        ("reply", "extra", "code"),
        [
            pytest.param((200, {"data": [{"id": 1}]}), "", 0, id="ok"),
            pytest.param(
                (500, {"error": "down"}), "[sources.retry]\nmax_attempts = 1\n", 1, id="fetch-failed"
            ),
            pytest.param(None, 'schedule = "sometimes"\n', 2, id="config-error"),
        ],
    )
    def test_once_exits_with_the_fetchers_exit_code(
        self, image: str, out_dir: Path, tmp_path: Path, reply: Reply | None, extra: str, code: int
    ) -> None:
        with ApiServer() as server:
            server.route("/once", lambda exchange: reply)
            config = tmp_path / "c.toml"
            config.write_text(
                f'[[sources]]\nname = "once"\nurl = "{server.url("/once")}"\nrecords = "data"\n{extra}'
            )
            result = docker(
                "run", "--rm", "--network", "host", *mounts(out_dir, config), image, "once", check=False
            )

        assert result.returncode == code, result.stderr

    def test_once_without_a_configuration_says_so_and_nothing_of_a_crontab(
        self, image: str, out_dir: Path
    ) -> None:
        """A throwaway `make run-once` with no fetcher.toml: one error, and no cron in sight."""
        result = docker("run", "--rm", "--network", "none", *mounts(out_dir), image, "once", check=False)

        assert result.returncode == 2, result.stderr
        assert "no configuration" in result.stderr
        assert "crontab" not in result.stderr

    def test_once_refused_on_its_own_loopback_says_how_to_reach_the_host(
        self, image: str, out_dir: Path, tmp_path: Path
    ) -> None:
        config = tmp_path / "c.toml"
        config.write_text(
            '[[sources]]\nname = "local"\nurl = "http://127.0.0.1:9/x"\n[sources.retry]\nmax_attempts = 1\n'
        )

        result = docker(
            "run", "--rm", "--network", "none", *mounts(out_dir, config), image, "once", check=False
        )

        assert result.returncode == 1, result.stderr
        assert "connection failed" in result.stderr
        assert (
            "127.0.0.1 is the container itself: to reach the host's API, run with --network host"
            in result.stderr
        )

    def test_once_like_a_cronjob_non_root_read_only_into_s3(
        self, image: str, moto_endpoint: str, bucket: tuple[object, str], api: ApiServer, tmp_path: Path
    ) -> None:
        s3, name = bucket
        config = tmp_path / "c.toml"
        config.write_text(
            f'output_dir = "s3://{name}/raw"\ns3_endpoint_url = "{moto_endpoint}"\n'
            f'[[sources]]\nname = "k8s"\nurl = "{api.url("/records")}"\nrecords = "data"\n'
            '[sources.pagination]\ntype = "page"\nsize = 10\n'
        )
        config.chmod(0o644)

        result = docker(
            "run",
            "--rm",
            "--network",
            "host",
            "--user",
            "10001:10001",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "-e",
            "AWS_ACCESS_KEY_ID=testing",
            "-e",
            "AWS_SECRET_ACCESS_KEY=testing",
            "-e",
            "AWS_REGION=us-east-1",
            "-e",
            "AWS_EC2_METADATA_DISABLED=true",
            "-e",
            "FETCHER_CONFIG=/etc/fetcher/fetcher.toml",
            "-v",
            f"{config}:/etc/fetcher/fetcher.toml:ro",
            image,
            "once",
            check=False,
        )

        assert result.returncode == 0, result.stderr
        from pyarrow import fs

        infos = s3.get_file_info(fs.FileSelector(f"{name}/raw/k8s", recursive=True))  # type: ignore[attr-defined]
        names = sorted(
            info.path.rsplit("/", 1)[-1].rsplit(".", 1)[-1] for info in infos if info.type == fs.FileType.File
        )
        assert names == ["csv", "json", "parquet"]  # the data, the run record


def test_make_demo_fetches_the_bundled_api_and_previews_the_files(image: str, tmp_path: Path) -> None:
    """The README's first command: offline, to a running fetcher with files on disk."""
    container = f"fetcher-test-demo-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "output"
    out.mkdir()
    os.chown(out, 1234, 1234)
    try:
        demo = _make("demo", CONTAINER=container, IMAGE=image, OUTPUT=str(out))

        assert demo.returncode == 0, demo.stdout[-3000:]
        assert "event=run source=demo-orders status=succeeded pages=5 records=240" in demo.stdout
        assert "demo-orders: 240 row(s), 10 column(s)" in demo.stdout and "customer__city" in demo.stdout
        assert docker("inspect", "-f", "{{.State.Running}}", f"{container}-demo").stdout.strip() == "true"
        assert {path.suffix for path in out.glob("demo-orders/fetch_date=*/*")} == {".csv", ".parquet"}
        api_health = functools.partial(
            docker, "inspect", "-f", "{{.State.Health.Status}}", f"{container}-demo-api"
        )
        assert wait_for(
            lambda: api_health().stdout.strip() != "starting", 90, "the demo API's health check", interval_s=1
        )
        assert api_health().stdout.strip() == "healthy"  # its own check, not `fetcher health`
    finally:
        _make("demo-stop", CONTAINER=container)


def test_sources_on_one_schedule_share_one_crontab_line_and_one_job_process(
    containers: Containers, out_dir: Path, api: ApiServer, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "".join(
            f'[[sources]]\nname = "{name}"\nurl = "{api.url("/records")}"\nrecords = "data"\n'
            f'schedule = "0 0 1 1 *"\n[sources.pagination]\ntype = "page"\nsize = 10\n'
            for name in ("first", "second")
        )
    )
    name = containers.run("-e", "FETCH_ON_START=never", *mounts(out_dir, config))
    wait_for(lambda: containers.exec(name, "test", "-s", "/run/fetcher/env").returncode == 0, 30, "start-up")
    crontab = containers.exec(name, "cat", "/etc/cron.d/fetcher").stdout

    (line,) = [line for line in crontab.splitlines() if JOB in line]
    assert line.startswith(f"0 0 1 1 * root /usr/local/bin/{JOB} --schedule '0 0 1 1 *' ")
    as_cron = line.split(" root ", 1)[1]
    assert containers.exec(name, "sh", "-c", as_cron).returncode == 0

    log = containers.exec(name, "cat", "/var/log/fetch.log").stdout
    assert log.count("event=job ") == 1 and "sources=first,second max_parallel_sources=2" in log
    for source in ("first", "second"):
        (record,) = run_records(out_dir, source)
        assert record["status"] == "succeeded" and record["records"] == 30
        assert log.count(f"event=run source={source} status=succeeded") == 1
