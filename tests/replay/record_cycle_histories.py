"""Record the ReportingCycle histories that tests/replay/test_replay_cycles.py replays.

    .venv/bin/python -m tests.replay.record_cycle_histories [NAME ...]

Each scenario runs the production worker (real activities, real sandbox) against
a real server from the venv's binaries and a real SMTP sink, then writes the
run's history to tests/replay/histories/cycle-<name>.json. Together they pass
every branch of the workflow:

- ladder: on time, late and never; reminders, due moment, the three escalation
  rungs with the bulletin, the office's own reminder, the roll-up without an
  upper office, closing when the keep-open period ends (time-skipping).
- office-actions: extension approved and refused, return for revision and the
  revised report, a waiver, an interim report, closing by the office (time-skipping).
- extension-mail: a unit asks for an extension and the office is mailed at once
  (`extension-to-office`); a grant and a refusal reach the units with the previous
  deadline and stay as the unit's decision (`extension-decision-dated`); closing by the
  office (time-skipping). cycle-office-actions.json was recorded before both patches.
- archived: a unit reports, the office closes the cycle, and the closed cycle goes
  into the records database by the archive activity (the `archive-at-close` patch
  marker; every history recorded before it closes without) (time-skipping).
- links: the office revokes one unit's links, that unit reports, another
  unit's links are revoked, the office closes the cycle (time-skipping).
- chase: 催办 now to every unit still owing, the same key again under another
  Update id (nothing sent), one named unit, closing by the office (time-skipping).
- amend: the plan changes under the running cycle (`amend_units`, the `amend-units` patch marker): a unit
  added (its notice, its own deadline), one withdrawn, one's contact changed, the same plan again (nothing
  changes); the ladder then runs past the deadlines without the withdrawn unit (time-skipping).
- calendar: holiday data arrives (`update_calendar`) and moves every open
  deadline; everyone reports, the roll-up goes to the upper office by mail, the
  cycle closes because everything is settled (time-skipping).
- bounded: the branches patched for issue 17 (rollup-confirmed with a file missing
  from the store and the roll-up by mail, supplement-each, lists-once) (time-skipping).
- rollup-child / rollup-parent: the office forwards early, a late report goes up
  as a supplement into the parent cycle found by visibility; the parent is
  closed by its office (dev server).
- template: a cycle opened from a template the way a Schedule opens it, holiday
  data by activity (dev server).
- continue-as-new-1 / continue-as-new-2: a busy cycle continues as new and the
  new run carries on (dev server told to suggest continue-as-new early).
- instant-order: the ladder scenario with what falls due at one instant acted on in the
  notice's declared order (`timeline.INSTANT_ORDER`, the `instant-order` patch marker;
  cycle-ladder.json was recorded before it) (time-skipping).
- big-bulletin: 40 units never report; the bulletin's outbox passes 256 KB and goes
  out in several batches (the `outbox-in-batches` patch marker) (time-skipping).
- mail-retry: the SMTP server is down when the notices go out; the mail activity
  fails and is retried until the server is back; a call arrives during a batch (the
  `wake-while-busy` patch marker: the loop goes round instead of sleeping) (dev server).

`cycle-prepatch-*.json` were recorded with the workflow code of the commit before each
patch, in a scratch checkout (big-bulletin as here; prepatch-wake-busy: twenty concurrent
submissions while the notices go out), not by this script (see test_replay_cycles.py).

Histories use the plain pydantic converter (no payload encryption), so the
replay needs no key. Re-record after a deliberate, versioned workflow change.
"""

