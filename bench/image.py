"""The image section: our image against a naive one, in size and in code-only rebuild time.

Both are built from a copy of the repository's tracked files (so the repository is never
edited), once to warm the cache, then again after a one-line change to a Python file: the time of
that second build is what a developer waits for after editing code.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

IMAGES = {"ours": "Dockerfile", "naive": "bench/naive.Dockerfile"}
TAG = "fetcher-bench:{}"


def build(context: Path, dockerfile: str, tag: str) -> float:
    """Build and return the wall time in seconds."""
    started = time.monotonic()
    subprocess.run(
        [
            "docker",
            "build",
            "--network",
            "host",
            "-q",
            "-f",
            str(context / dockerfile),
            "-t",
            tag,
            str(context),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=1800,
    )
    return time.monotonic() - started


def size_mb(tag: str) -> float:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout) / 1e6


def copy_tracked_files(repo: Path, destination: Path) -> None:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    for name in filter(None, listing.decode().split("\0")):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((repo / name).read_bytes())


def dangling() -> list[str]:
    result = subprocess.run(
        ["docker", "images", "--filter", "dangling=true", "--quiet", "--no-trunc"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split()


def image_id(tag: str) -> str:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def measure(repo: Path) -> dict[str, dict[str, float]]:
    """{"ours"|"naive": {"size_mb", "first_build_s", "rebuild_s"}}; every image built is removed after."""
    results: dict[str, dict[str, float]] = {}
    built: list[str] = []
    before = set(dangling())
    try:
        with tempfile.TemporaryDirectory(prefix="fetcher-image-") as scratch:
            context = Path(scratch)
            copy_tracked_files(repo, context)
            for name, dockerfile in IMAGES.items():
                results[name] = {"first_build_s": build(context, dockerfile, TAG.format(name))}
                built.append(image_id(TAG.format(name)))
            code = context / "fetcher" / "__init__.py"
            code.write_text(code.read_text() + "\n# a code-only change, for the rebuild benchmark\n")
            for name, dockerfile in IMAGES.items():
                results[name]["rebuild_s"] = build(context, dockerfile, TAG.format(name))
                results[name]["size_mb"] = size_mb(TAG.format(name))
                built.append(image_id(TAG.format(name)))
    finally:
        # The tags, then the first builds they no longer name (their own layers go with them), then
        # the untagged images the legacy builder kept of the other stages.
        tags = [TAG.format(name) for name in IMAGES]
        subprocess.run(["docker", "image", "rm", *tags, *built], capture_output=True, check=False)
        left = [found for found in dangling() if found not in before]
        if left:
            subprocess.run(["docker", "image", "rm", *left], capture_output=True, check=False)
    return results
