"""Chinese everywhere a person reads a lead: every lead mail and console page, through every stage.

The stage books are driven through every path (between agencies, to the police,
declined and reconsidered, transferred, missed and escalated, involved early);
every notification they queue is rendered by the real mail renderer and every
state rendered by the console's own page templates. No English stage code may
show — the codes stay only where machines read them (JSON, search attributes).
"""

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from activities.mail_render import MailRenderer
from activities.portal_tokens import PortalTokens
from console.web.context import Console
from domain.lead_stages import LeadBook
from schemas.calendar import HolidayCalendar
from schemas.cycle import NewCalendar
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    Decision,
    GiveFeedback,
    HandOver,
    Involve,
    LeadStatus,
    RequestReconsideration,
    SignFor,
    StageName,
    Transfer,
)
from schemas.notify import Notification
from tests.lead_support import AGRICULTURE, MARKET, POLICE, PROCURATORATE, lead_input
from workers.settings import Settings

SH = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
# English stage codes, and the English words the old texts used around them.
ENGLISH = re.compile(
    r"\b(" + "|".join(s.value for s in StageName) + r"|signed for|working days?|not done in time|recorded|late)\b",
    re.IGNORECASE,
)
URL = re.compile(r"https?://\S+")


def english_in(text: str) -> list[str]:
    """English stage words in what a person reads (links and tags left out)."""
    visible = re.sub(r"<[^>]+>", " ", URL.sub(" ", text))
    return ENGLISH.findall(visible)


Step = Callable[[LeadBook, dt.datetime], object]


def at(hours: float) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


def run(steps: list[Step]) -> tuple[list[Notification], list[LeadStatus]]:
    """Drive one lead through `steps` one hour apart; every notification and every state on the way."""
    book = LeadBook(lead_input(START, receivers=[MARKET]))
    book.start()
    mails: list[Notification] = []
    states: list[LeadStatus] = [book.status(START)]
    for i, step in enumerate(steps):
        now = at(i + 1)
        step(book, now)
        book.fire_due(now)
        mails.extend(book.take_outbox())
        states.append(book.status(now))
    return mails, states


SCJ = "yaan-scj"


def holiday_on_sign_due(book: LeadBook) -> HolidayCalendar:
    day = book.records[0].due.astimezone(SH).date()
    cal = book.spec.calendar.model_copy(deep=True)
    cal.years[day.year].holidays[day] = "测试假日"
    return cal


PATHS: dict[str, list[Step]] = {
    "opened-and-closed": [
        lambda b, t: b.apply_sign_for(SignFor(unit_id=SCJ), t),
        lambda b, t: b.apply_decide(Decide(unit_id=SCJ, decision=Decision.OPEN), t),
        lambda b, t: b.apply_give_feedback(GiveFeedback(unit_id=SCJ, text="已查扣"), t),
        lambda b, t: b.apply_close(CloseLead(unit_id=SCJ, result="罚款结案"), t),
    ],
    "police-refused-then-filed": [
        lambda b, t: b.apply_sign_for(SignFor(unit_id=SCJ), t),
        lambda b, t: b.apply_involve(Involve(unit=PROCURATORATE), t),
        lambda b, t: b.apply_decide(Decide(unit_id=SCJ, decision=Decision.POLICE, to=POLICE, reason="涉嫌犯罪"), t),
        lambda b, t: b.apply_approve(Approve(unit_id=SCJ), t),
        lambda b, t: b.apply_transfer(Transfer(unit_id=SCJ), t),
        lambda b, t: b.apply_decide(Decide(unit_id="yaan-gaj", decision=Decision.DECLINE, reason="证据不足"), t),
        lambda b, t: b.apply_request_reconsideration(RequestReconsideration(unit_id=SCJ, reason="补充证据"), t),
        lambda b, t: b.apply_decide(Decide(unit_id="yaan-gaj", decision=Decision.OPEN), t),
        lambda b, t: b.apply_hand_over(HandOver(unit_id=SCJ), t),
    ],
    "declined-between-agencies": [
        lambda b, t: b.apply_sign_for(SignFor(unit_id=SCJ), t),
        lambda b, t: b.apply_decide(Decide(unit_id=SCJ, decision=Decision.DECLINE, reason="不属管辖"), t),
        lambda b, t: b.apply_request_reconsideration(RequestReconsideration(unit_id="yaan-hg", reason="属于"), t),
        lambda b, t: b.apply_decide(Decide(unit_id=SCJ, decision=Decision.DECLINE, reason="维持"), t),
    ],
    "transferred": [
        lambda b, t: b.apply_sign_for(SignFor(unit_id=SCJ), t),
        lambda b, t: b.apply_decide(Decide(unit_id=SCJ, decision=Decision.TRANSFER, to=AGRICULTURE), t),
    ],
    # The year's holiday notice makes the sign-for due day a rest day: the limit moves.
    "moved": [lambda b, t: b.apply_update_calendar(NewCalendar(calendar=holiday_on_sign_due(b)), t)],
    # Nobody acts for a month: reminders, due moments and every escalation rung fire.
    "missed": [lambda b, t: None, lambda b, t: b.fire_due(t + dt.timedelta(days=30))],
}


