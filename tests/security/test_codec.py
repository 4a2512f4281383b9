"""The codec endpoint has its own rotatable credentials, and outside development the worker refuses
unencrypted payloads, so nobody reaching the Temporal frontend can inject a plain Update (issue 21, item 6)."""

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from console import client_calls as calls
from console.web.app import create_app
from schemas.cycle import ActionResult, UnitPhase, Waive
from tests.e2e.cycle_stack import CycleStack
from tests.security.helpers import new_id
from workers.dev.ports import free_port
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.worker import build_worker
from workflows.reporting_cycle import ReportingCycle

CURRENT, NEXT, EXPIRED = (secrets.token_urlsafe(32) for _ in range(3))
PAYLOADS = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "e30="}]}


@pytest.fixture
async def codec_web(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    configured = settings.model_copy(
        update={"codec_tokens": SecretStr(f"ui-2026:{CURRENT}, cli-2027:{NEXT}:2999-12-31, old:{EXPIRED}:{yesterday}")}
    )
    app = create_app(configured)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


class TestCodecCredential:
    async def test_configured_credentials_open_it_together(self, codec_web: httpx.AsyncClient) -> None:
        """Two credentials are valid at once (rotation without a gap)."""
        for token in (CURRENT, NEXT):
            answer = await codec_web.post("/codec/encode", json=PAYLOADS, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text

    async def test_expired_credential_is_refused(self, codec_web: httpx.AsyncClient) -> None:
        answer = await codec_web.post("/codec/decode", json=PAYLOADS, headers={"Authorization": f"Bearer {EXPIRED}"})
        assert answer.status_code == 401

    async def test_a_token_derived_from_the_shared_secret_is_refused(
        self, codec_web: httpx.AsyncClient, settings: Settings
    ) -> None:
        """Knowing DUBAN_SECRET_KEY (which signs links and sessions) does not open the codec."""
        derived = hmac.new(
            settings.secret_key.get_secret_value().encode(), b"duban temporal codec endpoint v1", hashlib.sha256
        ).hexdigest()
        answer = await codec_web.post("/codec/decode", json=PAYLOADS, headers={"Authorization": f"Bearer {derived}"})
        assert answer.status_code == 401


@pytest.fixture
async def production_stack(
    dev_server_env: WorkflowEnvironment, payload_keys: SecretStr, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CycleStack]:
    """A worker built from production settings on the session's dev server."""
    data_dir = tmp_path_factory.mktemp("prod-var")
    sink = SmtpSink("127.0.0.1", free_port(), data_dir / "mail")
    sink.start()
    settings = Settings.model_validate(
        {
            "environment": "production",
            "secret_key": secrets.token_urlsafe(32),
            "data_dir": data_dir,
            "payload_keys": payload_keys,
            "temporal": TemporalSettings(
                address=dev_server_env.client.service_client.config.target_host,
                task_queue=f"test-{uuid.uuid4().hex[:12]}",
            ),
            "smtp": SmtpSettings.model_validate({"host": sink.host, "port": sink.port, "allow_plaintext": True}),
        }
    )
    client = await calls.connect(settings)
    try:
        async with build_worker(client, settings):
            yield CycleStack(client=client, settings=settings, sink=sink, campaign=f"t{uuid.uuid4().hex[:8]}")
    finally:
        sink.stop()


async def test_plain_update_is_refused_in_production(
    production_stack: CycleStack, dev_server_env: WorkflowEnvironment
) -> None:
    """An Update sent without the payload codec is rejected (not applied, not a frozen workflow);
    the same Update encrypted is then applied."""
    stack, unit = production_stack, new_id("u")
    cycle = await stack.open_cycle("plain-injection", units={unit: "甲单位"}, office_id=new_id("o"))
    target = dev_server_env.client.service_client.config.target_host
    plain = await Client.connect(target, namespace="default", data_converter=pydantic_data_converter)
    call = Waive(unit_id=unit, reason="injected", by="nobody")
    with pytest.raises(WorkflowUpdateFailedError):
        await plain.get_workflow_handle(cycle.id).execute_update("waive", call, result_type=ActionResult)
    view = await calls.unit_view(stack.client, cycle.id, unit)
    assert view.state.phase is UnitPhase.PENDING
    # Not frozen: the encrypted call goes through at once.
    await calls.update(stack.client, cycle.id, ReportingCycle.waive, call.model_copy(update={"reason": "real"}))
    assert (await calls.unit_view(stack.client, cycle.id, unit)).state.phase is UnitPhase.WAIVED
