"""Roll-up: compile a cycle's submissions into one package and hand it to the upper office's cycle."""

import asyncio
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import documents
from activities.blobs import BlobNotFoundError, FileBlobStore
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


def write_package(blobs: FileBlobStore, request: RollupRequest, zip_path: Path) -> WrittenPackage:
    """Write the package into `zip_path` from whatever the store still holds: a missing or corrupt file is
    named in the index and the 汇总 and left out, never a reason to stop (the cycle must go on with its
    deadlines). Shared by the roll-up activity and the office's own download of the current draft."""
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
                        _add(blobs, zf, arcname, ref)
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
        zf.writestr(zipfile.ZipInfo("index.json", _FIXED_ZIP_TIME), text)
        zf.writestr(zipfile.ZipInfo("汇总.txt", _FIXED_ZIP_TIME), "\n".join(lines) + "\n")
        # The consolidated summary (汇总报告) in official-document layout, also stored on its own.
        summary = documents.summary_docx(request)
        summary_name = documents.summary_filename(request)
        zf.writestr(zipfile.ZipInfo(summary_name, _FIXED_ZIP_TIME), summary)
    return WrittenPackage(summary, summary_name, reported, missing, broken)


def _add(blobs: FileBlobStore, zf: zipfile.ZipFile, arcname: str, ref: BlobRef) -> None:
    blobs.verify(ref)  # before writing: a zip entry cannot be taken back
    with zf.open(zipfile.ZipInfo(arcname, _FIXED_ZIP_TIME), "w", force_zip64=True) as entry:
        blobs.copy_to(ref, entry)


class RollupActivities(RollupActivity):
    def __init__(self, blobs: FileBlobStore, client: Client | None) -> None:
        self.blobs = blobs
        self.client = client

    @activity.defn(name="compile_rollup")
    async def compile_rollup(self, request: RollupRequest) -> RollupPackage:
        return await asyncio.to_thread(self._compile, request)

    def _compile(self, request: RollupRequest) -> RollupPackage:
        fd, tmp = tempfile.mkstemp(dir=self.blobs.scratch(), prefix="rollup-", suffix=".zip")
        os.close(fd)
        zip_path = Path(tmp)
        try:
            written = write_package(self.blobs, request, zip_path)
            ref = self.blobs.put_file(zip_path, package_filename(request), "application/zip")
        finally:
            zip_path.unlink(missing_ok=True)
        summary_ref = self.blobs.put(written.summary, written.summary_name, documents.DOCX_TYPE)
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
        if not (upper.campaign and upper.as_unit) or self.client is None:
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
        handle = self.client.get_workflow_handle(parent_id)
        try:
            # By name: activities may not import workflows (docs/architecture.md); it is ReportingCycle.submit_report.
            receipt = await handle.execute_update("submit_report", call, result_type=Receipt)
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
        assert self.client is not None
        upper = request.upper
        # Started ids end ":<period>"; scheduled ones "-<scheduled time>" (added by Temporal).
        prefix = f"cycle:{upper.campaign}:{upper.id}:{request.obligation_id}"
        query = (
            f"WorkflowType = 'ReportingCycle' AND ExecutionStatus = 'Running' "
            f"AND DubanCampaign = '{upper.campaign}' AND DubanOffice = '{upper.id}'"
        )
        found: list[tuple[str, str]] = []
        async for wf in self.client.list_workflows(query):
            if wf.id.startswith(prefix) and wf.id[len(prefix) : len(prefix) + 1] in (":", "-"):
                period = wf.typed_search_attributes.get(PERIOD) or ""
                found.append((wf.id, period))
        same_period = [wid for wid, period in found if period == request.period]
        if same_period:
            return same_period[0]
        return max((wid for wid, _ in found), default=None)
