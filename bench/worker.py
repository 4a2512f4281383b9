"""A worker process for one benchmark phase: duban's production worker, or the naive baseline's.

    python -m bench.worker duban|naive     (settings from DUBAN_* variables, like `duban worker`)

It prints `ready` once polling, and stops on SIGTERM. One process per phase, so
each phase's peak memory (VmHWM) and CPU time are its own.
"""

import asyncio
import signal
import sys

from temporalio.worker import Worker

from activities.mail import MailActivities
from activities.portal_tokens import PortalTokens
from activities.sent_ledger import SentLedger
from bench.naive import NaiveUnitReminder
from bench.naive_mail import NaiveMailActivities
from workers.logging import configure_logging
from workers.objects import blob_store
from workers.settings import Settings, load_settings
from workers.temporal import connect
from workers.worker import build_worker, workflow_runner

NAIVE_QUEUE_SUFFIX = "-naive"


def naive_worker(client: object, settings: Settings) -> Worker:
    """The baseline on its own task queue, with the same mail machinery as duban's worker."""
    links = PortalTokens(settings.secret_key.get_secret_value(), settings.public_url, settings.portal_token_days)
    mail = MailActivities(
        settings.smtp, SentLedger(settings.data_dir / "sent-ledger.sqlite"), blob_store(settings), links
    )
    t = settings.temporal
    return Worker(
        client,  # type: ignore[arg-type]
        task_queue=t.task_queue + NAIVE_QUEUE_SUFFIX,
        workflows=[NaiveUnitReminder],
        activities=[NaiveMailActivities(mail).send_mail],
        workflow_runner=workflow_runner(),
        max_concurrent_workflow_tasks=t.max_concurrent_workflow_tasks,
        max_concurrent_activities=t.max_concurrent_activities,
        max_cached_workflows=t.max_cached_workflows,
    )


async def serve(mode: str) -> None:
    settings = load_settings()
    configure_logging(settings)
    client = await connect(settings)
    worker = naive_worker(client, settings) if mode == "naive" else build_worker(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print("ready", flush=True)
        await stop.wait()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "duban"
    if mode not in ("duban", "naive"):
        raise SystemExit(f"mode must be duban or naive, not {mode!r}")
    asyncio.run(serve(mode))


if __name__ == "__main__":
    main()
