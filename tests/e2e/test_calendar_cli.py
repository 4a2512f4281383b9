"""`duban calendar day|due|check` as an operator runs them: the installed command, in a subprocess."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DUBAN = Path(sys.executable).parent / "duban"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DUBAN), "calendar", *args], capture_output=True, text=True, timeout=60, check=False)


def ok_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class TestDay:
    def test_makeup_saturday_2017(self) -> None:
        """Exactly the design's keys; Saturday 2017-09-30 was a make-up working day."""
        assert ok_json("day", "2017-09-30") == {
            "date": "2017-09-30",
            "working": True,
            "holiday": None,
            "makeup": True,
            "provisional": False,
        }

    def test_national_day_2026(self) -> None:
        out = ok_json("day", "2026-10-05")
        assert out["working"] is False
        assert out["holiday"] == "国庆节"
        assert out["provisional"] is False

    def test_provisional_2027(self, tmp_path: Path) -> None:
        """With no 2027 data, Spring Festival's eve is a provisional holiday."""
        out = ok_json("day", "2027-02-05", "--calendars", str(tmp_path))
        assert out == {"date": "2027-02-05", "working": False, "holiday": "春节", "makeup": False, "provisional": True}

    def test_human_line(self) -> None:
        result = run("day", "2026-12-13")
        assert result.returncode == 0
        assert result.stdout.strip() == "2026-12-13 Sunday: rest day"


class TestDue:
    def test_dec13_rolls_to_monday(self) -> None:
        """The 2026 annual summary: Sunday Dec 13 rolls to Monday Dec 14, 24:00 printed as 23:59:59+08:00."""
        out = ok_json("due", "2026-12-13", "--fixed")
        assert set(out) == {"due", "provisional", "rule"}
        assert out["due"] == "2026-12-14T23:59:59+08:00"
        assert out["provisional"] is False
        assert "rolled to Monday 2026-12-14" in out["rule"]

    def test_dec13_without_roll(self) -> None:
        assert ok_json("due", "2026-12-13", "--fixed", "--roll", "none")["due"] == "2026-12-13T23:59:59+08:00"

    def test_working_days_over_national_day(self) -> None:
        out = ok_json("due", "2026-09-28", "--working-days", "5")
        assert out["due"] == "2026-10-10T23:59:59+08:00"
        assert "2026-10-01..2026-10-07" in out["rule"]

    @pytest.mark.parametrize(
        ("args", "due"),
        [
            (("2025-01-31", "--months", "1"), "2025-02-28T23:59:59+08:00"),
            (("2017-09-20", "--days", "10"), "2017-09-30T23:59:59+08:00"),
            (("2026-12-11T10:00", "--hours", "48"), "2026-12-13T10:00:00+08:00"),
            (("2026-12-11T10:00:00+00:00", "--minutes", "90"), "2026-12-11T19:30:00+08:00"),
            (("2026-12-13", "--fixed", "--close", "17:30"), "2026-12-14T17:30:00+08:00"),
            (("2026-12-13", "--fixed", "--roll", "previous"), "2026-12-11T23:59:59+08:00"),
        ],
    )
    def test_rules(self, args: tuple[str, ...], due: str) -> None:
        assert ok_json("due", *args)["due"] == due

    def test_other_zone(self) -> None:
        assert ok_json("due", "2026-12-13", "--fixed", "--tz", "Asia/Urumqi")["due"] == "2026-12-14T23:59:59+06:00"

    def test_provisional_2027(self, tmp_path: Path) -> None:
        out = ok_json("due", "2027-02-01", "--days", "4", "--calendars", str(tmp_path))
        assert out["due"] == "2027-02-09T23:59:59+08:00"
        assert out["provisional"] is True

    @pytest.mark.parametrize(
        ("args", "reason"),
        [
            (("2026-13-01", "--days", "1"), "not a date"),
            (("yesterday", "--days", "1"), "neither a date"),
            (("2026-12-01", "--days", "-1"), "positive"),
            (("2026-12-01", "--working-days", "0"), "positive"),
            (("2026-12-01", "--days", "1", "--hours", "2"), "only one rule"),
            (("2026-12-01", "--fixed", "--months", "2"), "only one rule"),
            (("2026-12-01",), "give one rule"),
            (("2026-12-01", "--days", "1", "--tz", "Mars/Olympus"), "unknown time zone"),
            (("2026-12-01", "--fixed", "--close", "25:00"), "--close"),
            (("2026-12-01", "--fixed", "--close", "5pm"), "--close"),
            (("9999-12-01", "--months", "5"), "cannot count"),
        ],
    )
    def test_bad_input_exits_2(self, args: tuple[str, ...], reason: str) -> None:
        """Bad input: exit 2, nothing on stdout, a one-line reason on stderr."""
        result = run("due", *args, "--json")
        assert result.returncode == 2
        assert result.stdout == ""
        assert reason in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    @pytest.mark.parametrize("args", [("2026-12-01", "--days", "abc"), ("2026-12-01", "--fixed", "--roll", "sideways")])
    def test_unparsable_option_exits_2(self, args: tuple[str, ...]) -> None:
        """Typer's own parse errors also exit 2."""
        assert run("due", *args).returncode == 2

    def test_bad_day_exits_2(self) -> None:
        result = run("day", "2026-02-30", "--json")
        assert result.returncode == 2
        assert "not a date" in result.stderr


class TestCheck:
    def test_warns_in_november_without_next_year(self, tmp_path: Path) -> None:
        out = ok_json("check", "--today", "2026-11-28", "--calendars", str(tmp_path))
        assert "2027" in out["warning"]

    def test_quiet_in_summer(self, tmp_path: Path) -> None:
        assert ok_json("check", "--today", "2026-06-01", "--calendars", str(tmp_path)) == {"warning": None}
