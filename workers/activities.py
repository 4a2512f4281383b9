"""Every activity the worker runs, as bound methods of objects holding their injected clients."""

from collections.abc import Callable
from typing import Any

from temporalio.client import Client

from activities.archive import Archive, ArchiveActivities
from activities.holidays import HolidayFiles
from activities.mail import MailActivities
from activities.portal_tokens import PortalTokens
from activities.records import Records
from activities.rollup import RollupActivities, UpperCycles
from activities.sent_ledger import SentLedger
from workers.holiday_check import HolidayRecheck
from workers.objects import blob_store
from workers.settings import Settings
from workers.temporal import data_converter
from workflows.reporting_cycle import ReportingCycle


def build_activities(
    client: Client | None, settings: Settings, records: Records | None = None
) -> list[Callable[..., Any]]:
    records = records or Records(settings.records_url_value())
    blobs = blob_store(settings)
    links = PortalTokens(settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days)
    mail = MailActivities(
        settings.smtp,
        SentLedger(records),
        blobs,
        links,
        webhooks={name: url.get_secret_value() for name, url in settings.webhooks.items()},
        webhook_sink_dir=settings.data_dir / "webhooks",
    )
    rollup = RollupActivities(blobs, UpperCycles(client, ReportingCycle.submit_report) if client else None)
    holidays = HolidayFiles(settings.calendars_dir)
    archived = ArchiveActivities(Archive(records, data_converter(settings)))
    found: list[Callable[..., Any]] = [
        mail.send_batch,
        rollup.compile_rollup,
        rollup.forward_upward,
        holidays.load_holidays,
        archived.archive_cycle,
        archived.archive_lead,
    ]
    if client is not None:
        # The daily holiday check sends Updates to cycles and leads: it needs the client.
        found.append(HolidayRecheck(client, settings.calendars_dir).recompute_provisional)
    return found
