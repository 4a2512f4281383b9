"""Blob objects in an S3-compatible bucket (MinIO, Ceph RGW, SeaweedFS, Aliyun OSS, AWS S3).

Each object is written whole: content up to `SINGLE_PUT_MAX` in one PUT,
larger content (roll-up packages) as a multipart upload that is aborted on any
error, so a reader never sees part of an object. The content is first sealed
into a local scratch file: the seal streams, and a file can be re-read for a
retried part.

A client is opened per operation, so it never outlives the event loop it was
made on (the console's request loop, a CLI's `asyncio.run`, the worker's
loop). The botocore session under it is one per process: a new session loads
the S3 service model again, which made each console download cost ~1 s of CPU
on a loaded 2-core machine (0.94 s per `verify` against SeaweedFS, 0.23 s with
the shared session; tests/faults/test_topology.py downloads 80 files). Credentials come from the settings or,
when those are empty, from botocore's usual chain (environment, instance
role); they are never logged.
"""

import asyncio
import contextlib
import functools
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aiobotocore.session import AioSession, get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from activities.blob_seal import CHUNK
from activities.blobs import BlobNotFoundError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

SINGLE_PUT_MAX = 64 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024  # S3 wants parts of at least 5 MiB (but the last)
_MISSING = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True, repr=False)
class S3Location:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    # Path-style URLs (endpoint/bucket/key) suit MinIO, SeaweedFS and Ceph; Aliyun OSS and AWS want virtual.
    path_style: bool = True

    def __repr__(self) -> str:
        # Never print the credentials, not even in a traceback's locals.
        return f"S3Location(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"


@functools.cache
def _shared_session() -> AioSession:
    """One session per process: it holds no connection, only configuration and the loaded service models."""
    return get_session()


class S3Objects:
    def __init__(self, location: S3Location, scratch_dir: Path) -> None:
        self.location = location
        self._scratch = scratch_dir
        self._session = _shared_session()
        self._config = Config(
            s3={"addressing_style": "path" if location.path_style else "virtual"},
            retries={"max_attempts": 5, "mode": "standard"},
            # Some S3-compatible servers (and older MinIO) refuse the newer default checksums.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    def _key(self, key: str) -> str:
        prefix = self.location.prefix.strip("/")
        return f"{prefix}/{key}" if prefix else key

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator["S3Client"]:
        loc = self.location
        options: dict[str, Any] = {"endpoint_url": loc.endpoint_url, "region_name": loc.region, "config": self._config}
        if loc.access_key_id and loc.secret_access_key:
            options |= {"aws_access_key_id": loc.access_key_id, "aws_secret_access_key": loc.secret_access_key}
        async with self._session.create_client("s3", **options) as client:
            yield client

    async def read(self, key: str) -> AsyncGenerator[bytes, None]:
        async with self._client() as s3:
            try:
                reply = await s3.get_object(Bucket=self.location.bucket, Key=self._key(key))
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise BlobNotFoundError(f"{key.rpartition('/')[2]}: not in the store") from exc
                raise
            async with reply["Body"] as body:
                while chunk := await body.read(CHUNK):
                    yield chunk

    async def write(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        self.scratch()
        fd, tmp = tempfile.mkstemp(dir=self._scratch, prefix="upload-")
        path = Path(tmp)
        try:
            with os.fdopen(fd, "wb") as fh:
                await asyncio.to_thread(fill, fh)
                size = fh.tell()
            async with self._client() as s3:
                if size <= SINGLE_PUT_MAX:
                    data = await asyncio.to_thread(path.read_bytes)
                    await s3.put_object(Bucket=self.location.bucket, Key=self._key(key), Body=data)
                else:
                    await self._multipart(s3, self._key(key), path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    async def _multipart(self, s3: "S3Client", key: str, path: Path) -> None:
        bucket = self.location.bucket
        upload = await s3.create_multipart_upload(Bucket=bucket, Key=key)
        upload_id = upload["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            with path.open("rb") as fh:
                number = 1
                while data := await asyncio.to_thread(fh.read, PART_SIZE):
                    part = await s3.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
                    )
                    parts.append({"ETag": part["ETag"], "PartNumber": number})
                    number += 1
            await s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(ClientError):
                await s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    async def exists(self, key: str) -> bool:
        async with self._client() as s3:
            try:
                await s3.head_object(Bucket=self.location.bucket, Key=self._key(key))
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return False
                raise
        return True

    async def delete(self, key: str) -> None:
        async with self._client() as s3:
            await s3.delete_object(Bucket=self.location.bucket, Key=self._key(key))

    async def keys(self) -> AsyncIterator[str]:
        prefix = self._key("")
        async with self._client() as s3:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=prefix)
            async for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(prefix) :]

    def scratch(self) -> Path:
        self._scratch.mkdir(parents=True, exist_ok=True)
        return self._scratch

    def describe(self) -> str:
        prefix = self.location.prefix.strip("/")
        return f"s3://{self.location.bucket}/{prefix}" if prefix else f"s3://{self.location.bucket}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
