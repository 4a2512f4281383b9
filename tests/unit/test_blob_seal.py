"""Sealing blobs: content of every size round-trips however the stored bytes are cut into pieces,
and the settings that point at a bucket refuse what they cannot use without echoing secrets."""

import hashlib
import io
from collections.abc import AsyncGenerator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.blob_seal import CHUNK, BlobSealer, BlobSealError
from workers.settings import InvalidSettings, load_settings

SEALER = BlobSealer({"k1": b"1" * 32, "k0": b"0" * 32}, "k1")


def sealed(content: bytes, sealer: BlobSealer = SEALER) -> bytes:
    out = io.BytesIO()
    sealer.seal(iter([content[i : i + 70_000] for i in range(0, len(content), 70_000)]), _sha(content), out)
    return out.getvalue()


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def pieces(data: bytes, size: int) -> AsyncGenerator[bytes, None]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def opened(data: bytes, sha: str, size: int, sealer: BlobSealer = SEALER) -> bytes:
    return b"".join([chunk async for chunk in sealer.open(pieces(data, size), sha)])


class TestRoundTrip:
    @pytest.mark.parametrize("length", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK])
    async def test_chunk_boundaries(self, length: int) -> None:
        """Empty content, and content ending just before, on and after a chunk boundary."""
        content = bytes(i % 251 for i in range(length))
        assert await opened(sealed(content), _sha(content), 1 << 16) == content

    @settings(max_examples=30, deadline=None)
    @given(content=st.binary(max_size=3000), size=st.integers(min_value=1, max_value=5000))
    async def test_any_split_of_the_stored_bytes(self, content: bytes, size: int) -> None:
        """The backend may hand the bytes over in pieces of any size, even inside the header."""
        assert await opened(sealed(content), _sha(content), size) == content

    async def test_an_older_key_still_opens(self) -> None:
        """Rotation: an object sealed with the previous key opens while that key is still listed."""
        old = BlobSealer({"k0": b"0" * 32}, "k0")
        assert await opened(sealed(b"report", old), _sha(b"report"), 7) == b"report"

    async def test_the_key_material_is_never_printed(self) -> None:
        assert "1111" not in repr(SEALER) and "k1" in repr(SEALER)

    async def test_a_header_cut_short_is_refused(self) -> None:
        with pytest.raises(BlobSealError, match="cut short"):
            await opened(sealed(b"report")[:12], _sha(b"report"), 4)


class TestObjectSettings:
    def test_an_s3_url_with_bucket_and_prefix(self) -> None:
        s = load_settings(objects={"url": "s3://duban-files/yaan", "endpoint": "http://minio:9000"})
        assert s.objects.url == "s3://duban-files/yaan" and s.objects.path_style

    @pytest.mark.parametrize("url", ["http://minio/bucket", "s3://", "bucket/prefix", "s3://b/p?x=1"])
    def test_what_is_not_an_s3_url_is_refused(self, url: str) -> None:
        with pytest.raises(InvalidSettings, match="DUBAN_OBJECTS__URL"):
            load_settings(objects={"url": url})

    def test_credentials_in_the_url_are_refused_without_echoing_them(self) -> None:
        with pytest.raises(InvalidSettings) as caught:
            load_settings(objects={"url": "s3://AKIAEXAMPLE:hunter2secret@bucket/x"})
        assert "hunter2secret" not in str(caught.value) and "ACCESS_KEY" in str(caught.value)

    def test_an_access_key_needs_its_secret(self) -> None:
        with pytest.raises(InvalidSettings, match="go together"):
            load_settings(objects={"url": "s3://bucket", "access_key": "AKIAEXAMPLE"})
