"""Lines: a JSON-lines input (a file, a ``.gz`` file or standard input) -> numbered chunks of raw lines.

A line is a case, or ``{"id": ..., "case": {...}}`` so results can be joined back to a
record. Lines are numbered from 1 as a text editor counts them; blank lines are skipped
(and keep their number). The reader hands on raw bytes: each line is parsed where it is
evaluated (``parse_record``, from ``twitchrules.case.records``), by the same strict reader as
``twitchrules evaluate``, so a bad line gets the same field-naming errors.

Nothing here holds more than one chunk: a file of any length streams through.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from ..case.records import RecordId
from ..errors import ReplayError

__all__ = ["Chunk", "InputSource", "RecordId", "chunked"]


@dataclass(frozen=True)
class Chunk:
    """Consecutive non-blank input lines: ``(line number, raw bytes)`` pairs, in order."""

    index: int
    lines: tuple[tuple[int, bytes], ...]


class InputSource:
    """An opened JSON-lines input: a path (``.gz`` decompressed), ``-`` for stdin, or a stream.

    ``position`` and ``size`` (bytes of the file as stored; ``None`` for a pipe) let a
    progress bar estimate the time left.
    """

    def __init__(self, source: str | Path | BinaryIO) -> None:
        self.name = str(source) if isinstance(source, (str, Path)) else str(getattr(source, "name", "<stream>"))
        self._raw: BinaryIO
        if isinstance(source, (str, Path)) and str(source) != "-":
            path = Path(source)
            try:
                self._raw = open(path, "rb")  # noqa: SIM115 - closed in close()
            except OSError as error:
                raise ReplayError([(str(source), f"cannot be read: {error.strerror or error}")]) from None
            if path.is_dir():
                self._raw.close()
                raise ReplayError([(str(source), "is a folder, not a JSON-lines file")])
        elif source == "-":
            self._raw = sys.stdin.buffer
        else:
            self._raw = source  # type: ignore[assignment]
        self.size = _size(self._raw)
        self._stream: BinaryIO = self._raw
        if self._looks_gzipped():
            self._stream = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]

    def _looks_gzipped(self) -> bool:
        if self.name.endswith(".gz"):
            return True
        peek = getattr(self._raw, "peek", None)
        return bool(peek is not None and peek(2)[:2] == b"\x1f\x8b")

    @property
    def position(self) -> int:
        """Bytes of the stored input consumed so far (0 where it cannot be told)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """``(line number, bytes)`` of every non-blank line; ``ReplayError`` if the input breaks."""
        number = 0
        try:
            for number, raw in enumerate(self._stream, start=1):  # noqa: B007 - used after the loop
                text = raw.rstrip(b"\r\n")
                if text.strip():
                    yield number, text
        except (OSError, EOFError, zlib.error) as error:
            raise ReplayError([(self.name, f"cannot be read after line {number}: {error}")]) from None

    def close(self) -> None:
        """Close the input (standard input is left open)."""
        if self._stream is not self._raw:
            self._stream.close()
        if self._raw is not sys.stdin.buffer:
            self._raw.close()


def _size(stream: BinaryIO) -> int | None:
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
    return stat.st_size if S_ISREG(stat.st_mode) else None


def chunked(lines: Iterator[tuple[int, bytes]], size: int) -> Iterator[Chunk]:
    """Consecutive lines in chunks of ``size`` (the last may be shorter), numbered from 0."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    batch: list[tuple[int, bytes]] = []
    index = 0
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield Chunk(index, tuple(batch))
            index += 1
            batch = []
    if batch:
        yield Chunk(index, tuple(batch))
