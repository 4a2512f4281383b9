"""The roll-up by mail attaches files up to the attachment budget and links the rest (issue 17, caps).

Real SMTP (the dev sink, aiosmtpd), the real blob store, and the console's `/files/{token}` route
in process (httpx over ASGI) following the link the mail carries.
"""

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.mail import MailActivities
from activities.portal_tokens import PortalTokens
from activities.sent_ledger import SentLedger
from console.web.app import create_app
from schemas.notify import DeliveryStatus, Template
from schemas.smtp import SmtpSettings
from tests.activities.mail_helpers import batch, note
from tests.activities.test_mail import send, stored
from workers.dev.smtp_sink import SmtpSink
from workers.objects import blob_store
from workers.settings import Settings

BUDGET = 4000  # bytes of files one message may carry, in this test


@pytest.fixture
def office(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": "http://testserver"})


@pytest.fixture
def capped(sink: SmtpSink, ledger: SentLedger, office: Settings) -> MailActivities:
    """The mail activity as the worker builds it: the console's signing key, the same blob store."""
    smtp = SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=5.0, max_attachment_bytes=BUDGET)
    links = PortalTokens(office.secret_key.get_secret_value(), office.public_url)
    return MailActivities(smtp, ledger, blob_store(office), links)


@pytest.fixture
async def web(office: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(office)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


class TestRollupAttachmentBudget:
    async def test_a_package_over_the_budget_is_linked_and_the_link_gives_its_bytes(
        self, capped: MailActivities, sink: SmtpSink, web: httpx.AsyncClient
    ) -> None:
        """The 汇总报告 fits and is attached; the zip does not: named with a link that downloads exactly it."""
        package = await capped.blobs.put(bytes(range(256)) * 40, "雅安市打假办-汇总材料.zip", "application/zip")
        summary = await capped.blobs.put("汇总报告".encode() * 100, "汇总报告.docx", "application/octet-stream")
        assert package.size > BUDGET > summary.size
        result = await send(
            capped, batch(note("c1/rollup/upper", template=Template.ROLLUP, attachments=[package, summary]))
        )
        assert [d.status for d in result.deliveries] == [DeliveryStatus.SENT]
        [msg] = stored(sink)
        assert [p.get_filename() for p in msg.iter_attachments()] == ["汇总报告.docx"]
        text = msg.get_body(("plain",))
        assert text is not None
        body = text.get_content()
        assert "雅安市打假办-汇总材料.zip" in body and "超过邮件附件大小限制" in body
        [url] = re.findall(r"http://testserver/files/\S+", body)
        answer = await web.get(url)
        assert answer.status_code == 200
        assert answer.content == bytes(range(256)) * 40
        assert "attachment" in answer.headers["content-disposition"]

    async def test_everything_within_the_budget_is_attached(self, capped: MailActivities, sink: SmtpSink) -> None:
        """Two small files: both attached, no link in the mail."""
        a = await capped.blobs.put(b"a" * 1500, "a.zip", "application/zip")
        b = await capped.blobs.put(b"b" * 1500, "b.docx", "application/octet-stream")
        await send(capped, batch(note("c1/rollup/upper", template=Template.ROLLUP, attachments=[a, b])))
        [msg] = stored(sink)
        assert [p.get_filename() for p in msg.iter_attachments()] == ["a.zip", "b.docx"]
        text = msg.get_body(("plain",))
        assert text is not None and "/files/" not in text.get_content()


class TestFileLinks:
    async def test_a_forged_or_altered_link_is_refused(self, web: httpx.AsyncClient, office: Settings) -> None:
        """A link signed with another key, or with its file changed, opens nothing."""
        store = blob_store(office)
        ref = await store.put(b"secret package", "p.zip", "application/zip")
        forged = PortalTokens("another-secret-another-secret-xx", office.public_url).file_link(ref)
        answer = await web.get(forged)
        assert answer.status_code == 403 and b"secret package" not in answer.content
        good = PortalTokens(office.secret_key.get_secret_value(), office.public_url).file_link(ref)
        token = good.rsplit("/", 1)[1]
        altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
        answer = await web.get(f"/files/{altered}")
        assert answer.status_code == 403

    async def test_a_file_gone_from_the_store_is_a_404(self, web: httpx.AsyncClient, office: Settings) -> None:
        """The link is valid but the store no longer holds the file: a clear 404, not a 500."""
        store = blob_store(office)
        ref = await store.put(b"soon gone", "g.zip", "application/zip")
        link = PortalTokens(office.secret_key.get_secret_value(), office.public_url).file_link(ref)
        await store.discard(ref)
        answer = await web.get(link)
        assert answer.status_code == 404
