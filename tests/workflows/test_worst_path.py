"""The worst path, at a size CI affords, on a dev server of its own (bench.worst_path runs the largest office).

Every unit late, the three escalation rungs with a bulletin to every unit at one instant, two
late reports per unit, returns, extensions, a roll-up and supplements, a continue-as-new in the
middle (the server suggests it after 150 events): the cycle completes, every run's history stays
under Temporal's 10 MB warning level and no event over its 512 KB payload warning level.
Takes about three minutes (the plan's deadlines are in minutes).
"""

import socket
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bench.worst_path import HISTORY_WARN, PAYLOAD_WARN, run_worst_path
from tests.conftest import duban_search_attribute_keys
from workers.binaries import bundled_binary
from workers.searchattrs import server_limit_args
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.smtp_sink import SmtpSink
from workers.temporal import data_converter

UNITS = 40


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(600)
async def test_the_worst_path_completes_within_temporal_limits(settings: Settings, tmp_path: Path) -> None:
    """40 units through the worst path: completed, continued as new at least once, histories and events bounded."""
    sink = SmtpSink("127.0.0.1", _port(), tmp_path / "mail")
    sink.start()
    try:
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(bundled_binary("temporal")),
            data_converter=data_converter(settings),
            search_attributes=duban_search_attribute_keys(),
            ip="127.0.0.1",
            ui=False,
            dev_server_log_level="error",
            dev_server_extra_args=[
                *server_limit_args(),
                "--dynamic-config-value",
                "limit.historyCount.suggestContinueAsNew=150",
            ],
        ) as env:
            run_settings = settings.model_copy(
                update={
                    "smtp": SmtpSettings(host=sink.host, port=sink.port),
                    "temporal": TemporalSettings(task_queue="worst-path-test"),
                }
            )
            outcome = await run_worst_path(env.client, run_settings, UNITS)
    finally:
        sink.stop()
    print(f"worst path, {UNITS} units: {outcome}")
    assert outcome.status == "COMPLETED"
    assert outcome.runs >= 2, "no continue-as-new happened"
    assert max(outcome.history_bytes) < HISTORY_WARN
    assert outcome.largest_event_bytes < PAYLOAD_WARN
    delivered = list(sink.maildir.joinpath("new").iterdir())
    assert len(delivered) >= UNITS  # at least every unit's notice went out