import asyncio
import datetime as dt
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain import cycle_spec
from schemas.amendment import Amended, AmendUnits
from schemas.blobs import BlobRef
from schemas.calendar import DueRule, HolidayCalendar, RuleKind, YearCalendar
from schemas.cycle import (
    ActionResult,
    CycleInput,
    CycleStatus,
    DecideExtension,
    LinksRevoked,
    NewCalendar,
    OfficeAction,
    Receipt,
    RemindNow,
    RequestExtension,
    ReturnForRevision,
    RevokeLinks,
    SubmitReport,
    UnitQuery,
    UnitView,
    Waive,
)
from schemas.plan import DueSpec, ReportKind, Unit, UpperOffice
from schemas.visibility import SEARCH_ATTRIBUTES
from tests.conftest import _INDEXED_TYPES, duban_search_attribute_keys
from tests.plans import cycle_input, ladder_obligation, person, plan
from workers.dev.binaries import bundled_binary
from workers.dev.ports import free_port
from workers.dev.smtp_sink import SmtpSink
from workers.objects import blob_store
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.worker import build_worker

HISTORIES = Path(__file__).parent / "histories"
# The dev server suggests continue-as-new after this many events (production default: 4096).
CAN_AFTER_EVENTS = 60

Handle = WorkflowHandle[object, CycleStatus]
Scenario = Callable[["Rig"], Awaitable[dict[str, Handle]]]


class Rig:
    """One server, a worker on its own task queue, an SMTP sink and a blob store."""

    def __init__(self, env: WorkflowEnvironment, settings: Settings, sink: SmtpSink | None = None) -> None:
        self.env = env
        self.sink = sink
        self.settings = settings
        self.client: Client = env.client
        self.blobs = blob_store(settings)

    async def now(self) -> dt.datetime:
        return await self.env.get_current_time()

    async def start(self, inp: CycleInput, tag: str) -> Handle:
        wid = (inp.spec.cycle_id if inp.spec else "cycle:template") + f":{tag}:{uuid.uuid4().hex[:6]}"
        return await self.client.start_workflow(
            "ReportingCycle", inp, id=wid, task_queue=self.settings.temporal.task_queue, result_type=CycleStatus
        )

    async def status(self, handle: Handle) -> CycleStatus:
        return await handle.query("get_status", result_type=CycleStatus)


def _local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).date()


async def _wait_for(predicate: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)


# ---- scenarios on the time-skipping server ----------------------------------------------------


async def ladder(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(3), await rig.now()), "ladder")
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="年度总结"), result_type=Receipt)
    status = await rig.status(handle)
    await rig.env.sleep(status.unit_due.at - await rig.now() + dt.timedelta(hours=1))
    late = await handle.execute_update(
        "submit_report", SubmitReport(unit_id="u2", title="年度总结（补报）"), result_type=Receipt
    )
    assert late.late
    final = await handle.result()
    assert final.stage.value == "closed" and final.counts["overdue"] == 1
    return {"ladder": handle}


async def office_actions(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(4), await rig.now()), "office")
    due_day = _local_day((await rig.status(handle)).unit_due.at)
    wanted = due_day + dt.timedelta(days=7)
    await handle.execute_update("request_extension", RequestExtension(unit_id="u1", reason="数据未齐", wanted=wanted))
    await handle.execute_update("decide_extension", DecideExtension(unit_id="u1", approve=True, by="op"))
    await handle.execute_update("request_extension", RequestExtension(unit_id="u2", reason="人手不足", wanted=wanted))
    await handle.execute_update(
        "decide_extension", DecideExtension(unit_id="u2", approve=False, reason="不予延期", by="op")
    )
    await handle.execute_update("submit_report", SubmitReport(unit_id="u3", title="总结"))
    await handle.execute_update(
        "return_for_revision", ReturnForRevision(unit_id="u3", reason="数据有误", new_due=wanted, by="op")
    )
    await handle.execute_update("submit_report", SubmitReport(unit_id="u3", title="总结（修改稿）"))
    await handle.execute_update("waive", Waive(unit_id="u2", reason="本期无相关工作", by="op"))
    await handle.execute_update(
        "submit_report", SubmitReport(unit_id="u4", title="工作动态", kind=ReportKind.WORK_UPDATE)
    )
    await handle.execute_update("close", OfficeAction(reason="本期督办结束", by="op"))
    final = await handle.result()
    assert final.stage.value == "closed"
    return {"office-actions": handle}