@pytest.fixture(scope="module")
def walked() -> dict[str, tuple[list[Notification], list[LeadStatus]]]:
    return {name: run(steps) for name, steps in PATHS.items()}


def test_the_paths_pass_every_stage_and_event(walked: dict[str, tuple[list[Notification], list[LeadStatus]]]) -> None:
    """The walk is complete: mail for every stage, and opened/reminder/missed/done mail among them."""
    mails = [m for ms, _ in walked.values() for m in ms]
    assert {m.context.stage for m in mails} >= {s.value for s in StageName}
    assert {m.context.stage_event for m in mails} >= {"opened", "reminder", "missed", "done", "moved"}


def test_no_english_stage_name_in_any_lead_mail(
    walked: dict[str, tuple[list[Notification], list[LeadStatus]]],
) -> None:
    """Subject, text, HTML and Markdown of every lead mail name stages as the decree does."""
    renderer = MailRenderer(PortalTokens("test-secret", "http://127.0.0.1:8000"))
    seen = 0
    for mails, _ in walked.values():
        for mail in mails:
            out = renderer.render(mail, mail.context.due.at if mail.context.due else None)
            for part in (out.subject, out.text, out.html, out.markdown):
                assert not english_in(part), (mail.key, part)
            seen += 1
    assert seen > 40
    # The words themselves, on the first sign mail: the stage and the rule in Chinese.
    first = renderer.render(walked["missed"][0][0])
    assert first.subject.endswith("·签收")
    assert "计算方式：自2026年12月1日起（当日不计入）计1个工作日" in first.text
    assert "24:00 前\n计算方式" in first.text
    moved = renderer.render(next(m for m in walked["moved"][0] if m.context.stage_event == "moved"))
    assert moved.subject.startswith("【线索时限调整】") and "签收阶段的时限由 2026年12月2日" in moved.text


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return Console(Settings(data_dir=tmp_path_factory.mktemp("var")))


def test_no_english_stage_name_on_any_lead_page(
    walked: dict[str, tuple[list[Notification], list[LeadStatus]]], console: Console
) -> None:
    """The console's lead list and lead page, rendered for every state of every path."""
    env = console.templates.env
    chrome = {"user": None, "csrf": "", "flash": None, "dev": False, "request": None}
    every_state = [s for _, states in walked.values() for s in states]
    listing = env.get_template("leads.html").render(leads=every_state, campaign="", **chrome)
    assert not english_in(listing)
    for state in every_state:
        page = env.get_template("lead.html").render(lead=state, **chrome)
        assert not english_in(page), (state.stage, english_in(page))
    # The closed police path shows its words: stage, decision, end state.
    police_done = walked["police-refused-then-filed"][1][-1]
    page = env.get_template("lead.html").render(lead=police_done, **chrome)
    for words in ("立案审查", "提请复议", "复议决定", "材料移交", "移送审批", "已立案，材料已移交"):
        assert words in page
