"""The error answers of the JSON API, declared in its OpenAPI document.

Every 4xx a route can return is listed on the route (`responses=`), so a client
generated from /openapi.json knows them and schemathesis's status-code check can
hold the API to them. The bodies are `{"detail": "<one-line reason>"}`; a 422
keeps FastAPI's own validation-error shape.
"""

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """Why a call was refused, in one line."""

    detail: str


_WHY = {
    400: "refused (a malformed id or filter, or the workflow's validator said no), with the reason; nothing changed",
    401: "not signed in (POST /login first), or no codec token",
    403: "a read-only account, or the X-CSRF-Token header does not match the duban_csrf cookie",
    404: "no such cycle, or no such unit in it",
    503: "Temporal is unreachable, or the workflow is busy; retry",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer with these codes."""
    return {code: {"model": Problem, "description": _WHY[code]} for code in codes}


READ = errors(400, 401, 404, 503)
LIST = errors(400, 401, 503)
ACT = errors(400, 401, 403, 404, 503)
