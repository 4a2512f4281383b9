"""Roll-up: compile a cycle's submissions into one package and hand it to the upper office's cycle."""

import asyncio
import contextlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from activities import documents
from activities.blobs import BlobNotFoundError, BlobStore
from domain.legaltime.wording import zh_titled
from domain.submission_caps import files_of
from schemas.activities import RollupActivity
from schemas.blobs import BlobRef
from schemas.cycle import Receipt, SubmitReport
from schemas.rollup import ForwardRequest, ForwardResult, RollupPackage, RollupRequest
from schemas.visibility import PERIOD

# A zip built the same way twice must hash the same, so a retried activity lands on the same blob.
_FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def _safe(name: str) -> str:
    return "".join(c if c not in '/\\:*?"<>|' else "_" for c in name)[:120] or "file"


def _finish(zf: zipfile.ZipFile, request: RollupRequest, entries: list[tuple[str, str]], summary_name: str) -> bytes:
    """The index, the 汇总 and the Word summary into the zip, in one trip to a thread; returns the summary."""
    for name, data in entries:
        zf.writestr(zipfile.ZipInfo(name, _FIXED_ZIP_TIME), data)
    summary = documents.summary_docx(request)
    zf.writestr(zipfile.ZipInfo(summary_name, _FIXED_ZIP_TIME), summary)
    return summary


def package_filename(request: RollupRequest) -> str:
    return f"{request.cycle_id.replace(':', '_')}-rollup.zip"


@dataclass(frozen=True)
class WrittenPackage:
    """What `write_package` put into the zip: the 汇总报告 (also kept on its own) and who is in it."""

    summary: bytes
    summary_name: str
    reported: list[str]
    missing: list[str]
    broken: list[str]


async def write_package(blobs: BlobStore, request: RollupRequest, zip_path: Path) -> WrittenPackage:
    """The package written into `zip_path` from whatever the store still holds: a missing or corrupt file is
    named in the index and the 汇总 and left out, never a reason to stop (the cycle must go on with its
    deadlines). Shared by the roll-up activity and the office's own download of the current draft.

    The store is async (S3); zip writing and compression run on a thread, one call at a time."""
    reported = [u.unit_id for u in request.units if u.reported]
    missing = [u.unit_id for u in request.units if u.missing]
    broken: list[str] = []
    unit_entries: list[dict[str, object]] = []
    lines = [f"{request.office_name} {zh_titled(request.obligation_title, request.period)}汇总", ""]
    # Written to disk, not memory: a cycle may hold up to MAX_CYCLE_BYTES of reports.
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for n, unit in enumerate(request.units, start=1):
            files: list[str] = []
            lines.append(f"{n}. {unit.unit_name}：{unit.status_zh}")
            for sub in unit.submissions:
                lines.append(f"   - {sub.title}（{sub.receipt_no}{'，逾期' if sub.late else ''}）")
                for ref in files_of(sub):
                    arcname = f"{n:03d}-{_safe(unit.unit_id)}/{_safe(sub.receipt_no)}-{_safe(ref.name)}"
                    try:
                        await _add(blobs, zf, arcname, ref)
                    except BlobNotFoundError as exc:
                        broken.append(f"{sub.receipt_no}/{ref.name}: {exc}")
                        lines.append(f"     （材料缺失：{ref.name}）")
                        continue
                    files.append(arcname)
            unit_entries.append(
                {"unit_id": unit.unit_id, "unit_name": unit.unit_name, "phase": unit.phase.value, "files": files}
            )
        if missing:
            names = "、".join(u.unit_name for u in request.units if u.unit_id in missing)
            lines += ["", "未报送单位：" + names]
        if broken:
            lines += ["", f"材料缺失{len(broken)}份（存储中找不到或已损坏），本汇总不完整。"]
        index = {
            "cycle_id": request.cycle_id,
            "office": request.office_name,
            "period": request.period,
            "obligation": request.obligation_title,
            "document": request.document.model_dump(),
            "compiled_at": request.compiled_at.isoformat(),
            "reported": reported,
            "missing": missing,
            "broken_files": broken,
            "complete": not broken,
            "units": unit_entries,
        }
        text = json.dumps(index, ensure_ascii=False, indent=2)
        # The consolidated summary (汇总报告) in official-document layout.
        summary_name = documents.summary_filename(request)
        summary = await asyncio.to_thread(
            _finish, zf, request, [("index.json", text), ("汇总.txt", "\n".join(lines) + "\n")], summary_name
        )
    return WrittenPackage(summary, summary_name, reported, missing, broken)


