"""The job cron runs: `python -m fetcher.fetch_data [run options]` fetches every source.

A thin wire to the command line: `fetcher run` that first empties a log over its cap. In the image,
`run-job` runs it; from a checkout, `python fetcher/fetch_data.py` works too.
"""

import os
import sys

if __package__ in (None, ""):
    # Run as a script: import the package from its parent directory. Python put this file's own
    # directory first on the path, where fetcher/http would shadow the standard library's http.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from fetcher.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]], cap_log=True))
