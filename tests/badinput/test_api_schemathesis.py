"""Every JSON API operation, generated from the console's own OpenAPI document (schemathesis).

In-process (ASGI), signed in as an operator with the CSRF header, against a live
dev server with a worker. A cycle and a lead are opened first and their ids (and
the cycle's unit ids) are fed to the generator as path parameters, so generated
calls reach the real handlers and the real workflow: reads of a real cycle,
submissions, extensions, waivers, closes, refusals by the workflow's validators —
not only 404s for ids nobody knows. Whatever the generated call, the answer is
never a 5xx, its status code is one the OpenAPI document lists for the operation
(every 4xx is declared on the route), and its body matches the documented schema.
The test asserts a minimum number of calls, and that calls with the real ids got
answers from the real handlers (2xx reads, validator refusals).
"""

import asyncio
import datetime as dt
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from starlette.testclient import TestClient
from temporalio.testing import WorkflowEnvironment

from console.auth import CSRF_COOKIE, hash_password
from console.web.app import create_app
from tests.conftest import start_dev_server
from tests.e2e.cycle_stack import UNITS, CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.lead_support import lead_input
from workers.settings import Settings

PASSWORD = "schemathesis password"
EXAMPLES_PER_OPERATION = 25
MIN_OPERATIONS = 10
TRIED: Counter[str] = Counter()
STATUS: Counter[tuple[str, int]] = Counter()
REAL: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module")
async def dev_server_env(session_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this module's own: cycles other modules left without a worker would make
    every listing wait for their query timeouts."""
    async with await start_dev_server(session_settings) as env:
        yield env


@pytest.fixture(scope="module")
async def real_ids(cycle_stack: CycleStack) -> dict[str, str]:
    """A running cycle (three units) and a running lead, opened before any generated call."""
    handle = await cycle_stack.open_cycle("api-real")
    lead = lead_input(dt.datetime.now(dt.UTC), lead_id=f"lead:{cycle_stack.campaign}:api")
    await cycle_stack.client.start_workflow(
        "LeadReferral", lead, id=lead.lead_id, task_queue=cycle_stack.settings.temporal.task_queue
    )
    return {"cycle_id": handle.id, "lead_id": lead.lead_id, "campaign": cycle_stack.campaign}


@pytest.fixture(scope="module")
def api_app(cycle_stack: CycleStack) -> object:
    s = cycle_stack.settings.model_copy(
        update={"operators": {"zhang": hash_password(PASSWORD)}, "max_upload_bytes": 64 * 1024}
    )
    # No client passed: the app connects on first use, in the event loop that serves it.
    return create_app(s)


@pytest.fixture(scope="module")
def operator(api_app: object) -> tuple[dict[str, str], dict[str, str]]:
    """(cookies, headers) of a signed-in operator: the session cookie and the CSRF double submit."""
    with TestClient(api_app, base_url="http://testserver") as web:  # type: ignore[arg-type]
        page = web.get("/login")
        token = web.cookies[CSRF_COOKIE]
        assert page.status_code == 200
        signed = web.post(
            "/login",
            data={"username": "zhang", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        cookies = dict(web.cookies)
    return cookies, {"X-CSRF-Token": cookies[CSRF_COOKIE]}


def _strategies(op: Any, ids: dict[str, str]) -> list[st.SearchStrategy[Any]]:
    """Generated cases; and as many again with the real cycle's id (and its units' ids) fixed for an
    operation on a cycle, or the real campaign as the filter for a listing."""
    names = {p.name for p in op.path_parameters}
    choices: list[dict[str, Any]] = []
    if "cycle_id" in names:
        units = list(UNITS) if "unit_id" in names else [""]
        choices = [{"path_parameters": {"cycle_id": ids["cycle_id"], **({"unit_id": u} if u else {})}} for u in units]
    elif any(p.name == "campaign" for p in op.query):
        choices = [{"query": {"campaign": ids["campaign"]}}]
    generated = op.as_strategy()
    if not choices:
        return [generated]
    return [generated, st.sampled_from(choices).flatmap(lambda fixed: op.as_strategy(**fixed))]


def _real(case: Any, ids: dict[str, str]) -> bool:
    cycle = urllib.parse.unquote((case.path_parameters or {}).get("cycle_id", ""))
    return cycle == ids["cycle_id"] or (case.query or {}).get("campaign") == ids["campaign"]


async def test_no_5xx_documented_codes_and_schemas(
    api_app: object, operator: tuple[dict[str, str], dict[str, str]], real_ids: dict[str, str]
) -> None:
    """Generated calls to every operation, many on the real cycle: never a server error, only documented
    status codes, always a documented response shape."""
    cookies, headers = operator
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= MIN_OPERATIONS, [op.label for op in operations]
    # The cycle-level actions (close, forward) last: a closed cycle answers everything else with 404.
    operations.sort(key=lambda op: op.path == "/api/cycles/{cycle_id}/{action}")
    # The calls run in a thread: this event loop must keep serving the worker that answers them.
    await asyncio.to_thread(_generate, operations, cookies, headers, real_ids)
    _report_and_check(operations)


def _generate(
    operations: list[Any], cookies: dict[str, str], headers: dict[str, str], real_ids: dict[str, str]
) -> None:
    for strategy in (s for op in operations for s in _strategies(op, real_ids)):

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def one(case: schemathesis.Case) -> None:
            label = f"{case.method} {case.path}"
            TRIED[label] += 1
            response = case.call_and_validate(
                headers=headers,
                cookies=cookies,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )
            STATUS[(label, response.status_code)] += 1
            if _real(case, real_ids):
                REAL[(case.method, response.status_code)] += 1

        one()


def _report_and_check(operations: list[Any]) -> None:
    print(f"\nschemathesis: {sum(TRIED.values())} generated calls over {len(TRIED)} operations")
    for label, n in sorted(TRIED.items()):
        codes = ", ".join(f"{code}×{k}" for (lbl, code), k in sorted(STATUS.items()) if lbl == label)
        print(f"  {n:4d}  {label}  [{codes}]")
    print(f"  with the real cycle's ids: {dict(sorted(REAL.items()))}")
    # Enough calls, and the real ids reached the real handlers: reads answered, Updates applied or refused.
    assert len(TRIED) == len(operations)
    assert sum(TRIED.values()) >= MIN_OPERATIONS * EXAMPLES_PER_OPERATION // 2
    assert all(n >= 5 for n in TRIED.values()), TRIED
    assert REAL[("GET", 200)] >= 10, REAL
    assert sum(n for (method, code), n in REAL.items() if method == "POST" and code in (200, 400)) >= 10, REAL
