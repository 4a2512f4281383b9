"""InfoChannel (及时报送) with the real worker, real activities and a real SMTP sink.

Ladders run on the time-skipping server; refusals on the dev server (the Java
test server loses the outcome of a rejected Update).
"""

import datetime as dt
import json
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.info_book import period_months
from domain.legaltime.days import is_working_day
from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.info import (
    BoardQuery,
    CloseChannel,
    DecideItem,
    Decision,
    ForwardItem,
    InfoBoard,
    InfoItem,
    InfoState,
    InfoStats,
    ItemResult,
    StatsQuery,
    SubmitItem,
)
from schemas.info_plan import InfoKind, InfoPlan
from schemas.plan import UpperOffice
from tests.info_support import end_started, info_plan, items, start_channel, stored_call, submit
from tests.plans import by_template, caught
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.objects import blob_store
from workers.settings import Settings
from workflows.info_channel import InfoChannel


@pytest.fixture(autouse=True)
async def _end_channels() -> AsyncIterator[None]:
    yield
    await end_started()


UPPER_BY_MAIL = UpperOffice(id="sc", name="四川省打假办", email="office@sc.example")
TZ = ZoneInfo("Asia/Shanghai")


async def decide(handle, no: int, decision: Decision, note: str = "") -> ItemResult:  # type: ignore[no-untyped-def]
    result: ItemResult = await handle.execute_update(
        "decide_item", DecideItem(no=no, decision=decision, note=note, by="郑继勇"), result_type=ItemResult
    )
    return result


