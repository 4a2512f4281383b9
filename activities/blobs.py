"""The blob store: large content (attachments, report bodies, roll-up packages) addressed by SHA-256.

Content addressing makes writes idempotent — a retried activity or a
re-uploaded file lands on the same key — and lets a workflow check what it
references without ever carrying the bytes.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from schemas.blobs import BlobRef


class BlobNotFoundError(LookupError):
    pass


class FileBlobStore:
    """Blobs as files under `root/ab/abcdef…`; written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, name: str, media_type: str = "application/octet-stream") -> BlobRef:
        return self.put_new(data, name, media_type)[0]

    def put_new(self, data: bytes, name: str, media_type: str = "application/octet-stream") -> tuple[BlobRef, bool]:
        """Store the content; also say whether this call created it (False: it was there already)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        created = not path.exists()
        if created:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return BlobRef(sha256=digest, size=len(data), name=name, media_type=media_type), created

    def discard(self, ref: BlobRef) -> None:
        """Remove a blob nothing refers to (the upload of a refused submission)."""
        self._path(ref.sha256).unlink(missing_ok=True)

    def get(self, ref: BlobRef) -> bytes:
        try:
            data = self._path(ref.sha256).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFoundError(ref.sha256) from exc
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise BlobNotFoundError(f"{ref.sha256}: content does not match its hash")
        return data

    def exists(self, ref: BlobRef) -> bool:
        return self._path(ref.sha256).is_file()