async def extension_mail(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(2), await rig.now()), "extension")
    wanted = _local_day((await rig.status(handle)).unit_due.at) + dt.timedelta(days=7)
    await handle.execute_update("request_extension", RequestExtension(unit_id="u1", reason="数据未齐", wanted=wanted))
    await handle.execute_update("decide_extension", DecideExtension(unit_id="u1", approve=True, by="op"))
    await handle.execute_update("request_extension", RequestExtension(unit_id="u2", reason="人手不足", wanted=wanted))
    await handle.execute_update(
        "decide_extension", DecideExtension(unit_id="u2", approve=False, reason="上级时限不可延后", by="op")
    )
    await handle.execute_update("close", OfficeAction(reason="本期督办结束", by="op"))
    final = await handle.result()
    assert final.stage.value == "closed"
    return {"extension-mail": handle}


async def archived(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(2), await rig.now()), "archived")
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
    await handle.execute_update("close", OfficeAction(reason="本期督办结束", by="op"))
    final = await handle.result()
    assert final.stage.value == "closed"
    return {"archived": handle}


async def links(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(2), await rig.now()), "links")
    revoked = await handle.execute_update(
        "revoke_links", RevokeLinks(unit_id="u1", reason="通知被转发到外部群", by="op"), result_type=LinksRevoked
    )
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
    await handle.execute_update("revoke_links", RevokeLinks(unit_id="u2", by="op"), result_type=LinksRevoked)
    view = await handle.query("get_unit", UnitQuery(unit_id="u1"), result_type=UnitView)
    assert view.state.links_valid_from == revoked.links_valid_from
    await handle.execute_update("close", OfficeAction(reason="本期督办结束", by="op"))
    final = await handle.result()
    assert final.stage.value == "closed"
    return {"links": handle}


async def chase(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(3), await rig.now()), "chase")
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
    click = RemindNow(key="click-0001", note="请今日报送", urgent=True, by="op")
    await handle.execute_update("remind_now", click, id="remind-click-0001")
    # The same key under another Update id: the cycle answers "already sent" and queues nothing.
    await handle.execute_update("remind_now", click, id="remind-click-0001-again")
    await handle.execute_update("remind_now", RemindNow(key="click-0002", unit_ids=["u2"], urgent=True, by="op"))
    await handle.execute_update("close", OfficeAction(reason="本期督办结束", by="op"))
    final = await handle.result()
    assert final.stage.value == "closed"
    return {"chase": handle}


async def amend(rig: Rig) -> dict[str, Handle]:
    p = plan(3)
    handle = await rig.start(cycle_input(p, await rig.now()), "amend")
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
    u2 = p.units[1].model_copy(update={"contacts": [person("新联系人", "u2-new@yaan.example")]})
    u4 = Unit(id="u4", name="新成员单位", contacts=[person("联系人4", "u4@yaan.example")])
    edited = p.model_copy(update={"units": [p.units[0], u2, u4]})
    call = AmendUnits(units=cycle_spec.template_for(edited, edited.obligations[0]).units, by="op")
    done = await handle.execute_update("amend_units", call, result_type=Amended)
    assert done.added == ["u4"] and done.withdrawn == ["u3"] and done.changed == ["u2"]
    again = await handle.execute_update("amend_units", call, result_type=Amended)
    assert again.unchanged
    status = await rig.status(handle)
    latest = max(r.due.at for r in status.units)
    await rig.env.sleep(latest - await rig.now() + dt.timedelta(days=8))
    await handle.execute_update("close", OfficeAction(reason="本期督办结束", by="op"))
    final = await handle.result()
    assert final.stage.value == "closed" and final.counts["withdrawn"] == 1
    return {"amend": handle}


