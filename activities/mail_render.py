"""Rendering notifications into words: subject, plain text, HTML and (for group robots) Markdown.

Templates live in `activities/templates/<locale>/`: one file per `Template`
member defining the blocks `subject` and `body`, extending a per-format layout
(`_layout.txt.j2`, `_layout.html.j2`, `_layout.md.j2`) that prints what every
message carries — document number, deadline with weekday, how it was counted,
the unit's portal and calendar links, the contact person. The same template is
compiled twice: once with HTML autoescaping, once without, so text never picks
up entities and HTML never lets a unit name inject markup.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2 import Template as JinjaTemplate
from markupsafe import Markup, escape

from activities.portal_tokens import PortalTokens, office_of
from domain.lead_wording import stage_zh
from domain.legaltime.wording import relative_due, zh_period
from schemas.calendar import Due
from schemas.notify import MessageContext, Notification, Template

TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")

_ZH_WEEKDAYS = "一二三四五六日"
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def locale_of(requested: str) -> str:
    """The template locale for a requested one: English for any `en*`, otherwise Chinese."""
    return "en" if requested.lower().startswith("en") else DEFAULT_LOCALE


def local_moment(due: Due) -> datetime:
    return due.at.astimezone(ZoneInfo(due.tz))


def _clock(moment: datetime) -> str:
    # A deadline at the end of a day is stored as 23:59:59; offices write it as 24:00.
    if (moment.hour, moment.minute, moment.second) == (23, 59, 59):
        return "24:00"
    return f"{moment:%H:%M}"


def due_text_zh(due: Due) -> str:
    """E.g. `2026年12月14日（星期一）24:00`, in the due's own time zone."""
    m = local_moment(due)
    return f"{m.year}年{m.month}月{m.day}日（星期{_ZH_WEEKDAYS[m.weekday()]}）{_clock(m)}"


def due_text_en(due: Due) -> str:
    """E.g. `Monday, 14 December 2026, 24:00 (Asia/Shanghai)`."""
    m = local_moment(due)
    return f"{_EN_WEEKDAYS[m.weekday()]}, {m.day} {_EN_MONTHS[m.month - 1]} {m.year}, {_clock(m)} ({due.tz})"


def short_date(due: Due, locale: str) -> str:
    m = local_moment(due)
    if locale == "en":
        return f"{m.day} {_EN_MONTHS[m.month - 1][:3]}"
    return f"{m.month}月{m.day}日"


