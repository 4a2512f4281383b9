"""The activities as workflows call them: names and signatures, one model in and one out.

Workflows call these methods with `workflow.execute_activity_method(...)`, so mypy checks each
call's argument and result; the classes in activities/ subclass them, so mypy checks that every
implementation keeps the signature. The registered names are the ones running histories hold.
"""

from temporalio import activity

from schemas.calendar import HolidayCalendar
from schemas.cycle import HolidayRequest
from schemas.holiday_check import HolidayCheckInput, HolidayCheckResult
from schemas.notify import BatchResult, MailBatch
from schemas.rollup import ForwardRequest, ForwardResult, RollupPackage, RollupRequest


class MailActivity:
    @activity.defn(name="send_batch")
    async def send_batch(self, batch: MailBatch) -> BatchResult:
        """Send every notification of one instant; per-recipient results, exactly one message per key."""
        raise NotImplementedError


class RollupActivity:
    @activity.defn(name="compile_rollup")
    async def compile_rollup(self, request: RollupRequest) -> RollupPackage:
        """The cycle's submissions, compiled into one package for the upper office."""
        raise NotImplementedError

    @activity.defn(name="forward_upward")
    async def forward_upward(self, request: ForwardRequest) -> ForwardResult:
        """Submit the package to the parent office's cycle when it runs on this deployment."""
        raise NotImplementedError


class HolidayActivity:
    @activity.defn(name="load_holidays")
    async def load_holidays(self, request: HolidayRequest) -> HolidayCalendar:
        """The holiday data for the years and zone asked for."""
        raise NotImplementedError


class HolidayCheckActivity:
    @activity.defn(name="recompute_provisional")
    async def recompute_provisional(self, request: HolidayCheckInput) -> HolidayCheckResult:
        """Send the published holiday data to every running cycle and lead counted on a provisional year."""
        raise NotImplementedError
