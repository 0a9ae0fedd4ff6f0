"""What the run tests share: a configured source from a line or two of TOML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.config.load import load as load_config
from fetcher.config.model import Source

URL = "https://api.example.com/items"


@pytest.fixture
def source_from(write_config: Callable[[str], Path]) -> Callable[[str], Source]:
    def load(extra: str = "") -> Source:
        text = f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{URL}"\nrecords = "data"\n{extra}'
        return load_config(str(write_config(text)), {}).sources[0]

    return load
