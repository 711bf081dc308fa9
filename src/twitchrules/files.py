"""Files: every file twitchrules writes appears whole at its path, or not at all.

A file is written to a hidden temporary file beside its target (``.NAME.XXXXXXXX.tmp``),
made durable and renamed over the target (``os.replace``) only when it is complete; on
any failure the temporary file is removed and whatever the target held is left as it was.
A symlink is followed: the file it points to is replaced, never the link. A target that
exists and is not a regular file (a FIFO, a terminal, ``/dev/stdout``, ``/dev/full``) is
written directly, since a rename would put a regular file in the device's place.

An ``OSError`` while writing becomes an ``OutputError`` (exit 2) that names the path and
the system's reason.

May import: ``errors``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import TracebackType

from .errors import OutputError

_TEMPORARY_SUFFIX = ".tmp"
_NEW_FILE_MODE = 0o666
"""A new file's mode before the umask, as ``open(path, "w")`` gives it."""


def _failure(shown: str, error: OSError) -> OutputError:
    return OutputError([(shown, f"cannot be written: {error.strerror or error}")])


class WholeFile:
    """A binary output file that takes its target's place once committed, or leaves it as it was.

    Use it as a context manager (committed when the block ends without an exception,
    discarded when it raises) or call ``commit`` and ``discard`` yourself.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        self._shown = str(target)
        self._temporary: Path | None = None
        self._fd = -1
        try:
            existing = os.stat(self.target)  # follows a symlink to what it points to
        except FileNotFoundError:
            existing = None
        except OSError as error:
            raise _failure(self._shown, error) from None
        try:
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                self._fd = os.open(self.target, os.O_WRONLY | os.O_CLOEXEC)
                return
            self.target = self.target.resolve()
            self._fd, self._temporary = _create_beside(self.target)
            if existing is not None:  # the replacement keeps the permissions it replaces
                os.fchmod(self._fd, stat.S_IMODE(existing.st_mode))
        except OSError as error:
            self.discard()
            raise _failure(self._shown, error) from None

    def write(self, data: bytes) -> None:
        """Write all of ``data`` (``OutputError`` when the system refuses any of it)."""
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as error:
            raise _failure(self._shown, error) from None

    def flush(self) -> None:
        """Nothing to do: every ``write`` goes straight to the system (a stream's interface)."""

    def commit(self) -> None:
        """Make the file durable and put it in the target's place; the temporary is gone after."""
        try:
            if self._temporary is not None:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            if self._temporary is not None:
                os.replace(self._temporary, self.target)
                self._temporary = None
        except OSError as error:
            self.discard()
            raise _failure(self._shown, error) from None

    def discard(self) -> None:
        """Remove the temporary file (the target keeps what it held); a direct target is closed."""
        self._close_quietly()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            self._temporary = None

    def _close_quietly(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> WholeFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _create_beside(target: Path) -> tuple[int, Path]:
    """A new, empty, hidden file in ``target``'s folder: its descriptor and path."""
    while True:
        temporary = target.with_name(f".{target.name}.{os.urandom(4).hex()}{_TEMPORARY_SUFFIX}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _NEW_FILE_MODE)
        except FileExistsError:
            continue
        return fd, temporary


def write_whole(target: str | Path, content: bytes | str) -> None:
    """Write ``content`` (text as UTF-8) to ``target``: all of it, or nothing changes there."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with WholeFile(target) as output:
        output.write(data)
