"""The office reads what units sent (issue 19): a cycle's submissions, one by its receipt number, each file,
and the office's own roll-up package and 汇总报告 at any time.

Files come out of the blob store by their references, the hash checked on the way out, never by a path
of ours: whatever store stands behind activities/blobs.py serves them unchanged. Who may read is decided
by the caller (console.auth roles on the pages, the portal token for a unit's own files, the operator's
Temporal access for the CLI); every read is logged here with who, when and what — the receipt and the
content hash, never the content nor the file's name (a name may carry a person's name).
"""

import asyncio
import tempfile
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from activities.blobs import BlobNotFoundError, BlobStore
from activities.rollup import package_filename, write_package
from console import client_calls as calls
from schemas.base import Model, UtcDateTime
from schemas.blobs import BlobRef
from schemas.cycle import Submission, UnitQuery
from schemas.plan import ReportKind
from schemas.rollup import RollupRequest
from workers.logging import get_logger
from workers.objects import blob_store
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle

log = get_logger("duban.downloads")
R = TypeVar("R", bound=BaseModel)

# Shown in the browser; everything else is a download. No SVG, HTML or text: those can carry script or
# be sniffed into it, and the office has no reason to open them in the console's origin.
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})
BODY = 0  # file number of a submission's text body; attachments count from 1


class SubmissionFile(Model):
    n: int  # 0 the body, 1… the attachments in the order they were sent
    name: str
    size: int
    sha256: str
    media_type: str


class SubmissionItem(Model):
    """One submission as the office lists it (`duban submissions --json`)."""

    receipt: str
    cycle_id: str
    unit: str
    unit_name: str
    kind: ReportKind
    title: str
    submitted_at: UtcDateTime
    late: bool
    replaced: bool
    by: str
    body: SubmissionFile | None = None
    files: list[SubmissionFile]


def _file(n: int, ref: BlobRef) -> SubmissionFile:
    return SubmissionFile(n=n, name=ref.name, size=ref.size, sha256=ref.sha256, media_type=ref.media_type)


def item(cycle_id: str, unit_id: str, unit_name: str, sub: Submission) -> SubmissionItem:
    return SubmissionItem(
        receipt=sub.receipt_no,
        cycle_id=cycle_id,
        unit=unit_id,
        unit_name=unit_name,
        kind=sub.kind,
        title=sub.title,
        submitted_at=sub.submitted_at,
        late=sub.late,
        replaced=sub.replaced,
        by=sub.by,
        body=_file(BODY, sub.body) if sub.body else None,
        files=[_file(n, ref) for n, ref in enumerate(sub.attachments, start=1)],
    )


def file_ref(sub: Submission, n: int) -> BlobRef:
    """The blob of file `n` of a submission; NotFound when it has none such."""
    if n == BODY and sub.body is not None:
        return sub.body
    if 1 <= n <= len(sub.attachments):
        return sub.attachments[n - 1]
    raise calls.NotFound(f"submission {sub.receipt_no} has no file {n}")


async def unit_submissions(client: Client, cycle_id: str, unit_id: str) -> tuple[str, list[Submission]]:
    """The unit's name and its submissions, newest last (Rejected/NotFound for an unknown unit)."""
    view = await calls.query(client, cycle_id, ReportingCycle.get_unit, UnitQuery(unit_id=unit_id))
    return view.unit.name, view.state.submissions


async def list_submissions(client: Client, cycle_id: str, unit_id: str | None = None) -> list[SubmissionItem]:
    """Every submission of the cycle (or of one unit), in the plan's unit order, each unit's oldest first."""
    if unit_id:
        name, subs = await unit_submissions(client, cycle_id, unit_id)
        return [item(cycle_id, unit_id, name, s) for s in subs]
    status = await calls.cycle_status(client, cycle_id)
    state = await _ask(client, cycle_id, ReportingCycle.get_state)
    out: list[SubmissionItem] = []
    for row in status.units:
        unit = state.units.get(row.unit_id)
        if unit is not None:
            out += [item(cycle_id, row.unit_id, row.unit_name, s) for s in unit.submissions]
    return out


