"""Atomic output files: written under a temporary name in the target directory, renamed on success."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import BinaryIO

from kinc.errors import KincError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicFile:
    """A binary file that appears at ``path`` only when :meth:`commit` is called."""

    def __init__(self, path: str) -> None:
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise KincError(f"cannot write {path!r}: directory {directory!r} does not exist")
        try:
            fd, self._tmp = tempfile.mkstemp(
                dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
            )
        except OSError as exc:
            raise KincError(f"cannot write {path!r}: {exc.strerror}") from exc
        self.file: BinaryIO = os.fdopen(fd, "wb")

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.chmod(self._tmp, 0o666 & ~_umask())
        os.replace(self._tmp, self.path)

    def discard(self) -> None:
        self.file.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)


@contextmanager
def atomic_outputs(*paths: str) -> Iterator[list[BinaryIO]]:
    """Open every path for writing; all appear together on success, none on any error."""
    if len(set(map(os.path.abspath, paths))) != len(paths):
        raise KincError(f"output paths must differ, got {list(paths)}")
    outputs: list[AtomicFile] = []
    with ExitStack() as stack:
        for path in paths:
            out = AtomicFile(path)
            stack.callback(out.discard)
            outputs.append(out)
        yield [out.file for out in outputs]
        for out in outputs:
            out.commit()
