"""`duban export xlsx CAMPAIGN -o FILE`: the ledger (台账) as Excel (built by console.ledger)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from temporalio.client import Client

from console import client_calls as calls
from console.ledger import Ledger, collect_ledger, ledger_bytes
from console.output import bad_input, console, emit_json
from console.run import run_call
from workers.settings import Settings

app = typer.Typer(help="Exports: the ledger (台账) as Excel.", no_args_is_help=True)


@app.command("xlsx")
def xlsx(
    campaign: Annotated[str, typer.Argument(help="Campaign id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .xlsx file to write.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")] = False,
) -> None:
    """Write the campaign's ledger: per cycle unit, status, due, submitted at, days late, reminders, escalations.

    Example:

        duban export xlsx yaan-2017 -o 台账.xlsx
    """
    if output.suffix.lower() != ".xlsx":
        bad_input(f"{output}: the output file must end in .xlsx")

    async def work(client: Client, settings: Settings) -> Ledger:
        if json_out:
            return await collect_ledger(client, campaign, archive=calls.open_archive(settings))
        with Progress(console=console, transient=True) as progress:
            return await collect_ledger(client, campaign, progress, calls.open_archive(settings))

    ledger = run_call(work)
    if not ledger.cycles and not ledger.leads:
        bad_input(f"campaign {campaign!r} has no cycles or leads")
    try:
        output.write_bytes(ledger_bytes(ledger))
    except OSError as err:
        bad_input(f"cannot write {output}: {err.strerror}")
    if json_out:
        emit_json({"file": str(output), "cycles": len(ledger.cycles), "leads": len(ledger.leads)})
    else:
        console.print(f"台账已写入 {output}（{len(ledger.cycles)} 个报送周期，{len(ledger.leads)} 条线索）")
