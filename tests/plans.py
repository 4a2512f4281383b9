"""Small campaign plans for tests, built in code so each test states the rules it depends on."""

import datetime as dt
import mailbox
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from activities.holidays import load_calendar
from domain import cycle_spec
from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.cycle import CycleInput, CycleSpec
from schemas.people import Contact, Person
from schemas.plan import (
    CampaignPlan,
    DocumentInfo,
    DueSpec,
    EscalationStep,
    Obligation,
    Office,
    Period,
    Recipient,
    Unit,
    UpperOffice,
    WorkArea,
)


def person(name: str, email: str) -> Person:
    return Person(name=name, email=email)


def ladder_obligation(**overrides: object) -> Obligation:
    """Due 5 working days after opening; reminders 2 wd before and on the morning; the notice's ladder after."""
    fields: dict[str, object] = {
        "id": "summary",
        "title": "工作总结",
        "period": Period.ONCE,
        "unit_due": DueSpec(after=DueRule(kind=RuleKind.WORKING_DAYS, n=5)),
        "upward_due": DueSpec(after=DueRule(kind=RuleKind.DAYS, n=2)),
        "reminders": [LadderStep(key="2wd", offset=2), LadderStep(key="day", offset=0)],
        "escalations": [
            EscalationStep(
                step=LadderStep(key="leader", offset=1), recipients=[Recipient.UNIT_LEADER, Recipient.OFFICE]
            ),
            EscalationStep(step=LadderStep(key="leadership", offset=3), recipients=[Recipient.LEADERSHIP]),
            EscalationStep(step=LadderStep(key="bulletin", offset=5), recipients=[Recipient.ALL_UNITS], bulletin=True),
        ],
        "office_reminders": [LadderStep(key="office-day", offset=0)],
    }
    fields.update(overrides)
    return Obligation.model_validate(fields)


def plan(
    n_units: int = 3,
    obligation: Obligation | None = None,
    campaign_id: str = "test",
    office_id: str = "yaan",
    upper: UpperOffice | None = None,
) -> CampaignPlan:
    units = [
        Unit(
            id=f"u{i}",
            name=f"测试单位{i}",
            contacts=[person(f"联系人{i}", f"u{i}@{office_id}.example")],
            leader=person(f"领导{i}", f"leader{i}@{office_id}.example"),
        )
        for i in range(1, n_units + 1)
    ]
    return CampaignPlan(
        id=campaign_id,
        title="测试专项行动",
        document=DocumentInfo(number="雅打假办发〔2017〕2号", title="关于报送工作总结的通知"),
        office=Office(
            id=office_id,
            name="雅安市打假办",
            email=f"office@{office_id}.example",
            staff=[person("办公室", f"office@{office_id}.example")],
        ),
        upper_office=upper,
        contact=Contact(name="郑继勇", phone="2824527"),
        leadership=[person("组长", f"chief@{office_id}.example")],
        units=units,
        work_areas=[WorkArea(id="(五)", title="健全制度机制", responsible=["u1"])],
        obligations=[obligation or ladder_obligation()],
    )


def cycle_input(p: CampaignPlan, opened_at: dt.datetime, period: str = "2026-T") -> CycleInput:
    ob = p.obligations[0]
    template = cycle_spec.template_for(p, ob)
    local_year = opened_at.year
    cal = load_calendar(cycle_spec.calendar_years(local_year), p.timezone)
    cycle_id = f"cycle:{p.id}:{p.office.id}:{ob.id}:{period}"
    spec: CycleSpec = cycle_spec.build_spec(template, period, local_year, opened_at, cal, cycle_id)
    return CycleInput(spec=spec)


def caught(maildir: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(maildir, create=False)
    return [message_from_bytes(m.as_bytes(), policy=policy.default) for m in box]  # type: ignore[misc]


def by_template(messages: list[EmailMessage], template: str) -> list[EmailMessage]:
    return [m for m in messages if m["X-Duban-Template"] == template]


__all__ = ["StepUnit"]
