"""Every JSON API endpoint, generated from the console's own OpenAPI document (schemathesis).

In-process (ASGI), signed in as an operator with the CSRF header, against a live
dev server with a worker and a running cycle: whatever the generated path,
query and body, the answer is never a 5xx and always matches the documented
response schema.
"""

from collections import Counter
from collections.abc import AsyncIterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.testclient import TestClient
from temporalio.testing import WorkflowEnvironment

from console.auth import CSRF_COOKIE, hash_password
from console.web.app import create_app
from tests.conftest import start_dev_server
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from workers.settings import Settings

PASSWORD = "schemathesis password"
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module")
async def dev_server_env(session_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this module's own: cycles other modules left without a worker would make
    every listing wait for their query timeouts."""
    async with await start_dev_server(session_settings) as env:
        yield env


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


def test_no_5xx_and_responses_match_the_schema(api_app: object, operator: tuple[dict, dict]) -> None:
    """Generated calls to every operation: never a server error, always a documented response shape."""
    cookies, headers = operator
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def one(case: schemathesis.Case) -> None:
            TRIED[f"{case.method} {case.path}"] += 1
            case.call_and_validate(
                headers=headers, cookies=cookies, checks=[not_a_server_error, response_schema_conformance]
            )

        one()
    print(f"\nschemathesis: {sum(TRIED.values())} generated calls over {len(TRIED)} operations")
    for label, n in sorted(TRIED.items()):
        print(f"  {n:4d}  {label}")
