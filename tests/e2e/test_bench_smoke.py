"""The benchmark at tiny sizes: every scenario runs on the real stack and reports sane figures.

Not a speed test — only that `python -m bench` keeps working and that each
design delivered every message it should have.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The quick run starts a dozen worker processes and a PostgreSQL cluster: ~3 min idle, more when loaded.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(540)]

UNITS = 20


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--units", str(UNITS), "--out", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "### Goals (issue 9)" in done.stdout
    data: dict[str, Any] = json.loads(out.read_text())
    return data


class TestBenchSmoke:
    def test_every_scenario_is_reported(self, results: dict[str, Any]) -> None:
        """The JSON holds the fan-out row, the Maildir run, the cost paths and the national simulation."""
        assert {"machine", "fanout", "workers", "ledger", "maildir", "cost", "national", "board"} <= set(results)
        (row,) = results["fanout"]
        assert {"duban", "naive", "floor"} <= set(row)

    def test_both_designs_deliver_every_message_of_the_fan_out(self, results: dict[str, Any]) -> None:
        """Each design's notices, reminders and receipts all reached the sink, and the floor sent every notice."""
        (row,) = results["fanout"]
        for design in ("duban", "naive"):
            d = row[design]
            assert d["notices"] == d["reminders"] == d["receipts"] == UNITS, design
            assert d["fanout_s"] > 0 and d["complete_s"] >= d["fanout_s"]
            assert d["reminder_lateness_s"]["n"] == UNITS and d["reminder_lateness_s"]["p50"] > -1
            assert d["submissions"]["n"] == UNITS
            assert d["history_events_per_unit"] > 0 and d["sqlite_bytes_per_unit"] > 0
            assert d["worker_peak_mb"] > 10 and d["server_peak_mb"] > 10
        assert row["floor"]["delivered"] == UNITS and row["floor"]["send_s"] > 0
        assert row["duban"]["get_status_units"] == row["duban"]["units"] // row["duban"]["cycles"]
        assert row["duban"]["board_units"] == UNITS  # the whole board lists every unit of every cycle
        assert row["duban"]["probe_lateness_s"]["n"] == 3  # --quick times 3 single reminders
        assert "errors" not in results

    def test_one_and_two_worker_processes_share_the_ledger(self, results: dict[str, Any]) -> None:
        """Each ledger with 1 and 2 worker processes: every notice delivered; with two, each ran batches."""
        procs = results["workers"]
        rows = {(r["ledger"], r["processes"]): r for r in procs["rows"]}
        assert set(rows) == {("sqlite", 1), ("sqlite", 2), ("postgresql", 1), ("postgresql", 2)}
        for (_, n), r in rows.items():
            assert r["notices"] == procs["units"] and r["fanout_s"] > 0
            assert len(r["batches_by_worker"]) == len(r["worker_cpu_s"]) == n
            assert sum(r["batches_by_worker"]) >= r["cycles"] and all(c > 0 for c in r["worker_cpu_s"])
        ledger = results["ledger"]
        assert ledger["sqlite"]["per_message_ms"] > 0 and ledger["postgresql"]["per_message_ms"] > 0

    def test_maildir_sink_stores_every_notice(self, results: dict[str, Any]) -> None:
        """The Maildir variant wrote one file per notice."""
        md = results["maildir"]
        assert md["maildir_files"] == md["units"] and md["duban_fanout_s"] > 0

    def test_cost_paths_are_measured_for_both_designs(self, results: dict[str, Any]) -> None:
        """Normal and late path, duban and naive: histories counted, the late path sends more mail."""
        cost = results["cost"]
        assert cost["all_closed"]
        for design in ("duban", "naive"):
            normal, late = cost[f"{design}_normal"], cost[f"{design}_late"]
            assert 0 < normal["history_events_per_unit"] < late["history_events_per_unit"]
            assert 0 < normal["mails"] < late["mails"]

    def test_national_roll_up_reaches_the_top(self, results: dict[str, Any]) -> None:
        """Every cycle closed and the province received each city's roll-up."""
        nat = results["national"]
        assert nat["all_closed"] and nat["complete_s"] > 0
        got, total = (int(x) for x in nat["province_submitted"].split("/"))
        assert got == total > 0
        assert nat["submissions"]["n"] == nat["member_units"]

    def test_the_board_is_read_three_ways(self, results: dict[str, Any]) -> None:
        """Full statuses list every unit; the compact board and its page show each cycle's lights (all of
        them here: 40 units in cycles of 25, under the board's 100 a cycle)."""
        b = results["board"]
        assert (b["units"], b["cycles"], b["notices"]) == (40, 2, 40)
        assert b["full_status_units"] == b["board_units"] == b["board_page_units"] == 40
        for key in ("full_status_s", "board_s", "board_page_s"):
            assert b[key]["n"] == 3 and b[key]["p50"] > 0

    def test_the_cache_scenario_reads_worker_memory(self, results: dict[str, Any]) -> None:
        """Each cycle size has two memory readings of one worker, growing with the cycles it caches."""
        rows = results["cache"]
        assert [r["units"] for r in rows] == [10, 30]
        for r in rows:
            first, second = r["rss_mb"]
            assert r["idle_rss_mb"] > 10 and first > 10 and second > 10
            assert r["mb_per_cached_cycle"] == pytest.approx(
                (second - first) / (r["cycles"][1] - r["cycles"][0]), abs=0.06
            )