async def _add(blobs: BlobStore, zf: zipfile.ZipFile, arcname: str, ref: BlobRef) -> None:
    await blobs.verify(ref)  # before writing: a zip entry cannot be taken back
    entry = await asyncio.to_thread(zf.open, zipfile.ZipInfo(arcname, _FIXED_ZIP_TIME), "w", force_zip64=True)
    try:
        async for chunk in blobs.chunks(ref):
            await asyncio.to_thread(entry.write, chunk)
    finally:
        await asyncio.to_thread(entry.close)


@dataclass(frozen=True)
class UpperCycles:
    """How to reach an upper office's cycle on this deployment: the Temporal client and the cycle's
    `submit_report` Update (`ReportingCycle.submit_report`, handed in by the worker: activities may
    not import workflows, docs/architecture.md), so the call is checked by mypy, not named by a string."""

    client: Client
    submit_report: UpdateMethodMultiParam[[Any, SubmitReport], Receipt]


class RollupActivities(RollupActivity):
    def __init__(self, blobs: BlobStore, upper: UpperCycles | None) -> None:
        self.blobs = blobs
        self.upper = upper

    @activity.defn(name="compile_rollup")
    async def compile_rollup(self, request: RollupRequest) -> RollupPackage:
        """The package into the store, its 汇总报告 too (also kept on its own)."""
        fd, tmp = tempfile.mkstemp(dir=self.blobs.scratch(), prefix="rollup-", suffix=".zip")
        os.close(fd)
        zip_path = Path(tmp)
        try:
            written = await write_package(self.blobs, request, zip_path)
            ref = await self.blobs.put_file(zip_path, package_filename(request), "application/zip")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(zip_path)  # the package is in the store now (or the activity is retried)
        summary_ref = await self.blobs.put(written.summary, written.summary_name, documents.DOCX_TYPE)
        if written.broken:
            activity.logger.warning(
                "roll-up incomplete", extra={"cycle_id": request.cycle_id, "broken": len(written.broken)}
            )
        return RollupPackage(
            package=ref,
            summary=summary_ref,
            reported=written.reported,
            missing=written.missing,
            broken_files=written.broken,
        )

    @activity.defn(name="forward_upward")
    async def forward_upward(self, request: ForwardRequest) -> ForwardResult:
        """Submit the package to the parent office's cycle when it runs on this deployment."""
        upper = request.upper
        if not (upper.campaign and upper.as_unit) or self.upper is None:
            return ForwardResult(delivered=False, how="none", detail="the upper office does not run a cycle here")
        parent_id = await self._find_parent(request)
        if parent_id is None:
            return ForwardResult(delivered=False, how="none", detail=f"no running cycle of {upper.campaign} here")
        missing = f"；未报送：{'、'.join(request.package.missing)}" if request.package.missing else ""
        call = SubmitReport(
            unit_id=upper.as_unit,
            title=f"{request.period} 汇总{missing}"[:200],
            kind=request.obligation_kind,
            attachments=[request.package.package] + ([request.package.summary] if request.package.summary else []),
            by=request.spec_cycle_id,
        )
        handle = self.upper.client.get_workflow_handle(parent_id)
        try:
            receipt = await handle.execute_update(self.upper.submit_report, call)
        except WorkflowUpdateFailedError as err:
            raise ApplicationError(
                f"the upper cycle refused the roll-up: {err.cause}", type="RollupRefused", non_retryable=True
            ) from err
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return ForwardResult(delivered=False, how="none", detail=f"cycle {parent_id} is not running")
            raise  # RESOURCE_EXHAUSTED (in-flight update limit) and outages: Temporal retries the activity
        return ForwardResult(delivered=True, how="cycle", detail=parent_id, receipt_no=receipt.receipt_no)

    async def _find_parent(self, request: ForwardRequest) -> str | None:
        """The upper office's running cycle for the same obligation: same period when it has one
        (scheduled cycles carry a time suffix in their ids), else the newest running one."""
        assert self.upper is not None
        upper = request.upper
        # Started ids end ":<period>"; scheduled ones "-<scheduled time>" (added by Temporal).
        prefix = f"cycle:{upper.campaign}:{upper.id}:{request.obligation_id}"
        query = (
            f"WorkflowType = 'ReportingCycle' AND ExecutionStatus = 'Running' "
            f"AND DubanCampaign = '{upper.campaign}' AND DubanOffice = '{upper.id}'"
        )
        found: list[tuple[str, str]] = []
        async for wf in self.upper.client.list_workflows(query):
            if wf.id.startswith(prefix) and wf.id[len(prefix) : len(prefix) + 1] in (":", "-"):
                period = wf.typed_search_attributes.get(PERIOD) or ""
                found.append((wf.id, period))
        same_period = [wid for wid, period in found if period == request.period]
        if same_period:
            return same_period[0]
        return max((wid for wid, _ in found), default=None)
