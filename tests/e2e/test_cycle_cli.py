"""The operator's cycle commands (`duban status|unit show|submit|extend|waive|return|...`) as a user
runs them: the installed command in a subprocess, against a live dev server, worker and SMTP sink."""

import asyncio
import datetime as dt
import getpass
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from activities.portal_tokens import REVOKED, PortalTokens, TokenError, check_not_revoked
from console import client_calls as calls
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from workers.objects import blob_store

DUBAN = Path(sys.executable).parent / "duban"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


async def duban(stack: CycleStack, *args: str) -> Run:
    # A subprocess that does not block the loop: the in-test worker must keep answering meanwhile.
    proc = await asyncio.create_subprocess_exec(
        str(DUBAN), *args, env=stack.env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def row(board: dict[str, Any], unit_id: str) -> dict[str, Any]:
    return next(r for r in board["units"] if r["unit_id"] == unit_id)


class TestCycleCommands:
    async def test_board_submit_waive_extend_return(self, cycle_stack: CycleStack, tmp_path: Path) -> None:
        """The full office round: board, a submission with a receipt, a waiver, an extension, a return."""
        handle = await cycle_stack.open_cycle("round")
        cid = handle.id

        boards = (await duban(cycle_stack, "status", cycle_stack.campaign, "--json")).json()["cycles"]
        board = next(b for b in boards if b["cycle_id"] == cid)
        assert board["counts"]["total"] == 3
        assert {r["light"] for r in board["units"]} == {"blue"}

        report = tmp_path / "年度总结.txt"
        report.write_text("全年共开展检查 12 次。", encoding="utf-8")
        receipt = (
            await duban(cycle_stack, "submit", "--cycle", cid, "--unit", "unit-a", "--file", str(report), "--json")
        ).json()
        assert receipt["receipt_no"].endswith("-unit-a-0001")
        assert receipt["late"] is False

        waived = (
            await duban(
                cycle_stack,
                "waive",
                "--cycle",
                cid,
                "--unit",
                "unit-b",
                "--reason",
                "本期无相关工作",
                "--by",
                "张三",
                "--json",
            )
        ).json()
        assert "waived" in waived["message"]

        extended = await duban(
            cycle_stack,
            "extend",
            "--cycle",
            cid,
            "--unit",
            "unit-c",
            "--to",
            "2099-01-05",
            "--reason",
            "材料待盖章",
            "--json",
        )
        assert extended.code == 0, extended.err

        board = (await duban(cycle_stack, "status", cycle_stack.campaign, "--json")).json()["cycles"]
        board = next(b for b in board if b["cycle_id"] == cid)
        assert row(board, "unit-a")["light"] == "green"
        assert row(board, "unit-b")["light"] == "grey"
        assert row(board, "unit-c")["due"]["at"].startswith("2099-01-05")
        assert board["counts"]["submitted"] == 1
        assert board["counts"]["waived"] == 1

        unit = (await duban(cycle_stack, "unit", "show", "unit-a", "--cycle", cid, "--json")).json()
        view = unit["cycles"][0]
        assert [s["attachments"][0]["name"] for s in view["state"]["submissions"]] == ["年度总结.txt"]
        stored = blob_store(cycle_stack.settings)
        ref = calls.BlobRef.model_validate(view["state"]["submissions"][0]["attachments"][0])
        assert await stored.get(ref) == report.read_bytes()
        # Sealed on disk with the stack's payload key: the report's text is not in the file.
        assert report.read_bytes() not in (cycle_stack.settings.blob_dir / ref.sha256[:2] / ref.sha256).read_bytes()

        returned = await duban(
            cycle_stack,
            "return",
            "--cycle",
            cid,
            "--unit",
            "unit-a",
            "--reason",
            "缺少数据表",
            "--due",
            "2099-02-01",
            "--json",
        )
        assert returned.code == 0, returned.err
        view = (await duban(cycle_stack, "unit", "show", "unit-a", "--json")).json()["cycles"]
        assert [v["row"]["phase"] for v in view if v["cycle_id"] == cid] == ["returned"]

        # The human board prints the counts and the unit names in colour-coded rows.
        human = await duban(cycle_stack, "status", cycle_stack.campaign)
        assert human.code == 0, human.err
        assert "甲单位" in human.out
        assert "免报" in human.out

    async def test_refusals_exit_2_and_change_nothing(self, cycle_stack: CycleStack, tmp_path: Path) -> None:
        """A validator's rejection, an unknown unit or cycle, a bad date or file: exit 2 with the reason."""
        handle = await cycle_stack.open_cycle("refusals")
        cid = handle.id
        ok = await duban(cycle_stack, "waive", "--cycle", cid, "--unit", "unit-a", "--reason", "x", "--json")
        assert ok.code == 0, ok.err

        again = await duban(cycle_stack, "waive", "--cycle", cid, "--unit", "unit-a", "--reason", "x")
        assert again.code == 2
        assert "already waived" in again.err

        unknown = await duban(cycle_stack, "waive", "--cycle", cid, "--unit", "nobody", "--reason", "x")
        assert unknown.code == 2
        assert "unknown unit" in unknown.err

        no_cycle = await duban(cycle_stack, "unit", "show", "unit-a", "--cycle", "cycle:none:x:y:2026-Y")
        assert no_cycle.code == 2

        bad_date = await duban(cycle_stack, "extend", "--cycle", cid, "--unit", "unit-b", "--to", "next week")
        assert bad_date.code == 2
        assert "not a date" in bad_date.err

        earlier = await duban(cycle_stack, "extend", "--cycle", cid, "--unit", "unit-b", "--to", "2000-01-01")
        assert earlier.code == 2
        assert "must be after" in earlier.err

        exe = tmp_path / "report.exe"
        exe.write_bytes(b"MZ\x90\x00")
        refused = await duban(cycle_stack, "submit", "--cycle", cid, "--unit", "unit-b", "--file", str(exe))
        assert refused.code == 2
        assert "not accepted" in refused.err
        fake_pdf = tmp_path / "report.pdf"
        fake_pdf.write_bytes(b"<html>not a pdf</html>")
        refused = await duban(cycle_stack, "submit", "--cycle", cid, "--unit", "unit-b", "--file", str(fake_pdf))
        assert refused.code == 2
        assert "not a .pdf" in refused.err

        status = await calls.cycle_status(cycle_stack.client, cid)
        b = next(r for r in status.units if r.unit_id == "unit-b")
        assert b.phase.value == "pending"
        assert b.reports == 0
        for refused_file in (exe, fake_pdf):
            digest = hashlib.sha256(refused_file.read_bytes()).hexdigest()
            assert not (cycle_stack.settings.blob_dir / digest[:2] / digest).exists()

    async def test_overdue_unit_is_red_and_extension_refusal(self, cycle_stack: CycleStack) -> None:
        """A cycle opened in the past shows its units red; refusing a request nobody made exits 2."""
        handle = await cycle_stack.open_cycle("late", opened_days_ago=10, due_days=2)
        board = await calls.cycle_status(cycle_stack.client, handle.id)
        assert {r.light.value for r in board.units} == {"red"}
        assert board.counts["overdue"] == 3
        refuse = await duban(
            cycle_stack, "extension", "refuse", "--cycle", handle.id, "--unit", "unit-a", "--reason", "不予延期"
        )
        assert refuse.code == 2
        assert "no extension request" in refuse.err

    async def test_forward_then_close(self, cycle_stack: CycleStack) -> None:
        """Forward and close go through Updates too; a closed cycle refuses further calls."""
        handle = await cycle_stack.open_cycle("closing", units={"unit-a": "甲单位"})
        fwd = await duban(cycle_stack, "forward", "--cycle", handle.id, "--json")
        assert fwd.code == 0, fwd.err
        closed = await duban(cycle_stack, "close", "--cycle", handle.id, "--reason", "测试结束", "--json")
        assert closed.code == 0, closed.err
        result = await asyncio.wait_for(handle.result(), timeout=20)
        assert result.stage.value == "closed"
        after = await duban(cycle_stack, "waive", "--cycle", handle.id, "--unit", "unit-a", "--reason", "x")
        assert after.code == 2


class TestLinkCommands:
    async def test_link_new_and_revoke(self, cycle_stack: CycleStack) -> None:
        """`link new` prints the unit's links; `link revoke` records who and why, refuses every link made
        before it and prints new ones that open; unknown units, unknown and ended cycles exit 2."""
        handle = await cycle_stack.open_cycle("links", units={"unit-a": "甲单位", "unit-b": "乙单位"})
        cid = handle.id
        s = cycle_stack.settings
        tokens = PortalTokens(s.secret_key.get_secret_value(), s.public_url, s.portal_token_days)

        def grants(printed: dict[str, str]):  # type: ignore[no-untyped-def]
            portal = tokens.read_portal(printed["portal_link"].rsplit("/portal/", 1)[1])
            feed = tokens.read_feed(printed["feed_link"].rsplit("/feed/", 1)[1].removesuffix(".ics"))
            assert (portal.unit_id, portal.cycle_id, feed.unit_id) == ("unit-a", cid, "unit-a")
            return portal, feed

        made = (await duban(cycle_stack, "link", "new", "--cycle", cid, "--unit", "unit-a", "--json")).json()
        assert made["links_valid_from"] is None
        old = grants(made)

        revoked = (
            await duban(
                cycle_stack,
                "link",
                "revoke",
                *("--cycle", cid, "--unit", "unit-a", "--reason", "通知被转发到外部群", "--by", "张三", "--json"),
            )
        ).json()
        valid_from = dt.datetime.fromisoformat(revoked["links_valid_from"])
        for grant in old:
            with pytest.raises(TokenError, match=REVOKED):
                check_not_revoked(grant, valid_from)
        for grant in grants(revoked):
            check_not_revoked(grant, valid_from)

        view = (await duban(cycle_stack, "unit", "show", "unit-a", "--cycle", cid, "--json")).json()["cycles"][0]
        assert dt.datetime.fromisoformat(view["state"]["links_valid_from"]) == valid_from
        entry = view["state"]["timeline"][-1]
        assert (entry["what"], entry["by"], entry["detail"]) == ("links_revoked", "张三", "通知被转发到外部群")
        assert dt.datetime.fromisoformat(entry["at"]) == valid_from
        human = await duban(cycle_stack, "unit", "show", "unit-a", "--cycle", cid)
        assert "撤销报送链接" in human.out and "张三" in human.out  # the code stays in --json; people read words

        # Without --by the operator's login name is recorded; the human output prints both links.
        plain = await duban(cycle_stack, "link", "revoke", "--cycle", cid, "--unit", "unit-b")
        assert plain.code == 0, plain.err
        assert "/portal/" in plain.out and "/feed/" in plain.out and ".ics" in plain.out
        b = await calls.unit_view(cycle_stack.client, cid, "unit-b")
        assert b.state.timeline[-1].what == "links_revoked" and b.state.timeline[-1].by == getpass.getuser()

        before = await calls.unit_view(cycle_stack.client, cid, "unit-a")
        unknown = await duban(cycle_stack, "link", "revoke", "--cycle", cid, "--unit", "nobody", "--by", "张三")
        assert unknown.code == 2 and "unknown unit 'nobody'" in unknown.err
        assert len(unknown.err.strip().splitlines()) == 1
        no_unit = await duban(cycle_stack, "link", "new", "--cycle", cid, "--unit", "nobody")
        assert no_unit.code == 2 and "unknown unit" in no_unit.err and "/portal/" not in no_unit.out
        no_cycle = await duban(cycle_stack, "link", "new", "--cycle", "cycle:none:x:y:2026-Y", "--unit", "unit-a")
        assert no_cycle.code == 2 and "cycle:none" in no_cycle.err
        after = await calls.unit_view(cycle_stack.client, cid, "unit-a")
        assert after.state == before.state

        # Once the cycle's workflow has ended nothing can be recorded in it: said so, exit 2.
        closed = await duban(cycle_stack, "close", "--cycle", cid, "--reason", "测试结束", "--json")
        assert closed.code == 0, closed.err
        await asyncio.wait_for(handle.result(), timeout=20)
        ended = await duban(cycle_stack, "link", "revoke", "--cycle", cid, "--unit", "unit-a")
        assert ended.code == 2 and "has ended" in ended.err and "DUBAN_PORTAL_TOKEN_DAYS" in ended.err
        assert len(ended.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "data", "ok"),
    [
        ("a.pdf", b"%PDF-1.7 ...", True),
        ("../../etc/passwd.txt", "内容".encode(), True),
        ("x.docx", b"PK\x03\x04rest", True),
        ("x.docx", b"%PDF-", False),
        ("x.exe", b"MZ", False),
        ("noext", b"abc", False),
        ("empty.txt", b"", False),
    ],
)
def test_upload_checks(name: str, data: bytes, ok: bool) -> None:
    """Type by extension and by content; path parts stripped from hostile names."""
    if ok:
        clean, _ = calls.check_upload(name, data, 1024)
        assert "/" not in clean
        assert not clean.startswith(".")
    else:
        with pytest.raises(calls.Rejected):
            calls.check_upload(name, data, 1024)


def test_upload_size_limit() -> None:
    with pytest.raises(calls.Rejected, match="over the limit"):
        calls.check_upload("big.txt", b"a" * 2000, 1024)
