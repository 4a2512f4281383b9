"""Session-wide fixtures: settings for tests, and real Temporal servers from the venv's binaries.

- `time_skipping_env`: the Java test server (time skipping) for single-workflow
  ladders; every duban search attribute is registered on it.
- `dev_server_env`: the Go dev server (in memory) for search attributes,
  listing and schedules; tests using it get the `devserver` marker.
- `settings`: per-test settings with a temporary data directory and the
  session's test payload key, so clients built from them read what the
  environments' clients wrote.

Both servers listen on ports the kernel picks; no test assumes a fixed port.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from schemas.visibility import SEARCH_ATTRIBUTES
from tests.blobstores import SeaweedS3
from workers.codec import generate_key_line
from workers.dev.binaries import bundled_binary
from workers.dev.stack import server_limit_args
from workers.settings import ObjectSettings, Settings, TemporalSettings
from workers.temporal import data_converter

_KEY_FACTORIES = {
    "Keyword": SearchAttributeKey.for_keyword,
    "KeywordList": SearchAttributeKey.for_keyword_list,
    "Text": SearchAttributeKey.for_text,
    "Int": SearchAttributeKey.for_int,
    "Double": SearchAttributeKey.for_float,
    "Bool": SearchAttributeKey.for_bool,
    "Datetime": SearchAttributeKey.for_datetime,
}
_INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def duban_search_attribute_keys() -> list[SearchAttributeKey]:  # type: ignore[type-arg]
    """The keys of design.md, typed, for `start_local(search_attributes=...)`."""
    return [_KEY_FACTORIES[kind](name) for name, kind in SEARCH_ATTRIBUTES.items()]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Mark by what a test uses, so `-m "not devserver"` never needs maintaining by hand.
    for item in items:
        if "dev_server_env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.devserver)


@pytest.fixture(scope="session", autouse=True)
def _hermetic_environment() -> Iterator[None]:
    """A developer's own DUBAN_* variables must not change what the tests see."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("DUBAN_")}
    for key in saved:
        del os.environ[key]
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def payload_keys() -> SecretStr:
    """One payload key for the whole session (DUBAN_PAYLOAD_KEYS format)."""
    return SecretStr(generate_key_line("test-1"))


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory: pytest.TempPathFactory, payload_keys: SecretStr) -> Settings:
    """Settings shared by the session-wide environments."""
    return Settings(data_dir=tmp_path_factory.mktemp("var"), payload_keys=payload_keys, log_json=True)


@pytest.fixture
def settings(tmp_path: Path, payload_keys: SecretStr) -> Settings:
    """Per-test settings: a fresh data directory, the session's payload key, JSON logs."""
    return Settings(data_dir=tmp_path / "var", payload_keys=payload_keys, log_json=True)


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test uses, so workers of different tests never steal each other's tasks."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
async def time_skipping_env(session_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, with duban's search attributes registered (upserts hang otherwise)."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(bundled_binary("temporal-test-server")),
        data_converter=data_converter(session_settings),
    ) as env:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={name: _INDEXED_TYPES[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
            )
        )
        yield env


async def start_dev_server(settings: Settings) -> WorkflowEnvironment:
    """The dev server (in-memory SQLite, no UI) with every duban search attribute and duban's limits."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(bundled_binary("temporal")),
        data_converter=data_converter(settings),
        search_attributes=duban_search_attribute_keys(),
        ip="127.0.0.1",
        ui=False,
        dev_server_log_level="warn",
        dev_server_extra_args=server_limit_args(),
    )


@pytest.fixture(scope="session")
async def dev_server_env(session_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server shared by the session."""
    async with await start_dev_server(session_settings) as env:
        yield env


@pytest.fixture
def dev_server_settings(settings: Settings, dev_server_env: WorkflowEnvironment) -> Settings:
    """Per-test settings whose Temporal address is the session's dev server (for code that calls `connect`)."""
    target = dev_server_env.client.service_client.config.target_host
    return settings.model_copy(update={"temporal": TemporalSettings(address=target)})


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A real S3 server (SeaweedFS) for the session, started on first use (~4 s).

    Tests share one bucket, each under its own prefix (every bucket costs SeaweedFS volumes)."""
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def s3_settings(settings: Settings, seaweed_s3: SeaweedS3) -> Settings:
    """Per-test settings whose blob store is a fresh prefix in the session's SeaweedFS bucket."""
    bucket = await seaweed_s3.create_bucket()
    objects = ObjectSettings(
        url=f"s3://{bucket}/{uuid.uuid4().hex[:12]}/blobs",
        endpoint=seaweed_s3.endpoint,
        region="us-east-1",
        access_key=SecretStr(seaweed_s3.access_key),
        secret_key=SecretStr(seaweed_s3.secret_key),
    )
    return settings.model_copy(update={"objects": objects})
