"""The `duban` command: one Typer app, one sub-app per domain area."""

import typer

from console import calendar_cmd
from console import cycle_cmd

app = typer.Typer(
    name="duban",
    help="督办 duban — campaign supervision on Temporal. Every command takes --json.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(calendar_cmd.app, name="calendar")
cycle_cmd.register(app)


def main() -> None:
    app()