async def find_submission(client: Client, cycle_id: str, unit_id: str, receipt: str) -> tuple[str, Submission]:
    """(unit name, submission) for a receipt of that unit in that cycle; NotFound otherwise."""
    name, subs = await unit_submissions(client, cycle_id, unit_id)
    for sub in subs:
        if sub.receipt_no == receipt:
            return name, sub
    raise calls.NotFound(f"no submission {receipt} of unit {unit_id} in cycle {cycle_id}")


async def find_receipt(client: Client, receipt: str, cycle_id: str | None = None) -> SubmissionItem:
    """A submission by its receipt number alone (or within one cycle).

    A cycle numbers its receipts `<period>-<unit>-<NNNN>` and every period label has two parts (2026-Y,
    2026-H1, 2026-M03): the period names the cycles to ask, the rest the unit. Two campaigns may issue the
    same number in the same period; then the caller must say which cycle."""
    parts = receipt.split("-")
    if len(parts) < 4 or not (parts[-1].isdigit() and len(parts[-1]) >= 4):
        raise calls.Rejected(f"{receipt!r} is not a receipt number (<period>-<unit>-<NNNN>, e.g. 2026-Y-yaan-gaj-0001)")
    period = f"{parts[0]}-{parts[1]}"
    unit_id = "-".join(parts[2:-1])
    candidates = [cycle_id] if cycle_id else [r.cycle_id for r in await calls.list_cycles(client, None, period)]
    # Asked 64 at a time: a cycle that cannot answer (no worker for its queue) costs the query's
    # timeout, and must neither hide the others nor add its wait to theirs.
    gate = asyncio.Semaphore(64)

    async def ask(cid: str) -> SubmissionItem | str | None:
        async with gate:
            try:
                name, sub = await find_submission(client, cid, unit_id, receipt)
            except calls.Rejected:  # NotFound included: not this cycle's unit or receipt
                return None
            except (calls.CallFailed, RPCError):
                if cycle_id:
                    raise
                return cid  # not answering now
        return item(cid, unit_id, name, sub)

    answers = await asyncio.gather(*(ask(cid) for cid in candidates))
    found = [a for a in answers if isinstance(a, SubmissionItem)]
    silent = [a for a in answers if isinstance(a, str)]
    if not found:
        where = f" in cycle {cycle_id}" if cycle_id else ""
        unasked = f" (not answering now, so not searched: {', '.join(silent)})" if silent else ""
        raise calls.NotFound(f"no submission with receipt {receipt!r}{where}{unasked}")
    if len(found) > 1:
        cycles = ", ".join(f.cycle_id for f in found)
        raise calls.Rejected(f"receipt {receipt} was issued by several cycles ({cycles}); say which with --cycle")
    return found[0]


# ---- reading files ---------------------------------------------------------------------------


def open_store(settings: Settings) -> BlobStore:
    """The blob store the console reads from (local or S3, sealed at rest), as every other reader opens it."""
    return blob_store(settings)


class MissingFile(calls.CallFailed):
    """The store has lost a file the cycle refers to, or holds it corrupted: not the caller's mistake."""


async def read_blob(settings: Settings, ref: BlobRef) -> bytes:
    """The blob's content, hash verified; MissingFile when the store has lost it or it is corrupt."""
    try:
        return await open_store(settings).get(ref)
    except BlobNotFoundError as err:
        raise MissingFile(f"the file {ref.name} is missing from the store ({err})") from err


async def copy_blob(settings: Settings, ref: BlobRef, target: Path) -> None:
    """Stream the blob into a new file (verified first); MissingFile when missing or corrupt (no file left)."""
    store = open_store(settings)
    try:
        await store.verify(ref)
        out = await asyncio.to_thread(target.open, "xb")
        try:
            async for chunk in store.chunks(ref):
                await asyncio.to_thread(out.write, chunk)
        finally:
            await asyncio.to_thread(out.close)
    except BlobNotFoundError as err:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise MissingFile(f"the file {ref.name} is missing from the store ({err})") from err


