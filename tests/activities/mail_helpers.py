"""Builders for mail notifications and batches used by the mail tests."""

from datetime import UTC, datetime, timedelta

from schemas.calendar import Due
from schemas.notify import DocumentRef, MailBatch, MessageContext, Notification, Template
from schemas.people import Contact, Person

REFUSED_ADDRESS = "refused@yaan.example"
DEFERRED_ADDRESS = "deferred@yaan.example"


DUE = Due(
    at=datetime(2026, 12, 14, 15, 59, 59, tzinfo=UTC),  # 2026-12-14 24:00 in Beijing
    provisional=True,
    rule="按10个工作日计算；2027年节假日安排尚未公布，暂按周末休息推算",
)
DOCUMENT = DocumentRef(
    number="雅打假办发〔2017〕2号",
    title="关于报送2026年打击侵权假冒工作总结的通知",
    office_name="雅安市打击侵权假冒工作领导小组办公室",
)
CONTACT = Contact(name="李明", phone="0835-2221234", email="liming@yaan.example")


def context(unit_id: str = "yaan-gaj", unit_name: str = "雅安市公安局", **extra: object) -> MessageContext:
    fields: dict[str, object] = {
        "document": DOCUMENT,
        "contact": CONTACT,
        "office_name": "雅安市打假办",
        "campaign_id": "yaan-2026",
        "cycle_id": "cycle:yaan-2026:yaan:annual:2026-Y",
        "period": "2026-Y",
        "obligation_title": "2026年度工作总结",
        "unit_id": unit_id,
        "unit_name": unit_name,
        "due": DUE,
        "portal_link": True,
    }
    fields.update(extra)
    return MessageContext.model_validate(fields)


def note(
    key: str,
    email: str | None = "zhangsan@yaan.example",
    template: Template = Template.NOTICE,
    name: str = "张三",
    **extra: object,
) -> Notification:
    ctx = extra.pop("context", None) or context()
    return Notification.model_validate(
        {"key": key, "template": template, "to": Person(name=name, email=email), "context": ctx, **extra}
    )


def batch(*notifications: Notification, **extra: object) -> MailBatch:
    fields: dict[str, object] = {
        "scope": "cycle:yaan-2026:yaan:annual:2026-Y",
        "instant": datetime.now(UTC),
        "notifications": list(notifications),
        "useful_until": datetime.now(UTC) + timedelta(days=1),
    }
    fields.update(extra)
    return MailBatch.model_validate(fields)
