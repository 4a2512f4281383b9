"""催办 now from the console: a button on the cycle page (every unit still owing) and on a unit's page.

Each rendered form carries its own key; submitting it twice (a double click, a resent form) reaches the
cycle as the same key and sends nothing the second time.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from console import client_calls as calls
from console.auth import User
from console.web.context import api_operator, ctx, form_csrf, header_csrf, page_operator
from console.web.pages import cycle_url, redirect
from console.web.responses import ACT
from domain.cycle_words import zh_reason
from schemas.cycle import Reminded, RemindNow

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])
PageOperator = Annotated[User, Depends(page_operator)]
ApiOperator = Annotated[User, Depends(api_operator)]


class ChaseRequest(BaseModel):
    """催办 now: `key` names this request (send it again with the same key and nothing is sent twice)."""

    key: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    unit_ids: list[str] = Field(default_factory=list, max_length=1000)
    note: str = Field(default="", max_length=500)
    urgent: bool = False


@router.post("/cycles/{cycle_id}/remind", dependencies=[Depends(form_csrf)])
async def remind_form(
    request: Request,
    user: PageOperator,
    cycle_id: str,
    key: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    urgent: Annotated[bool, Form()] = False,
    unit_ids: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form()] = "",
) -> Response:
    # Back to the page the button was on (a unit's page or the cycle's), never elsewhere.
    unit = (unit_ids or [""])[0] if back == "unit" else None
    target = cycle_url(cycle_id, unit or None)
    try:
        call = RemindNow(key=key, unit_ids=unit_ids or [], note=note, urgent=urgent, by=user.name)
        result = await calls.remind_now(await ctx(request).client(), cycle_id, call)
    except ValidationError as err:
        return redirect(target, f"未催办：{err.errors()[0]['msg']}")
    except calls.Rejected as err:
        return redirect(target, f"未催办：{zh_reason(str(err))}")
    return redirect(target, result.message)


@api_router.post(
    "/cycles/{cycle_id}/remind", response_model=Reminded, responses=ACT, dependencies=[Depends(header_csrf)]
)
async def remind_api(request: Request, user: ApiOperator, cycle_id: str, body: ChaseRequest) -> Reminded:
    """催办 now: the named units (none: every unit still owing), in the send window unless urgent."""
    call = RemindNow(key=body.key, unit_ids=body.unit_ids, note=body.note, urgent=body.urgent, by=user.name)
    return await calls.remind_now(await ctx(request).client(), cycle_id, call)
