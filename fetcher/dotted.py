"""Dotted paths into parsed JSON: `data.items`, `meta.next`, `results.0.rows`; `""` is the root."""

from __future__ import annotations

from typing import Any


class Missing(KeyError):
    """The path leads nowhere; `at` is the part of the path that exists."""

    def __init__(self, path: str, at: str) -> None:
        super().__init__(path)
        self.path = path
        self.at = at


def lookup(document: Any, path: str) -> Any:
    """Follow `path` through objects (by key) and arrays (by index); raise Missing if it breaks."""
    if not path:
        return document
    node = document
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise Missing(path, ".".join(walked))
        walked.append(part)
    return node


def get(document: Any, path: str, default: Any = None) -> Any:
    """Like lookup, but return `default` where the path leads nowhere."""
    try:
        return lookup(document, path)
    except Missing:
        return default
