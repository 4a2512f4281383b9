"""send_batch against a real aiosmtpd sink: decoding, idempotency, outages, refusals, digests, expiry."""

import email
import hashlib
import mailbox
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy

import icalendar
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities, digest_key
from activities.mail_render import Rendered
from activities.mime import Envelope, build_message, message_id
from activities.sent_ledger import SentLedger
from schemas.notify import BatchResult, DeliveryStatus, MailBatch, Template, UnitLine
from tests.activities.mail_helpers import DEFERRED_ADDRESS, DUE, REFUSED_ADDRESS, batch, context, note
from workers.dev.smtp_sink import SmtpSink


async def send(mailer: MailActivities, b: MailBatch) -> BatchResult:
    result: BatchResult = await ActivityEnvironment().run(mailer.send_batch, b)
    return result


def stored(sink: SmtpSink) -> list[EmailMessage]:
    """Every message in the sink's Maildir, parsed back with the modern email policy."""
    box = mailbox.Maildir(sink.maildir, create=False)
    messages = []
    for key in sorted(box.iterkeys()):
        with box.get_file(key) as fh:
            parsed = email.message_from_binary_file(fh, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def message_ids(sink: SmtpSink) -> list[str]:
    return sorted(str(m["Message-ID"]) for m in stored(sink))


class TestDecoding:
    async def test_chinese_subject_and_body_decode_exactly(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """Subject, names and bodies come back character for character through Python's email parser."""
        # No signed links here: their tokens carry a timestamp, which would differ in the re-render below.
        notice = note("c1/notice/yaan-gaj", context=context(portal_link=False))
        sent = batch(notice)
        result = await send(mailer, sent)

        assert [d.status for d in result.deliveries] == [DeliveryStatus.SENT]
        [msg] = stored(sink)
        # The countdown is counted from the batch's instant, so the same instant renders the same words.
        rendered = mailer.renderer.render(notice, sent.instant)
        assert msg["Subject"] == rendered.subject
        assert "2026年度工作总结" in msg["Subject"]
        assert msg["To"].addresses[0].display_name == "张三"
        assert msg["From"].addresses[0].display_name == "督办 duban"
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        assert text is not None
        assert html is not None
        assert text.get_content() == rendered.text
        assert html.get_content() == rendered.html
        assert "雅打假办发〔2017〕2号" in text.get_content()
        assert "2026年12月14日（星期一）24:00 前" in text.get_content()
        assert "李明" in text.get_content()

    async def test_wire_format_is_rfc2047_multipart_alternative_base64(
        self, mailer: MailActivities, sink: SmtpSink
    ) -> None:
        """Headers are ASCII encoded-words; text and HTML are base64 alternatives in UTF-8."""
        await send(mailer, batch(note("c1/notice/yaan-gaj")))
        box = mailbox.Maildir(sink.maildir, create=False)
        [raw] = [box.get_bytes(k) for k in list(box.iterkeys())]
        head = raw.split(b"\n\n", 1)[0]
        head.decode("ascii")  # every header byte is ASCII: no reader needs SMTPUTF8
        assert b"Subject: =?utf-8?b?" in head
        [msg] = stored(sink)
        assert msg.get_content_type() == "multipart/alternative"
        parts = list(msg.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
        for part in parts:
            assert part["Content-Transfer-Encoding"] == "base64"
            assert part.get_content_charset() == "utf-8"

    async def test_message_id_is_derived_from_the_key(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """The Message-ID is sha256(key)[:32]@duban, the same on every attempt."""
        await send(mailer, batch(note("c1/notice/yaan-gaj")))
        expected = "<" + hashlib.sha256(b"c1/notice/yaan-gaj").hexdigest()[:32] + "@duban>"
        assert message_id("c1/notice/yaan-gaj") == expected
        assert message_ids(sink) == [expected]

    async def test_english_locale(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """locale='en' uses the English templates and English date format."""
        await send(mailer, batch(note("c1/notice/en", locale="en")))
        [msg] = stored(sink)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        assert "Monday, 14 December 2026, 24:00" in body.get_content()
        assert "雅打假办发〔2017〕2号" in body.get_content()


class TestInvite:
    async def test_ics_parses_with_stable_uid_and_alarm(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """The .ics attachment has UID scope/unit@duban, DTSTART at the due moment and a VALARM a day before."""
        await send(mailer, batch(note("c1/notice/yaan-gaj", invite=True)))
        [msg] = stored(sink)
        assert msg.get_content_type() == "multipart/mixed"
        [ics_part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
        assert ics_part.get_param("method") == "PUBLISH"
        cal = icalendar.Calendar.from_ical(ics_part.get_content())
        [event] = cal.walk("VEVENT")
        assert str(event["UID"]) == "cycle:yaan-2026:yaan:annual:2026-Y/yaan-gaj@duban"
        assert event.decoded("DTSTART") == DUE.at
        [alarm] = event.walk("VALARM")
        assert alarm.decoded("TRIGGER") == -timedelta(days=1)
        # The text alternatives are still there alongside the invite.
        assert msg.get_body(preferencelist=("plain",)) is not None

    async def test_moved_deadline_keeps_the_uid(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """A later message for the same unit with a new deadline carries the same UID and a higher SEQUENCE."""
        first = batch(note("c1/notice/yaan-gaj", invite=True), instant=datetime(2026, 12, 1, tzinfo=UTC))
        moved_due = DUE.model_copy(update={"at": DUE.at + timedelta(days=2), "provisional": False})
        second = batch(
            note(
                "c1/moved/yaan-gaj",
                template=Template.DEADLINE_MOVED,
                invite=True,
                context=context(due=moved_due, previous_due=DUE),
            ),
            instant=datetime(2026, 12, 3, tzinfo=UTC),
        )
        await send(mailer, first)
        await send(mailer, second)
        events = []
        for msg in stored(sink):
            [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
            events.extend(icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT"))
        events.sort(key=lambda e: e.decoded("SEQUENCE"))
        assert {str(e["UID"]) for e in events} == {"cycle:yaan-2026:yaan:annual:2026-Y/yaan-gaj@duban"}
        assert [e.decoded("DTSTART") for e in events] == [DUE.at, moved_due.at]
        assert events[0].decoded("SEQUENCE") < events[1].decoded("SEQUENCE")

    async def test_blob_attachment(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """A blob reference becomes an attachment with its (Chinese) file name and exact bytes."""
        data = "附件内容".encode() * 100
        ref = await mailer.blobs.put(
            data, "汇总表.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        await send(mailer, batch(note("c1/rollup/upper", template=Template.ROLLUP, attachments=[ref])))
        [msg] = stored(sink)
        [part] = list(msg.iter_attachments())
        assert part.get_filename() == "汇总表.xlsx"
        assert part.get_content() == data


class TestIdempotency:
    async def test_retried_batch_sends_each_key_once(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """Running the same batch twice sends nothing the second time and reports ALREADY_SENT."""
        b = batch(note("k/a", "a@yaan.example"), note("k/b", "b@yaan.example"))
        first = await send(mailer, b)
        second = await send(mailer, b)
        assert [d.status for d in first.deliveries] == [DeliveryStatus.SENT] * 2
        assert [d.status for d in second.deliveries] == [DeliveryStatus.ALREADY_SENT] * 2
        assert message_ids(sink) == sorted([message_id("k/a"), message_id("k/b")])

    async def test_rerun_after_crash_uses_the_ledger_file(
        self, mailer: MailActivities, sink: SmtpSink, ledger: SentLedger
    ) -> None:
        """A new process (fresh MailActivities on the same ledger file) sends only what the crashed one did not."""
        await send(mailer, batch(note("k/a", "a@yaan.example")))
        # The "crashed" attempt had delivered k/a; the rerun gets the whole batch again.
        reborn = MailActivities(mailer.smtp, SentLedger(ledger.path), mailer.blobs, None)
        rerun = batch(note("k/a", "a@yaan.example"), note("k/b", "b@yaan.example"))
        result = await send(reborn, rerun)
        assert {d.key: d.status for d in result.deliveries} == {
            "k/a": DeliveryStatus.ALREADY_SENT,
            "k/b": DeliveryStatus.SENT,
        }
        assert message_ids(sink) == sorted([message_id("k/a"), message_id("k/b")])
        assert {e.key for e in ledger.entries("cycle:yaan-2026:yaan:annual:2026-Y")} == {"k/a", "k/b"}


class TestOutage:
    async def test_sink_down_raises_retryable(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """With the server stopped the activity raises a retryable error and records nothing."""
        sink.stop()
        with pytest.raises(ApplicationError) as caught:
            await send(mailer, batch(note("k/a", "a@yaan.example")))
        assert not caught.value.non_retryable
        assert caught.value.type == "SmtpUnavailable"
        assert mailer.ledger.sent_keys(["k/a"]) == set()

    async def test_after_restart_everything_arrives_exactly_once(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """Outage mid-batch (a 450 deferral), then the server recovers: every key ends up delivered once."""
        b = batch(
            note("k/a", "a@yaan.example"),
            note("k/deferred", DEFERRED_ADDRESS),
            note("k/c", "c@yaan.example"),
        )
        with pytest.raises(ApplicationError) as caught:
            await send(mailer, b)
        assert not caught.value.non_retryable
        assert "450" in str(caught.value)
        assert message_ids(sink) == sorted([message_id("k/a"), message_id("k/c")])

        # The server goes down completely, then comes back without the deferral.
        sink.stop()
        with pytest.raises(ApplicationError):
            await send(mailer, b)
        sink.handler.defer.clear()
        sink.start()
        result = await send(mailer, b)
        assert {d.key: d.status for d in result.deliveries} == {
            "k/a": DeliveryStatus.ALREADY_SENT,
            "k/deferred": DeliveryStatus.SENT,
            "k/c": DeliveryStatus.ALREADY_SENT,
        }
        assert message_ids(sink) == sorted(message_id(k) for k in ("k/a", "k/deferred", "k/c"))


class TestRefusals:
    async def test_refused_recipient_is_reported_others_arrive(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """A 550 on RCPT makes that delivery REFUSED; the rest of the batch is delivered."""
        b = batch(note("k/a", "a@yaan.example"), note("k/bad", REFUSED_ADDRESS), note("k/c", "c@yaan.example"))
        result = await send(mailer, b)
        statuses = {d.key: d.status for d in result.deliveries}
        assert statuses == {"k/a": DeliveryStatus.SENT, "k/bad": DeliveryStatus.REFUSED, "k/c": DeliveryStatus.SENT}
        assert [d.key for d in result.refused] == ["k/bad"]
        assert "550" in result.refused[0].detail
        assert message_ids(sink) == sorted([message_id("k/a"), message_id("k/c")])
        # A refusal is final: it is not in the ledger, but neither is it retried by raising.
        assert mailer.ledger.sent_keys(["k/bad"]) == set()

    async def test_person_without_address(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """Nobody to reach: NO_ADDRESS, nothing sent."""
        result = await send(mailer, batch(note("k/none", None)))
        assert [d.status for d in result.deliveries] == [DeliveryStatus.NO_ADDRESS]
        assert stored(sink) == []

    async def test_line_break_in_a_name_is_refused_not_turned_into_headers(
        self, mailer: MailActivities, sink: SmtpSink
    ) -> None:
        """A name carrying CR/LF (header injection) is REFUSED; the message is not sent, the others are."""
        evil = note("k/evil", "e@yaan.example", name="张三\r\nBcc: spy@elsewhere.example")
        result = await send(mailer, batch(evil, note("k/ok", "ok@yaan.example")))
        statuses = {d.key: d.status for d in result.deliveries}
        assert statuses == {"k/evil": DeliveryStatus.REFUSED, "k/ok": DeliveryStatus.SENT}
        assert "CR or LF" in result.refused[0].detail
        [msg] = stored(sink)
        assert msg["Bcc"] is None and message_ids(sink) == [message_id("k/ok")]

    def test_line_break_in_a_subject_or_header_is_refused(self) -> None:
        """The MIME builder refuses a header value with a line break rather than emit it."""
        sender, to = Address("督办", addr_spec="duban@yaan.example"), Address("张三", addr_spec="z@yaan.example")
        for subject, headers in (("通知\r\nBcc: spy@elsewhere.example", {}), ("通知", {"X-Duban-Scope": "a\nb"})):
            envelope = Envelope(sender=sender, to=to, key="k", date=datetime.now(UTC), headers=headers)
            with pytest.raises(ValueError, match="line break"):
                build_message(envelope, Rendered(subject=subject, text="正文", html="<p>正文</p>", markdown="正文"))


class TestDigest:
    async def test_leader_gets_one_message_listing_the_late_units(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """Three escalations for one leader plus a receipt to someone else → two messages, digest lists all three."""
        units = [("yaan-gaj", "雅安市公安局"), ("yaan-scj", "雅安市市场监管局"), ("yaan-wl", "雅安市文旅局")]
        escalations = [
            note(
                f"c1/esc1/{uid}/leader",
                "leader@yaan.example",
                Template.ESCALATION,
                name="王局长",
                context=context(uid, uname),
            )
            for uid, uname in units
        ]
        receipt = note("c1/receipt/x", "x@yaan.example", Template.RECEIPT, context=context(receipt_no="R-1"))
        result = await send(mailer, batch(*escalations, receipt))

        assert [d.status for d in result.deliveries] == [DeliveryStatus.SENT] * 4
        by_to = {m["To"].addresses[0].addr_spec: m for m in stored(sink)}
        assert set(by_to) == {"leader@yaan.example", "x@yaan.example"}
        digest = by_to["leader@yaan.example"]
        assert digest["Message-ID"] == message_id(digest_key([n.key for n in escalations]))
        body = digest.get_body(preferencelist=("plain",))
        assert body is not None
        for _, uname in units:
            assert uname in body.get_content()
        assert "共 3 项" in digest["Subject"]
        assert (digest["X-Duban-Template"], digest["X-Duban-Digest"]) == ("escalation", "3")
        assert mailer.ledger.sent_keys(n.key for n in escalations) == {n.key for n in escalations}
        # A retry of the whole batch sends nothing more.
        again = await send(mailer, batch(*escalations, receipt))
        assert {d.status for d in again.deliveries} == {DeliveryStatus.ALREADY_SENT}
        assert len(stored(sink)) == 2

    async def test_digest_off_sends_each(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """batch.digest=False keeps one message per notification."""
        notes = [note(f"k/{i}", "leader@yaan.example", Template.OVERDUE) for i in range(3)]
        await send(mailer, batch(*notes, digest=False))
        assert message_ids(sink) == sorted(message_id(n.key) for n in notes)

    async def test_bulletin_lists_late_units(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """A bulletin prints each late unit with its days late, in text and as an HTML table."""
        late = [UnitLine(unit_id="u1", unit_name="雨城区<打假办>", due=DUE, days_late=3)]
        await send(mailer, batch(note("c1/bulletin", template=Template.BULLETIN, context=context(late_units=late))))
        [msg] = stored(sink)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        assert text is not None
        assert html is not None
        assert "雨城区<打假办>（截止 2026年12月14日（星期一）24:00），已逾期 3 天" in text.get_content()
        assert "雨城区&lt;打假办&gt;" in html.get_content()


class TestPermanentErrors:
    async def test_expired_batch_is_not_retried(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """useful_until in the past → non-retryable MailExpired, nothing sent."""
        past = batch(note("k/a"), useful_until=datetime.now(UTC) - timedelta(minutes=1))
        with pytest.raises(ApplicationError) as caught:
            await send(mailer, past)
        assert caught.value.non_retryable
        assert caught.value.type == "MailExpired"
        assert stored(sink) == []

    async def test_duplicate_keys_are_bad_input(self, mailer: MailActivities, sink: SmtpSink) -> None:
        """Two notifications with one key is a workflow bug: non-retryable, nothing sent."""
        with pytest.raises(ApplicationError) as caught:
            await send(mailer, batch(note("k/a"), note("k/a", "b@yaan.example")))
        assert caught.value.non_retryable
        assert caught.value.type == "BadBatch"
        assert stored(sink) == []
