"""A real headless Chromium for tests of pages: find it, or skip (fail when it is required).

Without Chromium the tests that ask for it are skipped with the reason, unless
FETCHER_REQUIRE_BROWSER=1 (as in CI), when a missing browser fails them. The browser runs with no
network of its own (no background fetches, no updates, no sync) and a throwaway profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome")
# Read at import: each test runs with the fetcher's FETCHER_* variables cleared (tests/conftest.py).
REQUIRED = os.environ.get("FETCHER_REQUIRE_BROWSER") == "1"


def find_chromium() -> str:
    """The Chromium command; skip, or fail under FETCHER_REQUIRE_BROWSER=1, when there is none."""
    found = next((path for name in NAMES if (path := shutil.which(name))), None)
    if found is None:
        reason = "no Chromium installed (apt-get install --no-install-recommends chromium)"
        if REQUIRED:
            pytest.fail(f"FETCHER_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return found


def headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Chromium headless with `args` (a mode and a URL); fail the test unless it exits 0."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result
