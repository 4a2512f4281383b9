"""Group-robot webhooks (WeCom, DingTalk): formats, the local sink, idempotency and error classes."""

import base64
import hashlib
import hmac
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities
from activities.webhooks import WebhookError, WebhookKind, parse_webhook
from schemas.notify import BatchResult, DeliveryStatus, MailBatch, Notification, Template
from schemas.people import Person
from tests.activities.mail_helpers import batch, context


class RobotServer(ThreadingHTTPServer):
    """A local stand-in for the robots' HTTP endpoint: records each POST, answers a configurable errcode."""

    answer: dict[str, Any]

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RobotHandler)
        self.posts: list[tuple[str, dict[str, list[str]], dict[str, Any]]] = []
        self.answer = {"errcode": 0, "errmsg": "ok"}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RobotHandler(BaseHTTPRequestHandler):
    server: RobotServer

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        parts = urllib.parse.urlsplit(self.path)
        self.server.posts.append((parts.path, urllib.parse.parse_qs(parts.query), body))
        data = json.dumps(self.server.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[RobotServer]:
    server = RobotServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def send(mailer: MailActivities, b: MailBatch) -> BatchResult:
    result: BatchResult = await ActivityEnvironment().run(mailer.send_batch, b)
    return result


def to_robot(
    key: str, webhook: str, email: str | None = None, template: Template = Template.ESCALATION
) -> Notification:
    person = Person(name="领导群", webhook=webhook, email=email, phone="13800000000")
    return Notification(key=key, template=Template.ESCALATION, to=person, context=context(portal_link=False))


def sink_records(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(directory.glob("*.json"))]


class TestParse:
    def test_kind_by_host(self) -> None:
        """The documented robot hosts are recognised without a prefix."""
        assert parse_webhook("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K").kind is WebhookKind.WECOM
        assert parse_webhook("https://oapi.dingtalk.com/robot/send?access_token=T").kind is WebhookKind.DINGTALK

    def test_prefix_and_secret(self) -> None:
        """A prefix names the kind; the #secret= fragment is kept apart from the URL."""
        target = parse_webhook("dingtalk:https://proxy.gov.example/robot/send?access_token=T#secret=SECabc")
        assert target.kind is WebhookKind.DINGTALK
        assert target.url == "https://proxy.gov.example/robot/send?access_token=T"
        assert target.secret == "SECabc"

    def test_unknown_host_is_refused(self) -> None:
        """A URL whose kind cannot be told is a permanent configuration error."""
        with pytest.raises(WebhookError) as caught:
            parse_webhook("https://chat.example/hook")
        assert not caught.value.temporary


class TestSink:
    async def test_wecom_markdown_once(self, mailer: MailActivities, webhook_sink: Path) -> None:
        """A WeCom robot gets the documented markdown message, once, even when the batch runs twice."""
        b = batch(to_robot("c1/esc/leaders", "leaders-wecom"))
        first = await send(mailer, b)
        second = await send(mailer, b)
        assert [(d.channel, d.status) for d in first.deliveries] == [("webhook", DeliveryStatus.SENT)]
        assert [d.status for d in second.deliveries] == [DeliveryStatus.ALREADY_SENT]
        [record] = sink_records(webhook_sink)
        assert record["kind"] == "wecom"
        payload = record["payload"]
        assert payload["msgtype"] == "markdown"
        content = payload["markdown"]["content"]
        assert content.startswith("### 【督办】雅安市公安局")
        assert "雅打假办发〔2017〕2号" in content
        assert len(content.encode()) <= 4096

    async def test_dingtalk_format_mentions_by_phone(self, mailer: MailActivities, webhook_sink: Path) -> None:
        """DingTalk gets markdown with a title and an @mention of the person's phone."""
        await send(mailer, batch(to_robot("c1/esc/leaders", "leaders-ding")))
        [record] = sink_records(webhook_sink)
        payload = record["payload"]
        assert record["kind"] == "dingtalk"
        assert payload["msgtype"] == "markdown"
        assert payload["markdown"]["title"].startswith("【督办】")
        assert payload["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
        assert "@13800000000" in payload["markdown"]["text"]

    async def test_email_and_webhook_both_delivered(self, mailer: MailActivities, webhook_sink: Path) -> None:
        """A person with both channels gets both, each reported on its own."""
        result = await send(mailer, batch(to_robot("k/1", "leaders-wecom", email="leader@yaan.example")))
        assert [(d.channel, d.status) for d in result.deliveries] == [
            ("email", DeliveryStatus.SENT),
            ("webhook", DeliveryStatus.SENT),
        ]
        assert len(sink_records(webhook_sink)) == 1

    async def test_digest_per_robot(self, mailer: MailActivities, webhook_sink: Path) -> None:
        """Several escalations to one robot at one instant become one post."""
        await send(mailer, batch(*(to_robot(f"k/{i}", "leaders-wecom") for i in range(3))))
        [record] = sink_records(webhook_sink)
        assert "共 3 项" in record["payload"]["markdown"]["content"]

    async def test_unknown_webhook_name_is_refused(self, mailer: MailActivities) -> None:
        """A plan naming a webhook the settings do not have: REFUSED, visible, no retry."""
        result = await send(mailer, batch(to_robot("k/1", "no-such-robot")))
        [delivery] = result.deliveries
        assert delivery.status is DeliveryStatus.REFUSED
        assert "no-such-robot" in delivery.detail


class TestHttp:
    def mailer_for(self, mailer: MailActivities, url: str) -> MailActivities:
        return MailActivities(mailer.smtp, mailer.ledger, mailer.blobs, None, webhooks={"room": url})

    async def test_posts_to_the_robot(self, mailer: MailActivities, robot: RobotServer) -> None:
        """A real HTTP POST with the WeCom JSON body; errcode 0 is SENT."""
        m = self.mailer_for(mailer, f"wecom:{robot.base}/cgi-bin/webhook/send?key=K")
        result = await send(m, batch(to_robot("k/1", "room")))
        assert [d.status for d in result.deliveries] == [DeliveryStatus.SENT]
        [(path, query, body)] = robot.posts
        assert path == "/cgi-bin/webhook/send"
        assert query == {"key": ["K"]}
        assert body["msgtype"] == "markdown"

    async def test_dingtalk_signature(self, mailer: MailActivities, robot: RobotServer) -> None:
        """With a secret, DingTalk requests carry timestamp and an HMAC-SHA256 sign that verifies."""
        m = self.mailer_for(mailer, f"dingtalk:{robot.base}/robot/send?access_token=T#secret=SEC123")
        await send(m, batch(to_robot("k/1", "room")))
        [(_, query, _)] = robot.posts
        timestamp = query["timestamp"][0]
        expected = hmac.new(b"SEC123", f"{timestamp}\nSEC123".encode(), hashlib.sha256).digest()
        assert base64.b64decode(query["sign"][0]) == expected
        assert query["access_token"] == ["T"]

    async def test_rate_limit_is_retryable_then_delivers_once(self, mailer: MailActivities, robot: RobotServer) -> None:
        """errcode 45009 (too frequent) raises a retryable error; the retry posts once."""
        m = self.mailer_for(mailer, f"wecom:{robot.base}/send?key=K")
        robot.answer = {"errcode": 45009, "errmsg": "api freq out of limit"}
        b = batch(to_robot("k/1", "room"))
        with pytest.raises(ApplicationError) as caught:
            await send(m, b)
        assert not caught.value.non_retryable
        robot.answer = {"errcode": 0, "errmsg": "ok"}
        await send(m, b)
        await send(m, b)
        assert len(robot.posts) == 2  # the refused attempt and the one that was accepted

    async def test_other_errcode_is_refused(self, mailer: MailActivities, robot: RobotServer) -> None:
        """A permanent errcode (e.g. invalid key) is a REFUSED delivery, not a retry."""
        m = self.mailer_for(mailer, f"wecom:{robot.base}/send?key=bad")
        robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
        result = await send(m, batch(to_robot("k/1", "room")))
        [delivery] = result.deliveries
        assert delivery.status is DeliveryStatus.REFUSED
        assert "93000" in delivery.detail

    async def test_unreachable_robot_is_retryable(self, mailer: MailActivities) -> None:
        """Connection refused is temporary."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        m = self.mailer_for(mailer, f"wecom:http://127.0.0.1:{port}/send?key=K")
        with pytest.raises(ApplicationError) as caught:
            await send(m, batch(to_robot("k/1", "room")))
        assert not caught.value.non_retryable
