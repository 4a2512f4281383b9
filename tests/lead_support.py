"""Leads for tests, built in code: customs refers to market regulation, the police are next door."""

import datetime as dt
import os
from pathlib import Path

from temporalio.client import WorkflowHandle

from activities.holidays import load_calendar
from domain.lead_policies import between_agencies, decree_310
from schemas.lead import LeadInput, LeadUnit, ReferralPolicy
from schemas.people import Person

HISTORIES = Path(__file__).parent / "replay" / "histories"
LEADERSHIP = [Person(name="组长", email="leader@yaan.example")]
OFFICE_STAFF = [Person(name="郑继勇", email="office@yaan.example")]


def unit(uid: str, name: str) -> LeadUnit:
    """A unit with one contact `<uid>@yaan.example` and a leader `<uid>-leader@yaan.example`."""
    return LeadUnit(
        id=uid,
        name=name,
        contacts=[Person(name=f"{name}联系人", email=f"{uid}@yaan.example")],
        leader=Person(name=f"{name}负责人", email=f"{uid}-leader@yaan.example"),
    )


CUSTOMS = unit("yaan-hg", "雅安海关")
MARKET = unit("yaan-scj", "市市场监管局")
AGRICULTURE = unit("yaan-nyj", "市农业农村局")
POLICE = unit("yaan-gaj", "市公安局")
PROCURATORATE = unit("yaan-jcy", "市检察院")


def lead_input(
    referred_at: dt.datetime,
    receivers: list[LeadUnit] | None = None,
    referrer: LeadUnit = CUSTOMS,
    policy: ReferralPolicy | None = None,
    police_policy: ReferralPolicy | None = None,
    lead_id: str = "lead:test:0001",
) -> LeadInput:
    year = referred_at.year
    return LeadInput(
        lead_id=lead_id,
        campaign_id="test",
        title="出口服装涉嫌假冒注册商标",
        referrer=referrer,
        receivers=receivers or [MARKET],
        policy=policy or between_agencies(),
        police_policy=police_policy if police_policy is not None else decree_310(),
        leadership=LEADERSHIP,
        office_name="雅安市打假办",
        office_staff=OFFICE_STAFF,
        calendar=load_calendar(range(year - 1, year + 2)),
        referred_at=referred_at,
    )


async def save_history(handle: WorkflowHandle[object, object], name: str) -> None:
    """Keep the run's history for the replay tests when RECORD_HISTORIES=1."""
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(parents=True, exist_ok=True)
    (HISTORIES / f"lead-{name}.json").write_text(history.to_json(), encoding="utf-8")
