"""The one way a CLI command runs a Temporal call: connect, run, map the outcome to the exit codes.

Exit codes as design.md fixes them: 2 bad input (nothing changed), 1 other failure.
"""

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from console import client_calls as calls
from console.output import bad_input, failure
from workers.settings import Settings, load_settings

T = TypeVar("T")


def acting(by: str | None) -> str:
    """Who acts: `--by`, else the login name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "operator"


def invalid(err: ValidationError) -> str:
    """A model's validation errors as one line, each with its field path."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in err.errors())


def run_call(work: Callable[[Client, Settings], Awaitable[T]], settings: Settings | None = None) -> T:
    """Connect, run `work`, and turn the outcome into the exit codes (2 bad input, 1 failure)."""
    settings = settings or load_settings()

    async def go() -> T:
        try:
            client = await calls.connect(settings)
        except (RPCError, RuntimeError, OSError) as err:
            failure(f"cannot reach Temporal at {settings.temporal.address}: {err}")
        return await work(client, settings)

    try:
        return asyncio.run(go())
    except calls.Rejected as err:
        bad_input(str(err))
    except ValidationError as err:
        bad_input(invalid(err))
    except (calls.Busy, calls.CallFailed) as err:
        failure(str(err))
    except RPCError as err:
        failure(f"Temporal refused the call: {err}")
