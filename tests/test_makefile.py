"""The Makefile: every target documented in `make help`, and the variables users override."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TARGETS = ["build", "run", "run-once", "logs", "status", "stop", "shell", "demo", "test", "lint", "clean"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def test_help_lists_every_target_with_a_description() -> None:
    makefile = (REPO / "Makefile").read_text()
    declared = re.findall(r"^([a-z][a-z0-9-]*):.*?## (.+)$", makefile, re.MULTILINE)
    phony = set(re.findall(r"^\.PHONY: (\S+)$", makefile, re.MULTILINE))

    output = subprocess.run(
        ["make", "-s", "-C", str(REPO), "help"], capture_output=True, text=True, check=True
    )
    help_text = re.sub(r"\x1b\[[0-9;]*m", "", output.stdout)  # without the colours

    assert set(TARGETS) <= {name for name, _ in declared}
    assert phony == {name for name, _ in declared}
    for name, description in declared:
        assert re.search(rf"\b{re.escape(name)}\b.*{re.escape(description)}", help_text), name


def test_images_and_containers_are_overridable() -> None:
    makefile = (REPO / "Makefile").read_text()

    assert "IMAGE ?= fetcher" in makefile and "CONTAINER ?= fetcher" in makefile
    assert ".DEFAULT_GOAL := help" in makefile


def test_run_refuses_without_a_config_file(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "-s", "-C", str(REPO), "run", f"CONFIG={tmp_path / 'missing.toml'}"],
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "no " in result.stderr and "copy fetcher.example.toml" in result.stderr
