"""Amend a running cycle from the console (operators): upload the edited plan, see the difference, apply it.

The same steps as `duban campaign amend` (console/amendments.py), for this one cycle. The preview page
carries the plan's text and the digest of the difference shown; applying checks the plan again and
sends that digest, so the cycle refuses if it changed in between rather than apply something unseen.
"""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response

from console import amendments
from console import client_calls as calls
from console.auth import User
from console.plan_data import check_data
from console.web.context import ctx, form_csrf, page_operator
from console.web.pages import cycle_url, redirect
from domain.cycle_words import zh_reason
from domain.plan_check import PlanError, parse_plan_text
from schemas.amendment import NewUnitsDue
from schemas.plan import CampaignPlan

router = APIRouter(include_in_schema=False)
PageOperator = Annotated[User, Depends(page_operator)]
MAX_PLAN_BYTES = 1024 * 1024  # a 500-unit plan is a few hundred KB of YAML


class BadPlan(Exception):
    """The uploaded plan cannot be used; `lines` says everything wrong with it."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("; ".join(lines))


def checked_plan(request: Request, text: str) -> CampaignPlan:
    """The plan checked as `duban plan check` checks it, or BadPlan listing every problem."""
    today = dt.datetime.now(dt.UTC).date()
    try:
        plan, problems = check_data(parse_plan_text(text), today, ctx(request).settings.calendars_dir)
    except PlanError as err:
        raise BadPlan([f"{p.path}: {p.message}" for p in err.problems]) from err
    if plan is None:
        raise BadPlan([f"{p.path}: {p.message}" for p in problems])
    return plan


async def _read(upload: UploadFile | None) -> str:
    if upload is None or not upload.filename:
        raise BadPlan(["请选择修改后的计划文件（YAML）"])
    data = await upload.read(MAX_PLAN_BYTES + 1)
    if len(data) > MAX_PLAN_BYTES:
        raise BadPlan([f"计划文件超过 {MAX_PLAN_BYTES} 字节"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadPlan(["计划文件不是 UTF-8 文本"]) from err


def _refused_page(request: Request, cycle_id: str, problems: list[str]) -> Response:
    return ctx(request).render(
        request, "amend.html", status_code=400, cycle_id=cycle_id, problems=problems, item=None, cycle_url=cycle_url
    )


@router.post("/cycles/{cycle_id}/amend", dependencies=[Depends(form_csrf)])
async def amend_preview(
    request: Request,
    user: PageOperator,
    cycle_id: str,
    plan_file: Annotated[UploadFile | None, Form()] = None,
    new_units_due: Annotated[NewUnitsDue, Form()] = NewUnitsDue.RULE,
) -> Response:
    """The difference an uploaded plan makes to this cycle, with a button to apply it."""
    c = ctx(request)
    try:
        text = await _read(plan_file)
        plan = checked_plan(request, text)
        items = await amendments.preview(await c.client(), plan, new_units_due, user.name, only=cycle_id)
    except BadPlan as err:
        return _refused_page(request, cycle_id, err.lines)
    except calls.Rejected as err:
        return redirect(cycle_url(cycle_id), f"未调整：{zh_reason(str(err))}")
    if not items:
        problem = f"计划 {plan.id}（{plan.office.id}）不是本期所属专项行动的计划，或本期已结束"
        return _refused_page(request, cycle_id, [problem])
    item = items[0]
    return c.render(
        request,
        "amend.html",
        cycle_id=cycle_id,
        problems=[],
        item=item,
        rows=amendments.change_lines(item),
        plan_text=text,
        new_units_due=new_units_due.value,
        cycle_url=cycle_url,
        refusal=zh_reason(item.preview.refusal) if item.preview and item.preview.refusal else "",
    )


@router.post("/cycles/{cycle_id}/amend/apply", dependencies=[Depends(form_csrf)])
async def amend_apply(
    request: Request,
    user: PageOperator,
    cycle_id: str,
    plan_text: Annotated[str, Form(max_length=MAX_PLAN_BYTES)],
    expect: Annotated[str, Form(pattern=r"^[0-9a-f]{16}$")],
    new_units_due: Annotated[NewUnitsDue, Form()] = NewUnitsDue.RULE,
) -> Response:
    """Apply the difference shown (its digest): refused when the cycle or the plan changed since."""
    c = ctx(request)
    back = cycle_url(cycle_id)
    try:
        plan = checked_plan(request, plan_text)
        client = await c.client()
        items = await amendments.preview(client, plan, new_units_due, user.name, only=cycle_id)
        item = items[0] if items else None
        if item is None or item.preview is None:
            return redirect(back, "未调整：计划与本期不对应")
        if item.preview.refusal:
            return redirect(back, f"未调整：{zh_reason(item.preview.refusal)}")
        if item.empty:
            return redirect(back, "计划与本期一致，无需变更")
        if item.preview.digest != expect:
            return redirect(back, "未调整：本期单位已有变化，请重新上传计划查看差异")
        await amendments.apply(client, c.settings, plan, items)
    except BadPlan as err:
        return redirect(back, f"未调整：{err}")
    except calls.Rejected as err:
        return redirect(back, f"未调整：{zh_reason(str(err))}")
    if item.errors:
        return redirect(back, f"未调整：{zh_reason(item.errors[0])}")
    assert item.applied is not None
    return redirect(back, f"已调整：{item.applied.message}")
