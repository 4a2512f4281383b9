"""`duban remind --cycle ID [--unit U ...] [--note TEXT] [--urgent]`: 催办 now.

The office chases the units it names (none named: every unit still owing) with a reminder — an overdue
notice once the deadline has passed — carrying its note. Inside the plan's send window unless
`--urgent`. The call carries a key (`--key`, else a fresh one): repeated with the same key, the cycle
sends nothing again.
"""

import uuid
from typing import Annotated

import typer
from temporalio.client import Client

from console import client_calls as calls
from console.output import console, emit_json
from console.run import acting, run_call
from schemas.cycle import Reminded, RemindNow
from workers.settings import Settings


def remind(
    cycle: Annotated[str, typer.Option("--cycle", help="Cycle workflow id.")],
    unit: Annotated[list[str] | None, typer.Option("--unit", help="A unit to chase; repeat for more.")] = None,
    note: Annotated[str, typer.Option("--note", help="The office's note, printed in the message.")] = "",
    urgent: Annotated[bool, typer.Option("--urgent", help="Send even outside the send window.")] = False,
    key: Annotated[
        str | None, typer.Option("--key", help="Repeat a call without sending twice (8-64 letters, digits, - _).")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who chases (default: your login name).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")] = False,
) -> None:
    """催办 now: remind the named units (default: every unit still owing) today, with a note.

    Examples:

        duban remind --cycle ID --note 请于今日下班前报送

        duban remind --cycle ID --unit yaan-gaj --unit yaan-hg --urgent --json
    """

    async def work(client: Client, _: Settings) -> Reminded:
        call = RemindNow(key=key or uuid.uuid4().hex, unit_ids=unit or [], note=note, urgent=urgent, by=acting(by))
        return await calls.remind_now(client, cycle, call)

    result = run_call(work)
    if json_out:
        emit_json(result)
    elif result.repeated:
        console.print(f"[yellow]{result.message}[/yellow]")
    else:
        console.print(f"[green]{result.message}[/green]: {', '.join(result.units)}")
