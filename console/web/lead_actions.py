"""Lead actions as the web surfaces receive them: one function per form post, calling the lead's Update.

The lead portal (the agency acting for itself through its link) and the console's lead page (an
operator acting for a unit) both go through `act`, and so through the same Updates, validators and
receipts as `duban lead …`. Who acts (`unit_id`) and the `by` line come from the caller — the token
or the signed-in operator — never from anything this module reads from a form.
"""

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import Form, UploadFile
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from console import client_calls as calls
from console.web.pages import read_files
from schemas.blobs import BlobRef
from schemas.lead import (
    Approve,
    CloseLead,
    Decide,
    DecideLeadExtension,
    Decision,
    GiveFeedback,
    HandOver,
    Involve,
    LeadEvent,
    LeadReceipt,
    LeadUnit,
    RequestLeadExtension,
    RequestReconsideration,
    SignFor,
    StageName,
    Transfer,
)
from schemas.plan import CampaignPlan
from workers.settings import Settings
from workflows.lead_referral import LeadReferral

LeadActionName = Literal["sign_for", "decide", "feedback", "close", "approve", "reconsider", "transfer", "hand_over"]

# Asking for more time (延期申请) is open on any running stage whose limit the office may extend.
EXTENSION = "extension"

# What each open stage lets its unit do (the form posts the action's name).
ACTIONS: dict[StageName, LeadActionName] = {
    StageName.SIGN: "sign_for",
    StageName.DECIDE: "decide",
    StageName.FEEDBACK: "feedback",
    StageName.CLOSE: "close",
    StageName.APPROVE: "approve",
    StageName.TRANSFER: "transfer",
    StageName.FILE: "decide",
    StageName.RECONSIDER_REQUEST: "reconsider",
    StageName.RECONSIDER: "decide",
    StageName.HANDOVER: "hand_over",
}


class LeadAction(BaseModel):
    """One action's form fields (the portal's and the console's forms share them)."""

    action: str
    track: str | None = None
    decision: str = ""
    to: str = ""
    text: str = ""
    approve: bool = True
    stage: str = ""  # an extension request's stage
    days: str = ""  # an extension's days, as typed


