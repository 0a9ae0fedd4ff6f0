"""The dlt side of the benchmark: rest_api source into the filesystem destination as Parquet.

Runs under bench/.venv-dlt (see requirements-dlt.txt), never the project's own
environment. Pages are walked with dlt's page-number paginator, stopping on the
first empty page, and loaded into a local ``file://`` bucket under ``--work-dir``;
dlt's pipeline state, config lookup and data dir are kept in that directory too,
and telemetry is off, so it touches nothing but 127.0.0.1 and ``--work-dir``.
The rows of table ``records`` land in ``<work-dir>/bucket/bench/records/``.
Prints ``{"dlt": VERSION, "pyarrow": VERSION, "steps": {STEP: SECONDS}}`` on stdout
(extract, normalize and load)::

    bench/.venv-dlt/bin/python bench/dlt_client.py --url http://127.0.0.1:PORT/records \\
        --page-size 1000 --work-dir /tmp/somewhere
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlt.sources.rest_api.typing import RESTAPIConfig

PIPELINE_NAME = "bench"
DATASET_NAME = "bench"
TABLE_NAME = "records"


def isolate_dlt(work_dir: Path) -> None:
    """Point every place dlt reads or writes at work_dir and turn telemetry off.

    Must run before dlt is imported: dlt resolves its run context on import.
    """
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["DLT_PROJECT_DIR"] = str(work_dir)
    os.environ["DLT_DATA_DIR"] = str(work_dir / "dlt-data")
    os.chdir(work_dir)


def source_config(url: str, page_size: int) -> RESTAPIConfig:
    """rest_api config: ``GET url?page=1,2,...&per_page=N``, records under ``data``."""
    base_url, path = url.rsplit("/", 1)
    return {
        "client": {"base_url": base_url + "/"},
        "resources": [
            {
                "name": TABLE_NAME,
                "endpoint": {
                    "path": path,
                    "params": {"per_page": page_size},
                    "data_selector": "data",
                    "paginator": {
                        "type": "page_number",
                        "base_page": 1,
                        "page_param": "page",
                        "total_path": None,
                        "stop_after_empty_page": True,
                    },
                },
            }
        ],
    }


def load(url: str, page_size: int, work_dir: Path) -> dict[str, Any]:
    """Run the pipeline once; return the dlt and pyarrow versions and each step's seconds."""
    import dlt  # imported late: isolate_dlt() must set the environment first
    import pyarrow
    from dlt.destinations import filesystem
    from dlt.sources.rest_api import rest_api_source

    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(work_dir / "pipelines"),
        destination=filesystem(bucket_url=(work_dir / "bucket").as_uri()),
        dataset_name=DATASET_NAME,
    )
    source = rest_api_source(source_config(url, page_size))
    pipeline.run(source, loader_file_format="parquet").raise_on_failed_jobs()
    trace = pipeline.last_trace
    assert trace is not None, "dlt records a trace of every run"
    steps = {
        step.step: (step.finished_at - step.started_at).total_seconds()
        for step in trace.steps
        if step.step in ("extract", "normalize", "load")
    }
    return {"dlt": dlt.__version__, "pyarrow": pyarrow.__version__, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--work-dir", type=Path, required=True, help="existing empty directory")
    args = parser.parse_args()
    work_dir = args.work_dir.resolve()
    isolate_dlt(work_dir)
    print(json.dumps(load(args.url, args.page_size, work_dir)))


if __name__ == "__main__":
    main()
