"""Container start-up: the job's user, environment snapshot, crontab and log."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.config.environment import startup
from fetcher.config.load import load
from fetcher.errors import ConfigError
from fetcher.ops import container, installed

TWO_SOURCES = (
    '[[sources]]\nname = "a"\nurl = "http://h/a"\nschedule = "*/5 * * * *"\n'
    '[[sources]]\nname = "b"\nurl = "http://h/b"\n'
)
JOB = "root /usr/local/bin/run-job"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    os.chown(path, 1234, 2345)
    return path


class TestJobUser:
    def test_job_user_is_owner_of_out(self, out: Path) -> None:
        assert container.job_user(str(out), startup({})) == container.JobUser(1234, 2345, f"owner of {out}")

    def test_job_user_puid_pgid_override(self, out: Path) -> None:
        assert container.job_user(str(out), startup({"PUID": "1000", "PGID": "1001"})) == container.JobUser(
            1000, 1001, "PUID/PGID"
        )

    def test_job_user_puid_alone_uses_it_as_gid(self, out: Path) -> None:
        user = container.job_user(str(out), startup({"PUID": "1000"}))

        assert (user.uid, user.gid) == (1000, 1000)

    def test_job_user_root_owned_out_falls_back_to_image_user(self, tmp_path: Path) -> None:
        user = container.job_user(str(tmp_path), startup({}))

        assert (user.uid, user.gid, user.hand_over) == (10001, 10001, True)

    def test_job_user_root_group_alone_is_no_hand_over(self, tmp_path: Path) -> None:
        os.chown(tmp_path, 1234, 0)

        assert container.job_user(str(tmp_path), startup({})) == container.JobUser(
            1234, 1234, f"owner of {tmp_path}"
        )

    @pytest.mark.parametrize(
        ("env", "key"),
        [
            ({"PUID": "0"}, "PUID"),
            ({"PUID": "5", "PGID": "0"}, "PUID"),
            ({"PUID": "ann"}, "PUID"),
            ({"PGID": "-1"}, "PGID"),
        ],
    )
    def test_job_user_root_or_garbage_ids_refused(self, out: Path, env: dict[str, str], key: str) -> None:
        with pytest.raises(ConfigError) as caught:
            container.job_user(str(out), startup(env))

        assert caught.value.key == key


def test_render_crontab_one_line_per_schedule_at_that_schedule(write_config: Callable[[str], Path]) -> None:
    settings = load(str(write_config(TWO_SOURCES)), {})

    lines = container.render_crontab(settings).splitlines()

    assert lines[-2:] == [
        f"*/5 * * * * {JOB} --schedule '*/5 * * * *' >> /var/log/fetch.log 2>&1",
        f"0 * * * * {JOB} --schedule '0 * * * *' >> /var/log/fetch.log 2>&1",
    ]
    assert "PATH=/usr/bin:/bin" in lines


def test_render_crontab_sources_sharing_a_schedule_share_one_line(
    write_config: Callable[[str], Path],
) -> None:
    shared = "".join(
        f'[[sources]]\nname = "s{n}"\nurl = "http://h/{n}"\nschedule = "{schedule}"\n'
        for n, schedule in enumerate(["*/5 * * * *", "0 * * * *", "*/5  *  * * *", "0 * * * *"])
    )
    settings = load(str(write_config(shared)), {})

    jobs = [line for line in container.render_crontab(settings).splitlines() if JOB in line]

    assert [line.split(JOB)[0] for line in jobs] == ["*/5 * * * * ", "0 * * * * "]
    assert [installed.running_at(None, settings.sources, line.split("'")[1]) for line in jobs] == [
        (settings.sources[0], settings.sources[2]),
        (settings.sources[1], settings.sources[3]),
    ]


def test_default_crontab_runs_fetch_data_hourly() -> None:
    text = (Path(__file__).resolve().parents[2] / "crontab").read_text()

    (job,) = [
        line for line in text.splitlines() if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert job == f"0 * * * * {JOB} >> /var/log/fetch.log 2>&1"
    assert text.endswith("\n")  # cron ignores a file without a final newline


def test_environment_snapshot_keeps_every_byte_and_drops_shell_noise() -> None:
    snapshot = container.environment_snapshot(
        {"A": "x y", "B": "line1\nline2", "my.dotted": "$HOME `id`", "PWD": "/", "HOME": "/root"}
    )

    assert snapshot.split(b"\0")[:-1] == [b"A=x y", b"B=line1\nline2", b"my.dotted=$HOME `id`"]


class TestPrepare:
    def test_prepare_writes_runas_private_env_crontab_and_empty_log(
        self, out: Path, tmp_path: Path, write_config: Callable[[str], Path]
    ) -> None:
        state = tmp_path / "state"
        settings = load(str(write_config(TWO_SOURCES)), {})
        (state).mkdir()
        (state / "fetch.log").write_text("old run\n")

        environ = {"FETCH_BEARER_TOKEN": "s3cret"}
        user = container.prepare(
            settings, None, startup(environ), environ, state_dir=str(state), output_dir=str(out)
        )

        assert (state / "runas").read_text() == "1234:2345\n" and user.uid == 1234
        assert stat.S_IMODE((state / "env").stat().st_mode) == 0o600
        assert (state / "env").read_bytes() == b"FETCH_BEARER_TOKEN=s3cret\0"
        assert "--schedule '0 * * * *'" in (state / "crontab").read_text()
        assert stat.S_IMODE((state / "crontab").stat().st_mode) == 0o644
        assert (state / "fetch.log").read_text() == ""

    def test_prepare_invalid_config_installs_default_crontab_and_logs_once(
        self, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        default = tmp_path / "crontab.default"
        default.write_text("0 * * * * root job\n")
        monkeypatch.setattr(container, "DEFAULT_CRONTAB", str(default))

        error = ConfigError("sources[0].url", "bad")
        container.prepare(None, error, startup({}), {}, state_dir=str(tmp_path / "s"), output_dir=str(out))

        assert (tmp_path / "s" / "crontab").read_text() == "0 * * * * root job\n"
        (line,) = [record.getMessage() for record in caplog.records]
        assert line.startswith('event=config_error error="sources[0].url: bad"')

    def test_prepare_once_writes_no_crontab_and_leaves_a_bad_config_to_the_run(
        self, out: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        state = tmp_path / "s"
        error = ConfigError("FETCH_URL", "no configuration")

        container.prepare(
            None, error, startup({}), {"A": "1"}, state_dir=str(state), output_dir=str(out), once=True
        )

        assert sorted(path.name for path in state.iterdir()) == ["env", "fetch.log", "runas"]
        assert (state / "env").read_bytes() == b"A=1\0"
        assert "crontab" not in caplog.text and "config_error" not in caplog.text

    def test_prepare_hands_root_owned_out_to_image_user(
        self, tmp_path: Path, write_config: Callable[[str], Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        out = tmp_path / "rootout"
        out.mkdir()
        settings = load(str(write_config(TWO_SOURCES)), {})

        container.prepare(settings, None, startup({}), {}, state_dir=str(tmp_path / "s"), output_dir=str(out))

        assert (out.stat().st_uid, out.stat().st_gid) == (10001, 10001)
        assert "event=output_handed_over dir=" in caplog.text

    def test_prepare_job_user_owns_the_configured_output_dir(
        self, tmp_path: Path, write_config: Callable[[str], Path]
    ) -> None:
        data = tmp_path / "data"
        data.mkdir()
        os.chown(data, 4321, 4321)
        settings = load(str(write_config(f'output_dir = "{data}"\n' + TWO_SOURCES)), {})

        user = container.prepare(
            settings, None, startup({}), {}, state_dir=str(tmp_path / "s"), output_dir="/nonexistent"
        )

        assert (user.uid, user.gid) == (4321, 4321)

    def test_prepare_records_the_installed_schedules_and_gives_the_status_dir_to_the_job(
        self, out: Path, tmp_path: Path, write_config: Callable[[str], Path]
    ) -> None:
        settings = load(str(write_config(TWO_SOURCES)), {})
        environ = {"FETCHER_STATUS_DIR": str(tmp_path / "status")}

        container.prepare(
            settings, None, startup({}), environ, state_dir=str(tmp_path / "s"), output_dir=str(out)
        )

        assert installed.load(str(tmp_path / "s")) == installed.Installed(
            {"a": "*/5 * * * *", "b": "0 * * * *"}
        )
        info = (tmp_path / "status").stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 2345, 0o755)

    def test_prepare_without_chown_shares_the_status_dir_as_tmp_is(
        self, out: Path, tmp_path: Path, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def refuse(path: str, uid: int, gid: int) -> None:
            raise PermissionError(1, "Operation not permitted", path)

        monkeypatch.setattr(os, "chown", refuse)
        settings = load(str(write_config(TWO_SOURCES)), {})
        environ = {"FETCHER_STATUS_DIR": str(tmp_path / "status")}

        container.prepare(
            settings, None, startup({}), environ, state_dir=str(tmp_path / "s"), output_dir=str(out)
        )

        assert stat.S_IMODE((tmp_path / "status").stat().st_mode) == 0o1777

    def test_prepare_invalid_config_records_the_default_crontabs_schedule(
        self, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(
            container, "DEFAULT_CRONTAB", str(Path(__file__).resolve().parents[2] / "crontab")
        )

        container.prepare(
            None, ConfigError("x", "bad"), startup({}), {}, state_dir=str(tmp_path / "s"), output_dir=str(out)
        )

        assert installed.load(str(tmp_path / "s")) == installed.Installed({}, "0 * * * *")

    def test_prepare_read_only_root_owned_out_says_remove_ro(
        self,
        tmp_path: Path,
        write_config: Callable[[str], Path],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        settings = load(str(write_config(TWO_SOURCES)), {})

        def read_only(path: str, uid: int, gid: int) -> None:
            raise OSError(errno.EROFS, "Read-only file system", path)

        monkeypatch.setattr(os, "chown", read_only)

        container.prepare(
            settings, None, startup({}), {}, state_dir=str(tmp_path / "s"), output_dir=str(tmp_path)
        )

        (line,) = [r.getMessage() for r in caplog.records if "output_not_writable" in r.getMessage()]
        assert line.endswith('hint="the output is mounted read-only: remove :ro"')
        assert "Read-only file system" in line


@pytest.mark.parametrize(
    ("config_ok", "env", "expected"),
    [
        (True, {}, "missed"),
        (True, {"FETCH_ON_START": "always"}, "always"),
        (False, {"FETCH_ON_START": "always"}, "never"),
    ],
)
def test_on_start_is_never_when_config_is_invalid(
    config_ok: bool, env: dict[str, str], expected: str, write_config: Callable[[str], Path]
) -> None:
    settings = load(str(write_config(TWO_SOURCES)), {}) if config_ok else None

    assert container.on_start(settings, startup(env)) == expected
