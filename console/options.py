"""Command-line options shared by the `duban` command groups (one spelling, one help text each)."""

from typing import Annotated

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]
CycleOpt = Annotated[
    str, typer.Option("--cycle", help="Cycle workflow id, e.g. cycle:yaan-2017:yaan-office:summary:2026-Y")
]
UnitOpt = Annotated[str, typer.Option("--unit", help="Unit id, e.g. yaan-gaj")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who acts (default: your login name).")]
