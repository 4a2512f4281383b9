"""Waiting for something to come up, declared with tenacity (the one retry library of duban).

Every loop that polls a probe until it answers — the dev supervisor waiting for each
child, the benchmark's stack waiting for its servers — says how often and how long
with `poll_until`, instead of a hand-written deadline loop.
"""

from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryError, retry_if_result, stop_after_delay, wait_fixed


def poll_until(every: float, within: float) -> AsyncRetrying:
    """Call an async probe every `every` seconds until it returns True; RetryError after `within` seconds.

    An exception from the probe is not retried: it ends the wait at once (e.g. the child exited)."""
    return AsyncRetrying(
        retry=retry_if_result(lambda answered: answered is not True),
        wait=wait_fixed(every),
        stop=stop_after_delay(within),
    )


async def answered_within(probe: Callable[[], Awaitable[bool]], every: float, within: float) -> bool:
    """True once `probe` answers True, False if it did not within `within` seconds."""

    async def ask() -> bool:
        # tenacity awaits only coroutine functions; a lambda returning a coroutine would never be awaited.
        return await probe()

    try:
        await poll_until(every, within)(ask)
    except RetryError:
        return False
    return True