def shows_inline(ref: BlobRef) -> bool:
    """PDFs and pictures open in the browser; the stored type must agree with the name's extension."""
    ext = ref.name.rpartition(".")[2].lower()
    return ref.media_type in INLINE_TYPES and calls.ALLOWED_TYPES.get(ext) == ref.media_type


def content_disposition(name: str, inline: bool) -> str:
    """RFC 6266 with the RFC 5987 `filename*` carrying the original (Chinese) name, and an ASCII fallback."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in name) or "file"
    encoded = urllib.parse.quote(name, safe="")
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def file_headers(name: str, inline: bool) -> dict[str, str]:
    """Safe headers for a unit's file: never sniffed, never cached by a proxy, and sandboxed — a PDF or
    picture opened in the console's origin can run no script and reach no cookie."""
    return {
        "Content-Disposition": content_disposition(name, inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, no-store",
    }


def logged(who: str, role: str, what: str, cycle_id: str, **fields: object) -> None:
    """One audit line per download: who, when (the line's timestamp), what — no content, no file name."""
    log.info("download", user=who, role=role, what=what, cycle_id=cycle_id, **fields)


# ---- the office's roll-up --------------------------------------------------------------------


class RollupFiles(Model):
    """The office's own package and 汇总报告 as files on disk (in a temporary directory the caller owns)."""

    package: Path
    package_name: str
    summary: Path
    summary_name: str
    forwarded: bool  # True: what went upward; False: compiled now from the current submissions


async def rollup_request(client: Client, cycle_id: str) -> RollupRequest:
    return await _ask(client, cycle_id, ReportingCycle.get_rollup_request)


async def rollup_files(client: Client, settings: Settings, cycle_id: str, folder: Path, draft: bool) -> RollupFiles:
    """The package that was forwarded (once the cycle has forwarded, unless `draft`), else one compiled now.

    A draft is written to `folder`, never into the blob store: downloading it stores nothing."""
    request = await rollup_request(client, cycle_id)
    forwarded = None if draft else (await _ask(client, cycle_id, ReportingCycle.get_state)).rollup
    package = folder / package_filename(request)
    if forwarded is not None:
        await copy_blob(settings, forwarded, package)
        summary_name, summary = await asyncio.to_thread(_summary_in, package)
    else:
        written = await write_package(open_store(settings), request, package)
        summary_name, summary = written.summary_name, written.summary
    summary_path = folder / "summary.docx"
    summary_path.write_bytes(summary)
    return RollupFiles(
        package=package,
        package_name=package_filename(request),
        summary=summary_path,
        summary_name=summary_name,
        forwarded=forwarded is not None,
    )


async def _ask(client: Client, cycle_id: str, method: Callable[[ReportingCycle], R]) -> R:
    """A query that takes no argument, with the errors `client_calls.query` maps."""
    handle = client.get_workflow_handle(cycle_id)
    try:
        return await handle.query(method, rpc_timeout=calls.QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
        raise calls.Rejected(str(err)) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise calls.NotFound(f"no such workflow {cycle_id}") from err
        raise


def _summary_in(package: Path) -> tuple[str, bytes]:
    """The 汇总报告 the forwarded package carries (the .docx at its top level)."""
    with zipfile.ZipFile(package) as zf:
        for info in zf.infolist():
            if "/" not in info.filename and info.filename.endswith(".docx"):
                return info.filename, zf.read(info)
    raise calls.NotFound("the forwarded package holds no 汇总报告")


def scratch_folder(settings: Settings) -> Path:
    """A private temporary directory next to the store (large packages stay off a small /tmp); the caller
    removes it."""
    return Path(tempfile.mkdtemp(dir=open_store(settings).scratch(), prefix="download-"))
