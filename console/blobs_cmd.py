"""`duban blobs encrypt`: seal blobs written before encryption at rest (a one-off after upgrading).

Reading does not need it: an object without the sealed header is read as it
is, and its hash still has to match. Running it once removes the last clear
copies of uploaded reports from the store; running it again changes nothing.
"""

import asyncio
from typing import Annotated

import typer

from console.output import console, emit_json, failure
from workers.objects import blob_store
from workers.settings import load_settings

app = typer.Typer(help="The blob store (uploaded reports, roll-up packages).", no_args_is_help=True)


@app.command("encrypt")
def encrypt_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Seal every plain blob with the current payload key (DUBAN_PAYLOAD_KEYS); sealed ones are left alone.

    Example: duban blobs encrypt. Safe while duban runs: a blob is replaced whole, with the same content.
    """
    store = blob_store(load_settings())
    try:
        sealed, kept = asyncio.run(store.encrypt_plain())
    except OSError as error:
        failure(f"cannot reach the blob store {store.objects.describe()}: {error}")
    if json_output:
        emit_json({"store": store.objects.describe(), "sealed": sealed, "already_sealed": kept})
    else:
        console.print(f"{store.objects.describe()}: {sealed} blob(s) sealed, {kept} already sealed")
