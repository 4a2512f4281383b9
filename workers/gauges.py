"""duban's own gauges on the worker's `/metrics`: what an office's operator is alerted on.

| gauge | from |
|---|---|
| `duban_open_cycles` | visibility: running `ReportingCycle`s |
| `duban_overdue_units` | visibility: the `DubanOverdueUnits` of running cycles, added up |
| `duban_unsent_messages` | the `get_mail_backlog` query of every running cycle and lead |
| `duban_oldest_unsent_message_age_seconds` | the same queries |
| `duban_leads_past_stage_limit` | visibility: running `LeadReferral`s whose `DubanDueAt` has passed |
| `duban_cycles_failing_workflow_task` | visibility: running cycles the server marks with `TemporalReportedProblems` |

They describe the whole namespace, not one worker: every worker exports the same
values (alert on `max`). They are recomputed every `metrics_refresh_seconds` in
the background, so a scrape never waits on Temporal; the mail backlog costs one
query per running workflow per refresh. The server sets `TemporalReportedProblems`
after a workflow task failed several times in a row (5 by default, the dynamic
config `system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute`).

The gauges go through the Temporal runtime's own metric meter, so the SDK's
Prometheus exporter serves them next to its own metrics.
"""

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.service import RPCError

from schemas.notify import MailBacklog
from schemas.visibility import DUE_AT, OVERDUE_UNITS
from workers.logging import get_logger
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

log = get_logger("duban.metrics")

CYCLE_TYPE = "ReportingCycle"
LEAD_TYPE = "LeadReferral"
_RUNNING = "ExecutionStatus = 'Running'"
# A query waits for a worker; one that cannot answer (its task failing) must not hold the refresh.
_QUERY_TIMEOUT = dt.timedelta(seconds=5)
_QUERIES_AT_ONCE = 8


@dataclass(frozen=True)
class Figures:
    open_cycles: int
    overdue_units: int
    unsent_messages: int
    oldest_unsent_age_seconds: float
    leads_past_stage_limit: int
    cycles_failing_workflow_task: int


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


BacklogQuery = Callable[[Any], MailBacklog]


async def _backlog(client: Client, workflow_id: str, query: BacklogQuery, gate: asyncio.Semaphore) -> MailBacklog:
    async with gate:
        try:
            backlog: MailBacklog = await client.get_workflow_handle(workflow_id).query(
                query, rpc_timeout=_QUERY_TIMEOUT
            )
        except (RPCError, TimeoutError) as error:
            # Counted elsewhere (a failing task); a broken or busy workflow must not hide the others.
            log.debug("mail backlog unknown", workflow_id=workflow_id, error=str(error))
            return MailBacklog()
        return backlog


async def measure(client: Client, now: dt.datetime) -> Figures:
    """The figures of the namespace at `now`."""
    cycles = f"WorkflowType = '{CYCLE_TYPE}' AND {_RUNNING}"
    leads = f"WorkflowType = '{LEAD_TYPE}' AND {_RUNNING}"
    overdue = 0
    cycle_ids: list[str] = []
    async for wf in client.list_workflows(cycles):
        overdue += len(wf.typed_search_attributes.get(OVERDUE_UNITS) or [])
        cycle_ids.append(wf.id)
    lead_ids = [wf.id async for wf in client.list_workflows(leads)]
    gate = asyncio.Semaphore(_QUERIES_AT_ONCE)
    backlogs = await asyncio.gather(
        *(_backlog(client, i, ReportingCycle.get_mail_backlog, gate) for i in cycle_ids),
        *(_backlog(client, i, LeadReferral.get_mail_backlog, gate) for i in lead_ids),
    )
    oldest = min((b.oldest_since for b in backlogs if b.oldest_since is not None), default=None)
    return Figures(
        open_cycles=len(cycle_ids),
        overdue_units=overdue,
        unsent_messages=sum(b.unsent for b in backlogs),
        oldest_unsent_age_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
        leads_past_stage_limit=await _count(client, f"{leads} AND {DUE_AT.name} < '{now.isoformat()}'"),
        cycles_failing_workflow_task=await _count(client, f"{cycles} AND TemporalReportedProblems IS NOT NULL"),
    )


class DubanGauges:
    """The gauges on a Temporal runtime's meter, refreshed from visibility and queries."""

    def __init__(self, meter: MetricMeter) -> None:
        self._open_cycles = meter.create_gauge("duban_open_cycles", "Reporting cycles running")
        self._overdue_units = meter.create_gauge(
            "duban_overdue_units", "Units past their deadline without a submission, over running cycles"
        )
        self._unsent = meter.create_gauge(
            "duban_unsent_messages", "Messages owed by running cycles and leads and not delivered yet"
        )
        self._oldest_unsent = meter.create_gauge_float(
            "duban_oldest_unsent_message_age_seconds", "How long the oldest undelivered message has waited", "s"
        )
        self._leads_late = meter.create_gauge(
            "duban_leads_past_stage_limit", "Running case leads with a stage past its time limit"
        )
        self._failing = meter.create_gauge(
            "duban_cycles_failing_workflow_task", "Running cycles whose workflow task keeps failing (frozen)"
        )

    def show(self, figures: Figures) -> None:
        self._open_cycles.set(figures.open_cycles)
        self._overdue_units.set(figures.overdue_units)
        self._unsent.set(figures.unsent_messages)
        self._oldest_unsent.set(figures.oldest_unsent_age_seconds)
        self._leads_late.set(figures.leads_past_stage_limit)
        self._failing.set(figures.cycles_failing_workflow_task)

    async def refresh(self, client: Client, now: dt.datetime) -> Figures:
        figures = await measure(client, now)
        self.show(figures)
        return figures

    async def keep_fresh(self, client: Client, every: float, clock: Callable[[], dt.datetime] | None = None) -> None:
        """Refresh until cancelled; a failed refresh keeps the last values and is tried again next time."""
        clock = clock or (lambda: dt.datetime.now(dt.UTC))
        while True:
            try:
                await self.refresh(client, clock())
            except Exception as error:  # the refresher must outlive any one bad answer; the next try may work
                log.warning("metrics refresh failed", error=str(error))
            await asyncio.sleep(every)
