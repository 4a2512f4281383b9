"""`duban calendar day|due|check`: working days, holidays and due moments as Chinese law counts them."""

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from activities.holidays import load_calendar, missing_year_warning
from console.output import bad_input, emit_json
from domain.legaltime.days import WEEKDAYS, day_info
from domain.legaltime.holidays import check_tz
from domain.legaltime.periods import compute_due
from schemas.calendar import DEFAULT_TZ, DueRule, HolidayCalendar, Roll, RuleKind
from workers.settings import load_settings

app = typer.Typer(help="Working days, holidays and due moments as Chinese law counts them.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]
TzOption = Annotated[str, typer.Option("--tz", help="The office's time zone.")]
CalendarsOption = Annotated[
    Path | None, typer.Option("--calendars", help="Folder of <year>.toml holiday overrides (default: calendars/).")
]


def _zone(tz: str) -> ZoneInfo:
    try:
        return check_tz(tz)
    except ValueError as exc:
        bad_input(str(exc))


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        bad_input(f"{text!r} is not a date (expected YYYY-MM-DD)")


def _parse_start(text: str) -> date | datetime:
    """A date, or a datetime (naive = the office's zone, or with an offset)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return _parse_date(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        bad_input(f"{text!r} is neither a date (YYYY-MM-DD) nor a datetime (YYYY-MM-DDTHH:MM[:SS][+08:00])")


def _parse_close(text: str | None) -> time | None:
    if text is None:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        bad_input(f"--close {text!r} is not a time of day (expected HH:MM, e.g. 17:30)")
    return time(int(match[1]), int(match[2]))


def _load(years: range, tz: str, calendars: Path | None) -> HolidayCalendar:
    try:
        return load_calendar(years, tz, calendars or load_settings().calendars_dir)
    except ValueError as exc:
        bad_input(str(exc))


def _years_for(start: date, kind: RuleKind, n: int) -> range:
    """The years a count may touch, with room to roll past a year-end holiday and count back."""
    if kind is RuleKind.MONTHS:
        reach = timedelta(days=31 * n + 31)
    elif kind is RuleKind.WORKING_DAYS:
        reach = timedelta(days=2 * n + 60)
    elif kind in (RuleKind.HOURS, RuleKind.MINUTES):
        reach = timedelta(days=n // 24 + 2)
    else:
        reach = timedelta(days=n + 60)
    return range(start.year - 1, (start + reach).year + 1)


@app.command()
def day(
    when: Annotated[str, typer.Argument(metavar="DATE", help="YYYY-MM-DD")],
    tz: TzOption = DEFAULT_TZ,
    calendars: CalendarsOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Is DATE a working day? Its holiday, whether a make-up working day (调休), whether provisional."""
    d = _parse_date(when)
    _zone(tz)
    info = day_info(d, _load(range(d.year, d.year + 1), tz, calendars))
    if as_json:
        emit_json(info)
        return
    kind = "working day" if info.working else "rest day"
    extras = [x for x in (info.holiday, "make-up working day 调休" if info.makeup else None) if x]
    if info.provisional:
        extras.append("provisional")
    suffix = f" ({', '.join(extras)})" if extras else ""
    typer.echo(f"{d.isoformat()} {WEEKDAYS[d.weekday()]}: {kind}{suffix}")


@app.command()
def due(
    start: Annotated[str, typer.Argument(metavar="START", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM[+08:00]")],
    days: Annotated[int | None, typer.Option("--days", help="N calendar days (Civil Code Arts. 201, 203).")] = None,
    working_days: Annotated[int | None, typer.Option("--working-days", help="N working days.")] = None,
    hours: Annotated[int | None, typer.Option("--hours", help="N hours from the exact moment.")] = None,
    minutes: Annotated[int | None, typer.Option("--minutes", help="N minutes from the exact moment.")] = None,
    months: Annotated[int | None, typer.Option("--months", help="N months (Civil Code Art. 202).")] = None,
    fixed: Annotated[bool, typer.Option("--fixed", help="START itself is the due date; --roll applies.")] = False,
    roll: Annotated[Roll, typer.Option("--roll", help="When the last day is a rest day.")] = Roll.NEXT,
    close: Annotated[str | None, typer.Option("--close", help="Close of business HH:MM (default 24:00).")] = None,
    tz: TzOption = DEFAULT_TZ,
    calendars: CalendarsOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The due moment of a period rule counted from START."""
    counts = {
        RuleKind.DAYS: days,
        RuleKind.WORKING_DAYS: working_days,
        RuleKind.HOURS: hours,
        RuleKind.MINUTES: minutes,
        RuleKind.MONTHS: months,
    }
    chosen: list[tuple[RuleKind, int]] = [(k, n) for k, n in counts.items() if n is not None]
    if fixed:
        chosen.append((RuleKind.FIXED, 0))
    if not chosen:
        bad_input("give one rule: --days, --working-days, --hours, --minutes, --months or --fixed")
    if len(chosen) > 1:
        bad_input("give only one rule, not " + " and ".join("--" + k.value.replace("_", "-") for k, _ in chosen))
    kind, n = chosen[0]
    if kind is not RuleKind.FIXED and n <= 0:
        bad_input(f"--{kind.value.replace('_', '-')} must be a positive number, not {n}")
    begin = _parse_start(start)
    zone = _zone(tz)
    rule = DueRule(kind=kind, n=n, roll=roll, close=_parse_close(close))
    first = begin if not isinstance(begin, datetime) else (begin.astimezone(zone) if begin.tzinfo else begin).date()
    try:
        years = _years_for(first, kind, n)
        result = compute_due(begin, rule, _load(years, tz, calendars))
    except (OverflowError, ValueError) as exc:
        bad_input(f"cannot count {n} {kind.value} from {start}: {exc}")
    payload: dict[str, Any] = {
        "due": result.at.astimezone(zone).isoformat(),
        "provisional": result.provisional,
        "rule": result.rule,
    }
    if as_json:
        emit_json(payload)
        return
    flag = " (provisional)" if result.provisional else ""
    # The JSON keys are the design's (scripts and tests pin them); a person also gets the Chinese.
    typer.echo(f"due {payload['due']}{flag}\n{result.rule}\n{result.rule_zh}")


@app.command()
def check(
    today: Annotated[str | None, typer.Option("--today", help="Pretend it is this date (YYYY-MM-DD).")] = None,
    tz: TzOption = DEFAULT_TZ,
    calendars: CalendarsOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Warn (from November on) when next year's holiday arrangement is not loaded yet."""
    zone = _zone(tz)
    d = _parse_date(today) if today else datetime.now(zone).date()
    try:
        warning = missing_year_warning(d, calendars or load_settings().calendars_dir)
    except ValueError as exc:
        bad_input(str(exc))
    if as_json:
        emit_json({"warning": warning})
        return
    typer.echo(f"warning: {warning}" if warning else f"holiday data for {d.year + 1} is loaded")
