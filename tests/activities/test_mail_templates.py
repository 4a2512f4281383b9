"""The templates: every kind renders in both locales and prints the facts a unit needs."""

import re
from datetime import UTC, date, datetime

import pytest

from activities.holidays import load_calendar
from activities.mail_render import LOCALES, MailRenderer, due_text_en, due_text_zh, locale_of
from activities.portal_tokens import PortalTokens
from domain.legaltime.periods import compute_due
from schemas.calendar import Due, DueRule, RuleKind
from schemas.notify import Template, UnitLine
from tests.activities.mail_helpers import CONTACT, DUE, context, note


@pytest.fixture
def renderer() -> MailRenderer:
    return MailRenderer(PortalTokens("test-secret", "http://127.0.0.1:8000"))


class TestDueText:
    def test_end_of_day_is_written_24_00_with_weekday(self) -> None:
        """23:59:59 in the office's zone is printed as 24:00 of that day, with the weekday."""
        assert due_text_zh(DUE) == "2026年12月14日（星期一）24:00"
        assert due_text_en(DUE) == "Monday, 14 December 2026, 24:00 (Asia/Shanghai)"

    def test_uses_the_due_time_zone(self) -> None:
        """The same instant reads as a different local day in another zone."""
        at = datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
        assert due_text_zh(Due(at=at, rule="")) == "2026年10月1日（星期四）09:30"
        assert due_text_zh(Due(at=at, tz="America/New_York", rule="")) == "2026年9月30日（星期三）21:30"

    def test_close_of_business(self) -> None:
        """A 17:30 close stays 17:30."""
        assert (
            due_text_zh(Due(at=datetime(2026, 12, 18, 9, 30, tzinfo=UTC), rule="")) == "2026年12月18日（星期五）17:30"
        )

    def test_locale_choice(self) -> None:
        """Any en* locale is English; anything else falls back to Chinese."""
        assert locale_of("en-GB") == "en"
        assert locale_of("zh-CN") == "zh-CN"
        assert locale_of("fr") == "zh-CN"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", list(Template))
def test_every_template_renders_the_facts(renderer: MailRenderer, template: Template, locale: str) -> None:
    """Each kind names the document, the deadline, the rule when provisional, the portal link and the contact."""
    n = note(f"k/{template.value}", template=template, locale=locale)
    out = renderer.render(n)
    assert out.subject.strip()
    assert "\n" not in out.subject
    for body in (out.text, out.html):
        assert "雅打假办发〔2017〕2号" in body
        assert ("2026年12月14日（星期一）24:00" if locale == "zh-CN" else "Monday, 14 December 2026, 24:00") in body
        assert DUE.rule in body
        assert CONTACT.name in body
        assert "http://127.0.0.1:8000/portal/" in body
        assert "http://127.0.0.1:8000/feed/" in body
    assert out.html.lstrip().startswith("<!DOCTYPE html>")
    assert "{{" not in out.text
    assert "{%" not in out.text
    assert "雅打假办发〔2017〕2号" in out.markdown


def test_provisional_is_explained_only_when_provisional(renderer: MailRenderer) -> None:
    """A final deadline carries no provisional warning."""
    final = DUE.model_copy(update={"provisional": False})
    assert "暂定" in renderer.render(note("k/1")).text
    assert "暂定" not in renderer.render(note("k/2", context=context(due=final))).text


def test_no_portal_link_unless_asked(renderer: MailRenderer) -> None:
    """portal_link=False (e.g. a leader's escalation) prints no signed link."""
    out = renderer.render(note("k/1", template=Template.ESCALATION, context=context(portal_link=False)))
    assert "/portal/" not in out.text
    assert "/feed/" not in out.text


def test_portal_link_opens_for_the_unit(renderer: MailRenderer) -> None:
    """The printed portal link is signed for this cycle and unit (each link carries its own issue time)."""
    assert renderer.links is not None
    printed = re.findall(r"http://127\.0\.0\.1:8000/portal/([\w.-]+)", renderer.render(note("k/1")).text)
    assert printed
    for token in printed:
        grant = renderer.links.read_portal(token)
        assert (grant.cycle_id, grant.unit_id) == ("cycle:yaan-2026:yaan:annual:2026-Y", "yaan-gaj")


def test_html_escapes_unit_names(renderer: MailRenderer) -> None:
    """A unit name with markup is text in HTML, and untouched in plain text."""
    late = [UnitLine(unit_id="u", unit_name="<script>x</script>")]
    out = renderer.render(
        note("k/1", template=Template.BULLETIN, context=context(unit_name="<b>甲</b>", late_units=late))
    )
    assert "<script>" not in out.html
    assert "&lt;script&gt;" in out.html
    assert "<script>x</script>" in out.text


