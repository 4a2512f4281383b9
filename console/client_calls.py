"""Calls into running cycles, shared by the CLI and the web console.

Both surfaces find cycles through visibility, read them through queries and
change them only through the workflow's Updates, so an operator sees the same
receipt or the same rejection whichever surface was used.

- A validator's `ApplicationError(type="Rejected")` becomes `Rejected(reason)`:
  bad input, nothing changed (CLI exit 2, HTTP 4xx).
- A closed cycle or lead that Temporal no longer has (retention, `temporal
  workflow delete`) is read from the archive in the records database, when the
  caller passes one: the board, the unit page, the ledger and statistics still
  show it.
- The server's limit of 10 in-flight Updates per workflow answers
  RESOURCE_EXHAUSTED; calls retry with backoff under one fixed update id, so a
  deadline-day burst loses no submission and a retried call is never applied twice.
"""

import asyncio
import os
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam
from tenacity import AsyncRetrying, RetryError, retry_if_exception, stop_after_attempt, wait_random_exponential

from activities.archive import CYCLE, LEAD, Archive
from activities.blobs import BlobStore
from activities.holidays import cycle_years, load_calendar
from activities.records import Records
from domain import cycle_views
from schemas.blobs import BlobRef
from schemas.cycle import (
    MAX_ATTACHMENTS,
    ActionResult,
    CycleStatus,
    NewCalendar,
    Receipt,
    Reminded,
    RemindNow,
    SubmitReport,
    UnitQuery,
    UnitView,
)
from schemas.lead import LeadStatus, LeadStatusQuery
from schemas.visibility import CAMPAIGN, OFFICE, PERIOD, STAGE
from workers.objects import blob_store
from workers.settings import Settings
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

CYCLE_TYPE = "ReportingCycle"
LEAD_TYPE = "LeadReferral"
R = TypeVar("R", bound=BaseModel)
P = TypeVar("P", bound=BaseModel)  # a workflow call's one model in

# Backoff for RESOURCE_EXHAUSTED and UNAVAILABLE: 0.1 s doubling to 2 s, about 30 s in all before giving up.
_FIRST_DELAY = 0.1
_MAX_DELAY = 2.0
_MAX_ATTEMPTS = 20
# A query waits for a worker; with none polling the cycle's task queue it would wait for a minute.
QUERY_TIMEOUT = timedelta(seconds=10)


class Rejected(Exception):
    """The call was refused (bad input, wrong state); nothing was changed. `str()` is the reason."""


class NotFound(Rejected):
    """No such cycle, unit or lead."""


class CallFailed(Exception):
    """The workflow failed the call for a reason other than a rejection (a bug, not bad input)."""


class Busy(Exception):
    """The workflow stayed at its in-flight Update limit for the whole retry budget."""


@dataclass(frozen=True)
class CycleRef:
    """A cycle as visibility lists it: cheap, no query to the worker."""

    cycle_id: str
    campaign_id: str
    office_id: str
    period: str
    stage: str
    running: bool
    started_at: datetime | None


_connected = False


async def connect(settings: Settings) -> Client:
    global _connected
    from workers.temporal import connect as temporal_connect

    client = await temporal_connect(settings)
    _connected = True
    return client


def exit_without_teardown(code: int | str | None) -> None:
    """End a short-lived command that used a Temporal client, skipping interpreter teardown.

    The client's Rust threads can outlive the event loop and abort the process while
    CPython finalizes (temporalio/sdk-python#300: "PyGILState_Release ... must be current",
    SIGABRT) — after the command's output was already correct. Nothing else of ours needs
    teardown, so flush and leave.
    """
    if not _connected:
        return
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


_SAFE_LITERAL = re.compile(r"[^\x00-\x1f\x7f'\"\\]{1,200}")


def _quote(value: str) -> str:
    # Visibility queries have no parameters: refuse quotes, backslashes and control characters
    # (a NUL reached the server's SQL as a syntax error, a 503 instead of a clear refusal).
    if not _SAFE_LITERAL.fullmatch(value):
        raise Rejected(f"invalid identifier {value!r}")
    return f"'{value}'"


def open_archive(settings: Settings) -> Archive:
    """The archive of closed cycles and leads, opened with the keys that sealed it."""
    from workers.temporal import data_converter

    return Archive(Records(settings.records_url_value()), data_converter(settings))


