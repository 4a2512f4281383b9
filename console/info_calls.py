"""Calls into information channels (及时报送), shared by the `duban info` commands and the web console.

A campaign's channel is found by its fixed id (`info:<campaign>:<office>`) or,
when only the campaign is given, through visibility. Items are read from the
channel (open ones) and from its pages in the blob store (settled ones), so a
list covers the whole campaign. Changes go only through the channel's Updates.
"""

import datetime as dt
import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from temporalio.client import Client

from activities.blobs import BlobNotFoundError
from console import client_calls as calls
from domain.info_book import period_months
from schemas.blobs import BlobRef
from schemas.info import (
    TITLE_MAX,
    BoardQuery,
    DecideItem,
    Decision,
    ForwardItem,
    InfoBoard,
    InfoItem,
    InfoReceipt,
    InfoState,
    InfoStats,
    ItemResult,
    ItemsQuery,
    ItemsView,
    StatsQuery,
    SubmitItem,
    channel_workflow_id,
    split_item_id,
)
from schemas.info_plan import InfoKind
from schemas.visibility import CAMPAIGN
from workers.objects import blob_store
from workers.settings import Settings
from workflows.info_channel import InfoChannel

CHANNEL_TYPE = "InfoChannel"


async def list_channels(client: Client, campaign: str | None = None, running: bool = True) -> list[str]:
    query = f"WorkflowType = '{CHANNEL_TYPE}'"
    if running:
        query += " AND ExecutionStatus = 'Running'"
    if campaign:
        query += f" AND {CAMPAIGN.name} = {calls._quote(campaign)}"
    return sorted({wf.id async for wf in client.list_workflows(query)})


async def find_channel(client: Client, campaign: str, office: str | None = None) -> str:
    """The campaign's channel: by id when the office is given, else the one running for the campaign."""
    if office:
        return channel_workflow_id(campaign, office)
    found = await list_channels(client, campaign)
    if not found:
        raise calls.NotFound(
            f"campaign {campaign!r} runs no information channel here (is its plan's info section set?)"
        )
    if len(found) > 1:
        raise calls.Rejected(f"campaign {campaign!r} has several channels ({', '.join(found)}); give --office")
    return found[0]


async def view(client: Client, channel_id: str, unit_id: str | None = None) -> ItemsView:
    return await calls.query(client, channel_id, InfoChannel.get_items, ItemsQuery(unit_id=unit_id))


async def board(client: Client, channel_id: str) -> InfoBoard:
    return await calls.query(client, channel_id, InfoChannel.get_board, BoardQuery())


async def archived(settings: Settings, found: ItemsView) -> list[InfoItem]:
    """The settled items a channel paged out, read back from the blob store."""
    store = blob_store(settings)
    out: list[InfoItem] = []
    for page in found.archive:
        try:
            data = json.loads(await store.get(page.ref))
        except BlobNotFoundError as err:
            raise calls.CallFailed(f"a page of settled items is missing from the blob store: {err}") from err
        out += [InfoItem.model_validate(x) for x in data]
    return out


async def every_item(
    settings: Settings, found: ItemsView, unit_id: str | None = None, state: InfoState | None = None
) -> list[InfoItem]:
    """Open and paged-out items, newest first, filtered by unit and state."""
    items = await archived(settings, found) + found.items
    return sorted((i for i in items if unit_id in (None, i.unit_id) and state in (None, i.state)), key=lambda i: -i.no)


async def submit(
    client: Client,
    settings: Settings,
    channel_id: str,
    *,
    unit_id: str,
    kind: InfoKind,
    title: str,
    text: str,
    files: Sequence[tuple[str, bytes]],
    by: str,
    work_area: str = "",
    resubmit_of: int | None = None,
) -> InfoReceipt:
    """Store the text and files, then call `submit_item` with their references.

    As for a cycle's reports (`client_calls.submit_files`): the blobs must exist before the Update, and
    when the channel refuses the item the blobs this call created are swept again, so a refused item
    leaves nothing behind. Only a refusal sweeps: after a timeout the Update may have been applied."""
    if not files and not text.strip():
        raise calls.Rejected("请填写正文或上传附件 (give a text or at least one file)")
    created: list[BlobRef] = []
    try:
        attachments = await calls.store_uploads(settings, files, created)
        body = await calls.store_text(settings, text, created=created)
        try:
            call = SubmitItem(
                unit_id=unit_id,
                kind=kind,
                title=title.strip()[:TITLE_MAX],
                body=body,
                attachments=attachments,
                work_area=work_area,
                resubmit_of=resubmit_of,
                by=by,
            )
        except ValueError as err:
            raise calls.Rejected(f"invalid item: {err}") from err
        return await calls.update(client, channel_id, InfoChannel.submit_item, call)
    except calls.Rejected:
        await calls.sweep(settings, created)
        raise


def parse_item(text: str) -> tuple[str, int]:
    try:
        return split_item_id(text)
    except ValueError as err:
        raise calls.Rejected(str(err)) from err


async def decide(client: Client, item: str, decision: Decision, note: str, by: str) -> ItemResult:
    channel_id, no = parse_item(item)
    try:
        call = DecideItem(no=no, decision=decision, note=note, by=by)
    except ValueError as err:
        raise calls.Rejected(f"invalid decision: {err}") from err
    return await calls.update(client, channel_id, InfoChannel.decide_item, call)


async def forward(client: Client, item: str, by: str) -> ItemResult:
    channel_id, no = parse_item(item)
    return await calls.update(client, channel_id, InfoChannel.forward_item, ForwardItem(no=no, by=by))


def check_period(period: str) -> str:
    try:
        period_months(period)
    except ValueError as err:
        raise calls.Rejected(str(err)) from err
    return period.strip().upper()


async def stats(client: Client, channel_id: str, period: str) -> InfoStats:
    return await calls.query(client, channel_id, InfoChannel.get_stats, StatsQuery(period=check_period(period)))


def current_quarter(now: dt.datetime, tz: str = "Asia/Shanghai") -> str:
    """The quarter `now` falls in, in the office's zone: what the scores page shows first."""
    local = now.astimezone(ZoneInfo(tz))
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
