"""The demo campaign on the real embedded stack, driven only through the `duban` command."""

import json
import mailbox
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack

REPO = Path(__file__).resolve().parents[2]


def _notices(maildir: Path) -> list[str]:
    if not (maildir / "new").exists():
        return []
    out = []
    for msg in mailbox.Maildir(maildir, create=False):
        parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
        if parsed["X-Duban-Template"] == "notice":
            out.append(str(parsed["To"]))
    return out


def _wait(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


@pytest.mark.e2e
def test_demo_campaign_sends_notices_and_takes_a_submission(stack: RunningStack, tmp_path: Path) -> None:
    """`duban campaign start` opens the demo cycle: every unit's notice lands in the Maildir, a CLI
    submission turns the unit green, and the cycle is listed by plain Temporal visibility."""
    started = stack.duban("campaign", "start", str(REPO / "examples" / "demo.yaml"), "--json")
    assert started.returncode == 0, started.stderr
    result = json.loads(started.stdout)
    (cycle,) = result["cycles"]
    assert cycle["state"] == "started" and result["schedules"] == []

    _wait(lambda: len(_notices(stack.config.maildir)) >= 4)
    assert sorted(a.split("<")[-1].rstrip(">") for a in _notices(stack.config.maildir)) == [
        "gaj@yaan.example",
        "hg@yaan.example",
        "mingshan@yaan.example",
        "scjgj@yaan.example",
    ]

    report = tmp_path / "总结.txt"
    report.write_text("市公安局专项行动工作总结", encoding="utf-8")
    sub = stack.duban(
        "submit",
        "--cycle",
        cycle["cycle_id"],
        "--unit",
        "yaan-gaj",
        "--file",
        str(report),
        "--title",
        "工作总结",
        "--json",
    )
    assert sub.returncode == 0, sub.stderr
    assert json.loads(sub.stdout)["receipt_no"]

    status = stack.duban("status", "demo", "--json")
    assert status.returncode == 0, status.stderr
    board = json.loads(status.stdout)
    rows = (
        {r["unit_id"]: r for s in board for r in s["units"]}
        if isinstance(board, list)
        else {r["unit_id"]: r for s in board["cycles"] for r in s["units"]}
    )
    assert rows["yaan-gaj"]["light"] == "green"
    assert rows["yaan-hg"]["light"] in ("yellow", "blue")

    wrong = stack.duban("submit", "--cycle", cycle["cycle_id"], "--unit", "nobody", "--file", str(report), "--json")
    assert wrong.returncode == 2 and "unknown unit" in wrong.stderr

    listed = stack.temporal(
        "workflow", "list", "--query", "DubanPendingUnits = 'yaan-hg' AND DubanCampaign = 'demo'", "-o", "json"
    )
    assert cycle["cycle_id"] in listed.stdout
