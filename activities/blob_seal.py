"""Blobs encrypted at rest with the payload keys: AES-256-GCM in 1 MiB chunks, the key id in a header.

A sealed object is

    b"DUBANBLOB1" | len(key id) (1 byte) | key id | salt (16 random bytes) | chunk | chunk | …

Each chunk is at most `CHUNK` bytes of content sealed with GCM (its 16-byte
tag appended) under a key derived for this object alone (HKDF over the payload
key and the salt), so nonces never repeat across objects. A chunk's nonce is
its position plus a flag on the last one (the STREAM construction): dropping,
reordering or cutting chunks off fails authentication instead of yielding
shorter content. The header and the blob's SHA-256 are every chunk's associated
data, so an object moved under another blob's key, or its key id swapped, is
refused too. Chunking keeps a roll-up package of gigabytes out of memory.

Objects written before encryption have no header and are read as they are;
their content hash still holds them to the key they are stored under.
"""

import secrets
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"DUBANBLOB1"
CHUNK = 1024 * 1024
_TAG = 16
_SALT = 16
_SEALED_CHUNK = CHUNK + _TAG


class BlobSealError(Exception):
    """A sealed object cannot be opened: tampered, truncated, or sealed with a key we do not hold."""


class BlobSealer:
    """Seals with the first payload key; opens with any of them (key rotation as for payloads)."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key must be one of the keys")
        self.current = current
        self._keys = dict(keys)

    def __repr__(self) -> str:
        # Never print key material, not even in a traceback's locals.
        return f"BlobSealer(current={self.current!r}, keys={sorted(self._keys)!r})"

    def _cipher(self, key_id: str, salt: bytes) -> AESGCM:
        secret = self._keys.get(key_id)
        if secret is None:
            known = ", ".join(sorted(self._keys))
            raise BlobSealError(
                f"sealed with key {key_id!r}, which is not among the payload keys ({known}); "
                "add it back to DUBAN_PAYLOAD_KEYS (after the current key) to read it"
            )
        kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"duban blob v1")
        return AESGCM(kdf.derive(secret))

    def seal(self, chunks: Iterator[bytes], sha256: str, out: IO[bytes]) -> None:
        """Write the sealed form of the content `chunks` yields (any sizes) into `out`."""
        salt = secrets.token_bytes(_SALT)
        header = MAGIC + bytes([len(self.current)]) + self.current.encode("ascii") + salt
        associated = header + sha256.encode("ascii")
        cipher = self._cipher(self.current, salt)
        out.write(header)
        index = 0
        pending = b""
        for piece in chunks:
            pending += piece
            # Keep at least one byte back: the last chunk must be sealed as the last.
            while len(pending) > CHUNK:
                out.write(cipher.encrypt(_nonce(index, last=False), pending[:CHUNK], associated))
                pending = pending[CHUNK:]
                index += 1
        out.write(cipher.encrypt(_nonce(index, last=True), pending, associated))

    async def open(self, sealed: AsyncIterator[bytes], sha256: str) -> AsyncIterator[bytes]:
        """The content of an object read as `sealed` (any chunk sizes); plain objects pass through."""
        buffer = b""
        async for piece in sealed:
            buffer += piece
            if len(buffer) >= len(MAGIC):
                break
        if not buffer.startswith(MAGIC):
            # Written before encryption: read as it is (the caller checks the hash).
            if buffer:
                yield buffer
            async for piece in sealed:
                yield piece
            return
        async for piece in sealed:
            buffer += piece
            if len(buffer) > len(MAGIC) + 1 + 255 + _SALT:
                break
        cipher, associated, buffer = self._header(buffer, sha256)
        index = 0
        async for piece in sealed:
            buffer += piece
            while len(buffer) > _SEALED_CHUNK:  # more follows: this chunk is not the last
                yield _decrypt(cipher, index, False, buffer[:_SEALED_CHUNK], associated)
                buffer = buffer[_SEALED_CHUNK:]
                index += 1
        while len(buffer) > _SEALED_CHUNK:  # the header read may have taken several chunks
            yield _decrypt(cipher, index, False, buffer[:_SEALED_CHUNK], associated)
            buffer = buffer[_SEALED_CHUNK:]
            index += 1
        yield _decrypt(cipher, index, True, buffer, associated)

    def _header(self, buffer: bytes, sha256: str) -> tuple[AESGCM, bytes, bytes]:
        at = len(MAGIC)
        if len(buffer) < at + 1:
            raise BlobSealError("the sealed object is cut short in its header")
        id_len = buffer[at]
        end = at + 1 + id_len + _SALT
        if len(buffer) < end:
            raise BlobSealError("the sealed object is cut short in its header")
        key_id = buffer[at + 1 : at + 1 + id_len].decode("ascii", "replace")
        salt = buffer[at + 1 + id_len : end]
        return self._cipher(key_id, salt), buffer[:end] + sha256.encode("ascii"), buffer[end:]


def is_sealed(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _nonce(index: int, *, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _decrypt(cipher: AESGCM, index: int, last: bool, sealed: bytes, associated: bytes) -> bytes:
    try:
        return cipher.decrypt(_nonce(index, last=last), sealed, associated)
    except InvalidTag as exc:
        raise BlobSealError("the sealed object failed authentication: tampered, truncated or moved") from exc
