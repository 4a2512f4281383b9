"""Pictures for people who would rather look than read: inline SVG, drawn on the server, no script.

- `ontime_chart`: per unit (or office), the share of its obligations reported on time, late, missed.
- `yearly_chart`: per unit, its on-time rate in each year side by side (year over year).
- `cycle_timeline`: per unit, a line from opening to deadline with its events on it.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

from schemas.cycle import UnitView
from schemas.info import StatsRow
from schemas.stats import Tally

GREEN, YELLOW, RED, GREY, BLUE = "#2e9d57", "#e0a800", "#d23c3c", "#9aa0a6", "#3b73c4"


def ontime_chart(records: Sequence[tuple[str, Tally]], label: str = "各单位按时报送率") -> Markup:
    """Horizontal stacked bars: on time (green), late (yellow), missed (red) per named tally."""
    label_w, bar_w, row_h = 180, 420, 26
    height = row_h * len(records) + 34
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {label_w + bar_w + 70} {height}"'
        f' width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (name, rec) in enumerate(records):
        y = 8 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="13">{escape(name)}</text>')
        x = float(label_w)
        total = rec.counted
        if total == 0:
            parts.append(f'<text x="{label_w}" y="{y + 15}" font-size="12" fill="{GREY}">尚无到期周期</text>')
            continue
        for n, colour, word in (
            (rec.on_time, GREEN, "按时"),
            (rec.late, YELLOW, "逾期报送"),
            (rec.missed, RED, "未报"),
        ):
            if n:
                w = bar_w * n / total
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"'
                    f' data-what="{word}" data-n="{n}"><title>{escape(name)} {word} {n}</title></rect>'
                )
                x += w
        rate = f"{100 * (rec.rate or 0):.0f}%"
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}" font-size="13">{rate}</text>')
    legend_y = height - 8
    for j, (colour, word) in enumerate(((GREEN, "按时"), (YELLOW, "逾期报送"), (RED, "未报"))):
        lx = label_w + j * 110
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{legend_y}" font-size="12">{word}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text piece above went through escape()


# One colour per year, oldest palest: a unit's bars read left to right as the years go by.
YEAR_COLOURS = ("#b9cbe8", "#8fb0dc", "#6593cf", BLUE, "#2a5599", "#1b3c70")


def yearly_chart(rows: Sequence[tuple[str, dict[int, Tally]]], years: Sequence[int]) -> Markup:
    """Year over year: per unit one bar per year, its length the on-time rate (no bar: nothing due that year)."""
    if not rows or not years:
        return Markup("")
    label_w, plot_w, bar_h, gap = 180, 420, 10, 8
    row_h = bar_h * len(years) + gap
    height = row_h * len(rows) + 34
    shown = list(years)[-len(YEAR_COLOURS) :]  # the latest years, when more than there are colours
    parts = [
        f'<svg class="chart yearly" role="img" aria-label="各单位逐年按时报送率"'
        f' viewBox="0 0 {label_w + plot_w + 70} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (name, by_year) in enumerate(rows):
        y0 = 6 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + row_h / 2:.0f}" text-anchor="end" font-size="13">{escape(name)}</text>'
        )
        for j, year in enumerate(shown):
            tally = by_year.get(year)
            if tally is None or tally.rate is None:
                continue
            y = y0 + j * bar_h
            colour = YEAR_COLOURS[len(YEAR_COLOURS) - len(shown) + j]
            w = max(plot_w * tally.rate, 1.0)
            pct = f"{100 * tally.rate:.0f}%"
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colour}"'
                f' data-year="{year}" data-rate="{tally.rate}"><title>{escape(name)} {year}年 {pct}</title></rect>'
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" font-size="9">{pct}</text>'
            )
    legend_y = height - 8
    for j, year in enumerate(shown):
        lx = label_w + j * 70
        colour = YEAR_COLOURS[len(YEAR_COLOURS) - len(shown) + j]
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{legend_y}" font-size="12">{year}年</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text piece above went through escape()


@dataclass
class Mark:
    at: dt.datetime
    colour: str
    label: str


@dataclass
class Lane:
    name: str
    start: dt.datetime
    due: dt.datetime
    marks: list[Mark] = field(default_factory=list)


def _colour(what: str) -> str:
    if what.startswith("submitted"):
        return GREEN
    if what.startswith(("remind", "due_today")):
        return YELLOW
    if what.startswith(("overdue", "escalat")):
        return RED
    if what.startswith(("extension", "deadline_moved", "returned")):
        return BLUE
    return GREY


def lanes(views: Sequence[UnitView], opened: dt.datetime) -> list[Lane]:
    out = []
    for v in views:
        lane = Lane(v.unit.name, opened, v.row.due.at)
        for entry in v.state.timeline:
            lane.marks.append(Mark(entry.at, _colour(entry.what), f"{entry.what} {entry.detail}".strip()))
        for at, step in v.upcoming:
            lane.marks.append(Mark(at, "none", f"待办 {step}"))
        out.append(lane)
    return out


def cycle_timeline(lanes_: Sequence[Lane], now: dt.datetime) -> Markup:
    """One row per unit: the span to its deadline, a red tick at the deadline, dots for events
    (green submitted, yellow reminders, red overdue/escalation, blue extensions, hollow = upcoming)."""
    if not lanes_:
        return Markup("")
    moments = [now] + [lane.start for lane in lanes_] + [lane.due for lane in lanes_]
    moments += [m.at for lane in lanes_ for m in lane.marks]
    t0, t1 = min(moments), max(moments)
    span = max((t1 - t0).total_seconds(), 3600.0)
    label_w, plot_w, row_h = 160, 560, 24
    height = row_h * len(lanes_) + 40

    def x(at: dt.datetime) -> float:
        return label_w + plot_w * (at - t0).total_seconds() / span

    parts = [
        f'<svg class="chart" role="img" aria-label="报送时间线" viewBox="0 0 {label_w + plot_w + 20} {height}"'
        f' width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, lane in enumerate(lanes_):
        y = 12 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 4}" text-anchor="end" font-size="12">{escape(lane.name)}</text>')
        parts.append(
            f'<line x1="{x(lane.start):.1f}" y1="{y}" x2="{x(lane.due):.1f}" y2="{y}" stroke="#c8ccd2" '
            f'stroke-width="6" stroke-linecap="round"/>'
        )
        parts.append(
            f'<line x1="{x(lane.due):.1f}" y1="{y - 8}" x2="{x(lane.due):.1f}" y2="{y + 8}" stroke="{RED}" '
            f'stroke-width="2"><title>截止</title></line>'
        )
        for m in lane.marks:
            fill = m.colour if m.colour != "none" else "white"
            stroke = m.colour if m.colour != "none" else "#555"
            parts.append(
                f'<circle cx="{x(m.at):.1f}" cy="{y}" r="5" fill="{fill}" stroke="{stroke}">'
                f"<title>{escape(m.label)}</title></circle>"
            )
    nx = x(now)
    parts.append(
        f'<line x1="{nx:.1f}" y1="2" x2="{nx:.1f}" y2="{height - 22}" stroke="#333" stroke-dasharray="3 3"/>'
        f'<text x="{nx:.1f}" y="{height - 8}" text-anchor="middle" font-size="11">现在</text>'
    )
    fmt = "%m-%d %H:%M" if span < 3 * 86400 else "%Y-%m-%d"
    for at, anchor in ((t0, "start"), (t1, "end")):
        parts.append(
            f'<text x="{x(at):.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="11">'
            f"{at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime(fmt)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text piece above went through escape()


def adoption_chart(rows: Sequence[StatsRow]) -> Markup:
    """Per unit: items sent (blue bar) and adopted (green bar over it), with the adoption rate (及时报送)."""
    label_w, bar_w, row_h = 180, 420, 26
    height = row_h * len(rows) + 34
    most = max((r.sent for r in rows), default=0) or 1
    parts = [
        f'<svg class="chart adoption" role="img" aria-label="各单位信息报送采用情况"'
        f' viewBox="0 0 {label_w + bar_w + 110} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, row in enumerate(rows):
        y = 8 + i * row_h
        name = escape(row.unit_name)
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="13">{name}</text>')
        for n, colour, word in ((row.sent, BLUE, "报送"), (row.adopted, GREEN, "采用")):
            if n:
                parts.append(
                    f'<rect x="{label_w}" y="{y}" width="{bar_w * n / most:.1f}" height="{row_h - 8}"'
                    f' fill="{colour}" data-unit="{escape(row.unit_id)}" data-what="{word}" data-n="{n}">'
                    f"<title>{name} {word} {n}</title></rect>"
                )
        rate = "—" if row.rate is None else f"{100 * row.rate:.0f}%"
        parts.append(
            f'<text x="{label_w + bar_w + 6}" y="{y + 15}" font-size="13">{row.adopted}/{row.sent} {rate}</text>'
        )
    legend_y = height - 8
    for j, (colour, word) in enumerate(((BLUE, "报送"), (GREEN, "采用"))):
        lx = label_w + j * 110
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{legend_y}" font-size="12">{word}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text piece above went through escape()
