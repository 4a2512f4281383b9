"""Every activity the worker runs, as bound methods of objects holding their injected clients."""

from collections.abc import Callable
from typing import Any

from temporalio.client import Client

from activities.holidays import HolidayFiles
from activities.mail import MailActivities
from activities.portal_tokens import PortalTokens
from activities.rollup import RollupActivities, UpperCycles
from activities.sent_ledger import SentLedger
from workers.holiday_check import HolidayRecheck
from workers.objects import blob_store
from workers.settings import Settings
from workflows.reporting_cycle import ReportingCycle


def build_activities(client: Client | None, settings: Settings) -> list[Callable[..., Any]]:
    blobs = blob_store(settings)
    links = PortalTokens(settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days)
    mail = MailActivities(
        settings.smtp,
        SentLedger(settings.data_dir / "sent-ledger.sqlite"),
        blobs,
        links,
        webhooks={name: url.get_secret_value() for name, url in settings.webhooks.items()},
        webhook_sink_dir=settings.data_dir / "webhooks",
    )
    rollup = RollupActivities(blobs, UpperCycles(client, ReportingCycle.submit_report) if client else None)
    holidays = HolidayFiles(settings.calendars_dir)
    found: list[Callable[..., Any]] = [
        mail.send_batch,
        rollup.compile_rollup,
        rollup.forward_upward,
        holidays.load_holidays,
    ]
    if client is not None:
        # The daily holiday check sends Updates to cycles and leads: it needs the client.
        found.append(HolidayRecheck(client, settings.calendars_dir).recompute_provisional)
    return found
