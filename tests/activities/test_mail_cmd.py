"""`duban mail list|show|hooks` over a Maildir filled by a real send through the sink."""

import json
from pathlib import Path

from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from activities.mail import MailActivities
from console.mail_cmd import app
from schemas.notify import Template
from schemas.people import Person
from tests.activities.mail_helpers import batch, context, note
from workers.dev.smtp_sink import SmtpSink

runner = CliRunner()


async def fill(mailer: MailActivities) -> None:
    b = batch(
        note("k/notice", "a@yaan.example", invite=True),
        note("k/receipt", "b@yaan.example", Template.RECEIPT, context=context(receipt_no="R-7")),
    )
    await ActivityEnvironment().run(mailer.send_batch, b)


async def test_list_and_show(mailer: MailActivities, sink: SmtpSink) -> None:
    """list --json names each message; show --json decodes subject, body and invite."""
    await fill(mailer)
    listed = runner.invoke(app, ["list", "--json", "--maildir", str(sink.maildir)])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)
    assert [m["envelope_to"] for m in items] == [["a@yaan.example"], ["b@yaan.example"]]
    assert items[0]["invite"] is True
    assert items[0]["subject"].startswith("【通知】")
    assert items[0]["from"].endswith("<duban@duban.example>")

    shown = runner.invoke(app, ["show", items[0]["id"], "--json", "--maildir", str(sink.maildir)])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    assert "雅打假办发〔2017〕2号" in detail["text"]
    assert detail["invites"][0]["uid"] == "cycle:yaan-2026:yaan:annual:2026-Y/yaan-gaj@duban"
    assert detail["invites"][0]["alarm"] is True

    human = runner.invoke(app, ["list", "--to", "b@yaan.example", "--maildir", str(sink.maildir)])
    assert human.exit_code == 0
    assert "1 message(s)" in human.stdout


def test_show_unknown_is_bad_input(tmp_path: Path) -> None:
    """An id that matches nothing exits 2 with the reason on stderr."""
    result = runner.invoke(app, ["show", "nope", "--maildir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no message" in result.stderr


def test_empty_maildir_lists_nothing(tmp_path: Path) -> None:
    """Before the sink ever ran, the list is empty, not an error."""
    result = runner.invoke(app, ["list", "--json", "--maildir", str(tmp_path / "mail")])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


async def test_hooks(mailer: MailActivities, webhook_sink: Path) -> None:
    """hooks --json shows the robot posts the local sink recorded."""
    person = Person(name="领导群", webhook="leaders-wecom")
    await ActivityEnvironment().run(mailer.send_batch, batch(note("k/1", None, Template.ESCALATION, to=person)))
    result = runner.invoke(app, ["hooks", "--json", "--dir", str(webhook_sink)])
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.stdout)
    assert record["webhook"] == "leaders-wecom"
    assert record["payload"]["msgtype"] == "markdown"
