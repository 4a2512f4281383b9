"""`duban lead extension …` and `duban lead link …`: the office's answers to an agency, and its links.

    duban lead extension request LEAD --unit UNIT --days N --reason R [--stage S]   延期申请 for the unit
    duban lead extension grant LEAD --unit UNIT [--days N] [--reason R]            同意延期: the clock moves
    duban lead extension refuse LEAD --unit UNIT --reason R                        不予延期
    duban lead link revoke LEAD --unit UNIT [--reason R]   revoke the unit's links, print a new lead link
    duban lead link new LEAD --unit UNIT                   print a new lead link, revoking nothing

Each is the lead's own Update (validator, receipt, timeline with who and when); a refused call exits 2
with the lead's reason. The extension is counted in the stage limit's own unit (working days…).
"""

from typing import Annotated

import typer
from temporalio.client import Client

from console import links
from console.lead_cmd import ByOpt, JsonFlag, LeadArg, TrackOpt, UnitOpt, act_on_lead, campaign_plan, lead_campaign
from console.link_cmd import emit_links, portal_tokens
from console.run import acting, run_call
from schemas.lead import DecideLeadExtension, RequestLeadExtension, StageName
from workers.settings import Settings, load_settings
from workflows.lead_referral import LeadReferral

extension_app = typer.Typer(help="Extension requests on a lead (延期申请): ask, grant, refuse.", no_args_is_help=True)
link_app = typer.Typer(help="A unit's lead link: revoke it, or make a new one.", no_args_is_help=True)

StageOpt = Annotated[
    StageName | None, typer.Option("--stage", help="The open stage, when the unit has several (e.g. feedback).")
]


@extension_app.command("request")
def request(
    lead: LeadArg,
    unit: UnitOpt,
    days: Annotated[int, typer.Option("--days", help="How much longer, in the stage limit's unit.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the unit needs more time.")],
    stage: StageOpt = None,
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Ask, for the unit, for more time on one of its running stages (the office is mailed at once).

    Example:

        duban lead extension request lead:yaan-2017:1a2b3c4d --unit yaan-scj --days 3 --reason 需核实出口记录
    """
    act_on_lead(
        lead,
        LeadReferral.request_extension,
        lambda: RequestLeadExtension(unit_id=unit, days=days, reason=reason, stage=stage, track=track, by=acting(by)),
        as_json,
    )


@extension_app.command("grant")
def grant(
    lead: LeadArg,
    unit: UnitOpt,
    days: Annotated[int | None, typer.Option("--days", help="Grant fewer days than asked.")] = None,
    reason: Annotated[str, typer.Option("--reason", help="A note to the unit.")] = "",
    stage: StageOpt = None,
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Grant the unit's pending extension request: its stage's deadline moves, the unit is mailed."""
    act_on_lead(
        lead,
        LeadReferral.decide_extension,
        lambda: DecideLeadExtension(
            unit_id=unit, approve=True, days=days, reason=reason, stage=stage, track=track, by=acting(by)
        ),
        as_json,
    )


@extension_app.command("refuse")
def refuse(
    lead: LeadArg,
    unit: UnitOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (required; the unit reads it).")],
    stage: StageOpt = None,
    track: TrackOpt = None,
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Refuse the unit's pending extension request: the deadline stays, the unit is mailed the reason."""
    act_on_lead(
        lead,
        LeadReferral.decide_extension,
        lambda: DecideLeadExtension(
            unit_id=unit, approve=False, reason=reason, stage=stage, track=track, by=acting(by)
        ),
        as_json,
    )


def _office(lead: str) -> str:
    """The office of the lead's campaign (whose access store holds the unit's revocations)."""
    return campaign_plan(load_settings(), lead_campaign(lead)).office.id


@link_app.command("revoke")
def revoke(
    lead: LeadArg,
    unit: UnitOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded on the lead's timeline).")] = "",
    by: ByOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke the unit's links made so far and print a new lead link to send it.

    Refused from now on: the unit's earlier links to this lead and, as for `duban link revoke`, every other
    link of the unit in this office (kept in the access store).

    Example:

        duban lead link revoke lead:yaan-2017:1a2b3c4d --unit yaan-scj --reason 链接被转发
    """
    office = _office(lead)

    async def work(client: Client, settings: Settings) -> links.UnitLinks:
        tokens, store = portal_tokens(settings), links.revocations(settings)
        return await links.revoke(client, tokens, store, lead, unit, reason, acting(by), office)

    emit_links(run_call(work), json_out=as_json)


@link_app.command("new")
def new(lead: LeadArg, unit: UnitOpt, as_json: JsonFlag = False) -> None:
    """Print a new lead link for the unit (and its calendar feed), revoking nothing."""
    office = _office(lead)

    async def work(client: Client, settings: Settings) -> links.UnitLinks:
        return await links.for_lead(client, portal_tokens(settings), links.revocations(settings), lead, unit, office)

    emit_links(run_call(work), json_out=as_json)
