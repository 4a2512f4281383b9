"""Holiday data and period rules: the inputs and outputs of the legal-time code.

Holiday data is plain data here so that a workflow can carry it in its input:
replaying a history must never see a different calendar than the one the
deadline was computed with.
"""

from datetime import date, time
from enum import StrEnum

from pydantic import Field, model_validator

from schemas.base import Model, UtcDateTime

DEFAULT_TZ = "Asia/Shanghai"


class YearCalendar(Model):
    """One year of the State Council's 放假调休安排, or a provisional stand-in for it."""

    year: int
    holidays: dict[date, str] = Field(
        default_factory=dict, description="rest days that are holidays (incl. bridging days) → holiday name"
    )
    makeup_days: list[date] = Field(default_factory=list, description="weekend days that are working days (调休)")
    provisional: bool = False
    source: str = ""


class HolidayCalendar(Model):
    """The years of holiday data a computation may need, in one office time zone."""

    tz: str = DEFAULT_TZ
    years: dict[int, YearCalendar] = Field(default_factory=dict)


class DayInfo(Model):
    """What `duban calendar day` answers."""

    date: date
    working: bool
    holiday: str | None = None
    makeup: bool = False
    provisional: bool = False


class Roll(StrEnum):
    """What to do when a fixed due date falls on a rest day."""

    NONE = "none"
    NEXT = "next"
    PREVIOUS = "previous"


class RuleKind(StrEnum):
    FIXED = "fixed"
    DAYS = "days"
    WORKING_DAYS = "working_days"
    HOURS = "hours"
    MONTHS = "months"
    MINUTES = "minutes"  # exact-moment like HOURS: for short response windows and demo plans


class DueRule(Model):
    """A period rule: how a due moment follows from a start (see domain.md, 'How periods are counted')."""

    kind: RuleKind
    n: int = Field(default=0, ge=0)
    roll: Roll = Roll.NEXT
    close: time | None = Field(default=None, description="close of business; None means the day ends at 24:00")

    @model_validator(mode="after")
    def _n_matches_kind(self) -> "DueRule":
        if self.kind is not RuleKind.FIXED and self.n <= 0:
            raise ValueError(f"a {self.kind.value} rule needs a positive n")
        return self


class Due(Model):
    """A computed due moment with the reasoning an office can show a unit."""

    at: UtcDateTime
    tz: str = DEFAULT_TZ
    provisional: bool = False
    rule: str = Field(description="how it was counted, in words, e.g. '2026-12-13 is a Sunday, rolled to Monday'")
    rule_zh: str = Field(default="", description="the same explanation in Chinese; empty in histories from before it")


class StepUnit(StrEnum):
    WORKING_DAYS = "working_days"
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"  # exact, like hours; for demos and drills


class SendWindow(Model):
    """When a non-urgent message may go out: on a working day, not at night."""

    start: time = time(9, 0)
    end: time = time(18, 0)

    @model_validator(mode="after")
    def _not_empty(self) -> "SendWindow":
        if self.start >= self.end:
            raise ValueError(f"send window {self.start:%H:%M}-{self.end:%H:%M} is empty: start must be before end")
        return self


class LadderStep(Model):
    """One rung of a reminder ladder (before due) or escalation ladder (after due)."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    offset: int = Field(ge=0, description="how far from the due moment; 0 with days = the due day's morning")
    unit: StepUnit = StepUnit.WORKING_DAYS
    urgent: bool = Field(default=False, description="may go out at night or on a rest day")


class Moment(Model):
    """A ladder rung placed on the calendar."""

    key: str
    at: UtcDateTime
    provisional: bool = False
    rule: str = ""
    rule_zh: str = Field(default="", description="`rule` in Chinese; empty in histories from before it")


__all__ = [
    "DEFAULT_TZ",
    "DayInfo",
    "Due",
    "DueRule",
    "HolidayCalendar",
    "LadderStep",
    "Moment",
    "Roll",
    "RuleKind",
    "SendWindow",
    "StepUnit",
    "YearCalendar",
]
