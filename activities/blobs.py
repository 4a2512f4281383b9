"""The blob store: large content (attachments, report bodies, roll-up packages) addressed by SHA-256.

Content addressing makes writes idempotent — a retried activity or a
re-uploaded file lands on the same key — and lets a workflow check what it
references without ever carrying the bytes.

Where the bytes live is an `Objects` backend: a local directory (the default,
`activities.local_objects`) or an S3-compatible bucket (`activities.s3_objects`).
Either way the content is sealed with the payload keys before it leaves the
process (`activities.blob_seal`), and every read is checked against the hash
the reference names: a missing, cut-short, tampered or foreign object is
refused with `BlobNotFoundError` — the roll-up lists it as broken, a mail
batch refuses the message, nobody gets wrong bytes.

A put is verify-or-replace: an object already at the key is trusted only when
it opens and its content matches the key; anything else is written again.
"""

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Protocol

from activities.blob_seal import CHUNK, BlobSealer, BlobSealError, is_sealed
from schemas.blobs import BlobRef

log = logging.getLogger(__name__)


class BlobNotFoundError(LookupError):
    """The blob is not there, or not with the content its hash names (both make it unusable)."""


class BlobDamagedError(BlobNotFoundError):
    """The object is there but refused: tampered, truncated, or sealed with a key we do not hold."""


class Objects(Protocol):
    """Where sealed blobs are kept: named byte objects, written whole or not at all."""

    def read(self, key: str) -> AsyncGenerator[bytes, None]:
        """The object's bytes in pieces; BlobNotFoundError (on first iteration) when there is none."""
        ...

    async def write(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        """Store what `fill` writes (called on a worker thread) under `key`, replacing any object there."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    def keys(self) -> AsyncIterator[str]:
        """Every object's key (for `duban blobs encrypt`)."""
        ...

    def scratch(self) -> Path:
        """A local directory for building large content (a roll-up zip) before it is stored."""
        ...

    def describe(self) -> str:
        """Where the objects are, for messages and manifests (never a credential)."""
        ...


def object_key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


class BlobStore:
    """Sealed, content-addressed blobs over any `Objects` backend.

    `sealer=None` writes plain objects (only tests that look at raw bytes use it); a store built
    from settings always seals (`workers.objects.blob_store`)."""

    def __init__(self, objects: Objects, sealer: BlobSealer | None) -> None:
        self.objects = objects
        self.sealer = sealer

    def _fill(self, chunks: Callable[[], Iterator[bytes]], sha256: str) -> Callable[[IO[bytes]], object]:
        def fill(out: IO[bytes]) -> None:
            if self.sealer is None:
                for chunk in chunks():
                    out.write(chunk)
            else:
                self.sealer.seal(chunks(), sha256, out)

        return fill

    async def put(self, data: bytes, name: str, media_type: str = "application/octet-stream") -> BlobRef:
        return (await self.put_new(data, name, media_type))[0]

    async def put_new(
        self, data: bytes, name: str, media_type: str = "application/octet-stream"
    ) -> tuple[BlobRef, bool]:
        """Store the content; also say whether this call created it (False: it was there already)."""
        digest = hashlib.sha256(data).hexdigest()
        existed = await self.objects.exists(object_key(digest))
        if not (existed and await self._intact(digest)):
            await self._write_bytes(data, digest)
        return BlobRef(sha256=digest, size=len(data), name=name, media_type=media_type), not existed

    async def _write_bytes(self, data: bytes, sha256: str) -> None:
        await self.objects.write(object_key(sha256), self._fill(lambda: iter((data,)), sha256))

    async def put_file(self, source: Path, name: str, media_type: str = "application/octet-stream") -> BlobRef:
        """Store a file's content without holding it in memory (roll-up packages can be large)."""
        digest, size = await asyncio.to_thread(_file_digest, source)
        if not await self._intact(digest):
            await self.objects.write(object_key(digest), self._fill(lambda: _file_chunks(source), digest))
        return BlobRef(sha256=digest, size=size, name=name, media_type=media_type)

    def scratch(self) -> Path:
        return self.objects.scratch()

    async def chunks(self, ref: BlobRef) -> AsyncIterator[bytes]:
        """The content in pieces; BlobNotFoundError when missing, BlobDamagedError (at the latest
        after the last piece) when it is not the content the hash names. Check with `verify` first
        where bytes already handed on cannot be taken back."""
        sha = ref.sha256
        raw = self.objects.read(object_key(sha))
        content = raw if self.sealer is None else self.sealer.open(raw, sha)
        digest = hashlib.sha256()
        try:
            async for chunk in content:
                digest.update(chunk)
                yield chunk
        except BlobSealError as exc:
            raise self._damaged(sha, str(exc)) from exc
        if digest.hexdigest() != sha:
            raise self._damaged(sha, "content does not match its hash")

    @staticmethod
    def _damaged(sha256: str, why: str) -> BlobDamagedError:
        log.warning("blob refused", extra={"sha256": sha256, "reason": why})
        return BlobDamagedError(f"{sha256}: {why}")

    async def get(self, ref: BlobRef) -> bytes:
        return b"".join([chunk async for chunk in self.chunks(ref)])

    async def verify(self, ref: BlobRef) -> None:
        """BlobNotFoundError unless the blob is there with the content its hash names."""
        async for _ in self.chunks(ref):
            pass

    async def _intact(self, sha256: str) -> bool:
        try:
            await self.verify(BlobRef(sha256=sha256, size=0, name="check"))
        except BlobNotFoundError:
            return False
        return True

    async def exists(self, ref: BlobRef) -> bool:
        return await self.objects.exists(object_key(ref.sha256))

    async def discard(self, ref: BlobRef) -> None:
        """Remove a blob nothing refers to (the upload of a refused submission)."""
        await self.objects.delete(object_key(ref.sha256))

    async def encrypt_plain(self) -> tuple[int, int]:
        """Seal every object written before encryption (`duban blobs encrypt`): (sealed, already sealed).

        A plain object whose content does not match its key is left alone and reported by `verify`."""
        assert self.sealer is not None, "a store without a sealer cannot encrypt"
        sealed = kept = 0
        async for key in self.objects.keys():
            sha = key.rpartition("/")[2]
            async with contextlib.aclosing(self.objects.read(key)) as pieces:
                head = await anext(pieces, b"")
            if is_sealed(head):
                kept += 1
                continue
            await self._write_bytes(await self.get(BlobRef(sha256=sha, size=0, name="plain")), sha)
            sealed += 1
        return sealed, kept