def test_extension_granted_and_refused(renderer: MailRenderer) -> None:
    """The extension notice says granted (old → new) when the deadline moved, refused otherwise."""
    later = DUE.model_copy(update={"at": datetime(2026, 12, 21, 15, 59, 59, tzinfo=UTC)})
    granted = renderer.render(
        note("k/1", template=Template.EXTENSION_DECIDED, context=context(due=later, previous_due=DUE))
    )
    refused = renderer.render(note("k/2", template=Template.EXTENSION_DECIDED, context=context(previous_due=DUE)))
    assert "同意延期" in granted.subject
    assert "2026年12月21日（星期一）24:00" in granted.text
    assert "未同意" in refused.subject


def test_chinese_notice_explains_the_count_in_chinese(renderer: MailRenderer) -> None:
    """A zh-CN notice prints rule_zh under 计算方式; an English one keeps the English rule."""
    due = compute_due(date(2026, 12, 13), DueRule(kind=RuleKind.FIXED), load_calendar([2026]))
    zh = renderer.render(note("k/zh", context=context(due=due)))
    for body in (zh.text, zh.html):
        assert "2026年12月13日为星期日，依《民法典》第二百零三条顺延至2026年12月14日（星期一）24:00" in body
        assert due.rule not in body
    assert "计算方式：规定截止日2026年12月13日为星期日" in zh.text
    en = renderer.render(note("k/en", locale="en", context=context(due=due)))
    assert due.rule in en.text
    assert due.rule_zh not in en.text


def test_history_without_rule_zh_falls_back_to_the_english_rule(renderer: MailRenderer) -> None:
    """A Due recorded before rule_zh existed still shows how it was counted."""
    old = Due.model_validate({"at": "2026-12-14T15:59:59Z", "rule": "fixed due date Monday 2026-12-14"})
    assert old.rule_zh == ""
    assert "计算方式：fixed due date Monday 2026-12-14" in renderer.render(note("k/old", context=context(due=old))).text


class TestCountdown:
    @pytest.mark.parametrize(
        ("instant", "zh", "en"),
        [
            (datetime(2026, 12, 11, 8, 0, tzinfo=UTC), "（3天后截止）", "(due in 3 days)"),
            (datetime(2026, 12, 14, 10, 59, 59, tzinfo=UTC), "（5小时后截止）", "(due in 5 hours)"),
            (datetime(2026, 12, 16, 17, 0, tzinfo=UTC), "（已逾期2天）", "(overdue by 2 days)"),
        ],
    )
    def test_the_deadline_says_how_far_off_it_is_from_the_batch_instant(
        self, renderer: MailRenderer, instant: datetime, zh: str, en: str
    ) -> None:
        """Due 2026-12-14 24:00 Shanghai (15:59:59 UTC): text, HTML and Markdown count from the mail's instant."""
        for locale, words in (("zh-CN", zh), ("en", en)):
            out = renderer.render(note("k/reminder", template=Template.REMINDER, locale=locale), instant)
            for body in (out.text, out.html, out.markdown):
                assert words in body, (locale, body)

    def test_without_an_instant_there_is_no_countdown(self, renderer: MailRenderer) -> None:
        """Rendered outside a batch (previews), the deadline stands alone."""
        out = renderer.render(note("k/reminder", template=Template.REMINDER))
        assert "截止）" not in out.text and "逾期" not in out.text.split("截止时间：", 1)[1].splitlines()[0]


# The kinds whose body names the period.
PERIOD_TEMPLATES = {
    "bulletin", "deadline_moved", "due_today", "escalation", "notice",
    "office_reminder", "overdue", "receipt", "reminder", "rollup",
}  # fmt: skip


@pytest.mark.parametrize("template", [t for t in Template if t is not Template.LEAD_STAGE])
def test_chinese_mail_says_the_period_in_chinese(renderer: MailRenderer, template: Template) -> None:
    """A Chinese reader sees 2026年上半年, never the label 2026-H1; the English mail keeps the label (issue 19)."""
    ctx = context(period="2026-H1", obligation_title="半年工作总结")
    zh = renderer.render(note(f"p/{template.value}", template=template, context=ctx))
    en = renderer.render(note(f"p/{template.value}", template=template, context=ctx, locale="en"))
    for text in (zh.subject, zh.text, zh.html):
        assert "2026-H1" not in text.replace("cycle:yaan-2026:yaan:annual:2026-Y", "")
    if template.value in PERIOD_TEMPLATES:
        assert "2026年上半年" in zh.text and "2026-H1" in en.text
