"""The blob store's contract, on a local directory and on a real S3 server (SeaweedFS): every backend
keeps content sealed, hands back exactly what was put, and refuses what is missing or was changed."""

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from activities.blob_seal import CHUNK, MAGIC, BlobSealer
from activities.blobs import BlobDamagedError, BlobNotFoundError, BlobStore, object_key
from schemas.blobs import BlobRef
from tests.blobstores import TEST_KEY_ID, SeaweedS3, local_store, s3_store

REPORT = "雅安市公安局专项行动工作总结：查处案件12起。".encode()


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return local_store(tmp_path / "blobs")
    server: SeaweedS3 = request.getfixturevalue("seaweed_s3")
    bucket = await server.create_bucket()
    return s3_store(server, bucket, tmp_path / "scratch", prefix=f"{uuid.uuid4().hex[:12]}/blobs")


async def raw(store: BlobStore, ref: BlobRef) -> bytes:
    """The bytes as the backend keeps them (what a disk thief or a bucket reader sees)."""
    return b"".join([piece async for piece in store.objects.read(object_key(ref.sha256))])


def writing(data: bytes) -> Callable[[IO[bytes]], object]:
    return lambda fh: fh.write(data)


async def overwrite(store: BlobStore, ref: BlobRef, data: bytes) -> None:
    """Change the stored object behind the store's back (a tampering admin, a cut-short copy)."""
    await store.objects.write(object_key(ref.sha256), writing(data))


class TestPutAndGet:
    async def test_content_comes_back_exactly_and_is_sealed_at_rest(self, store: BlobStore) -> None:
        """put then get gives the same bytes; the stored object is ciphertext with the key id in its header."""
        ref, created = await store.put_new(REPORT, "总结.txt", "text/plain")
        assert created and ref.size == len(REPORT)
        assert await store.get(ref) == REPORT
        assert await store.exists(ref)
        stored = await raw(store, ref)
        assert stored.startswith(MAGIC + bytes([len(TEST_KEY_ID)]) + TEST_KEY_ID.encode())
        assert REPORT not in stored and "雅安".encode() not in stored

    async def test_the_same_content_twice_is_one_blob(self, store: BlobStore) -> None:
        """A re-upload (or a retried activity) lands on the same key and says it created nothing."""
        first, created = await store.put_new(REPORT, "a.txt")
        second, again = await store.put_new(REPORT, "b.txt")
        assert created and not again
        assert first.sha256 == second.sha256 and await store.get(second) == REPORT

    async def test_a_large_file_streams_through_several_chunks(self, store: BlobStore, tmp_path: Path) -> None:
        """put_file of 2.5 MiB (three sealed chunks) reads back whole, chunk by chunk."""
        source = tmp_path / "package.zip"
        content = bytes(range(256)) * (CHUNK * 5 // 2 // 256)
        source.write_bytes(content)
        ref = await store.put_file(source, "package.zip", "application/zip")
        pieces = [piece async for piece in store.chunks(ref)]
        assert b"".join(pieces) == content and len(pieces) == 3
        assert len(await raw(store, ref)) == len(content) + 3 * 16 + len(MAGIC) + 1 + len(TEST_KEY_ID) + 16

    async def test_discard_removes_the_blob(self, store: BlobStore) -> None:
        ref = await store.put(REPORT, "总结.txt")
        await store.discard(ref)
        assert not await store.exists(ref)


class TestRefused:
    async def test_a_missing_blob_is_not_found(self, store: BlobStore) -> None:
        gone = BlobRef(sha256="c" * 64, size=3, name="gone.txt")
        assert not await store.exists(gone)
        with pytest.raises(BlobNotFoundError, match="not in the store"):
            await store.get(gone)
        with pytest.raises(BlobNotFoundError):
            await store.verify(gone)

    async def test_a_tampered_object_is_refused_and_a_new_put_repairs_it(self, store: BlobStore) -> None:
        """One flipped ciphertext bit fails authentication (BlobDamagedError, a BlobNotFoundError for
        every caller); putting the content again replaces the damaged object."""
        ref = await store.put(REPORT, "总结.txt")
        stored = bytearray(await raw(store, ref))
        stored[-20] ^= 0x01
        await overwrite(store, ref, bytes(stored))
        with pytest.raises(BlobDamagedError, match="failed authentication"):
            await store.verify(ref)
        with pytest.raises(BlobNotFoundError):
            await store.get(ref)
        _, created = await store.put_new(REPORT, "总结.txt")
        assert not created and await store.get(ref) == REPORT

    async def test_an_object_cut_at_a_chunk_boundary_is_refused(self, store: BlobStore, tmp_path: Path) -> None:
        """Dropping the last sealed chunk leaves a well-formed prefix; the last-chunk flag still refuses it."""
        source = tmp_path / "big.bin"
        source.write_bytes(b"x" * (CHUNK + 10))
        ref = await store.put_file(source, "big.bin")
        stored = await raw(store, ref)
        await overwrite(store, ref, stored[: len(stored) - (10 + 16)])
        with pytest.raises(BlobDamagedError, match="failed authentication"):
            await store.verify(ref)

    async def test_an_object_moved_under_another_key_is_refused(self, store: BlobStore) -> None:
        """A sealed object copied over another blob's key fails: the hash is part of what is authenticated."""
        one = await store.put(b"report one", "1.txt")
        two = await store.put(b"report two", "2.txt")
        await overwrite(store, two, await raw(store, one))
        with pytest.raises(BlobDamagedError):
            await store.get(two)

    async def test_a_key_we_do_not_hold_is_named(self, store: BlobStore) -> None:
        """An object sealed with a key missing from DUBAN_PAYLOAD_KEYS: refused, naming the key id."""
        other = BlobStore(store.objects, BlobSealer({"retired-2025": b"k" * 32}, "retired-2025"))
        ref = await other.put(REPORT, "总结.txt")
        with pytest.raises(BlobDamagedError, match="retired-2025"):
            await store.get(ref)


class TestPlainObjects:
    async def test_a_blob_written_before_encryption_reads_and_is_sealed_by_encrypt(self, store: BlobStore) -> None:
        """No header: read as it is (hash still checked); `encrypt_plain` seals it, then it reads the same."""
        ref = BlobRef(sha256=hashlib.sha256(REPORT).hexdigest(), size=len(REPORT), name="旧.txt")
        await overwrite(store, ref, REPORT)
        sealed_one = await store.put(b"already sealed", "new.txt")
        assert await store.get(ref) == REPORT
        assert await store.encrypt_plain() == (1, 1)
        assert (await raw(store, ref)).startswith(MAGIC) and await store.get(ref) == REPORT
        assert await store.get(sealed_one) == b"already sealed"
        assert await store.encrypt_plain() == (0, 2)

    async def test_a_plain_object_with_other_content_is_refused(self, store: BlobStore) -> None:
        ref = BlobRef(sha256=hashlib.sha256(REPORT).hexdigest(), size=len(REPORT), name="旧.txt")
        await overwrite(store, ref, REPORT[:-3])
        with pytest.raises(BlobDamagedError, match="does not match its hash"):
            await store.verify(ref)
