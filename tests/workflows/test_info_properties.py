"""Every InfoChannel Update driven with generated arguments on the dev server: refused or applied.

An exception in a handler after its validator accepted would fail the workflow task and
freeze the channel. Hypothesis throws generated calls at a running channel (unknown units
and items, kinds the plan does not take, blank titles, oversized files, decisions in every
state, forwards of anything); each must come back as a result or as a `Rejected` reason,
and the history must hold no WorkflowTaskFailed.

Hypothesis drives a synchronous body in a thread; each call runs on the session's event
loop (where the Temporal client lives) through `run_coroutine_threadsafe`.
"""

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from schemas.blobs import BlobRef
from schemas.cycle import RevokeLinks
from schemas.info import BoardQuery, CloseChannel, DecideItem, Decision, ForwardItem, SubmitItem
from schemas.info_plan import InfoKind, InfoPlan
from schemas.plan import UpperOffice
from tests.info_support import info_plan, start_channel
from tests.workflows.conftest import running_worker
from workers.dev.smtp_sink import SmtpSink
from workers.settings import Settings
from workflows.info_channel import InfoChannel

EXAMPLES = 100

blobs = st.builds(
    BlobRef,
    sha256=st.sampled_from(["a" * 64, "b" * 64]),
    # Mostly ordinary sizes, now and then one far over the limit.
    size=st.one_of(*[st.integers(min_value=0, max_value=10**6)] * 5, st.just(2**40)),
    name=st.sampled_from(["案例.pdf", "x.docx"]),
)
# Mostly items that exist (the first few), now and then one that cannot.
numbers = st.integers(min_value=1, max_value=12) | st.integers(min_value=-1, max_value=14)
small_blobs = st.builds(
    BlobRef, sha256=st.just("c" * 64), size=st.integers(min_value=1, max_value=10**5), name=st.just("案例.pdf")
)
# Calls a unit would make: mostly applied, so decisions and forwards find items in every state.
PLAUSIBLE = st.tuples(
    st.just("submit_item"),
    st.builds(
        SubmitItem,
        unit_id=st.sampled_from(["u1", "u2"]),
        kind=st.sampled_from([InfoKind.TYPICAL_CASE, InfoKind.PRACTICE]),
        title=st.sampled_from(["查获假冒灯具案", "联合执法经验"]),
        body=small_blobs,
        attachments=st.lists(small_blobs, max_size=2),
        resubmit_of=st.none() | st.integers(min_value=1, max_value=6),
    ),
)
RANDOM_SUBMIT = st.tuples(
    st.just("submit_item"),
    st.builds(
        SubmitItem,
        unit_id=st.sampled_from(["u1", "u2", "u1", "u2", "nobody"]),
        kind=st.sampled_from([InfoKind.TYPICAL_CASE, InfoKind.PRACTICE, InfoKind.WORK_UPDATE]),
        title=st.text(min_size=1, max_size=40),
        body=blobs | st.none(),
        attachments=st.one_of(*[st.lists(blobs, max_size=2)] * 3, st.lists(blobs, min_size=21, max_size=22)),
        work_area=st.sampled_from(["", "", "(五) 健全制度机制", "(九) 无"]),
        resubmit_of=st.none() | st.none() | numbers,
    ),
)
DECIDE = st.tuples(
    st.just("decide_item"),
    st.builds(
        DecideItem,
        no=numbers,
        decision=st.sampled_from([Decision.ADOPT, Decision.ADOPT, Decision.RETURN, Decision.FILE]),
        note=st.sampled_from(["", " ", "请补充", "请补充"]),
        by=st.just("op"),
    ),
)
FORWARD = st.tuples(st.just("forward_item"), st.builds(ForwardItem, no=numbers, by=st.just("op")))
REVOKE = st.tuples(
    st.just("revoke_links"), st.builds(RevokeLinks, unit_id=st.sampled_from(["u1", "nobody"]), by=st.just("op"))
)
# Weighted by hand (st.one_of leaned heavily on its first branches here): decisions and forwards
# then find items in every state, and each Update is both applied and refused.
BRANCHES = [PLAUSIBLE, PLAUSIBLE, RANDOM_SUBMIT, DECIDE, DECIDE, DECIDE, FORWARD, FORWARD, FORWARD, REVOKE]
CALLS = st.integers(min_value=0, max_value=len(BRANCHES) - 1).flatmap(lambda i: BRANCHES[i])


async def _call(handle: WorkflowHandle[Any, Any], name: str, arg: object) -> str:
    try:
        await asyncio.wait_for(handle.execute_update(name, arg), timeout=15)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
    else:
        return "applied"
    assert isinstance(cause, ApplicationError) and cause.type == "Rejected", repr(cause)
    assert cause.message, "a refusal without a reason"
    return "refused"


async def test_every_update_is_refused_or_applied(
    dev_server_env: WorkflowEnvironment, cycle_settings: Settings, sink: SmtpSink
) -> None:
    """Generated calls to every Update of a channel with an upper office (forwarding on): no task fails."""
    client = dev_server_env.client
    p = info_plan(
        n_units=2,
        upper=UpperOffice(id="sc", name="省打假办", email="sc@sc.example"),
        rules=InfoPlan(kinds=[InfoKind.TYPICAL_CASE, InfoKind.PRACTICE]),
    )
    seen: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    async with running_worker(client, cycle_settings):
        handle = await start_channel(client, cycle_settings.temporal.task_queue, p, dt.datetime.now(dt.UTC))

        # derandomize: the same calls every run, so the coverage asserted below is not left to chance.
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(call=CALLS)
        def one(call: tuple[str, object]) -> None:
            name, arg = call
            outcome = asyncio.run_coroutine_threadsafe(_call(handle, name, arg), loop).result(timeout=60)
            seen[f"{name}:{outcome}"] += 1

        await asyncio.to_thread(one)
        assert await _call(handle, "close_channel", CloseChannel(by="op")) == "applied"
        final = await handle.result()
        board = await handle.query(InfoChannel.get_board, BoardQuery())
        history = await handle.fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert not failed, f"workflow task failed: {failed[0].workflow_task_failed_event_attributes.failure.message}"
    print(f"{sum(seen.values())} generated calls: {dict(sorted(seen.items()))}")
    for name in ("submit_item", "decide_item"):
        assert seen[f"{name}:applied"] >= 5 and seen[f"{name}:refused"] >= 5, seen
    assert seen["forward_item:applied"] >= 1 and seen["forward_item:refused"] >= 1, seen
    assert board.closed and final.closed
    assert all(i.settled_at for i in final.items if i.state.value == "adopted"), "closing left adopted items behind"
