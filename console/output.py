"""Output conventions every `duban` command shares: `--json`, exit codes 0/1/2."""

import json
import sys
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

BAD_INPUT = 2
FAILURE = 1

console = Console()
err_console = Console(stderr=True)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    """Print machine output: one JSON document on stdout, Chinese left readable."""
    sys.stdout.write(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2) + "\n")


def bad_input(reason: str) -> NoReturn:
    """Exit 2 with a one-line reason on stderr; the caller has changed nothing yet."""
    # Escaped: a reason quoting `duban[embedded]` or a unit id in brackets is text, not Rich markup.
    err_console.print(f"[red]error:[/red] {escape(reason)}", highlight=False, soft_wrap=True)
    raise typer.Exit(BAD_INPUT)


def failure(reason: str) -> NoReturn:
    err_console.print(f"[red]failed:[/red] {escape(reason)}", highlight=False, soft_wrap=True)
    raise typer.Exit(FAILURE)
