"""Just enough of PNG to read a screenshot's pixels back, with the standard library only.

8-bit RGB or RGBA, not interlaced (what Chromium writes); every scanline filter of the format.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Image:
    """The decoded rows of an image, `channels` bytes a pixel (3: RGB, 4: RGBA)."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def colours(self) -> Counter[bytes]:
        """How many pixels have each RGB colour (alpha left out)."""
        counted: Counter[bytes] = Counter()
        for row in self.rows:
            counted.update(row[index : index + 3] for index in range(0, len(row), self.channels))
        return counted


def read(path: Path) -> Image:
    """The image in the PNG file at `path`."""
    data = path.read_bytes()
    assert data.startswith(SIGNATURE), f"{path} is not a PNG"
    offset, chunks, header = len(SIGNATURE), [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for index in range(height):
        start = index * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, step)
        rows.append(bytes(line))
        previous = line
    return Image(width, height, step, rows)


def _unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> None:
    if kind == 0:
        return
    if kind == 2:
        for i in range(len(line)):
            line[i] = (line[i] + above[i]) & 0xFF
        return
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + above[i]) // 2) & 0xFF
        elif kind == 4:
            corner = above[i - step] if i >= step else 0
            line[i] = (line[i] + _paeth(left, above[i], corner)) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter {kind}")


def _paeth(left: int, above: int, corner: int) -> int:
    estimate = left + above - corner
    to_left, to_above, to_corner = abs(estimate - left), abs(estimate - above), abs(estimate - corner)
    if to_left <= to_above and to_left <= to_corner:
        return left
    return above if to_above <= to_corner else corner
