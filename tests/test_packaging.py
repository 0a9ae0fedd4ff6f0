"""The package: `pip install .` installs fetcher and its `fetcher` command, and nothing else.

A real pip builds the wheel (from a copy of the tree: an in-tree build would write build/ into the
repository) and installs it into a fresh virtual environment with `--no-deps`: `--help`, `--version`
and a bad log level import no third-party module, so no dependency is needed to run them.
"""

from __future__ import annotations

import email.parser
import os
import re
import shlex
import shutil
import subprocess
import venv
import zipfile
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path

import pytest

from fetcher import __version__
from fetcher.errors import EXIT_CONFIG

REPO = Path(__file__).resolve().parent.parent
# Only PATH: the installed command must not depend on the caller's environment or folder.
BARE_ENV = {"PATH": "/usr/bin:/bin"}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    elsewhere: Path  # a folder with no fetcher in it, to run from


def _not_in_a_clone(directory: str, names: list[str]) -> set[str]:
    """What a fresh clone lacks: VCS and venv folders, caches, build output, local output."""
    top_level = {"build", "output"} if Path(directory) == REPO else set()
    return {
        name
        for name in names
        if name.startswith(".") or name in {"__pycache__", *top_level} or name.endswith(".egg-info")
    }


def _pip(environment: Path, *args: str) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    result = subprocess.run(
        [str(environment / "bin" / "python"), "-m", "pip", "--quiet", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=_not_in_a_clone)
    environment = root / "venv"
    venv.create(environment, with_pip=True)
    _pip(environment, "wheel", "--no-deps", "--wheel-dir", str(root / "dist"), str(source))
    (wheel,) = (root / "dist").glob("fetcher-*.whl")
    _pip(environment, "install", "--no-deps", str(wheel))
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, environment / "bin", elsewhere)


def _run(
    installed: Installed, *command: str, env: dict[str, str] = BARE_ENV
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=installed.elsewhere, capture_output=True, text=True, env=env, timeout=60
    )


def _wheel_text(installed: Installed, name: str) -> str:
    with zipfile.ZipFile(installed.wheel) as wheel:
        return wheel.read(f"fetcher-{__version__}.dist-info/{name}").decode()


class TestWheel:
    def test_wheel_holds_every_module_of_the_package_and_nothing_else(self, installed: Installed) -> None:
        with zipfile.ZipFile(installed.wheel) as wheel:
            names = wheel.namelist()

        assert {name.split("/")[0] for name in names} == {"fetcher", f"fetcher-{__version__}.dist-info"}
        modules = {name for name in names if name.endswith(".py")}
        assert modules == {path.relative_to(REPO).as_posix() for path in (REPO / "fetcher").rglob("*.py")}
        assert {"fetcher/output/writers.py", "fetcher/fetch_data.py"} <= modules

    def test_metadata_has_the_version_and_the_runtime_dependencies(self, installed: Installed) -> None:
        metadata = email.parser.Parser().parsestr(_wheel_text(installed, "METADATA"))
        required = {re.split(r"[<>=!~ ;]", line, maxsplit=1)[0] for line in metadata.get_all("Requires-Dist")}
        listed = {
            re.split(r"[<>=!~ #]", line, maxsplit=1)[0]
            for line in (REPO / "requirements.in").read_text().splitlines()
            if line and not line.startswith("#")
        }

        assert metadata["Name"] == "fetcher"
        assert metadata["Version"] == __version__
        assert required == listed

    def test_entry_point_is_the_command_line(self, installed: Installed) -> None:
        entry_points = ConfigParser()
        entry_points.read_string(_wheel_text(installed, "entry_points.txt"))

        assert dict(entry_points["console_scripts"]) == {"fetcher": "fetcher.cli:main"}


class TestInstalled:
    def test_fetcher_command_prints_help_from_another_folder(self, installed: Installed) -> None:
        result = _run(installed, str(installed.bin / "fetcher"), "--help")

        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: fetcher ")
        assert {"run", "validate", "status", "health", "prepare"} <= set(result.stdout.split())

    def test_fetcher_command_exits_with_the_code_main_returns(self, installed: Installed) -> None:
        # main() returns EXIT_CONFIG (an int, not SystemExit) for a bad log level, before any command
        result = _run(
            installed, str(installed.bin / "fetcher"), "run", env={**BARE_ENV, "FETCHER_LOG_LEVEL": "LOUD"}
        )

        assert result.returncode == EXIT_CONFIG
        assert "FETCHER_LOG_LEVEL: 'LOUD' is not DEBUG, INFO, WARNING, ERROR" in result.stderr

    def test_version_is_the_packages(self, installed: Installed) -> None:
        result = _run(installed, str(installed.bin / "fetcher"), "--version")

        assert (result.returncode, result.stdout) == (0, f"fetcher {__version__}\n")

    def test_package_imports_from_another_folder(self, installed: Installed) -> None:
        result = _run(
            installed, str(installed.bin / "python"), "-c", "import fetcher; print(fetcher.__file__)"
        )

        assert result.returncode == 0, result.stderr
        site_packages = installed.bin.parent / "lib"
        assert Path(result.stdout.strip()).is_relative_to(site_packages)

    def test_cron_entry_runs_from_the_package_as_run_job_runs_it(self, installed: Installed) -> None:
        line = re.search(r'^job=\((.+) "\$@"\)$', (REPO / "docker" / "run-job").read_text(), re.MULTILINE)
        assert line is not None, 'docker/run-job no longer says job=(... "$@")'
        interpreter, *arguments = shlex.split(line.group(1))
        assert interpreter == "/opt/venv/bin/python"  # the image's venv: here, the test's

        result = _run(
            installed,
            str(installed.bin / "python"),
            *arguments,
            "--source",
            "x",
            env={**BARE_ENV, "FETCHER_LOG_LEVEL": "LOUD"},
        )

        assert arguments[-2:] == ["-m", "fetcher.fetch_data"]
        assert result.returncode == EXIT_CONFIG
        assert "FETCHER_LOG_LEVEL: 'LOUD' is not" in result.stderr