def _paragraphs(value: str) -> Markup:
    """Blank-line separated text → `<p>` elements; single newlines → `<br>`."""
    text = value if isinstance(value, Markup) else escape(value)
    parts = [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    return Markup("".join("<p>" + p.replace("\n", "<br>\n") + "</p>\n" for p in parts))  # noqa: S704 - escaped above


def _tidy(text: str) -> str:
    """Collapse the blank-line runs that conditional template blocks leave behind."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,  # noqa: S701 - the text/Markdown twin must not escape; HTML is autoescaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["paragraphs"] = _paragraphs
    env.filters["period_zh"] = zh_period  # 2026-Y → 2026年度 in Chinese mail; English keeps the label
    return env


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    markdown: str


@dataclass(frozen=True)
class Download:
    """A file the message links instead of attaching (over the attachment budget); no url: ask the office."""

    name: str
    size: int
    url: str | None

    @property
    def size_text(self) -> str:
        return f"{self.size / 1024 / 1024:.1f} MB"


@dataclass(frozen=True)
class Links:
    portal: str | None
    feed: str | None
    console: str | None = None  # the console's door, for calendar entries (no token)


class MailRenderer:
    """Renders one notification, or a digest of several for one recipient."""

    def __init__(self, links: PortalTokens | None) -> None:
        self.links = links
        self._text = _environment(autoescape=False)
        self._html = _environment(autoescape=True)

    def links_for(self, context: MessageContext) -> Links:
        """The unit's signed portal and feed links, when the message asks for them and we can sign."""
        if not context.portal_link or self.links is None or not context.unit_id:
            return Links(portal=None, feed=None)
        scope = context.cycle_id or context.lead_id
        portal = self.links.portal_link(scope, context.unit_id) if scope else None
        # A unit is (office, unit): the feed needs the office, which a cycle's id names.
        office = office_of(context.cycle_id)
        feed = self.links.feed_link(office, context.unit_id) if office else None
        return Links(portal=portal, feed=feed, console=self.links.console_link)

    def _variables(self, locale: str, notification: Notification, now: datetime | None = None) -> dict[str, Any]:
        context = notification.context
        links = self.links_for(context)
        when: Callable[[Due], str] = due_text_en if locale == "en" else due_text_zh
        # '3天后截止' / '已逾期2天', counted from the batch's instant so a retried send says the same.
        countdown = None if now is None else (lambda due: relative_due(due.at, now, locale))
        return {
            "n": notification,
            "c": context,
            "what": topic(context),
            "to": notification.to,
            "when": when,
            "countdown": countdown,
            "short": lambda due: short_date(due, locale),
            # A lead's stage travels as its code (sign, file…); people read it as the decree words it.
            "stage_name": (context.stage if locale == "en" else stage_zh(context.stage)) if context.stage else "",
            "portal_url": links.portal,
            "feed_url": links.feed,
            "digest_items": [],
            "downloads": [],
        }

    def _render(self, name: str, locale: str, variables: dict[str, Any]) -> Rendered:
        text_tmpl = self._text.get_template(f"{locale}/{name}.j2")
        html_tmpl = self._html.get_template(f"{locale}/{name}.j2")
        subject = " ".join(_block(text_tmpl, "subject", variables).split())
        common = {**variables, "subject": subject}
        return Rendered(
            subject=subject,
            text=_tidy(text_tmpl.render(**common, layout=f"{locale}/_layout.txt.j2")),
            html=html_tmpl.render(**common, layout=f"{locale}/_layout.html.j2"),
            markdown=_tidy(text_tmpl.render(**common, layout=f"{locale}/_layout.md.j2")),
        )

    def render(
        self, notification: Notification, now: datetime | None = None, downloads: Sequence[Download] = ()
    ) -> Rendered:
        """The message; with `now` (the batch's instant) its deadline also says how far off it is;
        `downloads`: its files that are linked rather than attached."""
        locale = locale_of(notification.locale)
        variables = self._variables(locale, notification, now)
        variables["downloads"] = list(downloads)
        return self._render(notification.template.value, locale, variables)

    def render_digest(self, members: list[Notification], now: datetime | None = None) -> Rendered:
        """One message listing several notifications for the same recipient (e.g. a leader, many late units)."""
        first = members[0]
        locale = locale_of(first.locale)
        items = []
        for member in members:
            single = self._variables(locale, member, now)
            text_tmpl = self._text.get_template(f"{locale}/{member.template.value}.j2")
            items.append(
                {
                    "subject": " ".join(_block(text_tmpl, "subject", single).split()),
                    "c": member.context,
                    "template": member.template,
                    "portal_url": single["portal_url"],
                }
            )
        # The shared facts (document, contact, office) come from the first member; deadlines are per item.
        shared = first.context.model_copy(
            update={"due": None, "previous_due": None, "portal_link": False, "late_units": [], "missing_units": []}
        )
        variables = self._variables(locale, first.model_copy(update={"context": shared}), now)
        variables["digest_items"] = items
        return self._render("digest", locale, variables)


def topic(context: MessageContext) -> str:
    """What the message is about, in the fewest words the context offers."""
    return context.obligation_title or context.document.title or context.lead_title or context.period


def _block(template: JinjaTemplate, name: str, variables: dict[str, Any]) -> str:
    context = template.new_context({**variables, "layout": "", "subject": ""})
    return "".join(template.blocks[name](context))


__all__ = ["DEFAULT_LOCALE", "LOCALES", "MailRenderer", "Rendered", "Template", "due_text_en", "due_text_zh", "topic"]
