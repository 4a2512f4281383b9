"""The unit portal speaks Chinese first (issue 19): the period as 2026年度, the legal basis (计算依据) and
a refusal in Chinese, the English reason kept after it. The console app in process, on the cycle stack."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from console import client_calls as calls
from console.web.app import create_app
from schemas.cycle import Waive
from tests.e2e.cycle_stack import CycleStack, cycle_stack_fixture  # noqa: F401 -- the fixture
from tests.security.helpers import mailed_links, new_id, path_of
from workflows.reporting_cycle import ReportingCycle


@pytest.fixture
async def web(cycle_stack: CycleStack) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(cycle_stack.settings, client=cycle_stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def test_portal_in_chinese(web: httpx.AsyncClient, cycle_stack: CycleStack) -> None:
    """Period, legal basis and a refusal read in Chinese; the English reason follows the Chinese words."""
    unit = new_id("uz")
    cid = (await cycle_stack.open_cycle("chinese-first", units={unit: "甲单位"})).id
    (portal, _), *_ = await mailed_links(cycle_stack, f"{unit}@units.example", 1)
    page = await web.get(path_of(portal))
    assert page.status_code == 200
    assert "2026年度" in page.text and "· 2026-Y" not in page.text
    basis = re.search(r"计算依据：([^<]+)<", page.text)
    assert basis and "民法典" in basis[1] and "Civil Code" not in basis[1]

    await calls.update(cycle_stack.client, cid, ReportingCycle.waive, Waive(unit_id=unit, reason="本期无", by="张"))
    csrf = web.cookies.get("duban_csrf")
    refused = await web.post(path_of(portal), data={"csrf_token": csrf, "title": "总结", "text": "正文"})
    assert refused.status_code == 400
    error = re.search(r'<p class="error" role="alert">([^<]+)</p>', refused.text)
    assert error and error[1].startswith("本单位本期已免报") and "exempted" in error[1]
