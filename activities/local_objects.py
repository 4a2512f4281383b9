"""Blob objects as files under a directory (`root/ab/abcdef…`): the embedded stack's default.

Writes are durable: the temporary file is fsynced before it is renamed into
place and the directory after, so a crash leaves either the whole object or none.
"""

import asyncio
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import IO

from activities.blob_seal import CHUNK
from activities.blobs import BlobNotFoundError


class LocalObjects:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    async def read(self, key: str) -> AsyncGenerator[bytes, None]:
        try:
            fh = await asyncio.to_thread(self._path(key).open, "rb")
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise BlobNotFoundError(f"{key.rpartition('/')[2]}: not in the store") from exc
        try:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk
        finally:
            fh.close()

    async def write(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        await asyncio.to_thread(_write, self._path(key), fill)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def keys(self) -> AsyncIterator[str]:
        for path in sorted(self.root.glob("??/*")):
            if path.is_file() and not path.name.startswith("."):
                yield f"{path.parent.name}/{path.name}"

    def scratch(self) -> Path:
        path = self.root / ".scratch"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def describe(self) -> str:
        return str(self.root)


def _write(path: Path, fill: Callable[[IO[bytes]], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
