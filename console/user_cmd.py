"""`duban user hash-password`: password hashes for the console's accounts (console.auth checks them)."""

from typing import Annotated

import typer

from console.auth import hash_password
from console.output import bad_input, emit_json

user_app = typer.Typer(
    help="Console accounts: make password hashes for DUBAN_OPERATORS / DUBAN_LEADERS.", no_args_is_help=True
)


@user_app.command("hash-password")
def hash_password_cmd(
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from standard input.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")] = False,
) -> None:
    """Print a password hash to put into the settings.

    Examples:

        duban user hash-password

        echo -n 's3cret' | duban user hash-password --stdin

    then e.g. DUBAN_OPERATORS='{"zhang": "scrypt$..."}' (or [operators] in the TOML file).
    """
    if stdin:
        password = typer.get_text_stream("stdin").read().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        bad_input("the password must have at least 8 characters")
    hashed = hash_password(password)
    if json_out:
        emit_json({"hash": hashed})
    else:
        typer.echo(hashed)
