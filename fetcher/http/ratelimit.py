"""Rate-limit headers: how long an API asks to wait, read from a response before it answers 429.

Understood, each only when it says no request remains (remaining 0):

- `X-RateLimit-Remaining` with `X-RateLimit-Reset`, in seconds from now or as a Unix time
  (GitHub's, Twitter's; a value above 10**9 is a Unix time, above 10**12 one in milliseconds);
- the IETF draft's `RateLimit-Remaining` with `RateLimit-Reset` (seconds from now; drafts 00-06);
- its `RateLimit: limit=100, remaining=0, reset=5` (draft 07) and `RateLimit: "default";r=0;t=5`
  (draft 08 on), several policies separated by commas;
- `RateLimit-Policy` (`100;w=60`, `"default";q=100;w=60`): its window is the wait when a
  `RateLimit` header says none remain but not when they come back.

A reset in the past means no wait. Several headers: the longest wait wins.
"""

from __future__ import annotations

from collections.abc import Mapping

_UNIX_TIME = 1e9  # seconds: 2001-09-09; no API asks for a wait of 31 years
_UNIX_TIME_MS = 1e12


def reset_wait_s(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait before the next request (0 for a reset in the past), or None when the
    headers say some requests remain, or say nothing. `now` is the Unix time."""
    waits = [
        wait
        for wait in (
            _legacy(headers, "X-RateLimit-", now),
            _legacy(headers, "RateLimit-", now),
            _structured(headers),
        )
        if wait is not None
    ]
    return max(waits) if waits else None


def _legacy(headers: Mapping[str, str], prefix: str, now: float) -> float | None:
    """`{prefix}Remaining: 0` with `{prefix}Reset`: seconds from now, or a Unix time."""
    remaining = _number(headers.get(f"{prefix}Remaining"))
    reset = _number(headers.get(f"{prefix}Reset"))
    if remaining is None or remaining > 0 or reset is None:
        return None
    if reset > _UNIX_TIME_MS:
        reset /= 1000
    return max(0.0, reset - now if reset > _UNIX_TIME else reset)


def _structured(headers: Mapping[str, str]) -> float | None:
    """`RateLimit` (drafts 07 and 08 on), its reset or else the `RateLimit-Policy` window."""
    value = headers.get("RateLimit")
    if not value:
        return None
    members = _members(value)
    if any("remaining" in member for member in members):  # draft 07: one policy, keys spelled out
        merged = {key: text for member in members for key, text in member.items()}
        members = [{"r": merged.get("remaining", ""), "t": merged.get("reset", "")}]
    windows = {
        member.get("", ""): window
        for member in _members(headers.get("RateLimit-Policy", ""))
        if (window := _number(member.get("w"))) is not None
    }
    waits = []
    for member in members:
        remaining = _number(member.get("r"))
        if remaining is None or remaining > 0:
            continue
        reset = _number(member.get("t"))
        if reset is None:
            # the policy of the same name, else the first (`100;w=60` has no name)
            reset = windows.get(member.get("", ""), next(iter(windows.values()), None))
        if reset is not None:
            waits.append(max(0.0, reset))
    return max(waits) if waits else None


def _members(value: str) -> list[dict[str, str]]:
    """A header's comma-separated members as their `key=value` parameters; the bare token of a
    member (a draft-08 policy name, or the quota of `100;w=60`) is under the key ``""``."""
    members = []
    for text in value.split(","):
        member: dict[str, str] = {}
        for part in text.split(";"):
            key, equals, item = part.strip().partition("=")
            if equals:
                member[key.strip().lower()] = item.strip().strip('"')
            elif key:
                member.setdefault("", key.strip('"'))
        members.append(member)
    return members


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None