async def list_cycles(
    client: Client, campaign: str | None = None, period: str | None = None, archive: Archive | None = None
) -> list[CycleRef]:
    """Every reporting cycle (running or finished, and archived ones Temporal no longer has), optionally
    of one campaign and period."""
    query = f"WorkflowType = '{CYCLE_TYPE}'"
    if campaign:
        query += f" AND {CAMPAIGN.name} = {_quote(campaign)}"
    if period:
        query += f" AND {PERIOD.name} = {_quote(period)}"
    refs: list[CycleRef] = []
    async for wf in client.list_workflows(query):
        attrs = wf.typed_search_attributes
        refs.append(
            CycleRef(
                cycle_id=wf.id,
                campaign_id=attrs.get(CAMPAIGN) or "",
                office_id=attrs.get(OFFICE) or "",
                period=attrs.get(PERIOD) or "",
                stage=attrs.get(STAGE) or "",
                running=wf.status == WorkflowExecutionStatus.RUNNING,
                started_at=wf.start_time,
            )
        )
    if archive is not None:
        listed = {r.cycle_id for r in refs}
        for a in await archive.refs(CYCLE, campaign, period):
            if a.id not in listed:
                refs.append(CycleRef(a.id, a.campaign, a.office, a.period, a.stage, running=False, started_at=None))
    # SQLite visibility cannot ORDER BY; sort here so boards are stable.
    return sorted(refs, key=lambda r: (r.campaign_id, r.period, r.cycle_id))


async def list_leads(client: Client, campaign: str | None = None, archive: Archive | None = None) -> list[str]:
    query = f"WorkflowType = '{LEAD_TYPE}'"
    if campaign:
        query += f" AND {CAMPAIGN.name} = {_quote(campaign)}"
    found = {wf.id async for wf in client.list_workflows(query)}
    if archive is not None:
        found |= {a.id for a in await archive.refs(LEAD, campaign)}
    return sorted(found)


async def lead_status(client: Client, lead_id: str, archive: Archive | None = None) -> LeadStatus:
    """A lead's stages and timeline; from the archive once Temporal no longer has it."""
    try:
        return await query(client, lead_id, LeadReferral.get_status, LeadStatusQuery())
    except NotFound:
        archived = await archive.lead(lead_id) if archive is not None else None
        if archived is None:
            raise
        return archived.status


def _rejection(err: BaseException) -> Rejected | None:
    """The Rejected reason inside a failed call, if that is what it was."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == "Rejected":
            return Rejected(cause.message)
        nxt = getattr(cause, "cause", None) or cause.__cause__
        cause = nxt if nxt is not cause else None
    return None


def _not_found(err: RPCError, what: str) -> NotFound | None:
    if err.status == RPCStatusCode.NOT_FOUND:
        return NotFound(f"no such {what}")
    return None


async def query(client: Client, workflow_id: str, method: Callable[[Any, P], R], arg: P) -> R:
    """Ask a workflow by its query method (typed: mypy checks the argument and the answer)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.query(method, arg, rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
        raise Rejected(str(err)) from err
    except RPCError as err:
        raise (_not_found(err, f"workflow {workflow_id}") or err) from err


class Stuck(CallFailed):
    """The workflow's task fails on every attempt: it answers nothing and does nothing until fixed."""


async def cycle_status(client: Client, cycle_id: str, archive: Archive | None = None) -> CycleStatus:
    handle = client.get_workflow_handle(cycle_id)
    try:
        status = await handle.query(ReportingCycle.get_status, rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
        raise Rejected(str(err)) from err
    except RPCError as err:
        not_found = _not_found(err, f"workflow {cycle_id}")
        if not_found:
            archived = await archive.cycle(cycle_id) if archive is not None else None
            if archived is not None:
                # The board as it stood when the cycle closed, worked out again from what it held then:
                # a field added to the board since (a unit's returns) is filled for older archives too.
                return cycle_views.cycle_status(archived.spec, archived.state, archived.status.now)
            raise not_found from err
        # The server holds a query until the workflow's task completes: a stuck cycle never answers.
        stuck = await task_trouble(client, cycle_id)
        if stuck:
            raise Stuck(f"cycle {cycle_id} is stuck: {stuck}") from None
        raise
    trouble = await task_trouble(client, cycle_id)
    if trouble:
        status.problems = [trouble, *status.problems]
    return status


async def task_trouble(client: Client, workflow_id: str) -> str | None:
    """'workflow task failing …' when the server keeps retrying the workflow's task: the workflow is
    stuck (no timer fires, no call is applied) while its last answered state still looks healthy."""
    try:
        desc = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError:
        return None
    pending = desc.raw_description.pending_workflow_task
    reported = desc.search_attributes.get("TemporalReportedProblems") or []
    if pending.attempt < 2 and not reported:
        return None
    detail = "; ".join([str(p) for p in reported] + [await _last_task_failure(client, workflow_id)])
    return f"workflow task failing (attempt {pending.attempt}): {detail}"


async def _last_task_failure(client: Client, workflow_id: str) -> str:
    """The error of the latest failed workflow task, decoded (failures are encrypted like payloads)."""
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id), maximum_page_size=50
    )
    try:
        page = await client.workflow_service.get_workflow_execution_history_reverse(request, timeout=QUERY_TIMEOUT)
        for event in page.history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                error = await client.data_converter.decode_failure(event.workflow_task_failed_event_attributes.failure)
                return f"{type(error).__name__}: {error}"
    except RPCError:
        pass
    return "error not recorded"