def _with_extra_holidays(cal: HolidayCalendar, start: dt.date, days: int) -> HolidayCalendar:
    """The same data plus `days` rest days from `start`: stands in for a newly published arrangement."""
    years = {y: c.model_copy(deep=True) for y, c in cal.years.items()}
    for i in range(days):
        day = start + dt.timedelta(days=i)
        years.setdefault(day.year, YearCalendar(year=day.year)).holidays[day] = "测试假期"
    return HolidayCalendar(tz=cal.tz, years=years)


async def calendar(rig: Rig) -> dict[str, Handle]:
    upper = UpperOffice(id="sc", name="省打假办", email="province@sc.example")
    inp = cycle_input(plan(2, upper=upper), await rig.now())
    assert inp.spec is not None
    handle = await rig.start(inp, "calendar")
    opened = _local_day(inp.spec.opened_at)
    moved = _with_extra_holidays(inp.spec.calendar, opened + dt.timedelta(days=1), 10)
    result = await handle.execute_update(
        "update_calendar", NewCalendar(calendar=moved, by="op"), result_type=ActionResult
    )
    assert result.moved == ["u1", "u2"], result
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
    await handle.execute_update("submit_report", SubmitReport(unit_id="u2", title="总结"))
    final = await handle.result()
    assert final.forwarded_at is not None and final.stage.value == "closed"
    return {"calendar": handle}


async def bounded(rig: Rig) -> dict[str, Handle]:
    """The branches patched for issue 17: the roll-up recorded as forwarded only once the upper office's
    mail went out, with a file missing from the store named (rollup-confirmed); a late report going up
    on its own while another unit never reports (supplement-each); the escalations' list messages
    carrying their list once (lists-once)."""
    upper = UpperOffice(id="sc", name="省打假办", email="province@sc.example")
    handle = await rig.start(cycle_input(plan(3, upper=upper), await rig.now()), "bounded")
    kept = await rig.blobs.put("雅安市公安局工作总结".encode(), "总结.txt", "text/plain")
    gone = BlobRef(sha256="0" * 64, size=10, name="缺失.pdf")  # never stored
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结", attachments=[kept, gone]))
    await handle.execute_update("forward_upward", OfficeAction(reason="省里催要", by="op"))

    async def forwarded() -> bool:
        return (await rig.status(handle)).forwarded_at is not None

    await _wait_for(forwarded)
    status = await rig.status(handle)
    assert any("rollup_incomplete" in p for p in status.problems), status.problems
    await rig.env.sleep(status.unit_due.at - await rig.now() + dt.timedelta(hours=1))
    late = await handle.execute_update(
        "submit_report", SubmitReport(unit_id="u2", title="年度总结（补报）"), result_type=Receipt
    )
    assert late.late
    final = await handle.result()  # u3 never reports: escalations, the bulletin, closing after the keep-open
    assert final.stage.value == "closed" and final.counts["overdue"] == 1
    return {"bounded": handle}


async def big_bulletin(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(40), await rig.now()), "big-bulletin")
    final = await handle.result()  # nobody reports: the whole ladder, then the cycle closes by itself
    assert final.counts["overdue"] == 40 and final.stage.value == "closed"
    return {"big-bulletin": handle}


async def instant_order(rig: Rig) -> dict[str, Handle]:
    """The ladder again, acted on in the declared order of one instant (the `instant-order` marker);
    cycle-ladder.json, recorded before it, keeps the order of the kinds' names."""
    handles = await ladder(rig)
    return {"instant-order": handles["ladder"]}


# ---- scenarios on the dev server ----------------------------------------------------------------


async def mail_retry(rig: Rig) -> dict[str, Handle]:
    assert rig.sink is not None
    rig.sink.stop()
    handle = await rig.start(cycle_input(plan(2), await rig.now()), "mail-retry")

    async def retried() -> bool:
        desc = await handle.describe()
        return any(a.attempt >= 2 for a in desc.raw_description.pending_activities)

    await _wait_for(retried)
    rig.sink.start()

    async def delivered() -> bool:
        return len(list((rig.sink.maildir / "new").glob("*"))) >= 2 if rig.sink else False

    await _wait_for(delivered)
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
    await handle.execute_update("close", OfficeAction(reason="测试结束", by="op"))
    await handle.result()
    return {"mail-retry": handle}


