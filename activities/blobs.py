"""The blob store: large content (attachments, report bodies, roll-up packages) addressed by SHA-256.

Content addressing makes writes idempotent — a retried activity or a
re-uploaded file lands on the same key — and lets a workflow check what it
references without ever carrying the bytes.

Writes are durable: the temporary file is fsynced before it is renamed into
place and the directory after, so a crash leaves either the whole blob or none.
A file already at the key is trusted only when its content matches the key; a
truncated or corrupted one (a disk error, a copy cut short) is replaced.
"""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from schemas.blobs import BlobRef

_CHUNK = 1024 * 1024


class BlobNotFoundError(LookupError):
    pass


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FileBlobStore:
    """Blobs as files under `root/ab/abcdef…`; written atomically and durably (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _intact(self, path: Path, sha256: str, size: int) -> bool:
        try:
            if path.stat().st_size != size:
                return False
        except FileNotFoundError:
            return False
        return _file_sha256(path) == sha256

    def _write(self, path: Path, fill: Callable[[IO[bytes]], object]) -> None:
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

    def put(self, data: bytes, name: str, media_type: str = "application/octet-stream") -> BlobRef:
        return self.put_new(data, name, media_type)[0]

    def put_new(self, data: bytes, name: str, media_type: str = "application/octet-stream") -> tuple[BlobRef, bool]:
        """Store the content; also say whether this call created it (False: it was there already)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        existed = path.exists()
        # Verify-or-replace: a file cut short or changed on disk is written again.
        if not self._intact(path, digest, len(data)):
            self._write(path, lambda fh: fh.write(data))
        return BlobRef(sha256=digest, size=len(data), name=name, media_type=media_type), not existed

    def discard(self, ref: BlobRef) -> None:
        """Remove a blob nothing refers to (the upload of a refused submission)."""
        self._path(ref.sha256).unlink(missing_ok=True)

    def put_file(self, source: Path, name: str, media_type: str = "application/octet-stream") -> BlobRef:
        """Store a file's content without holding it in memory (roll-up packages can be large)."""
        digest = _file_sha256(source)
        size = source.stat().st_size
        path = self._path(digest)
        if not self._intact(path, digest, size):

            def copy(fh: IO[bytes]) -> None:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, fh, _CHUNK)

            self._write(path, copy)
        return BlobRef(sha256=digest, size=size, name=name, media_type=media_type)

    def scratch(self) -> Path:
        """A directory on the store's own file system for building large content before `put_file`."""
        path = self.root / ".scratch"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def get(self, ref: BlobRef) -> bytes:
        try:
            data = self._path(ref.sha256).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFoundError(ref.sha256) from exc
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise BlobNotFoundError(f"{ref.sha256}: content does not match its hash")
        return data

    def copy_to(self, ref: BlobRef, out: IO[bytes]) -> None:
        """Stream a blob into `out`, checking its hash; BlobNotFoundError when missing or corrupt."""
        digest = hashlib.sha256()
        try:
            with self._path(ref.sha256).open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except FileNotFoundError as exc:
            raise BlobNotFoundError(f"{ref.sha256}: not in the store") from exc
        if digest.hexdigest() != ref.sha256:
            raise BlobNotFoundError(f"{ref.sha256}: content does not match its hash")

    def verify(self, ref: BlobRef) -> None:
        """BlobNotFoundError unless the blob is there with the content its hash names."""
        path = self._path(ref.sha256)
        if not path.is_file():
            raise BlobNotFoundError(f"{ref.sha256}: not in the store")
        if _file_sha256(path) != ref.sha256:
            raise BlobNotFoundError(f"{ref.sha256}: content does not match its hash")

    def exists(self, ref: BlobRef) -> bool:
        return self._path(ref.sha256).is_file()


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
