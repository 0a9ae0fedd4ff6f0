"""The run report: gathered from run records, escaped, published atomically, rebuilt after a run,
and rendered by a real headless Chromium with the run data in its charts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pyarrow import fs

from fetcher import cli
from fetcher.config.load import load
from fetcher.config.model import Config
from fetcher.errors import EXIT_OK, GuardError
from fetcher.ops import report
from fetcher.run import history
from fetcher.run.changes import SchemaChange
from fetcher.run.history import GuardCheck, RunRecord
from fetcher.storage import open_storage
from fetcher.storage.local import LocalStorage
from tests import browser, png
from tests.apiserver import ApiServer

START = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>'


def _save_runs(out: Path, source: str, count: int) -> list[RunRecord]:
    """`count` hourly runs of `source`: the 3rd failed on a guard, the 4th changed the schema."""
    storage, runs = LocalStorage(str(out)), []
    for index in range(count):
        run = RunRecord(source=source, started_at=START + timedelta(hours=index), records=100 + 10 * index)
        if index == 2:
            run.records = 0
            run.guards = [GuardCheck("min_records", "fail", True, "0 records, at least 50 required")]
            run.finish(
                GuardError(["min_records"], f"guard min_records: 0 records, at least 50 required {EVIL}")
            )
        else:
            run.schema_change = SchemaChange(added={"coupon": "string"}) if index == 3 else None
            run.finish()
        run.duration_s = 1.0 + index / 4
        history.save(storage, run)
        runs.append(run)
    return runs


def _config(write_config: Callable[[str], Path], extra: str = "") -> Config:
    text = f'output_dir = "{{out}}"\n{extra}[[sources]]\nname = "orders"\nurl = "http://h/x"\n'
    return load(str(write_config(text + '[[sources]]\nname = "fresh"\nurl = "http://h/y"\n')), {})


class _Marks(HTMLParser):
    """The chart marks of a page (elements with `data-run-id`), per chart, and the text of each title."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[str, str, dict[str, str]]] = []
        self.titles: list[str] = []
        self._source = self._chart = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "section" and "data-source" in values:
            self._source = values["data-source"]
        if tag == "svg":
            self._chart = values.get("data-chart", "")
        if "data-run-id" in values:
            self.marks.append((self._source, self._chart, {"tag": tag, **values}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and data.strip():
            self.titles.append(data)


def _bars(marks: _Marks, source: str) -> list[tuple[str, int, str]]:
    return [
        (values["data-run-id"], int(values["data-records"]), values["data-status"])
        for where, chart, values in marks.marks
        if where == source and chart == "records" and values["tag"] == "rect" and "bar" in values["class"]
    ]


class TestRender:
    def test_every_value_is_escaped(self, tmp_path: Path) -> None:
        runs = _save_runs(tmp_path, "orders", 3)
        page = report.render(
            [report.SourceRuns("orders", runs, runs[1])], output_dir=f"/out/{EVIL}", runs=30, generated=START
        )

        assert "<script" not in page
        shown = page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
        assert shown == 5  # the output path, the table, the facts, a tooltip in each chart

    def test_it_fetches_nothing(self, tmp_path: Path) -> None:
        runs = _save_runs(tmp_path, "orders", 4)
        page = report.render(
            [report.SourceRuns("orders", runs, runs[3])], output_dir="/out", runs=30, generated=START
        )

        assert not re.search(r"<script|<link|<img|<iframe|src=|url\(|@import", page)
        assert set(re.findall(r'href="([^"]*)"', page)) == {"#source-orders"}

    def test_it_counts_and_marks_every_run(self, tmp_path: Path) -> None:
        runs = _save_runs(tmp_path, "orders", 5)
        page = report.render(
            [report.SourceRuns("orders", runs, runs[4])], output_dir="/out", runs=30, generated=START
        )
        marks = _Marks()
        marks.feed(page)

        assert _bars(marks, "orders") == [(run.run_id, run.records, run.status) for run in runs]
        kinds = Counter((chart, values["class"]) for _, chart, values in marks.marks)
        assert kinds[("records", "failed-band")] == kinds[("duration", "failed-band")] == 1
        assert kinds[("records", "schema-change")] == kinds[("duration", "schema-change")] == 1
        assert kinds[("duration", "point failed")] == 1 and kinds[("duration", "point succeeded")] == 4


class TestGather:
    def test_it_keeps_the_last_runs_and_finds_the_last_success_before_them(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        runs = _save_runs(tmp_path / "out", "orders", 3)
        source = _config(write_config).sources[0]

        gathered = report.gather(LocalStorage(str(tmp_path / "out")), source, 1)

        assert [run.run_id for run in gathered.runs] == [runs[2].run_id]
        assert gathered.status == "failed" and gathered.last_failure == gathered.latest
        assert gathered.last_success is not None and gathered.last_success.run_id == runs[1].run_id

    def test_a_warned_run_and_a_source_that_never_ran(self, tmp_path: Path) -> None:
        run = RunRecord(source="orders", started_at=START, records=3)
        run.guards = [GuardCheck("min_records", "warn", True, "3 records, at least 5 required")]
        run.finish()

        assert report.SourceRuns("orders", [run], run).status == "warned"
        assert report.SourceRuns("fresh", [], None).status == "never"


class TestWrite:
    def test_it_publishes_one_page_and_removes_what_a_killed_writer_left(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        out = tmp_path / "out"
        runs = _save_runs(out, "orders", 4)
        (out / "_report").mkdir()
        (out / "_report" / ".index.html.dead.tmp").write_text("a writer killed mid-way left this")

        where = report.write(_config(write_config, "report_runs = 3\n"))

        assert where == str(out / "_report" / "index.html")
        assert sorted(path.name for path in (out / "_report").iterdir()) == [".lock", "index.html"]
        marks = _Marks()
        marks.feed(Path(where).read_text())
        assert _bars(marks, "orders") == [(run.run_id, run.records, run.status) for run in runs[1:]]
        assert 'data-source="fresh"' in Path(where).read_text()

    def test_it_publishes_to_s3(
        self, bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str, write_config: Callable[[str], Path]
    ) -> None:
        s3, name = bucket
        text = f'output_dir = "s3://{name}/raw"\ns3_endpoint_url = "{moto_endpoint}"\n'
        settings = load(str(write_config(text + '[[sources]]\nname = "orders"\nurl = "http://h/x"\n')), {})
        run = RunRecord(source="orders", started_at=START, records=42)
        run.finish()
        history.save(open_storage(settings.output_dir, settings.s3_endpoint_url), run)

        assert report.write(settings) == f"s3://{name}/raw/_report/index.html"

        with s3.open_input_stream(f"{name}/raw/_report/index.html") as stream:
            assert 'data-records="42"' in stream.read().decode()
        selector = fs.FileSelector(f"{name}/raw/_report", recursive=True)
        files = [info.path for info in s3.get_file_info(selector) if info.type == fs.FileType.File]
        assert files == [f"{name}/raw/_report/index.html"]


class TestCommand:
    def test_report_command_writes_the_page_and_says_where(
        self, write_config: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _save_runs(tmp_path / "out", "orders", 3)
        config = write_config('output_dir = "{out}"\n[[sources]]\nname = "orders"\nurl = "http://h/x"\n')

        assert cli.main(["report", "--config", str(config), "--runs", "2"]) == EXIT_OK

        where = capsys.readouterr().out.strip()
        assert where == str(tmp_path / "out" / "_report" / "index.html")
        assert 'data-runs="2"' in Path(where).read_text()

    def test_a_run_rebuilds_the_report(
        self,
        api: ApiServer,
        write_config: Callable[[str], Path],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path / "status"))
        api.route("/items", lambda exchange: (200, {"data": [{"id": 1}, {"id": 2}]}))
        source = f'[[sources]]\nname = "items"\nurl = "{api.url("/items")}"\nrecords = "data"\n'
        config = write_config('output_dir = "{out}"\n' + source)

        assert cli.main(["run", "--config", str(config)]) == EXIT_OK

        (record,) = (tmp_path / "out" / "items" / "_runs").iterdir()
        page = (tmp_path / "out" / "_report" / "index.html").read_text()
        assert f'data-run-id="{record.stem}" data-status="succeeded" data-records="2"' in page


@pytest.mark.browser
class TestInChromium:
    @pytest.fixture
    def page(self, write_config: Callable[[str], Path], tmp_path: Path) -> tuple[Path, list[RunRecord]]:
        runs = _save_runs(tmp_path / "out", "orders", 12)
        return Path(report.write(_config(write_config))), runs

    def test_chromium_renders_the_charts_with_the_run_data(
        self, page: tuple[Path, list[RunRecord]], tmp_path: Path
    ) -> None:
        path, runs = page
        chromium = browser.find_chromium()

        dom = browser.headless(chromium, tmp_path / "profile", "--dump-dom", path.as_uri()).stdout

        marks = _Marks()
        marks.feed(dom)
        assert _bars(marks, "orders") == [(run.run_id, run.records, run.status) for run in runs]
        points = [
            v for s, chart, v in marks.marks if s == "orders" and chart == "duration" and v["tag"] == "circle"
        ]
        assert [float(point["data-duration-s"]) for point in points] == [run.duration_s for run in runs]
        assert any(f"{runs[2].run_id}: failed, 0 records" in title for title in marks.titles)
        assert any(f"{runs[3].run_id}: schema change: added=coupon:string" in title for title in marks.titles)
        assert 'data-source="fresh"' in dom and "no runs yet" in dom

    def test_chromium_draws_the_page_in_the_charts_colours(
        self, page: tuple[Path, list[RunRecord]], tmp_path: Path
    ) -> None:
        path, _ = page
        chromium = browser.find_chromium()
        shot = tmp_path / "report.png"

        browser.headless(
            chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,900", path.as_uri()
        )

        image = png.read(shot)
        colours = image.colours()
        assert (image.width, image.height) == (1200, 900)
        assert len(colours) > 100, "a blank page"
        # The bars of succeeded runs, the failed run's band, the schema change's mark.
        for name, hex_colour in [("blue", "2563eb"), ("red band", "fee2e2"), ("purple", "7c3aed")]:
            assert colours[bytes.fromhex(hex_colour)] > 20, f"no {name} on the page"