async def unit_view(client: Client, cycle_id: str, unit_id: str, archive: Archive | None = None) -> UnitView:
    try:
        return await query(client, cycle_id, ReportingCycle.get_unit, UnitQuery(unit_id=unit_id))
    except NotFound:
        archived = await archive.cycle(cycle_id) if archive is not None else None
        if archived is None:
            raise
    if unit_id not in archived.state.units:
        raise Rejected(f"unknown unit {unit_id!r} in cycle {cycle_id}")
    return cycle_views.unit_view(archived.spec, archived.state, unit_id, archived.status.now)


async def statuses(client: Client, refs: Sequence[CycleRef], archive: Archive | None = None) -> list[CycleStatus]:
    """The board of each cycle, queried concurrently (a few at a time, the worker answers them all).

    A cycle that cannot answer (no worker for its task queue, a broken history) is left out
    rather than failing the whole board."""
    gate = asyncio.Semaphore(8)

    async def one(ref: CycleRef) -> CycleStatus | None:
        async with gate:
            try:
                return await cycle_status(client, ref.cycle_id, archive)
            except (Rejected, RPCError):
                return None

    found = await asyncio.gather(*(one(r) for r in refs))
    return [s for s in found if s is not None]


async def cycles_of_unit(
    client: Client, unit_id: str, campaign: str | None = None, archive: Archive | None = None
) -> list[CycleStatus]:
    """The cycles a unit takes part in (its ids are not a search attribute once it has submitted)."""
    found = await statuses(client, await list_cycles(client, campaign, archive=archive), archive)
    return [s for s in found if any(row.unit_id == unit_id for row in s.units)]


def wft_failed(err: RPCError) -> bool:
    """The workflow's last task failed and the server is retrying it (e.g. a worker restarting or
    overloaded): an Update is refused until a task succeeds, so the call is worth repeating."""
    return err.status == RPCStatusCode.FAILED_PRECONDITION and "Workflow Task in failed state" in err.message


def _worth_repeating(err: BaseException) -> bool:
    """Busy (the in-flight Update limit), the server restarting or away mid-call, or a failing workflow task."""
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        return True
    return isinstance(err, RPCError) and (
        err.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE) or wft_failed(err)
    )


def _update_retrying() -> AsyncRetrying:
    # Full jitter (a random wait up to 0.1 s doubling to 2 s) spreads a burst of callers out
    # instead of retrying in lockstep; 20 attempts are about 30 s before giving up.
    return AsyncRetrying(
        retry=retry_if_exception(_worth_repeating),
        wait=wait_random_exponential(multiplier=_FIRST_DELAY, max=_MAX_DELAY),
        stop=stop_after_attempt(_MAX_ATTEMPTS),
    )


async def update(
    client: Client,
    workflow_id: str,
    method: UpdateMethodMultiParam[[Any, P], R],
    arg: P,
    update_id: str | None = None,
) -> R:
    """Run one Update by its method (typed): retried while the workflow is at its in-flight limit,
    Rejected on a validator's no. `update_id` names a caller's own action (a click) across requests."""
    name = method._defn.name or "update"  # the registered name: the one running histories hold
    handle = client.get_workflow_handle(workflow_id)
    # One id for every attempt: the server applies an Update id once per run, so a retry is never applied twice.
    update_id = update_id or f"{name}-{uuid.uuid4().hex}"
    try:
        return await _update_retrying()(handle.execute_update, method, arg, id=update_id)
    except RetryError as gave_up:
        raise Busy(f"workflow {workflow_id} stayed busy; try again in a minute") from gave_up.last_attempt.exception()
    except WorkflowUpdateFailedError as err:
        raise (_rejection(err) or CallFailed(f"{name} failed: {err.cause}")) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no running workflow {workflow_id}") from err
        if err.status == RPCStatusCode.FAILED_PRECONDITION:
            raise Rejected(f"workflow {workflow_id} is not running: {err.message}") from err
        raise


async def remind_now(client: Client, cycle_id: str, call: RemindNow) -> Reminded:
    """催办 now, shared by the CLI and the console: the Update's id comes from the call's key, so a click
    sent twice (a double submit, a retried request) is one Update at the server as well as in the cycle."""
    return await update(client, cycle_id, ReportingCycle.remind_now, call, update_id=f"remind-{call.key}")


async def recompute(client: Client, cycle_id: str, by: str, calendars: Path | None) -> ActionResult:
    """Reload the cycle's holiday data (its years around the period) and let the cycle recompute its deadlines."""
    status = await cycle_status(client, cycle_id)
    try:
        cal = load_calendar(cycle_years(status.period, status.unit_due.at), status.unit_due.tz, calendars)
    except ValueError as err:
        raise Rejected(str(err)) from err
    return await update(client, cycle_id, ReportingCycle.update_calendar, NewCalendar(calendar=cal, by=by))


