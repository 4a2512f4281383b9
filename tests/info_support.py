"""Information-channel test helpers: a plan with an `info` section, starting a channel, reading it."""

import contextlib
import datetime as dt
import hashlib
import uuid
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from activities.blobs import BlobStore
from activities.holidays import load_calendar
from domain import cycle_spec, info_book
from schemas.blobs import BlobRef
from schemas.info import InfoInput, InfoReceipt, InfoSpec, ItemsQuery, ItemsView, SubmitItem
from schemas.info_plan import InfoKind, InfoPlan
from schemas.plan import CampaignPlan, UpperOffice
from tests.plans import plan
from workflows.info_channel import InfoChannel

TEXT = "text/plain; charset=utf-8"

Handle = WorkflowHandle[Any, ItemsView]
# Channels started by a test; the test module's fixture ends those still running, so their timers
# do not move the time-skipping server's shared clock under the next test.
STARTED: list[Handle] = []


def info_plan(
    n_units: int = 3,
    rules: InfoPlan | None = None,
    campaign_id: str | None = None,
    office_id: str = "yaan",
    upper: UpperOffice | None = None,
) -> CampaignPlan:
    p = plan(n_units, campaign_id=campaign_id or f"info{uuid.uuid4().hex[:6]}", office_id=office_id, upper=upper)
    return p.model_copy(update={"info": rules or InfoPlan()})


def channel_input(p: CampaignPlan, opened_at: dt.datetime) -> InfoInput:
    cal = load_calendar(cycle_spec.calendar_years(opened_at.year), p.timezone)
    return InfoInput(spec=info_book.channel_spec(p, opened_at, cal))


async def start_channel(client: Client, task_queue: str, p: CampaignPlan, opened_at: dt.datetime) -> Handle:
    inp = channel_input(p, opened_at)
    handle: Handle = await client.start_workflow(
        "InfoChannel", inp, id=inp.spec.channel_id, task_queue=task_queue, result_type=ItemsView
    )
    STARTED.append(handle)
    return handle


async def end_started() -> None:
    while STARTED:
        handle = STARTED.pop()
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")


def spec_of(inp: InfoInput) -> InfoSpec:
    return inp.spec


def body_ref(text: str) -> BlobRef:
    """The reference a text body would have once stored (the pure book never reads it)."""
    data = text.encode("utf-8")
    return BlobRef(sha256=hashlib.sha256(data).hexdigest(), size=len(data), name="正文.txt", media_type=TEXT)


def submit_call(unit: str, title: str, kind: InfoKind = InfoKind.TYPICAL_CASE, **kw: Any) -> SubmitItem:
    return SubmitItem(unit_id=unit, kind=kind, title=title, body=body_ref(f"{title}：正文"), **kw)


async def stored_call(
    store: BlobStore, unit: str, title: str, kind: InfoKind = InfoKind.TYPICAL_CASE, **kw: Any
) -> SubmitItem:
    """As `submit_call`, with the body really in the store (a running channel may read it)."""
    body = await store.put(f"{title}：正文".encode(), "正文.txt", TEXT)
    return SubmitItem(unit_id=unit, kind=kind, title=title, body=body, **kw)


async def submit(handle: Handle, call: SubmitItem) -> InfoReceipt:
    return await handle.execute_update(InfoChannel.submit_item, call)


async def items(handle: Handle, unit: str | None = None) -> ItemsView:
    return await handle.query(InfoChannel.get_items, ItemsQuery(unit_id=unit))
