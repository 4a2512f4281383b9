"""Side effects of the information channel: send an adopted item up, page settled items out.

- `forward_info_item`: submit the item into the upper office's channel when that
  office runs its campaign here (its id is fixed: `info:<campaign>:<office>`);
  otherwise answer "not delivered" and the channel mails it instead.
- `archive_info_items`: write settled items as one JSON page into the blob store
  (content-addressed, so a retry lands on the same blob) and return its reference.
"""

import json

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.blobs import BlobStore
from schemas.activities import InfoActivity
from schemas.info import (
    ArchivePage,
    ArchiveRequest,
    InfoForwardRequest,
    InfoForwardResult,
    InfoReceipt,
    SubmitItem,
    channel_workflow_id,
)


class InfoActivities(InfoActivity):
    def __init__(self, blobs: BlobStore, client: Client | None) -> None:
        self.blobs = blobs
        self.client = client

    @activity.defn(name="forward_info_item")
    async def forward_info_item(self, request: InfoForwardRequest) -> InfoForwardResult:
        upper = request.upper
        if not (upper.campaign and upper.as_unit) or self.client is None:
            return InfoForwardResult(delivered=False, how="none", detail="the upper office does not run here")
        target = channel_workflow_id(upper.campaign, upper.id)
        call = SubmitItem(
            unit_id=upper.as_unit,
            kind=request.kind,
            title=request.title,
            body=request.body,
            attachments=request.attachments,
            by=request.channel_id,
            origin=request.item_id,
        )
        handle = self.client.get_workflow_handle(target)
        try:
            # One update id per item: a retried activity is applied once by the upper channel's run.
            receipt = await handle.execute_update(
                "submit_item", call, id=f"forward:{request.item_id}", result_type=InfoReceipt
            )
        except WorkflowUpdateFailedError as err:
            return InfoForwardResult(delivered=False, how="none", detail=f"{target} refused it: {err.cause}")
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return InfoForwardResult(delivered=False, how="none", detail=f"{target} is not running here")
            raise  # busy (in-flight Update limit) or an outage: Temporal retries the activity
        return InfoForwardResult(delivered=True, how="channel", detail=target, upper_item_id=receipt.item_id)

    @activity.defn(name="archive_info_items")
    async def archive_info_items(self, request: ArchiveRequest) -> ArchivePage:
        items = sorted(request.items, key=lambda i: i.no)
        data = json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False, sort_keys=True)
        first, last = items[0].no, items[-1].no
        name = f"{request.channel_id.replace(':', '_')}-items-{first}-{last}.json"
        ref = await self.blobs.put(data.encode("utf-8"), name, "application/json")
        return ArchivePage(ref=ref, first_no=first, last_no=last, count=len(items))