class TestReviewAndForwarding:
    async def test_adopted_item_goes_up_by_mail_within_the_limit_after_a_reminder(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Receipt → adopted (unit told) → the office reminded before the limit → mailed up at the limit."""
        env = time_skipping_env
        store = blob_store(cycle_settings)
        p = info_plan(upper=UPPER_BY_MAIL)
        async with running_worker(env.client, cycle_settings):
            handle = await start_channel(
                env.client, cycle_settings.temporal.task_queue, p, await env.get_current_time()
            )
            receipt = await submit(
                handle, await stored_call(store, "u1", "查获假冒灯具案", work_area="(五) 健全制度机制")
            )
            assert receipt.no == 1 and receipt.item_id == f"{p.id}:yaan:1"
            adopted = await decide(handle, 1, Decision.ADOPT, "写得好")
            assert adopted.state is InfoState.ADOPTED and adopted.forward_due is not None
            due = adopted.forward_due
            assert "2个工作日" in due.rule_zh
            board: InfoBoard = await handle.query(InfoChannel.get_board, BoardQuery())
            assert [w.no for w in board.waiting] == [1]
            await env.sleep(due.at - await env.get_current_time() + dt.timedelta(minutes=5))
            view = await items(handle)
        (item,) = [i for i in view.items if i.no == 1]
        assert item.forwarded_how == "mail" and item.forwarded_at is not None
        assert item.forwarded_at <= due.at + dt.timedelta(seconds=5)
        assert [e.what for e in item.events][:2] == ["submitted", "adopted"]
        assert item.events[1].by == "郑继勇"
        assert any(e.what.startswith("forward_reminder:") for e in item.events)

        messages = caught(sink.maildir)
        assert len(by_template(messages, "info_receipt")) == 1
        (told,) = by_template(messages, "info_decided")
        assert "已采用" in str(told["Subject"]) and "u1@" in str(told["To"])
        (reminder,) = by_template(messages, "info_forward_reminder")
        assert "office@yaan.example" in str(reminder["To"])
        (up,) = by_template(messages, "info_forward")
        assert "office@sc.example" in str(up["To"])
        names = [part.get_filename() for part in up.iter_attachments()]
        assert "正文.txt" in names

    async def test_returned_item_is_resubmitted_then_its_window_ends(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """A return carries a note; the unit resubmits the same item; a second return expires after the window."""
        env = time_skipping_env
        store = blob_store(cycle_settings)
        p = info_plan(rules=InfoPlan(resubmit_days=5, forward_within=None))
        async with running_worker(env.client, cycle_settings):
            handle = await start_channel(
                env.client, cycle_settings.temporal.task_queue, p, await env.get_current_time()
            )
            await submit(handle, await stored_call(store, "u2", "联合执法动态", kind=InfoKind.WORK_UPDATE))
            await decide(handle, 1, Decision.RETURN, "请补充查处数量")
            again = await submit(handle, await stored_call(store, "u2", "联合执法动态（补充）", resubmit_of=1))
            assert again.no == 1 and again.version == 2
            view = await items(handle)
            assert view.items[0].state is InfoState.PENDING and view.items[0].title == "联合执法动态（补充）"
            await decide(handle, 1, Decision.RETURN, "仍需补充")
            await env.sleep(dt.timedelta(days=5, hours=1))
            view = await items(handle)
        item = view.items[0]
        assert item.state is InfoState.RETURNED and item.settled_at is not None
        assert [e.what for e in item.events] == ["submitted", "returned", "resubmitted", "returned", "expired"]
        told = by_template(caught(sink.maildir), "info_decided")
        assert len(told) == 2 and all("退回修改" in str(m["Subject"]) for m in told)
        bodies = " ".join(str(m.get_body(preferencelist=("plain",)).get_content()) for m in told)  # type: ignore[union-attr]
        assert "请补充查处数量" in bodies and "仍需补充" in bodies

    async def test_quiet_unit_gets_a_gentle_reminder_inside_the_send_window(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """With quiet_days set, a unit that sent nothing hears from the office on a working morning; others do not."""
        env = time_skipping_env
        store = blob_store(cycle_settings)
        p = info_plan(n_units=2, rules=InfoPlan(quiet_days=10, forward_within=None))
        async with running_worker(env.client, cycle_settings):
            start = await env.get_current_time()
            handle = await start_channel(env.client, cycle_settings.temporal.task_queue, p, start)
            await env.sleep(dt.timedelta(days=6))
            await submit(handle, await stored_call(store, "u1", "经验做法一则", kind=InfoKind.PRACTICE))
            await env.sleep(dt.timedelta(days=6))
            view = await items(handle)
        quiet = by_template(caught(sink.maildir), "info_quiet")
        assert [str(m["To"]) for m in quiet] and all("u2@" in str(m["To"]) for m in quiet)
        assert len(quiet) == 1
        reminded = view.activity["u2"].quiet_reminded_at
        assert reminded is not None and "u1" in view.activity and view.activity["u1"].quiet_reminded_at is None
        sent = reminded.astimezone(TZ)
        assert start + dt.timedelta(days=10) <= reminded
        assert dt.time(9) <= sent.time() <= dt.time(18)
        from activities.holidays import calendar_for

        assert is_working_day(sent.date(), calendar_for(sent.date()))


class TestRefusals:
    async def test_every_refused_call_says_why_and_changes_nothing(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """Wrong unit, kind, work area, state or missing note: refused with a reason, the channel unchanged."""
        env = dev_server_env
        store = blob_store(cycle_settings)
        p = info_plan(rules=InfoPlan(kinds=[InfoKind.TYPICAL_CASE, InfoKind.PRACTICE]))
        async with running_worker(env.client, cycle_settings):
            handle = await start_channel(
                env.client, cycle_settings.temporal.task_queue, p, await env.get_current_time()
            )
            await submit(handle, await stored_call(store, "u1", "典型案例一"))
            before = await items(handle)

            async def refused(name: str, call: object, fragment: str) -> None:
                with pytest.raises(WorkflowUpdateFailedError) as err:
                    await handle.execute_update(name, call)
                assert fragment in str(err.value.cause)

            await refused("submit_item", await stored_call(store, "nobody", "x"), "unknown unit")
            await refused("submit_item", await stored_call(store, "u1", "x", kind=InfoKind.WORK_UPDATE), "not 工作动态")
            await refused(
                "submit_item", await stored_call(store, "u1", "x", work_area="(九) 无此项"), "unknown work area"
            )
            await refused("submit_item", SubmitItem(unit_id="u1", kind=InfoKind.PRACTICE, title="空"), "a text or")
            await refused("submit_item", await stored_call(store, "u2", "x", resubmit_of=1), "no item 1")
            await refused("submit_item", await stored_call(store, "u1", "x", resubmit_of=1), "cannot be resubmitted")
            await refused("decide_item", DecideItem(no=1, decision=Decision.RETURN, by="op"), "needs a note")
            await refused("decide_item", DecideItem(no=9, decision=Decision.ADOPT, by="op"), "no item 9")
            await refused("forward_item", ForwardItem(no=1, by="op"), "no upper office")
            await decide(handle, 1, Decision.FILE)
            await refused("decide_item", DecideItem(no=1, decision=Decision.ADOPT, by="op"), "already 已存档")
            after = await items(handle)
            assert [
                i.model_dump(exclude={"state", "decided_at", "decided_by", "settled_at", "events"}) for i in after.items
            ] == [
                i.model_dump(exclude={"state", "decided_at", "decided_by", "settled_at", "events"})
                for i in before.items
            ]
            assert after.next_no == before.next_no == 2
            await handle.execute_update("close_channel", CloseChannel(by="op"), result_type=InfoBoard)
            final = await handle.result()
        assert final.closed
        assert [i.state for i in final.items] == [InfoState.FILED]


class TestForwardIntoUpperChannel:
    async def test_forward_now_lands_in_the_province_channel(
        self, dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """With the province's channel running here, `forward_item` submits the item there as the city's."""
        env = dev_server_env
        store = blob_store(cycle_settings)
        province = info_plan(n_units=2, office_id="sc", rules=InfoPlan(forward_within=None))
        province = province.model_copy(
            update={
                "units": [
                    province.units[0].model_copy(update={"id": "yaan", "name": "雅安市打假办"}),
                    *province.units[1:],
                ]
            }
        )
        city = info_plan(
            upper=UpperOffice(
                id="sc", name="四川省打假办", email="office@sc.example", campaign=province.id, as_unit="yaan"
            ),
            rules=InfoPlan(
                forward_within=DueRule(kind=RuleKind.WORKING_DAYS, n=2),
                forward_reminders=[LadderStep(key="h", offset=1, unit=StepUnit.HOURS)],
            ),
        )
        async with running_worker(env.client, cycle_settings):
            now = await env.get_current_time()
            upper = await start_channel(env.client, cycle_settings.temporal.task_queue, province, now)
            handle = await start_channel(env.client, cycle_settings.temporal.task_queue, city, now)
            await submit(handle, await stored_call(store, "u3", "跨境电商侵权案"))
            await decide(handle, 1, Decision.ADOPT)
            await handle.execute_update("forward_item", ForwardItem(no=1, by="郑继勇"), result_type=ItemResult)
            for _ in range(100):
                up = await items(upper, "yaan")
                if up.items:
                    break
                await env.sleep(dt.timedelta(milliseconds=100))
            view = await items(handle)
        (got,) = up.items
        assert got.title == "跨境电商侵权案" and got.origin == f"{city.id}:yaan:1" and got.state is InfoState.PENDING
        (item,) = view.items
        assert item.forwarded_how == "channel" and item.forward_detail == f"{province.id}:sc:1"
        assert not by_template(caught(sink.maildir), "info_forward")


class TestAYearOfItems:
    async def test_500_items_over_a_year_stay_bounded_and_count_right(
        self, time_skipping_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
    ) -> None:
        """500 items in 50 weekly rounds: every run's history and carried state stay small; the tallies are exact."""
        env = time_skipping_env
        store = blob_store(cycle_settings)
        units = [f"u{i}" for i in range(1, 6)]
        kinds = list(InfoKind)
        p = info_plan(n_units=5, upper=UPPER_BY_MAIL, rules=InfoPlan(resubmit_days=10, quiet_days=30))
        expected: dict[tuple[str, str], dict[str, int]] = {}
        # With the workflow cache on, as in production: without it every task replays the whole run.
        cached = cycle_settings.model_copy(
            update={"temporal": cycle_settings.temporal.model_copy(update={"max_cached_workflows": 100})}
        )
        async with running_worker(env.client, cached):
            handle = await start_channel(
                env.client, cycle_settings.temporal.task_queue, p, await env.get_current_time()
            )
            first_run = handle.first_execution_run_id or handle.result_run_id
            n = 0
            for _ in range(50):
                for _ in range(10):
                    unit, kind = units[n % 5], kinds[n % 3]
                    receipt = await submit(handle, await stored_call(store, unit, f"第{n + 1}条信息", kind=kind))
                    month = receipt.accepted_at.astimezone(TZ).strftime("%Y-%m")
                    counts = expected.setdefault((unit, month), {"sent": 0, "adopted": 0, "filed": 0, "returned": 0})
                    counts["sent"] += 1
                    decision = [Decision.ADOPT, Decision.FILE, Decision.RETURN, Decision.ADOPT][n % 4]
                    await decide(handle, receipt.no, decision, "请补充" if decision is Decision.RETURN else "")
                    counts[
                        {Decision.ADOPT: "adopted", Decision.FILE: "filed", Decision.RETURN: "returned"}[decision]
                    ] += 1
                    n += 1
                await env.sleep(dt.timedelta(days=7))
            await env.sleep(dt.timedelta(days=14))
            view = await items(handle)
            months = sorted({m for _, m in expected})
            periods = sorted({f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months} | {m[:4] + "-Y" for m in months})
            stats = {
                period: await handle.query("get_stats", StatsQuery(period=period), result_type=InfoStats)
                for period in periods
            }
            monthly = await handle.query("get_stats", StatsQuery(period=months[3]), result_type=InfoStats)

        # Every item is accounted for: open in the state or on a page in the blob store.
        archived = [InfoItem.model_validate(x) for page in view.archive for x in json.loads(await store.get(page.ref))]
        numbers = sorted([i.no for i in archived] + [i.no for i in view.items])
        assert numbers == list(range(1, 501))
        everything = archived + view.items
        adopted = [i for i in everything if i.state is InfoState.ADOPTED]
        assert len(adopted) == 250 and all(i.forwarded_how == "mail" for i in adopted)
        assert all(i.forward_due and i.forwarded_at and i.forwarded_at <= i.forward_due.at for i in adopted)
        assert all(i.settled_at for i in everything), "something was left open after the last limits passed"
        assert len(view.items) < 100  # settled items were paged out

        # Statistics: exactly the counts the test made, per period, per unit.
        for period, got in stats.items():
            wanted_months, _ = period_months(period)
            for row in got.rows:
                want = dict.fromkeys(("sent", "adopted", "filed", "returned"), 0)
                for (unit, month), counts in expected.items():
                    if unit == row.unit_id and month in wanted_months:
                        for k in want:
                            want[k] += counts[k]
                assert (row.sent, row.adopted, row.filed, row.returned) == tuple(want.values()), (period, row)
                assert sum(k.sent for k in row.by_kind.values()) == row.sent
            assert got.total.sent == sum(r.sent for r in got.rows)
        year_total = sum(s.total.sent for period, s in stats.items() if period.endswith("-Y"))
        assert year_total == 500
        assert monthly.months == [months[3]] and monthly.total.sent == sum(
            c["sent"] for (_, m), c in expected.items() if m == months[3]
        )

        # Bounded: every run's history is small, and what one run hands the next is small.
        runs, run_id = [], first_run
        while run_id:
            history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
            events = list(history.events)
            size = sum(e.ByteSize() for e in events)
            nxt = events[-1].workflow_execution_continued_as_new_event_attributes
            carried = sum(pl.ByteSize() for pl in nxt.input.payloads) if nxt.new_execution_run_id else 0
            runs.append((len(events), size, carried))
            run_id = nxt.new_execution_run_id or None
        print(f"runs (events, history bytes, carried bytes): {runs}")
        assert len(runs) >= 2, "a year of items should have continued as new"
        assert all(events <= 4500 and size < 5 * 1024 * 1024 for events, size, _ in runs)
        assert all(carried < 512 * 1024 for _, _, carried in runs)
