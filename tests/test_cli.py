"""The command line: commands, exit codes, and one line per expected failure."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from fetcher import cli, redact
from fetcher.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, EXIT_OK
from fetcher.http.auth import ApiKey
from fetcher.run.lock import hold

REPO = Path(__file__).resolve().parent.parent
URL = "https://api.example.com/items"
TWO_SOURCES = f"""
output_dir = "{{out}}"
[[sources]]
name = "one"
url = "{URL}"
[[sources]]
name = "two"
url = "{URL}/two"
"""


def _lines(capture: pytest.CaptureFixture[str]) -> list[str]:
    return capture.readouterr().err.splitlines()


@responses.activate
def test_main_runs_every_source(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    responses.get(URL, json=[{"id": 1}])
    responses.get(URL + "/two", json=[{"id": 2}])

    assert cli.main(["run", "--config", str(write_config(TWO_SOURCES))]) == EXIT_OK
    assert sorted(
        path.parent.parent.name for path in (tmp_path / "out").glob("*/fetch_date=*/*.parquet")
    ) == [
        "one",
        "two",
    ]


@responses.activate
def test_main_without_command_runs(write_config: Callable[[str], Path]) -> None:
    responses.get(URL, json=[])
    responses.get(URL + "/two", json=[])

    assert cli.main(["--config", str(write_config(TWO_SOURCES))]) == EXIT_OK


@responses.activate
def test_main_run_one_source(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    responses.get(URL + "/two", json=[{"id": 2}])

    assert cli.main(["run", "--source", "two", "--config", str(write_config(TWO_SOURCES))]) == EXIT_OK
    assert not (tmp_path / "out" / "one").exists()


THREE_SOURCES = (
    TWO_SOURCES
    + f"""
