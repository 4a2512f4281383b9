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
from console.web.lead_portal import portal_page_context
from console.web.lead_views import lead_page_context
from domain.lead_policies import default_policies
from domain.lead_stages import LeadBook
from schemas.calendar import HolidayCalendar
from schemas.cycle import NewCalendar
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    DecideLeadExtension,
    Decision,
    GiveFeedback,
    HandOver,
    Involve,
    LeadStatus,
    RequestLeadExtension,
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
# English stage and policy codes, and the English words the old texts used around them.
ENGLISH = re.compile(
    r"\b("
    + "|".join([s.value for s in StageName] + [re.escape(p.name) for p in default_policies()])
    + r"|signed for|working days?|not done in time|recorded|late)\b",
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
    # 延期申请: asked, refused, asked again and granted (the clock moves); the unit's links revoked.
    "extended": [
        lambda b, t: b.apply_request_extension(RequestLeadExtension(unit_id=SCJ, days=1, reason="核实中"), t),
        lambda b, t: b.apply_decide_extension(
            DecideLeadExtension(unit_id=SCJ, approve=False, reason="时限足够", by="办公室"), t
        ),
        lambda b, t: b.apply_request_extension(RequestLeadExtension(unit_id=SCJ, days=1, reason="仍需核实"), t),
        lambda b, t: b.apply_decide_extension(DecideLeadExtension(unit_id=SCJ, approve=True, by="办公室"), t),
        lambda b, t: b.apply_revoke_links(SCJ, "办公室", "链接外泄", t),
        lambda b, t: b.apply_sign_for(SignFor(unit_id=SCJ), t),
        lambda b, t: b.apply_decide(Decide(unit_id=SCJ, decision=Decision.OPEN), t),
        lambda b, t: b.apply_request_extension(
            RequestLeadExtension(unit_id=SCJ, stage=StageName.CLOSE, days=10, reason="案情复杂"), t
        ),
    ],
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
    assert {m.context.stage_event for m in mails} >= {
        "opened",
        "reminder",
        "missed",
        "done",
        "moved",
        "extension_requested",
        "extension_granted",
        "extension_refused",
    }


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
    granted = renderer.render(next(m for m in walked["extended"][0] if m.context.stage_event == "extension_granted"))
    assert granted.subject.startswith("【线索同意延期】") and "由 2026年12月2日" in granted.text
    assert "延至 2026年12月3日" in granted.text


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
        page = env.get_template("lead.html").render(
            lead_url="/leads/x", **lead_page_context(state, None, may_act=True), **chrome
        )
        assert not english_in(page), (state.stage, english_in(page))
    # The closed police path shows its words: stage, decision, end state.
    police_done = walked["police-refused-then-filed"][1][-1]
    page = env.get_template("lead.html").render(
        lead_url="/leads/x", **lead_page_context(police_done, None, may_act=True), **chrome
    )
    for words in ("立案审查", "提请复议", "复议决定", "材料移交", "移送审批", "已立案，材料已移交"):
        assert words in page


def test_no_english_stage_name_on_any_portal_page(
    walked: dict[str, tuple[list[Notification], list[LeadStatus]]], console: Console
) -> None:
    """The agency's own page (lead_portal.html) for every unit of every state, and a revoked link's page."""
    env = console.templates.env
    chrome = {"user": None, "csrf": "", "flash": None, "dev": False, "request": None, "receipt": None, "error": None}
    seen = 0
    for _, states in walked.values():
        for state in states:
            for unit in state.units:
                page = env.get_template("lead_portal.html").render(
                    **portal_page_context(unit, state, None, "token"), **chrome
                )
                assert not english_in(page), (state.stage, unit, english_in(page))
                seen += 1
    assert seen > 50
    # The extension's words on the agency's page: the form while signing is open, the decision after it.
    first, *_, granted = walked["extended"][1][:6]
    asking = env.get_template("lead_portal.html").render(**portal_page_context(SCJ, first, None, "t"), **chrome)
    assert "申请延期 · 签收" in asking and "个工作日" in asking
    done = env.get_template("lead_portal.html").render(**portal_page_context(SCJ, granted, None, "t"), **chrome)
    assert "办公室已同意延期 1个工作日" in done and "撤销专用链接" in done
    refused = env.get_template("portal_error.html").render(
        reason="此线索专用链接已被办公室撤销，不能再查看或办理该线索。", detail="this link was revoked", **chrome
    )
    assert refused.index("已被办公室撤销") < refused.index("this link was revoked")
