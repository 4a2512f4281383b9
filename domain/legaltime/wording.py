"""The words of a deadline's explanation, in English and in Chinese.

Every fact the period and ladder code notes down is a `Note` with both languages, so
the two explanations come from one computation and cannot drift apart. English keeps
ISO dates (scripts and tests read it); Chinese is written the way a government
notice writes dates: 2026年12月14日（星期一）.
"""

import functools
from datetime import date, datetime, time
from typing import NamedTuple

import pendulum

ZH_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# The Civil Code articles the explanations cite, as a Chinese text cites them.
CIVIL_CODE_ZH = {201: "《民法典》第二百零一条", 202: "《民法典》第二百零二条", 203: "《民法典》第二百零三条"}


class Note(NamedTuple):
    """One fact of an explanation; an empty side means that language says nothing here."""

    en: str
    zh: str


def join_en(notes: list[Note]) -> str:
    return "; ".join(n.en for n in notes if n.en)


def join_zh(notes: list[Note], sep: str = "，") -> str:
    return sep.join(n.zh for n in notes if n.zh)


def zh_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def zh_weekday(d: date) -> str:
    return ZH_WEEKDAYS[d.weekday()]


def zh_day(d: date) -> str:
    """2026年12月14日（星期一）"""
    return f"{zh_date(d)}（{zh_weekday(d)}）"


def zh_clock(t: time) -> str:
    # A day "ending at 24:00" is stored as 23:59:59; Chinese notices write 24:00.
    return "24:00" if (t.hour, t.minute, t.second) == (23, 59, 59) else f"{t:%H:%M}"


def zh_moment(t: datetime) -> str:
    """2026年12月14日（星期一）24:00, for a local moment."""
    return f"{zh_day(t.date())}{zh_clock(t.time())}"


def zh_span(first: date, last: date) -> str:
    """2026年10月1日至7日; the year and month are not repeated when they do not change."""
    if first == last:
        return zh_date(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{zh_date(first)}至{last.day}日"
    if first.year == last.year:
        return f"{zh_date(first)}至{last.month}月{last.day}日"
    return f"{zh_date(first)}至{zh_date(last)}"


def zh_provisional(years: list[int]) -> str:
    """The warning a provisional deadline carries, naming the years whose arrangement is missing."""
    named = "、".join(f"{y}年" for y in sorted(years)) or "当年"
    return f"{named}放假安排尚未公布，暂按法定节假日推算，公布后将重新计算"


_HALVES = {"H1": "上半年", "H2": "下半年"}


def zh_period(label: str) -> str:
    """A period label as a Chinese reader says it: 2026-Y → 2026年度, 2026-H1 → 2026年上半年,
    2026-M03 → 2026年3月, a one-off cycle's 2026-1202T0930 → 2026年12月2日; anything else unchanged.

    The label itself (DubanPeriod, receipt numbers, `--period`) stays as it is: scripts match on it."""
    year, _, rest = label.partition("-")
    if not (year.isdigit() and len(year) == 4 and rest):
        return label
    if rest == "Y":
        return f"{year}年度"
    if rest in _HALVES:
        return f"{year}年{_HALVES[rest]}"
    if rest[:1] == "M" and rest[1:].isdigit() and 1 <= int(rest[1:]) <= 12:
        return f"{year}年{int(rest[1:])}月"
    if len(rest) == 9 and rest[4] == "T" and rest[:4].isdigit() and rest[5:].isdigit():
        try:
            return zh_date(date(int(year), int(rest[:2]), int(rest[2:4])))
        except ValueError:
            return label
    return label


def zh_titled(title: str, label: str) -> str:
    """A title with its period in brackets — 半年工作总结（2026年上半年）— unless the title says it already
    (2026年度工作总结 needs no （2026年度））."""
    period = zh_period(label) if label else ""
    return f"{title}（{period}）" if period and period not in title else title


__all__ = [
    "CIVIL_CODE_ZH",
    "ZH_WEEKDAYS",
    "Note",
    "join_en",
    "join_zh",
    "zh_clock",
    "zh_date",
    "zh_day",
    "zh_moment",
    "zh_period",
    "zh_provisional",
    "zh_span",
    "zh_titled",
    "zh_weekday",
]


# Cached: a mail batch renders the same (deadline, instant) for every unit that shares the deadline,
# three times per message (text, HTML, Markdown), and pendulum's humanizing costs ~0.1 ms a call.
@functools.lru_cache(maxsize=1024)
def relative_due(due_at: datetime, now: datetime, locale: str = "zh-CN") -> str:
    """How far a deadline is from `now`, in the largest whole unit: '3天后截止', '已逾期2天';
    in English 'due in 3 days', 'overdue by 2 days'.

    pendulum's humanized differences give the unit and the Chinese words (天, 小时, 分钟);
    `now` is a parameter (the mail's instant, the page's request), never read from a clock here.
    """
    due, then = pendulum.instance(due_at), pendulum.instance(now)
    english = locale.lower().startswith("en")
    lang = "en" if english else "zh"
    if due >= then:
        ahead = due.diff_for_humans(then, absolute=True, locale=lang)
        return f"due in {ahead}" if english else f"{ahead}后截止"
    late = then.diff_for_humans(due, absolute=True, locale=lang)
    return f"overdue by {late}" if english else f"已逾期{late}"
