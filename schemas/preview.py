"""The plan preview: a year's agenda computed before anything starts (`duban plan preview`)."""

from pydantic import Field

from schemas.base import Model, UtcDateTime


class PreviewRow(Model):
    """One moment at which a cycle will act: a notice, a reminder, the due moment, an escalation rung…"""

    obligation_id: str
    obligation_title: str
    period: str
    cycle_id: str
    unit_id: str = Field(default="", description="empty for the office's own items (office reminders, forward)")
    unit_name: str = ""
    kind: str = Field(description="notice | remind | due | escalate | office_remind | forward | close")
    step: str = Field(description="the agenda key the running cycle records, e.g. remind:2wd, escalate:leader")
    at: UtcDateTime
    local: str = Field(description="the moment in the office's zone, YYYY-MM-DD HH:MM")
    weekday: str = Field(description="Monday … Sunday")
    weekday_zh: str = Field(description="星期一 … 星期日")
    rule: str = ""
    rule_zh: str = ""
    provisional: bool = False


class Preview(Model):
    plan_id: str
    year: int
    tz: str
    unit: str = Field(default="", description="the unit the preview was narrowed to, if any")
    provisional_years: list[int] = Field(default_factory=list, description="years whose holiday data is not out yet")
    rows: list[PreviewRow]