async def rollup(rig: Rig) -> dict[str, Handle]:
    tag = uuid.uuid4().hex[:8]
    province = plan(2, campaign_id=f"prov{tag}", office_id="sc")
    province.units[0].id = "yaan"
    city = plan(
        2,
        campaign_id=f"city{tag}",
        office_id="yaan",
        upper=UpperOffice(id="sc", name="省打假办", campaign=f"prov{tag}", as_unit="yaan"),
    )
    now = await rig.now()
    prov_in, city_in = cycle_input(province, now), cycle_input(city, now)
    assert prov_in.spec and city_in.spec
    # The roll-up finds its parent by id prefix and period, so these keep the plain cycle ids.
    queue = rig.settings.temporal.task_queue
    parent: Handle = await rig.client.start_workflow(
        "ReportingCycle", prov_in, id=prov_in.spec.cycle_id, task_queue=queue, result_type=CycleStatus
    )
    child: Handle = await rig.client.start_workflow(
        "ReportingCycle", city_in, id=city_in.spec.cycle_id, task_queue=queue, result_type=CycleStatus
    )

    async def listed() -> bool:
        return [w.id async for w in rig.client.list_workflows(f"DubanCampaign = 'prov{tag}'")] == [parent.id]

    await _wait_for(listed)
    report = await rig.blobs.put("雅安市公安局工作总结".encode(), "总结.txt", "text/plain")
    await child.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结", attachments=[report]))
    await child.execute_update("forward_upward", OfficeAction(reason="省里催要", by="op"))

    async def parent_has(n: int) -> bool:
        view = await parent.query("get_unit", UnitQuery(unit_id="yaan"), result_type=UnitView)
        return len(view.state.submissions) >= n

    await _wait_for(lambda: parent_has(1))
    await child.execute_update("submit_report", SubmitReport(unit_id="u2", title="总结（补报）"))
    await _wait_for(lambda: parent_has(2))
    final = await child.result()
    assert final.stage.value == "closed"
    await parent.execute_update("close", OfficeAction(reason="测试结束", by="op"))
    await parent.result()
    return {"rollup-child": child, "rollup-parent": parent}


async def template(rig: Rig) -> dict[str, Handle]:
    p = plan(2, obligation=ladder_obligation(unit_due=DueSpec(after=DueRule(kind=RuleKind.DAYS, n=10))))
    handle = await rig.start(CycleInput(template=cycle_spec.template_for(p, p.obligations[0])), "template")

    async def opened() -> bool:
        try:
            await asyncio.wait_for(rig.status(handle), timeout=5)
        except Exception:  # "still opening" until the holiday activity has returned
            return False
        return True

    await _wait_for(opened)
    await handle.execute_update("submit_report", SubmitReport(unit_id="u1", title="总结"))
    await handle.execute_update("close", OfficeAction(reason="测试结束", by="op"))
    await handle.result()
    return {"template": handle}


async def continue_as_new(rig: Rig) -> dict[str, Handle]:
    handle = await rig.start(cycle_input(plan(12), await rig.now()), "can")
    first_run = (await handle.describe()).run_id
    for i in range(1, 12):
        await handle.execute_update("submit_report", SubmitReport(unit_id=f"u{i}", title=f"总结{i}"))
        # One call at a time, each given a moment: continue-as-new happens between calls.
        await asyncio.sleep(0.5)
        if (await handle.describe()).run_id != first_run:
            break
    second_run = (await handle.describe()).run_id
    assert second_run != first_run, "the server never suggested continue-as-new"
    await handle.execute_update("close", OfficeAction(reason="测试结束", by="op"))
    await handle.result()
    first = rig.client.get_workflow_handle(handle.id, run_id=first_run, result_type=CycleStatus)
    second = rig.client.get_workflow_handle(handle.id, run_id=second_run, result_type=CycleStatus)
    return {"continue-as-new-1": first, "continue-as-new-2": second}


