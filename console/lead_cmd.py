"""`duban lead …`: refer a case lead and act on it, one Update per action.

    duban lead refer --campaign C --from UNIT --to UNIT[,UNIT...] --policy NAME --title T [--file F]
    duban lead ack LEAD --unit UNIT                                   签收
    duban lead decide LEAD --unit UNIT --decision open|decline|transfer|police [--reason R] [--to UNIT]
    duban lead feedback LEAD --unit UNIT --text T                     反馈
    duban lead close LEAD --unit UNIT --result T                      办结
    duban lead approve LEAD --unit UNIT [--refuse --reason R]         Decree 310 Art. 5 (agency head)
    duban lead transfer LEAD --unit UNIT [--note N]                   移送 to the police
    duban lead reconsider LEAD --unit UNIT --reason R                 复议 request
    duban lead handover LEAD --unit UNIT [--note N]                   materials to the police
    duban lead involve LEAD --unit UNIT [--note N]                    提前介入
    duban lead extension request|grant|refuse LEAD --unit UNIT ...    延期申请 (console/lead_office_cmd.py)
    duban lead link revoke|new LEAD --unit UNIT                       the unit's lead link
    duban lead show LEAD
    duban lead list [--campaign C]

Units, policies and the campaign are checked against the started plan before
anything is sent: an unknown one exits 2 and starts nothing. A call the lead
refuses (wrong unit, wrong stage) exits 2 with the workflow's reason.
"""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import yaml
from pydantic import BaseModel, ValidationError
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.workflow import UpdateMethodMultiParam

from activities.holidays import calendar_for
from activities.records import Records
from console import client_calls as calls
from console.campaign_store import CampaignNotFoundError, CampaignStore
from console.display import local
from console.output import bad_input, emit_json, failure
from console.run import acting, invalid, run_call
from domain.lead_policies import default_policies, policies_for
from domain.lead_wording import event_zh, stage_zh
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    Decision,
    GiveFeedback,
    HandOver,
    Involve,
    LeadEvent,
    LeadInput,
    LeadReceipt,
    LeadStatus,
    LeadStatusQuery,
    LeadUnit,
    RequestReconsideration,
    SignFor,
    Transfer,
    campaign_of,
    lead_workflow_id,
)
from schemas.plan import CampaignPlan
from schemas.visibility import CAMPAIGN, STAGE, UNITS
from workers.settings import Settings, load_settings
from workflows.lead_referral import LeadReferral

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)

