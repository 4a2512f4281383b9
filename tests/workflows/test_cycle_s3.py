"""One cycle with its blobs in S3 (a real SeaweedFS): a unit's upload goes to the bucket sealed, the
roll-up reads it back from there and its package reaches the province's cycle — nothing on local disk.
The unit downloads its file through the portal, from the bucket."""

import asyncio
import datetime as dt
import hashlib
import io
import json
import zipfile

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.blob_seal import MAGIC
from activities.blobs import object_key
from activities.portal_tokens import PortalTokens
from console import client_calls
from console.web.app import create_app
from schemas.cycle import CycleStatus, SubmitReport, UnitPhase, UnitQuery, UnitView
from schemas.plan import UpperOffice
from tests.plans import cycle_input, plan
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.objects import blob_store
from workers.settings import Settings

REPORT = "雅安市公安局专项行动工作总结：查处案件12起。".encode()
SHA = hashlib.sha256(REPORT).hexdigest()


async def _download_through_the_portal(env: WorkflowEnvironment, settings: Settings, cycle_id: str) -> None:
    """The unit downloads its own upload from the bucket; another unit's link cannot reach it."""
    tokens = PortalTokens(settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days)
    app = create_app(settings, client=env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        own = await web.get(f"/portal/{tokens.portal_token(cycle_id, 'u1')}/files/{SHA}")
        assert own.status_code == 200 and own.content == REPORT
        assert own.headers["content-disposition"].startswith("attachment;")
        assert own.headers["x-content-type-options"] == "nosniff"
        other = await web.get(f"/portal/{tokens.portal_token(cycle_id, 'u2')}/files/{SHA}")
        assert other.status_code == 404 and REPORT not in other.content


async def test_an_uploaded_report_is_sealed_in_the_bucket_and_rolled_up_from_it(
    dev_server_env: WorkflowEnvironment, cycle_settings: Settings, s3_settings: Settings, sink: SmtpSink
) -> None:
    """Upload through the console's path, roll-up by the worker, package read back: all through S3."""
    env = dev_server_env
    settings = cycle_settings.model_copy(update={"objects": s3_settings.objects})
    tag = dt.datetime.now().strftime("%H%M%S%f")
    province = plan(2, campaign_id=f"prov{tag}", office_id="sc")
    province.units[0].id = "yaan"
    city = plan(
        2,
        campaign_id=f"city{tag}",
        office_id="yaan",
        upper=UpperOffice(id="sc", name="省打假办", campaign=f"prov{tag}", as_unit="yaan"),
    )
    now = dt.datetime.now(dt.UTC)
    queue = settings.temporal.task_queue
    async with running_worker(env.client, settings):
        prov_in, city_in = cycle_input(province, now), cycle_input(city, now)
        assert prov_in.spec and city_in.spec
        parent = await env.client.start_workflow("ReportingCycle", prov_in, id=prov_in.spec.cycle_id, task_queue=queue)
        child = await env.client.start_workflow(
            "ReportingCycle", city_in, id=city_in.spec.cycle_id, task_queue=queue, result_type=CycleStatus
        )
        await client_calls.submit_files(
            env.client, settings, child.id, SubmitReport(unit_id="u1", title="总结"), "", [("总结.txt", REPORT)]
        )
        await _download_through_the_portal(env, settings, child.id)
        await child.execute_update("submit_report", SubmitReport(unit_id="u2", title="总结"))

        async def parent_view() -> UnitView:
            return await parent.query("get_unit", UnitQuery(unit_id="yaan"), result_type=UnitView)

        deadline = asyncio.get_running_loop().time() + 60
        while (await parent_view()).state.phase is not UnitPhase.SUBMITTED:
            assert asyncio.get_running_loop().time() < deadline, "the roll-up never reached the province"
            await asyncio.sleep(0.3)
        (submission,) = (await parent_view()).state.submissions
        package = submission.attachments[0]
        await parent.terminate("test over")
        await child.result()

    store = blob_store(settings)
    with zipfile.ZipFile(io.BytesIO(await store.get(package))) as zf:
        (entry,) = [n for n in zf.namelist() if n.endswith("总结.txt")]
        assert zf.read(entry) == REPORT
        assert json.loads(zf.read("index.json"))["complete"] is True
    stored = b"".join([piece async for piece in store.objects.read(object_key(SHA))])
    assert stored.startswith(MAGIC) and REPORT not in stored
    assert not settings.blob_dir.exists()  # the bucket holds the files, not the worker's disk
