"""Record the InfoChannel histories that tests/replay/test_replay_info.py replays.

    .venv/bin/python -m tests.replay.record_info_histories

The production worker (real activities, real sandbox) against real servers from
the venv's binaries and a real SMTP sink; plain pydantic converter (no payload
key), like the cycle histories. Together they pass every branch of the channel:

- info-review (time-skipping): receipts; return with a note, resubmission,
  adoption; the office's reminder before the limit and the automatic forward by
  mail at the limit; forward on request; filing; a return whose window ends;
  a unit's links revoked; the quiet-unit reminder; settled items paged out to the blob store; closing.
- info-upper-city / info-upper-province (dev server): an adopted item sent up
  into the province's channel running on the same server, received there.
- info-continue-as-new-1 / -2 (dev server; the channel's `max_run_events` set to 60):
  a busy channel continues as new and the new run carries on.
"""

import asyncio
import datetime as dt
import tempfile
import uuid
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.cycle import LinksRevoked, RevokeLinks
from schemas.info import CloseChannel, DecideItem, Decision, ForwardItem, InfoBoard, ItemResult, ItemsView
from schemas.info_plan import InfoKind, InfoPlan
from schemas.plan import CampaignPlan, UpperOffice
from tests.info_support import channel_input, info_plan, items, stored_call, submit
from tests.replay.record_cycle_histories import _dev_server, _time_skipping
from workers.dev.ports import free_port
from workers.dev.smtp_sink import SmtpSink
from workers.objects import blob_store
from workers.settings import Settings, SmtpSettings, TemporalSettings
from workers.worker import build_worker

HISTORIES = Path(__file__).parent / "histories"
Handle = WorkflowHandle[object, ItemsView]


async def _start(
    env: WorkflowEnvironment, settings: Settings, p: CampaignPlan, archive_batch: int = 3, max_run_events: int = 4000
) -> Handle:
    inp = channel_input(p, await env.get_current_time())
    inp.spec.archive_batch, inp.spec.max_run_events = archive_batch, max_run_events
    handle: Handle = await env.client.start_workflow(
        "InfoChannel", inp, id=inp.spec.channel_id, task_queue=settings.temporal.task_queue, result_type=ItemsView
    )
    return handle


async def _decide(handle: Handle, no: int, decision: Decision, note: str = "") -> None:
    call = DecideItem(no=no, decision=decision, note=note, by="郑继勇")
    await handle.execute_update("decide_item", call, result_type=ItemResult)


async def review(env: WorkflowEnvironment, settings: Settings) -> dict[str, Handle]:
    store = blob_store(settings)
    rules = InfoPlan(
        resubmit_days=5,
        quiet_days=10,
        forward_within=DueRule(kind=RuleKind.WORKING_DAYS, n=2),
        forward_reminders=[LadderStep(key="1wd", offset=1, unit=StepUnit.WORKING_DAYS)],
    )
    handle = await _start(
        env, settings, info_plan(upper=UpperOffice(id="sc", name="省打假办", email="sc@sc.example"), rules=rules)
    )
    await submit(handle, await stored_call(store, "u1", "案例一"))
    await submit(handle, await stored_call(store, "u1", "动态二", kind=InfoKind.WORK_UPDATE))
    await submit(handle, await stored_call(store, "u2", "做法三", kind=InfoKind.PRACTICE))
    await submit(handle, await stored_call(store, "u2", "案例四"))
    await _decide(handle, 1, Decision.RETURN, "请补充案值")
    await submit(handle, await stored_call(store, "u1", "案例一（补充）", resubmit_of=1))
    await _decide(handle, 1, Decision.ADOPT, "拟报省打假办")
    await _decide(handle, 2, Decision.FILE)
    await _decide(handle, 3, Decision.ADOPT)
    await handle.execute_update("forward_item", ForwardItem(no=3, by="郑继勇"), result_type=ItemResult)
    await _decide(handle, 4, Decision.RETURN, "请补充处理结果")
    await handle.execute_update(
        "revoke_links", RevokeLinks(unit_id="u2", reason="链接外泄", by="郑继勇"), result_type=LinksRevoked
    )
    await env.sleep(dt.timedelta(days=12))
    await items(handle)
    await handle.execute_update("close_channel", CloseChannel(by="郑继勇"), result_type=InfoBoard)
    await handle.result()
    return {"info-review": handle}


