"""`duban calendar day|due` — to be written (issue 3)."""

import typer

app = typer.Typer(help="Working days, holidays and due moments as Chinese law counts them.", no_args_is_help=True)
