"""`duban link …`: a unit's signed links (its portal page in a cycle, its calendar feed).

    duban link revoke --cycle ID --unit UNIT [--reason R]   revoke the links made so far, print new ones
    duban link new --cycle ID --unit UNIT                   print new links, revoking nothing

A revocation is an office action like the others: the cycle's Update records
who and when in the unit's timeline; an unknown unit or cycle exits 2.
"""

from typing import Annotated

import typer
from temporalio.client import Client

from activities.portal_tokens import PortalTokens
from console import links
from console.display import local
from console.options import ByOpt, CycleOpt, JsonFlag, UnitOpt
from console.output import console, emit_json
from console.run import acting, run_call
from workers.settings import Settings

app = typer.Typer(help="A unit's signed links: revoke them, or make new ones.", no_args_is_help=True)


def portal_tokens(settings: Settings) -> PortalTokens:
    return PortalTokens(settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days)


def emit_links(found: links.UnitLinks, json_out: bool) -> None:
    if json_out:
        emit_json(found)
        return
    if found.message:
        console.print(f"[green]完成[/green] {found.message}")
    if found.links_valid_from:
        console.print(f"{local(found.links_valid_from)} 之前发出的链接已失效 (links made before then are refused)")
    # One link per line, never wrapped: they are meant to be copied.
    console.print(f"报送链接 (portal): {found.portal_link}", soft_wrap=True, highlight=False)
    console.print(f"日历订阅 (feed):   {found.feed_link}", soft_wrap=True, highlight=False)


@app.command("revoke")
def revoke(
    cycle: CycleOpt,
    unit: UnitOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the unit's timeline).")] = "",
    by: ByOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Revoke the unit's links made so far for this cycle, and print new ones to send the unit.

    Refused from now on: every earlier link of the unit in this office — its portal links to any cycle and its
    calendar-feed links — for good (kept in the data directory's access store).

    Example:

        duban link revoke --cycle ID --unit yaan-gaj --reason 通知被转发到外部群
    """

    async def work(client: Client, settings: Settings) -> links.UnitLinks:
        return await links.revoke(
            client, portal_tokens(settings), links.revocations(settings), cycle, unit, reason, acting(by)
        )

    emit_links(run_call(work), json_out)


@app.command("new")
def new(cycle: CycleOpt, unit: UnitOpt, json_out: JsonFlag = False) -> None:
    """Print a new portal link and feed link for the unit, revoking nothing.

    Example:

        duban link new --cycle ID --unit yaan-gaj --json
    """

    async def work(client: Client, settings: Settings) -> links.UnitLinks:
        return await links.fresh(client, portal_tokens(settings), links.revocations(settings), cycle, unit)

    emit_links(run_call(work), json_out)
