"""The plan's `info` section: timely information reports (及时报送) as a standing channel.

The notice asks units to report work updates, typical cases and practices
"及时" — as they happen, with no fixed date. So they are not a deadline cycle:
one channel per office stays open for the whole campaign, the office reviews
each item (采用 / 退回 / 存档), and adopted items go up to the upper office
within the limit set here. (A plan may still ask for a monthly cadence with an
ordinary `work_update` obligation; this section invents none.)

Kept apart from `schemas.info` so that `schemas.plan` can import it without a cycle.
"""

from enum import StrEnum

from pydantic import Field

from schemas.base import Model
from schemas.calendar import DueRule, LadderStep, RuleKind, SendWindow, StepUnit


class InfoKind(StrEnum):
    WORK_UPDATE = "work_update"  # 专项行动工作动态
    TYPICAL_CASE = "typical_case"  # 典型案例
    PRACTICE = "practice"  # 经验做法


INFO_KIND_ZH = {InfoKind.WORK_UPDATE: "工作动态", InfoKind.TYPICAL_CASE: "典型案例", InfoKind.PRACTICE: "经验做法"}


def parse_kind(text: str) -> InfoKind:
    """A kind as people type it: 典型案例 or typical_case."""
    for kind, zh in INFO_KIND_ZH.items():
        if text in (kind.value, zh):
            return kind
    choices = "、".join(INFO_KIND_ZH.values())
    raise ValueError(f"unknown kind {text!r} (one of {choices}, or {', '.join(k.value for k in InfoKind)})")


class InfoPlan(Model):
    """及时报送: who may send what, how fast adopted items go up, when a quiet unit is reminded."""

    title: str = Field(default="专项行动信息报送", min_length=1, max_length=100)
    kinds: list[InfoKind] = Field(default_factory=lambda: list(InfoKind), min_length=1)
    units: list[str] | None = Field(default=None, description="unit ids; None = every unit of the plan")
    # Counted from the adoption by the legal-time code (e.g. 2 working days); adopted items still
    # waiting then go up by themselves. None: nothing goes up (an office without an upper office).
    forward_within: DueRule | None = Field(default_factory=lambda: DueRule(kind=RuleKind.WORKING_DAYS, n=2))
    forward_reminders: list[LadderStep] = Field(
        default_factory=lambda: [LadderStep(key="1wd", offset=1, unit=StepUnit.WORKING_DAYS)],
        description="the office's reminders before the forwarding limit",
    )
    resubmit_days: int = Field(default=30, ge=1, le=366, description="how long a returned item may be resubmitted")
    quiet_days: int | None = Field(
        default=None, ge=1, le=366, description="remind a unit that sent nothing for this many days (None: never)"
    )
    send_window: SendWindow = SendWindow()