app = typer.Typer(help="Case-lead referrals (线索通报 / 案件移送) with stage time limits.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]
LeadArg = Annotated[
    str, typer.Argument(metavar="LEAD", help="Lead id as `lead refer` printed it (lead:<campaign>:<id>).")
]
UnitOpt = Annotated[str, typer.Option("--unit", help="The acting unit's id.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who acts (default: your login name).")]
TrackOpt = Annotated[
    str | None, typer.Option("--track", help="The receiving unit's track, when the unit acts on several.")
]


async def _load_plan(settings: Settings, campaign_id: str) -> CampaignPlan:
    records = Records(settings.records_url_value())
    try:
        return await CampaignStore(records).load(campaign_id)
    finally:
        await records.dispose()


def campaign_plan(settings: Settings, campaign_id: str) -> CampaignPlan:
    try:
        return asyncio.run(_load_plan(settings, campaign_id))
    except CampaignNotFoundError as err:
        bad_input(str(err))
    except (ValidationError, ValueError) as err:
        failure(f"the stored plan of {campaign_id} cannot be read: {err}")


def _unit(plan: CampaignPlan, unit_id: str) -> LeadUnit:
    found = plan.unit(unit_id)
    if found is None:
        known = ", ".join(u.id for u in plan.units)
        bad_input(f"campaign {plan.id} has no unit {unit_id!r} (units: {known})")
    return LeadUnit(id=found.id, name=found.name, contacts=found.contacts, leader=found.leader)


def lead_campaign(lead_id: str) -> str:
    try:
        return campaign_of(lead_id)
    except ValueError as err:
        bad_input(str(err))


def _print_receipt(receipt: LeadReceipt, as_json: bool) -> None:
    if as_json:
        emit_json(receipt)
        return
    due = f", next due {local(receipt.next_due)}" if receipt.next_due else ""
    typer.echo(f"{receipt.lead_id} [{receipt.track}]: {receipt.message}; now at {stage_zh(receipt.stage)}{due}")


def act_on_lead(
    lead_id: str, update: UpdateMethodMultiParam[[LeadReferral, R], LeadReceipt], build: Callable[[], R], as_json: bool
) -> None:
    """Check the lead id, build the call (bad fields exit 2), send it as the named Update."""
    lead_campaign(lead_id)
    try:
        call = build()
    except ValidationError as err:
        bad_input(invalid(err))

    async def work(client: Client, _: Settings) -> LeadReceipt:
        return await calls.update(client, lead_id, update, call)

    _print_receipt(run_call(work), as_json)


# ---- policies --------------------------------------------------------------------------------


@app.command()
def policies(as_json: JsonFlag = False) -> None:
    """Print the shipped referral policies as a plan's `referral_policies:` block (edit and include it).

    A plan's policy replaces the shipped one of the same name. Example:

        duban lead policies > my-policies.yaml
    """
    shipped = [p.model_dump(mode="json", exclude_defaults=True) for p in default_policies()]
    if as_json:
        emit_json(shipped)
        return
    typer.echo(yaml.safe_dump({"referral_policies": shipped}, allow_unicode=True, sort_keys=False), nl=False)


# ---- refer -----------------------------------------------------------------------------------


@app.command()
def refer(
    campaign: Annotated[str, typer.Option("--campaign", help="Campaign id of a started plan.")],
    from_unit: Annotated[str, typer.Option("--from", help="The referring unit.")],
    to: Annotated[str, typer.Option("--to", help="Receiving unit(s), comma-separated for joint handling (协办).")],
    policy: Annotated[str, typer.Option("--policy", help="Referral policy name, e.g. between-agencies, decree-310.")],
    title: Annotated[str, typer.Option("--title", help="Short title (kept in the encrypted history only).")],
    file: Annotated[Path | None, typer.Option("--file", help="The lead's material; stored in the blob store.")] = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Refer a case lead: starts its LeadReferral workflow; prints the lead id."""
    settings = load_settings()
    plan = campaign_plan(settings, campaign)
    referrer = _unit(plan, from_unit)
    receiver_ids = [t.strip() for t in to.split(",") if t.strip()]
    if not receiver_ids:
        bad_input("--to names no unit")
    receivers = [_unit(plan, r) for r in receiver_ids]
    policies = policies_for(plan.referral_policies)
    chosen = policies.get(policy)
    if chosen is None:
        bad_input(f"no referral policy {policy!r} (known: {', '.join(sorted(policies))})")
    police = None
    if chosen.police_policy is not None:
        police = policies.get(chosen.police_policy)
        if police is None:
            bad_input(f"policy {policy} names police policy {chosen.police_policy!r}, which is not defined")
    if not title.strip():
        bad_input("--title must not be empty")
    content = None
    if file is not None:
        if not file.is_file():
            bad_input(f"{file}: no such file")
        try:
            content = asyncio.run(calls.store_uploads(settings, [(file.name, file.read_bytes())]))[0]
        except calls.Rejected as err:
            bad_input(str(err))
    now = datetime.now(UTC)
    lead_id = lead_workflow_id(campaign, uuid.uuid4().hex[:8])
    try:
        spec = LeadInput(
            lead_id=lead_id,
            campaign_id=campaign,
            title=title.strip(),
            content=content,
            referrer=referrer,
            receivers=receivers,
            policy=chosen,
            police_policy=police,
            leadership=plan.leadership,
            office_name=plan.office.name,
            office_staff=plan.office.staff,
            calendar=calendar_for(now, plan.timezone, span_years=2, overrides_dir=settings.calendars_dir),
            referred_at=now,
            by=acting(by),
        )
    except ValidationError as err:
        bad_input(invalid(err))

    async def work(client: Client, s: Settings) -> LeadStatus:
        handle = await client.start_workflow(
            "LeadReferral",
            spec,
            id=lead_id,
            task_queue=s.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # Ids only: search attributes are not encrypted.
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(CAMPAIGN, campaign),
                    SearchAttributePair(STAGE, "referred"),
                    SearchAttributePair(UNITS, [referrer.id, *receiver_ids]),
                ]
            ),
        )
        return await calls.query(client, handle.id, LeadReferral.get_status, LeadStatusQuery())

    status = run_call(work, settings)
    if as_json:
        due = status.due_at.isoformat() if status.due_at else None
        emit_json({"lead_id": lead_id, "stage": status.stage, "due_at": due, "units": status.units})
        return
    typer.echo(f"{lead_id} referred to {', '.join(receiver_ids)}; {stage_zh(status.stage)} due {local(status.due_at)}")


# ---- actions ---------------------------------------------------------------------------------


@app.command()
def ack(lead: LeadArg, unit: UnitOpt, track: TrackOpt = None, by: ByOpt = None, as_json: JsonFlag = False) -> None:
    """签收: the receiving unit signs for the lead."""
    act_on_lead(lead, LeadReferral.sign_for, lambda: SignFor(unit_id=unit, track=track, by=acting(by)), as_json)


@app.command()
def decide(
    lead: LeadArg,
    unit: UnitOpt,
    decision: Annotated[Decision, typer.Option("--decision", help="open | decline | transfer | police")],
    reason: Annotated[str, typer.Option("--reason", help="Required to decline.")] = "",
    to: Annotated[str | None, typer.Option("--to", help="The agency (transfer) or police unit (police).")] = None,
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Decide on the lead (or, as the police, on filing / reconsideration): open, decline, transfer, police."""
    target = None
    if to is not None:
        target = _unit(campaign_plan(load_settings(), lead_campaign(lead)), to)
    act_on_lead(
        lead,
        LeadReferral.decide,
        lambda: Decide(unit_id=unit, decision=decision, reason=reason, to=target, track=track, by=acting(by)),
        as_json,
    )


@app.command()
def feedback(
    lead: LeadArg,
    unit: UnitOpt,
    text: Annotated[str, typer.Option("--text", help="Progress of the case.")],
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """反馈: progress feedback; restarts the feedback cadence."""
    act_on_lead(
        lead,
        LeadReferral.give_feedback,
        lambda: GiveFeedback(unit_id=unit, text=text, track=track, by=acting(by)),
        as_json,
    )


@app.command()
def close(
    lead: LeadArg,
    unit: UnitOpt,
    result: Annotated[str, typer.Option("--result", help="The outcome (办结 result).")],
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """办结: close the receiving unit's handling with a result."""
    act_on_lead(
        lead, LeadReferral.close, lambda: CloseLead(unit_id=unit, result=result, track=track, by=acting(by)), as_json
    )


@app.command()
def approve(
    lead: LeadArg,
    unit: UnitOpt,
    refuse: Annotated[bool, typer.Option("--refuse", help="The head refuses the transfer.")] = False,
    reason: Annotated[str, typer.Option("--reason")] = "",
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """The agency head approves (or refuses) transferring the case to the police (Decree 310 Art. 5)."""
    act_on_lead(
        lead,
        LeadReferral.approve_transfer,
        lambda: Approve(unit_id=unit, approve=not refuse, reason=reason, track=track, by=acting(by)),
        as_json,
    )


@app.command()
def transfer(
    lead: LeadArg,
    unit: UnitOpt,
    note: Annotated[str, typer.Option("--note")] = "",
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """移送: the approved case goes to the police (within 24 hours of approval)."""
    act_on_lead(
        lead, LeadReferral.transfer, lambda: Transfer(unit_id=unit, note=note, track=track, by=acting(by)), as_json
    )


@app.command()
def reconsider(
    lead: LeadArg,
    unit: UnitOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the refusal should be reconsidered.")],
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """复议: ask for reconsideration of a refusal."""
    act_on_lead(
        lead,
        LeadReferral.request_reconsideration,
        lambda: RequestReconsideration(unit_id=unit, reason=reason, track=track, by=acting(by)),
        as_json,
    )


@app.command()
def handover(
    lead: LeadArg,
    unit: UnitOpt,
    note: Annotated[str, typer.Option("--note")] = "",
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Hand seized goods and materials to the police after filing."""
    act_on_lead(
        lead, LeadReferral.hand_over, lambda: HandOver(unit_id=unit, note=note, track=track, by=acting(by)), as_json
    )


@app.command()
def involve(
    lead: LeadArg,
    unit: UnitOpt,
    note: Annotated[str, typer.Option("--note")] = "",
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """提前介入: record early involvement of police or procuratorate."""
    involved = _unit(campaign_plan(load_settings(), lead_campaign(lead)), unit)
    call = Involve(unit=involved, note=note, by=acting(by))

    async def work(client: Client, _: Settings) -> LeadEvent:
        return await calls.update(client, lead, LeadReferral.involve, call)

    event = run_call(work)
    if as_json:
        emit_json(event)
        return
    typer.echo(f"{lead}: {unit} involved ({event.detail})")


# ---- views -----------------------------------------------------------------------------------


@app.command()
def show(lead: LeadArg, as_json: JsonFlag = False) -> None:
    """The lead's stage, escalation level and whole timeline: every stage's deadline, met or missed."""
    lead_campaign(lead)

    async def work(client: Client, _: Settings) -> LeadStatus:
        return await calls.query(client, lead, LeadReferral.get_status, LeadStatusQuery())

    status = run_call(work)
    if as_json:
        emit_json(status)
        return
    typer.echo(f"{status.lead_id}  {status.title}")
    typer.echo(
        f"stage {stage_zh(status.stage)}  escalation level {status.escalation_level}  units {', '.join(status.units)}"
    )
    for r in status.stages:
        met = {True: "met", False: "MISSED", None: "—"}[r.met]
        if r.done_at is None:
            met = "OVERDUE" if status.now > r.due else "open"
        typer.echo(
            f"  {r.track:<14} {stage_zh(r.name):<8} {r.unit:<14} due {local(r.due)}  done {local(r.done_at)}  {met}"
        )
    typer.echo("timeline:")
    for e in status.timeline:
        who = f" {e.unit}" if e.unit else ""
        by = f" ({e.by})" if e.by else ""
        typer.echo(f"  {local(e.at)} {event_zh(e.what)}{who}{by} {e.detail}".rstrip())


@app.command("list")
def list_(
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only this campaign's leads.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Lead ids (running and finished), from Temporal visibility."""

    async def work(client: Client, _: Settings) -> list[str]:
        return await calls.list_leads(client, campaign)

    ids = run_call(work)
    if as_json:
        emit_json({"leads": ids})
        return
    for lead_id in ids:
        typer.echo(lead_id)