TIME_SKIPPING: dict[str, Scenario] = {
    "ladder": ladder,
    "office-actions": office_actions,
    "extension-mail": extension_mail,
    "archived": archived,
    "links": links,
    "chase": chase,
    "amend": amend,
    "calendar": calendar,
    "bounded": bounded,
    "big-bulletin": big_bulletin,
    "instant-order": instant_order,
}
DEV_SERVER: dict[str, Scenario] = {"rollup": rollup, "template": template, "mail-retry": mail_retry}
DEV_SERVER_EARLY_CAN: dict[str, Scenario] = {"continue-as-new": continue_as_new}


# ---- servers and recording ------------------------------------------------------------------------


async def _time_skipping() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(bundled_binary("temporal-test-server")), data_converter=pydantic_data_converter
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={name: _INDEXED_TYPES[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
        )
    )
    return env


async def _dev_server(*extra: str) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(bundled_binary("temporal")),
        data_converter=pydantic_data_converter,
        search_attributes=duban_search_attribute_keys(),
        ip="127.0.0.1",
        ui=False,
        dev_server_log_level="warn",
        dev_server_extra_args=list(extra),
    )


async def _run(
    env: WorkflowEnvironment, scenarios: dict[str, Scenario], wanted: set[str], workdir: Path
) -> dict[str, str]:
    recorded: dict[str, str] = {}
    for name, scenario in scenarios.items():
        if wanted and name not in wanted:
            continue
        data_dir = workdir / name
        sink = SmtpSink("127.0.0.1", free_port(), data_dir / "mail")
        sink.start()
        settings = Settings(
            data_dir=data_dir,
            smtp=SmtpSettings(host=sink.host, port=sink.port),
            temporal=TemporalSettings(task_queue=f"record-{uuid.uuid4().hex[:8]}"),
        )
        try:
            async with build_worker(env.client, settings):
                handles = await scenario(Rig(env, settings, sink))
                for label, handle in handles.items():
                    recorded[label] = (await handle.fetch_history()).to_json()
                    _write(label, recorded[label])
        finally:
            sink.stop()
        print(f"recorded {', '.join(handles)}", flush=True)
    return recorded


def without_local_paths(text: str) -> str:
    """A failed activity's stack trace names files on this machine: keep only the project-relative part."""
    root = str(Path(__file__).resolve().parents[2])
    for prefix in sorted({sys.prefix, sys.base_prefix, root, tempfile.gettempdir()}, key=len, reverse=True):
        text = text.replace(prefix.rstrip("/") + "/", "")
    return text


def _write(label: str, text: str) -> Path:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    path = HISTORIES / f"cycle-{label}.json"
    path.write_text(without_local_paths(text), encoding="utf-8")
    return path


async def record(wanted: set[str]) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="duban-record-") as tmp:
        workdir = Path(tmp)
        recorded: dict[str, str] = {}
        async with AsyncExitStack() as stack:
            env = await stack.enter_async_context(await _time_skipping())
            recorded |= await _run(env, TIME_SKIPPING, wanted, workdir)
        async with AsyncExitStack() as stack:
            env = await stack.enter_async_context(await _dev_server())
            recorded |= await _run(env, DEV_SERVER, wanted, workdir)
        async with AsyncExitStack() as stack:
            env = await stack.enter_async_context(
                await _dev_server(
                    "--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={CAN_AFTER_EVENTS}"
                )
            )
            recorded |= await _run(env, DEV_SERVER_EARLY_CAN, wanted, workdir)
    return [HISTORIES / f"cycle-{label}.json" for label in recorded]


def main() -> None:
    for path in asyncio.run(record(set(sys.argv[1:]))):
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
