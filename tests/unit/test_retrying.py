"""workers/retrying: the polling waits every start-up uses."""

import time

import pytest

from workers.retrying import answered_within


class TestAnsweredWithin:
    async def test_true_once_the_probe_answers(self) -> None:
        """A probe that answers on its third call ends the wait then, also when given as a lambda."""
        calls: list[float] = []

        async def probe() -> bool:
            calls.append(time.monotonic())
            return len(calls) >= 3

        assert await answered_within(lambda: probe(), every=0.01, within=5)
        assert len(calls) == 3

    async def test_false_when_it_never_answers(self) -> None:
        """A probe that never answers gives up after `within` seconds, having been asked repeatedly."""
        calls: list[float] = []

        async def probe() -> bool:
            calls.append(time.monotonic())
            return False

        started = time.monotonic()
        assert not await answered_within(probe, every=0.05, within=0.3)
        assert 0.3 <= time.monotonic() - started < 2
        assert len(calls) >= 4

    async def test_an_exception_ends_the_wait_at_once(self) -> None:
        """A probe that raises (the child exited) is not retried: the exception comes out on the first call."""
        calls: list[int] = []

        async def probe() -> bool:
            calls.append(1)
            raise RuntimeError("exited with code 3")

        with pytest.raises(RuntimeError, match="exited with code 3"):
            await answered_within(probe, every=0.01, within=5)
        assert calls == [1]
