"""Official documents duban writes (.docx): the bulletin (通报) of late units.

The roll-up summary (汇总报告) is written from `schemas.rollup.RollupRequest`.
"""

from pydantic import Field

from schemas.base import Model, UtcDateTime
from schemas.calendar import DEFAULT_TZ
from schemas.notify import DocumentRef, UnitLine
from schemas.people import Contact


class BulletinRequest(Model):
    """What a 通报 of late units says: under which document, for which report, who is late, by whom, when."""

    document: DocumentRef = DocumentRef()  # the plan's document the report is owed under
    office_name: str = Field(min_length=1)  # the issuing office (发文机关)
    obligation_title: str = Field(min_length=1)
    period: str = ""
    issued_at: UtcDateTime  # 成文日期 (the instant of the escalation rung)
    tz: str = DEFAULT_TZ
    late_units: list[UnitLine] = Field(min_length=1)
    escalation_level: int = 0
    contact: Contact | None = None