# ---- uploads ---------------------------------------------------------------------------------

# Extension → media type. Office documents in Chinese government use: PDF, Word, Excel, WPS, OFD.
ALLOWED_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "zip": "application/zip",
    "ofd": "application/ofd",
    "wps": "application/vnd.ms-works",
}
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office / WPS compound file
# What the first bytes must look like, per extension (docx/xlsx/ofd are zip containers).
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "doc": (_OLE,),
    "xls": (_OLE,),
    "wps": (_OLE,),
    "docx": (_ZIP,),
    "xlsx": (_ZIP,),
    "ofd": (_ZIP,),
    "zip": (_ZIP, b"PK\x05\x06"),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def safe_filename(name: str) -> str:
    """A file name fit to store and show: no path, no control or shell-special characters, ≤ 120 chars."""
    base = PurePath(name.replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" .")
    if not base:
        base = "attachment"
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:110] + dot + ext[:8]) if dot else base[:120]
    return base


def check_upload(name: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """(safe name, media type) for an acceptable file; Rejected with the reason otherwise."""
    clean = safe_filename(name)
    ext = clean.rpartition(".")[2].lower() if "." in clean else ""
    if ext not in ALLOWED_TYPES:
        allowed = ", ".join(sorted(ALLOWED_TYPES))
        raise Rejected(f"{clean}: file type not accepted (allowed: {allowed})")
    if not data:
        raise Rejected(f"{clean}: the file is empty")
    if len(data) > max_bytes:
        raise Rejected(f"{clean}: {len(data)} bytes is over the limit of {max_bytes} bytes")
    magic = _MAGIC.get(ext)
    if magic is not None and not data.startswith(magic):
        raise Rejected(f"{clean}: the content is not a .{ext} file")
    if ext == "txt":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                data.decode("gb18030")  # older Windows editors in China save GBK/GB18030
            except UnicodeDecodeError as exc:
                raise Rejected(f"{clean}: not a text file") from exc
    return clean, ALLOWED_TYPES[ext]


async def _put(store: BlobStore, data: bytes, name: str, media_type: str, created: list[BlobRef] | None) -> BlobRef:
    ref, new = await store.put_new(data, name, media_type)
    if new and created is not None:
        created.append(ref)
    return ref


async def store_uploads(
    settings: Settings, files: Sequence[tuple[str, bytes]], created: list[BlobRef] | None = None
) -> list[BlobRef]:
    """Check every file first, then store them all: one bad file stores nothing.

    Blobs this call created are appended to `created`, so a caller whose Update is refused can sweep them."""
    if len(files) > MAX_ATTACHMENTS:
        raise Rejected(f"too many attachments: {len(files)} > {MAX_ATTACHMENTS}")
    checked = [(check_upload(name, data, settings.max_upload_bytes), data) for name, data in files]
    store = blob_store(settings)
    return [await _put(store, data, name, media_type, created) for (name, media_type), data in checked]


async def store_text(
    settings: Settings, text: str, name: str = "正文.txt", created: list[BlobRef] | None = None
) -> BlobRef | None:
    """A submission's text body as a blob, or None when there is no text."""
    if not text.strip():
        return None
    data = text.encode("utf-8")
    if len(data) > settings.max_upload_bytes:
        raise Rejected(f"the text is over the limit of {settings.max_upload_bytes} bytes")
    return await _put(blob_store(settings), data, name, "text/plain; charset=utf-8", created)


async def sweep(settings: Settings, created: Sequence[BlobRef]) -> None:
    """Remove blobs a refused submission created (content that was there before is left alone)."""
    store = blob_store(settings)
    for ref in created:
        await store.discard(ref)


async def submit_files(
    client: Client,
    settings: Settings,
    cycle_id: str,
    call: SubmitReport,
    text: str,
    files: Sequence[tuple[str, bytes]],
) -> Receipt:
    """Store a submission's text and files, then call submit_report with their references.

    The blobs must exist before the Update (the workflow's activities may read them as soon as it is
    accepted); when the cycle refuses the submission, the blobs this call created are swept again. Only
    a refusal sweeps: after a timeout or a crash the Update may have been applied, and its files stay."""
    created: list[BlobRef] = []
    try:
        body = await store_text(settings, text, created=created)
        attachments = await store_uploads(settings, files, created)
        stored = call.model_copy(update={"body": body, "attachments": attachments})
        return await update(client, cycle_id, ReportingCycle.submit_report, stored)
    except Rejected:
        await sweep(settings, created)
        raise


def jsonable(value: Any) -> Any:
    """Models (also inside dicts and lists) as JSON-ready data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
