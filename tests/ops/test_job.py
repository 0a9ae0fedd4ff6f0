"""The job: the chosen sources in one process, `max_parallel_sources` at a time, each on its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fetcher.config.load import load
from fetcher.config.model import Config, Source
from fetcher.errors import EXIT_FAILED, EXIT_LOCKED, EXIT_OK
from fetcher.ops import job, outcomes
from fetcher.run import runner
from fetcher.run.lock import hold
from tests.apiserver import ApiServer, Exchange, Reply
from tests.polling import wait_for

HELD_S = 30  # how long a held request waits for the test before the server gives up


def _config(write_config: Callable[[str], Path], api: ApiServer, routes: list[str], parallel: int) -> Config:
    tables = "".join(f'[[sources]]\nname = "{route}"\nurl = "{api.url("/" + route)}"\n' for route in routes)
    return load(str(write_config(f'output_dir = "{{out}}"\nmax_parallel_sources = {parallel}\n{tables}')), {})


def _records(out: Path, source: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((out / source / "_runs").glob("*.json"))]


class _InFlight:
    """A route that counts the requests it is answering, holding each until `release` is set."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, exchange: Exchange) -> Reply:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        released = self.release.wait(timeout=HELD_S)
        with self._lock:
            self.now -= 1
        return (200, [{"path": exchange.path}]) if released else (503, {"error": "never released"})


def _job_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("fetcher-job-")]


@pytest.fixture
def running() -> Iterator[Callable[[Config, tuple[Source, ...]], list[int]]]:
    """Run a job on a thread of its own; its exit code lands in the returned list."""
    threads: list[threading.Thread] = []

    def start(config: Config, sources: tuple[Source, ...]) -> list[int]:
        codes: list[int] = []
        thread = threading.Thread(target=lambda: codes.append(job.run(config, sources)), daemon=True)
        thread.start()
        threads.append(thread)
        return codes

    yield start
    for thread in threads:
        thread.join(timeout=HELD_S)


