"""The roll-up: a cycle's submissions compiled into one package and forwarded to the upper office."""

from pydantic import Field

from schemas.base import Model, UtcDateTime
from schemas.blobs import BlobRef
from schemas.calendar import Due
from schemas.cycle import Submission, UnitPhase
from schemas.notify import DocumentRef
from schemas.plan import ReportKind, UpperOffice


class RollupUnit(Model):
    unit_id: str
    unit_name: str
    phase: UnitPhase
    due: Due
    submissions: list[Submission] = Field(default_factory=list)
    waived_reason: str = ""

    @property
    def reported(self) -> bool:
        """Its report stands: a report returned for revision and not yet sent again does not count."""
        return self.phase is UnitPhase.SUBMITTED

    @property
    def missing(self) -> bool:
        return self.phase not in (UnitPhase.WAIVED, UnitPhase.WITHDRAWN) and not self.reported

    @property
    def status_zh(self) -> str:
        if self.reported:
            return "已报送"
        if self.phase is UnitPhase.WAIVED:
            return "免报"
        if self.phase is UnitPhase.WITHDRAWN:
            return "已撤回"
        if self.phase is UnitPhase.RETURNED:
            return "退回修改，未重新报送"
        return "未报送"


class RollupRequest(Model):
    cycle_id: str
    campaign_title: str = ""
    office_name: str
    period: str
    obligation_title: str
    document: DocumentRef = DocumentRef()
    compiled_at: UtcDateTime
    units: list[RollupUnit]  # in the plan's order
    upward_due: Due | None = None


class RollupPackage(Model):
    package: BlobRef  # a zip: index.json, 汇总.txt, each unit's files
    summary: BlobRef | None = None  # the consolidated summary document, when one is produced
    reported: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="unit ids that did not report (not waived)")
    # Files the package should hold but the blob store could not give (missing, or not matching their hash).
    broken_files: list[str] = Field(default_factory=list, description="'<receipt>/<file name>: why' per file")


class ForwardRequest(Model):
    spec_cycle_id: str
    upper: UpperOffice
    period: str
    obligation_id: str
    obligation_kind: ReportKind
    package: RollupPackage


class ForwardResult(Model):
    delivered: bool
    how: str  # cycle | mail | none
    detail: str = ""
    receipt_no: str = ""