async def upper(env: WorkflowEnvironment, settings: Settings) -> dict[str, Handle]:
    store = blob_store(settings)
    province = info_plan(n_units=2, office_id="sc", rules=InfoPlan(forward_within=None))
    province = province.model_copy(
        update={
            "units": [province.units[0].model_copy(update={"id": "yaan", "name": "雅安市打假办"}), province.units[1]]
        }
    )
    city = info_plan(upper=UpperOffice(id="sc", name="省打假办", campaign=province.id, as_unit="yaan"))
    up = await _start(env, settings, province)
    down = await _start(env, settings, city)
    await submit(down, await stored_call(store, "u1", "跨境侵权案"))
    await _decide(down, 1, Decision.ADOPT)
    await down.execute_update("forward_item", ForwardItem(no=1, by="郑继勇"), result_type=ItemResult)
    for _ in range(100):
        if (await items(up)).items:
            break
        await asyncio.sleep(0.1)
    for handle in (down, up):
        await handle.execute_update("close_channel", CloseChannel(by="郑继勇"), result_type=InfoBoard)
        await handle.result()
    return {"info-upper-city": down, "info-upper-province": up}


async def continue_as_new(env: WorkflowEnvironment, settings: Settings) -> dict[str, Handle]:
    store = blob_store(settings)
    plan = info_plan(rules=InfoPlan(forward_within=None))
    handle = await _start(env, settings, plan, archive_batch=100, max_run_events=60)
    for n in range(12):
        receipt = await submit(handle, await stored_call(store, f"u{n % 3 + 1}", f"信息{n}"))
        await _decide(handle, receipt.no, Decision.ADOPT if n % 2 else Decision.FILE)
    latest: Handle = env.client.get_workflow_handle(handle.id, result_type=ItemsView)
    await latest.execute_update("close_channel", CloseChannel(by="郑继勇"), result_type=InfoBoard)
    await latest.result()
    first: Handle = env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    last_event = (await first.fetch_history()).events[-1]
    second_run = last_event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    assert second_run, "the channel did not continue as new"
    second: Handle = env.client.get_workflow_handle(handle.id, run_id=second_run)
    return {"info-continue-as-new-1": first, "info-continue-as-new-2": second}


async def _run(env: WorkflowEnvironment, scenario, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    sink = SmtpSink("127.0.0.1", free_port(), workdir / "mail")
    sink.start()
    settings = Settings(
        data_dir=workdir,
        smtp=SmtpSettings(host=sink.host, port=sink.port),
        temporal=TemporalSettings(task_queue=f"record-{uuid.uuid4().hex[:8]}"),
    )
    try:
        async with build_worker(env.client, settings):
            for label, handle in (await scenario(env, settings)).items():
                history = await handle.fetch_history()
                (HISTORIES / f"{label}.json").write_text(history.to_json(), encoding="utf-8")
                print(f"wrote {label}.json ({len(history.events)} events)", flush=True)
    finally:
        sink.stop()


async def record() -> None:
    with tempfile.TemporaryDirectory(prefix="duban-record-info-") as tmp:
        async with await _time_skipping() as env:
            await _run(env, review, Path(tmp) / "review")
        async with await _dev_server() as env:
            await _run(env, upper, Path(tmp) / "upper")
        async with await _dev_server() as env:
            await _run(env, continue_as_new, Path(tmp) / "can")


if __name__ == "__main__":
    asyncio.run(record())