class TestParallel:
    def test_runs_sources_at_once_up_to_max_parallel_sources(
        self,
        api: ApiServer,
        write_config: Callable[[str], Path],
        tmp_path: Path,
        running: Callable[[Config, tuple[Source, ...]], list[int]],
    ) -> None:
        in_flight = _InFlight()
        names = ["a", "b", "c", "d"]
        for name in names:
            api.route(f"/{name}", in_flight)
        config = _config(write_config, api, names, parallel=2)

        codes = running(config, config.sources)
        wait_for(lambda: in_flight.now == 2, what="two requests in flight at once")
        assert len(_job_threads()) == 2  # the job's workers: all busy, so no third source starts
        in_flight.release.set()
        wait_for(lambda: codes, what="the job to end")

        assert codes == [EXIT_OK] and in_flight.most == 2
        for name in names:
            (record,) = _records(tmp_path / "out", name)
            assert record["status"] == "succeeded" and record["records"] == 1

    def test_one_at_a_time_runs_on_the_main_thread_in_order(
        self, api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        seen: list[str] = []

        def route(exchange: Exchange) -> Reply:
            seen.append(exchange.path)
            return 200, []

        for name in ("a", "b", "c"):
            api.route(f"/{name}", route)
        threads: list[str] = []
        original = runner.run

        def run(config: Config, source: Source) -> Any:
            threads.append(threading.current_thread().name)
            return original(config, source)

        config = _config(write_config, api, ["a", "b", "c"], parallel=1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(runner, "run", run)
            assert job.run(config, config.sources) == EXIT_OK

        assert seen == ["/a", "/b", "/c"]
        assert threads == [threading.main_thread().name] * 3

    def test_a_hanging_source_holds_only_its_own_worker(
        self,
        api: ApiServer,
        write_config: Callable[[str], Path],
        tmp_path: Path,
        running: Callable[[Config, tuple[Source, ...]], list[int]],
    ) -> None:
        release = threading.Event()

        def hanging(exchange: Exchange) -> Reply:
            release.wait(timeout=HELD_S)
            return 200, [{"id": 1}]

        api.route("/hung", hanging)
        api.route("/bad", lambda exchange: (404, {"error": "gone"}))
        api.route("/good", lambda exchange: (200, [{"id": 2}]))
        config = _config(write_config, api, ["hung", "bad", "good"], parallel=2)

        codes = running(config, config.sources)
        out = tmp_path / "out"
        wait_for(lambda: _records(out, "bad") and _records(out, "good"), what="the others' run records")

        assert not codes and not _records(out, "hung")  # still hanging, while the others are done
        assert [_records(out, "bad")[0]["status"], _records(out, "good")[0]["status"]] == [
            "failed",
            "succeeded",
        ]
        release.set()
        wait_for(lambda: codes, what="the job to end")
        assert codes == [EXIT_FAILED]
        assert _records(out, "hung")[0]["status"] == "succeeded"
        assert [outcomes.load(name).status for name in ("hung", "bad", "good")] == [  # type: ignore[union-attr]
            "succeeded",
            "failed",
            "succeeded",
        ]

    def test_a_child_waits_for_its_parent_in_the_same_job(
        self, api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        api.route("/users", lambda exchange: (200, [{"id": 1}, {"id": 2}]))
        for user in (1, 2):
            api.route(f"/users/{user}/orders", lambda exchange: (200, [{"order": exchange.path}]))
        api.route("/other", lambda exchange: (200, []))
        config = load(
            str(
                write_config(
                    f"""
                    output_dir = "{{out}}"
                    max_parallel_sources = 3
                    [[sources]]
                    name = "users"
                    url = "{api.url("/users")}"
                    [[sources]]
                    name = "orders"
                    url = "{api.url("/users/{user_id}/orders")}"
                    [sources.parent]
                    source = "users"
                    fields = {{ user_id = "id" }}
                    [[sources]]
                    name = "other"
                    url = "{api.url("/other")}"
                    """
                )
            ),
            {},
        )

        assert job.run(config, config.sources) == EXIT_OK

        (record,) = _records(tmp_path / "out", "orders")
        assert record["status"] == "succeeded" and record["records"] == 2


class TestExitCode:
    @pytest.mark.parametrize(
        ("statuses", "locked", "code"),
        [
            pytest.param([200, 200, 200], False, EXIT_OK, id="all-succeeded"),
            pytest.param([200, 200, 200], True, EXIT_LOCKED, id="one-skipped"),
            pytest.param([200, 500, 200], True, EXIT_FAILED, id="failed-beats-skipped"),
        ],
    )
    def test_job_exit_code_as_for_one_process_per_source(
        self,
        api: ApiServer,
        write_config: Callable[[str], Path],
        tmp_path: Path,
        statuses: list[int],
        locked: bool,
        code: int,
    ) -> None:
        names = ["a", "b", "c"]
        for name, status in zip(names, statuses, strict=True):
            api.route(f"/{name}", lambda exchange, status=status: (status, []))
        config = load(
            str(
                write_config(
                    'output_dir = "{out}"\n'
                    + "".join(
                        f'[[sources]]\nname = "{name}"\nurl = "{api.url("/" + name)}"\n'
                        "retry = { max_attempts = 1 }\n"
                        for name in names
                    )
                )
            ),
            {},
        )
        (tmp_path / "out" / "c").mkdir(parents=True)

        if locked:
            with hold(str(tmp_path / "out" / "c" / ".lock"), "c"):
                assert job.run(config, config.sources) == code
        else:
            assert job.run(config, config.sources) == code
        assert [bool(_records(tmp_path / "out", name)) for name in names] == [True, True, not locked]

    def test_a_bug_in_one_source_is_raised_after_the_others_ran(
        self,
        api: ApiServer,
        write_config: Callable[[str], Path],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        api.route("/a", lambda exchange: (200, [{"id": 1}]))
        api.route("/b", lambda exchange: (200, [{"id": 2}]))
        config = _config(write_config, api, ["a", "b"], parallel=1)
        original = runner.run

        def run(config: Config, source: Source) -> Any:
            if source.name == "a":
                raise RuntimeError("a bug")
            return original(config, source)

        monkeypatch.setattr(runner, "run", run)

        with pytest.raises(RuntimeError, match="a bug"):
            job.run(config, config.sources)
        assert _records(tmp_path / "out", "b")[0]["status"] == "succeeded"