def lead_form(
    action: Annotated[str, Form()],
    track: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    to: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    approve: Annotated[str, Form()] = "yes",
    stage: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> LeadAction:
    """The action form's fields as one model (a dependency of the portal's and the console's routes)."""
    return LeadAction(
        action=action,
        track=track or None,
        decision=decision,
        to=to,
        text=text,
        approve=approve == "yes",
        stage=stage,
        days=days,
    )


def _stage(text: str) -> StageName | None:
    if not text:
        return None
    try:
        return StageName(text)
    except ValueError as err:
        raise calls.Rejected(f"未知的阶段 {text!r}") from err


def _days(text: str) -> int | None:
    """The days typed in a form (empty: none given); anything but a whole number is refused in Chinese."""
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError as err:
        raise calls.Rejected(f"延期天数须为正整数，而不是 {text!r}") from err


async def read_materials(form: LeadAction, files: list[UploadFile] | None, limit: int) -> list[tuple[str, bytes]]:
    """The uploaded materials of a transfer or hand-over (移送材料); other actions carry none."""
    if form.action not in ("transfer", "hand_over"):
        return []
    return await read_files(files or [], limit)


def unit_of(plan: CampaignPlan | None, unit_id: str) -> LeadUnit:
    found = plan.unit(unit_id) if plan else None
    if found is None:
        raise calls.Rejected(f"本专项行动没有单位 {unit_id!r}")
    return LeadUnit(id=found.id, name=found.name, contacts=found.contacts, leader=found.leader)


# The form fields a person fills in, as the forms label them.
_FIELD_ZH = {"text": "进展情况", "result": "办理结果", "reason": "理由", "note": "说明", "days": "延期天数"}


def _message(err: ValidationError) -> str:
    """The first refused field in Chinese (pydantic's own wording is English)."""
    first = err.errors()[0]
    field = _FIELD_ZH.get(str(first["loc"][-1]) if first["loc"] else "", "填写内容")
    if first["type"] == "string_too_short":
        return f"{field}不能为空"
    if first["type"] == "string_too_long":
        return f"{field}超过长度上限（{first.get('ctx', {}).get('max_length')} 字）"
    if first["type"] in ("greater_than_equal", "less_than_equal", "missing"):
        return f"{field}须在 1 到 366 之间"
    return str(first["msg"]).removeprefix("Value error, ")


async def act(
    client: Client,
    settings: Settings,
    plan: CampaignPlan | None,
    lead_id: str,
    unit_id: str,
    by: str,
    form: LeadAction,
    files: Sequence[tuple[str, bytes]] = (),
) -> LeadReceipt:
    """Send `form` as `unit_id`'s Update on the lead; a refusal (bad field, wrong stage) raises `Rejected`
    and leaves nothing behind — materials stored for a refused transfer or handover are swept again."""
    common: dict[str, Any] = {"unit_id": unit_id, "by": by, "track": form.track or None}
    created: list[BlobRef] = []
    try:
        if form.action == "sign_for":
            return await calls.update(client, lead_id, LeadReferral.sign_for, SignFor(**common))
        if form.action == "decide":
            try:
                chosen = Decision(form.decision)
            except ValueError as err:
                raise calls.Rejected(f"未知的决定 {form.decision!r}") from err
            target = None
            if chosen in (Decision.TRANSFER, Decision.POLICE):
                if not form.to:
                    raise calls.Rejected("转交或移送须选择接收单位")
                target = unit_of(plan, form.to)
            call = Decide(**common, decision=chosen, reason=form.text, to=target)
            return await calls.update(client, lead_id, LeadReferral.decide, call)
        if form.action == "feedback":
            return await calls.update(
                client, lead_id, LeadReferral.give_feedback, GiveFeedback(**common, text=form.text)
            )
        if form.action == "close":
            return await calls.update(client, lead_id, LeadReferral.close, CloseLead(**common, result=form.text))
        if form.action == "approve":
            approval = Approve(**common, approve=form.approve, reason=form.text)
            return await calls.update(client, lead_id, LeadReferral.approve_transfer, approval)
        if form.action == "reconsider":
            request = RequestReconsideration(**common, reason=form.text)
            return await calls.update(client, lead_id, LeadReferral.request_reconsideration, request)
        if form.action == EXTENSION:
            days = _days(form.days)
            if days is None:
                raise calls.Rejected("请填写申请延期的天数")
            ask = RequestLeadExtension(**common, stage=_stage(form.stage), days=days, reason=form.text)
            return await calls.update(client, lead_id, LeadReferral.request_extension, ask)
        if form.action in ("transfer", "hand_over"):
            # Stored before the Update so the lead refers to blobs that exist; swept again if it is refused.
            materials = await calls.store_uploads(settings, files, created)
            if form.action == "transfer":
                moved = Transfer(**common, note=form.text, materials=materials)
                return await calls.update(client, lead_id, LeadReferral.transfer, moved)
            handed = HandOver(**common, note=form.text, materials=materials)
            return await calls.update(client, lead_id, LeadReferral.hand_over, handed)
        raise calls.Rejected(f"未知操作 {form.action!r}")
    except ValidationError as err:
        await calls.sweep(settings, created)
        raise calls.Rejected(_message(err)) from err
    except calls.Rejected:
        await calls.sweep(settings, created)
        raise


async def involve(
    client: Client, plan: CampaignPlan | None, lead_id: str, unit_id: str, note: str, by: str
) -> LeadEvent:
    """提前介入: record the police's or procuratorate's early involvement (an office action, not the portal's)."""
    try:
        call = Involve(unit=unit_of(plan, unit_id), note=note, by=by)
    except ValidationError as err:
        raise calls.Rejected(_message(err)) from err
    return await calls.update(client, lead_id, LeadReferral.involve, call)


async def decide_extension(client: Client, lead_id: str, unit_id: str, form: LeadAction, by: str) -> LeadReceipt:
    """The office's answer to a unit's extension request: `form.approve`, `form.days` (empty: as asked), the reason."""
    try:
        call = DecideLeadExtension(
            unit_id=unit_id,
            track=form.track or None,
            stage=_stage(form.stage),
            approve=form.approve,
            days=_days(form.days),
            reason=form.text,
            by=by,
        )
    except ValidationError as err:
        raise calls.Rejected(_message(err)) from err
    return await calls.update(client, lead_id, LeadReferral.decide_extension, call)