[[sources]]
name = "three"
url = "{URL}/three"
schedule = "*/5 * * * *"
"""
)


def _landed(out: Path) -> list[str]:
    return sorted(path.parent.parent.name for path in out.glob("*/fetch_date=*/*.parquet"))


@responses.activate
def test_main_run_several_sources_given_by_name(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    for path in ("/two", "/three"):
        responses.get(URL + path, json=[{"id": 2}])

    args = ["run", "--source", "three", "--source", "two", "--config", str(write_config(THREE_SOURCES))]

    assert cli.main(args) == EXIT_OK
    assert _landed(tmp_path / "out") == ["three", "two"]


@responses.activate
def test_main_run_schedule_runs_the_sources_cron_runs_at_it(
    write_config: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fetcher.ops import installed

    for path in ("", "/two", "/three"):
        responses.get(URL + path, json=[{"id": 1}])
    config = str(write_config(THREE_SOURCES))
    monkeypatch.setattr("fetcher.ops.container.STATE_DIR", str(tmp_path / "state"))

    assert cli.main(["run", "--schedule", "0 * * * *", "--config", config]) == EXIT_OK
    assert _landed(tmp_path / "out") == ["one", "two"]  # outside the container: as configured

    (tmp_path / "state").mkdir()
    installed.save(installed.Installed({"one": "0 * * * *", "three": "0 * * * *"}), str(tmp_path / "state"))
    assert cli.main(["run", "--schedule", "0 * * * *", "--config", config]) == EXIT_OK
    assert sorted(
        {path.parent.parent.name for path in (tmp_path / "out").glob("*/fetch_date=*/*.parquet")}
    ) == [
        "one",
        "three",
        "two",
    ]
    assert len(list((tmp_path / "out").glob("two/_runs/*.json"))) == 1  # as installed: not two


@responses.activate
def test_main_failed_source_exits_1_and_others_still_run(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    responses.get(URL, status=404)
    responses.get(URL + "/two", json=[{"id": 2}])

    assert cli.main(["run", "--config", str(write_config(TWO_SOURCES))]) == EXIT_FAILED
    assert list((tmp_path / "out").glob("two/fetch_date=*/*.parquet"))


def test_main_config_error_exits_2_with_one_line(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('[[sources]]\nname = "a"\nurl = "http://h/x"\nschedule = "hourly"\n')

    assert cli.main(["run", "--config", str(path)]) == EXIT_CONFIG
    (line,) = _lines(capsys)
    assert 'level=ERROR event=config_error error="sources[0].schedule: \\"hourly\\" has 1 fields' in line


def test_main_unknown_source_exits_2(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", "--source", "nope", "--config", str(write_config(TWO_SOURCES))]) == EXIT_CONFIG
    assert "is not a configured source; have: one, two" in capsys.readouterr().err


def test_main_locked_source_exits_75_saying_skipped(
    write_config: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(TWO_SOURCES)
    (tmp_path / "out" / "one").mkdir(parents=True)

    with hold(str(tmp_path / "out" / "one" / ".lock"), "one"):
        code = cli.main(["run", "--source", "one", "--config", str(path)])

    assert code == EXIT_LOCKED
    assert "skipped: run in progress (pid" in capsys.readouterr().err


def test_main_validate_prints_sources(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["validate", "--config", str(write_config(TWO_SOURCES))]) == EXIT_OK

    out = capsys.readouterr().out
    assert "config ok:" in out and "2 source(s)" in out
    assert f"one: GET {URL} schedule '0 * * * *' pagination none formats parquet,csv" in out


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(lambda path: ["--config", path, "validate"], id="before-the-command"),
        pytest.param(lambda path: ["validate", "--config", path], id="after-the-command"),
        pytest.param(
            lambda path: ["--config", "/nowhere.toml", "validate", "--config", path], id="last-wins"
        ),
    ],
)
def test_main_config_counts_before_or_after_the_command(
    write_config: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    order: Callable[[str], list[str]],
) -> None:
    monkeypatch.delenv("FETCHER_CONFIG", raising=False)
    monkeypatch.setenv("FETCH_URL", "https://elsewhere.example.com/")  # what an ignored --config falls to
    path = str(write_config(TWO_SOURCES))

    assert cli.main(order(path)) == EXIT_OK

    assert f"config ok: {path}: 2 source(s)" in capsys.readouterr().out


def test_main_log_level_counts_before_the_command(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    levels: list[str] = []
    monkeypatch.setattr(cli.logs, "configure", levels.append)

    assert cli.main(["--log-level", "ERROR", "status", "--config", str(write_config(TWO_SOURCES))]) == 0

    assert levels == ["ERROR"]


@responses.activate
def test_main_validate_probe_prints_columns_and_writes_nothing(
    write_config: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    responses.get(URL, json=[{"id": 1, "name": "x"}])
    responses.get(URL + "/two", status=500)
    path = write_config(TWO_SOURCES.replace('name = "two"', 'name = "two"\nretry = { max_attempts = 1 }'))

    assert cli.main(["validate", "--probe", "--config", str(path)]) == EXIT_FAILED

    out = capsys.readouterr().out
    assert (
        "probe one: 1 record(s) on the first page, 4 column(s)\n  id: int64\n  name: string\n"
        "  _fetched_at: timestamp[us, tz=UTC]\n  _run_id: string\n"
    ) in out
    assert "probe two: failed:" in out and "HTTP 500" in out
    assert not (tmp_path / "out").exists()


def test_main_status_prints_table(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status", "--config", str(write_config(TWO_SOURCES))]) == EXIT_OK

    header, one, _ = capsys.readouterr().out.splitlines()
    assert header.split() == [
        *("SOURCE", "LAST", "RUN", "(UTC)", "STATUS", "RECORDS", "FILES"),
        *("LAST", "SUCCESS", "NEXT", "RUN", "ERROR"),
    ]
    assert one.split()[:2] == ["one", "never"]


def test_help_lists_commands_and_exit_codes_without_heavy_imports() -> None:
    code = (
        "import runpy, sys\n"
        "sys.argv = ['fetcher', '--help']\n"
        "try:\n    runpy.run_module('fetcher', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = ('boto3', 'botocore', 'msgspec', 'pandas', 'pyarrow', 'requests')\n"
        "print('loaded:', sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )

    listed = {
        line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ") and line.split()
    }
    assert {"run", "validate", "status", "health"} <= listed
    assert "75 skipped" in result.stdout.replace("\n", " ")
    assert result.stdout.rstrip().endswith("loaded: []")  # --help stays instant


def test_fetch_data_script_runs_as_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "fetcher" / "fetch_data.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "FETCHER_CONFIG": str(tmp_path / "missing.toml")},
    )

    assert result.returncode == EXIT_CONFIG
    assert "FETCHER_CONFIG: " in result.stderr and "missing.toml: no such file" in result.stderr


@responses.activate
def test_main_storage_error_on_one_source_lets_the_others_run(
    write_config: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    responses.get(URL + "/two", json=[{"id": 2}])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "one").write_text("a file where the source's directory belongs")

    code = cli.main(["run", "--config", str(write_config(TWO_SOURCES))])

    assert code == EXIT_FAILED
    assert list((tmp_path / "out").glob("two/fetch_date=*/*.parquet"))
    assert "event=error source=one error=" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("FETCHER_LOG_LEVEL", "verbose", "'VERBOSE' is not DEBUG, INFO"),
        ("FETCHER_LOG_MAX_BYTES", "10M", "'10M' is not a number"),
    ],
)
def test_main_bad_logging_variable_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)

    assert cli.main(["status", "--config", "/nonexistent.toml"]) == EXIT_CONFIG

    (line,) = capsys.readouterr().err.splitlines()
    assert f'event=config_error error="{variable}: {words}' in line


def test_configuration_registers_secrets_and_api_key_param_for_redaction(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        '[[sources]]\nname = "a"\nurl = "http://h/x"\n'
        '[sources.auth]\ntype = "api_key"\ntoken_env = "K"\nquery = "appid"\n'
    )

    auth = cli.configuration(str(path), {"K": "key-999"}).sources[0].auth

    assert isinstance(auth, ApiKey) and (auth.query, auth.secret) == ("appid", "key-999")
    assert redact.redact("GET /x?appid=zzz&key-999") == "GET /x?appid=***&***"


def test_configuration_registers_basic_auth_encoded_form(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("s3cret-pass\n")
    path = write_config(
        '[[sources]]\nname = "a"\nurl = "http://h/x"\n'
        f'[sources.auth]\ntype = "basic"\nusername = "ann"\npassword_file = "{tmp_path / "pw"}"\n'
    )

    cli.configuration(str(path), {})

    encoded = base64.b64encode(b"ann:s3cret-pass").decode()
    assert redact.redact(f"Authorization: Basic {encoded} s3cret-pass") == "Authorization: Basic *** ***"


@pytest.mark.parametrize("command", ["validate", "status", "run"])
def test_main_missing_secret_exits_2_with_one_line(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = write_config(TWO_SOURCES + '[sources.auth]\ntype = "bearer"\ntoken_env = "UNSET_TOKEN"\n')

    assert cli.main([command, "--config", str(path)]) == EXIT_CONFIG

    (line,) = _lines(capsys)
    assert 'error="sources[1].auth.token_env: environment variable UNSET_TOKEN is not set"' in line


def test_main_prepare_bad_tz_exits_2_before_preparing_anything(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prepared: list[object] = []
    monkeypatch.setattr("fetcher.ops.container.prepare", lambda *args, **kwargs: prepared.append(args))
    monkeypatch.setenv("TZ", "Nowhere/Land")

    assert cli.main(["prepare", "--config", str(write_config(TWO_SOURCES))]) == EXIT_CONFIG

    (line,) = _lines(capsys)
    assert "event=config_error error=\"TZ: 'Nowhere/Land' is not a known time zone" in line
    assert prepared == []


def test_validate_imports_no_data_library(write_config: Callable[[str], Path]) -> None:
    code = (
        "import sys\n"
        "from fetcher import cli\n"
        f"assert cli.main(['validate', '--config', {str(write_config(TWO_SOURCES))!r}]) == 0\n"
        "print('loaded:', sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )

    assert result.stdout.rstrip().endswith("loaded: []")


def test_run_never_loads_pandas_and_a_dataframe_still_works_after(tmp_path: Path) -> None:
    from tests.apiserver import ApiServer

    config = tmp_path / "fetcher.toml"
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['fetcher', 'run', '--config', {str(config)!r}]\n"
        "try:\n    runpy.run_module('fetcher', run_name='__main__')\nexcept SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "print('pandas loaded:', 'pandas' in sys.modules)\n"
        "import fetcher\n"
        f"print('rows', len(fetcher.read({str(tmp_path / 'out')!r}, 'api')))\n"
    )
    with ApiServer() as api:
        api.route(
            "/items", lambda exchange: (200, {"data": [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}]})
        )
        config.write_text(
            f'output_dir = "{tmp_path / "out"}"\n[[sources]]\nname = "api"\n'
            f'url = "{api.url("/items")}"\nrecords = "data"\n'
        )
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)

    assert result.stdout.splitlines() == ["exit 0", "pandas loaded: False", "rows 2"], result.stderr


@pytest.mark.parametrize(
    ("environ", "backend"), [({}, "system"), ({"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}, "mimalloc")]
)
def test_lean_memory_takes_the_system_allocator_unless_arrow_is_told_otherwise(
    environ: dict[str, str], backend: str
) -> None:
    code = (
        "import os, pyarrow as pa\n"
        "from fetcher.cli.edge import lean_memory\n"
        "lean_memory(os.environ)\n"
        "print(pa.default_memory_pool().backend_name)\n"
    )
    env = {"PATH": "/usr/bin:/bin", **environ}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env)

    assert result.stdout.strip() == backend, result.stderr
