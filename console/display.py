"""How moments read on every surface (CLI, web pages, the ledger): minutes, in the office's zone."""

import datetime as dt
from zoneinfo import ZoneInfo


def local(at: dt.datetime | None, tz: str = "Asia/Shanghai") -> str:
    """A moment as the office reads it; "—" when there is none."""
    if at is None:
        return "—"
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
