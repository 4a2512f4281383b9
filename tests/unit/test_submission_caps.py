"""The caps a cycle checks a report against (issue 17): each one refuses just past its limit, with
a reason, and lets the report at the limit through."""

import datetime as dt
import zlib

import pytest

from domain import submission_caps as caps
from schemas.blobs import BlobRef
from schemas.calendar import Due
from schemas.cycle import (
    MAX_ATTACHMENTS,
    MAX_CYCLE_BYTES,
    MAX_CYCLE_FILES,
    MAX_REPORTS_PER_KIND,
    MAX_SUBMISSION_BYTES,
    CycleState,
    Submission,
    SubmitReport,
    UnitState,
)
from schemas.info import (
    DECISION_HEADROOM,
    MAX_HELD_BYTES,
    MAX_ITEM_BYTES,
    MAX_ITEM_VERSIONS,
    MAX_OPEN_ITEMS,
    MAX_OPEN_ITEMS_PER_UNIT,
    DecideItem,
    Decision,
    InfoCarried,
    InfoItem,
    InfoState,
    SubmitItem,
)
from schemas.info_plan import InfoKind
from schemas.plan import ReportKind

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DUE = Due(at=AT, rule="test")


def _file(size: int, n: int = 0) -> BlobRef:
    return BlobRef(sha256=f"{n:064x}", size=size, name=f"f{n}.pdf")


def _report(files: list[BlobRef], kind: ReportKind = ReportKind.SUMMARY, n: int = 0) -> Submission:
    return Submission(
        receipt_no=f"R{n}", version=n + 1, kind=kind, title="t", attachments=files, submitted_at=AT, replaced=n > 0
    )


def _state(units: dict[str, list[Submission]]) -> CycleState:
    return CycleState(
        units={u: UnitState(unit_id=u, due=DUE, submissions=subs) for u, subs in units.items()}, unit_due=DUE
    )


def _refusal(state: CycleState, call: SubmitReport) -> str | None:
    return caps.refusal(state, state.units[call.unit_id], call)


def test_files_of_a_report_are_its_body_then_its_attachments() -> None:
    body, a = _file(1, 1), _file(2, 2)
    assert caps.files_of(SubmitReport(unit_id="u", title="t", body=body, attachments=[a])) == [body, a]
    assert caps.files_of(_report([a])) == [a]


def test_an_ordinary_report_is_taken() -> None:
    state = _state({"u": []})
    assert _refusal(state, SubmitReport(unit_id="u", title="t", body=_file(10), attachments=[_file(5, 1)])) is None


@pytest.mark.parametrize(("count", "refused"), [(MAX_ATTACHMENTS, False), (MAX_ATTACHMENTS + 1, True)])
def test_attachments_per_report(count: int, refused: bool) -> None:
    call = SubmitReport(unit_id="u", title="t", attachments=[_file(1, i) for i in range(count)])
    reason = _refusal(_state({"u": []}), call)
    assert (reason is not None) == refused
    assert reason is None or "too many attachments" in reason


def test_bytes_per_report_count_the_body_too() -> None:
    at_limit = SubmitReport(unit_id="u", title="t", body=_file(MAX_SUBMISSION_BYTES - 1), attachments=[_file(1, 1)])
    assert _refusal(_state({"u": []}), at_limit) is None
    over = at_limit.model_copy(update={"body": _file(MAX_SUBMISSION_BYTES)})
    assert "submission too large" in (_refusal(_state({"u": []}), over) or "")


def test_reports_per_unit_and_kind_count_replaced_versions_and_only_that_kind() -> None:
    sent = [_report([], n=i) for i in range(MAX_REPORTS_PER_KIND)]
    state = _state({"u": sent, "v": sent[:-1]})
    reason = _refusal(state, SubmitReport(unit_id="u", title="t"))
    assert reason is not None and "the most it may send" in reason
    assert _refusal(state, SubmitReport(unit_id="v", title="t")) is None  # one below the cap
    other_kind = next(k for k in ReportKind if k is not ReportKind.SUMMARY)
    assert _refusal(state, SubmitReport(unit_id="u", title="t", kind=other_kind)) is None


def test_files_per_cycle_across_every_unit() -> None:
    per_report = MAX_ATTACHMENTS
    reports = MAX_CYCLE_FILES // per_report  # the cycle is exactly full
    units = {f"u{i}": [_report([_file(1, j) for j in range(per_report)])] for i in range(reports)}
    state = _state({**units, "last": []})
    assert caps.cycle_holdings(state) == (MAX_CYCLE_FILES, MAX_CYCLE_FILES)
    reason = _refusal(state, SubmitReport(unit_id="last", title="t", attachments=[_file(1)]))
    assert reason is not None and f"already holds {MAX_CYCLE_FILES} files" in reason
    assert _refusal(state, SubmitReport(unit_id="last", title="t")) is None  # a report without files


def test_bytes_per_cycle_across_every_unit() -> None:
    big = MAX_SUBMISSION_BYTES
    full = MAX_CYCLE_BYTES // big
    state = _state({**{f"u{i}": [_report([_file(big, i)])] for i in range(full)}, "last": []})
    room = MAX_CYCLE_BYTES - full * big
    assert _refusal(state, SubmitReport(unit_id="last", title="t", attachments=[_file(room)])) is None
    reason = _refusal(state, SubmitReport(unit_id="last", title="t", attachments=[_file(room + 1)]))
    assert reason is not None and "bytes of reports" in reason


# ---- information items (issue 22): the same per-upload caps, plus what may wait for the office ----


def _item(no: int, unit: str, *, settled: bool = False, version: int = 1) -> InfoItem:
    return InfoItem(
        no=no,
        unit_id=unit,
        kind=InfoKind.TYPICAL_CASE,
        title="t",
        submitted_at=AT,
        month="2026-03",
        version=version,
        state=InfoState.RETURNED if version > 1 else InfoState.PENDING,
        settled_at=AT if settled else None,
    )


def _call(unit: str = "u", files: list[BlobRef] | None = None, resubmit_of: int | None = None) -> SubmitItem:
    return SubmitItem(
        unit_id=unit,
        kind=InfoKind.TYPICAL_CASE,
        title="t",
        body=_file(1),
        attachments=files or [],
        resubmit_of=resubmit_of,
    )


def test_an_item_has_the_attachment_cap_of_a_report_and_its_own_byte_cap() -> None:
    empty = InfoCarried()
    assert caps.item_refusal(empty, _call(files=[_file(1, i) for i in range(MAX_ATTACHMENTS)])) is None
    assert "too many attachments" in (caps.item_refusal(empty, _call(files=[_file(1, i) for i in range(21)])) or "")
    assert caps.item_refusal(empty, _call(files=[_file(MAX_ITEM_BYTES - 1)])) is None  # with the 1-byte body
    assert "item too large" in (caps.item_refusal(empty, _call(files=[_file(MAX_ITEM_BYTES)])) or "")


def test_one_unit_cannot_fill_the_channel() -> None:
    """A unit at its cap of open items is refused; another unit is not; settled items do not count."""
    mine = [_item(n, "u") for n in range(1, MAX_OPEN_ITEMS_PER_UNIT + 1)]
    state = InfoCarried(items=mine)
    reason = caps.item_refusal(state, _call("u"))
    assert reason is not None and "the most one unit may have" in reason
    assert caps.item_refusal(state, _call("v")) is None
    mine[0].settled_at = AT
    assert caps.item_refusal(state, _call("u")) is None


def test_the_channel_refuses_new_items_past_its_open_cap_but_not_resubmissions() -> None:
    units = [f"u{i}" for i in range(MAX_OPEN_ITEMS // MAX_OPEN_ITEMS_PER_UNIT)]
    items = [_item(n, units[n % len(units)], version=2 if n == 0 else 1) for n in range(MAX_OPEN_ITEMS)]
    state = InfoCarried(items=items)
    reason = caps.item_refusal(state, _call("new-unit"))
    assert reason is not None and "must review some" in reason
    assert caps.item_refusal(state, _call(units[0], resubmit_of=0)) is None


def test_an_item_may_be_sent_again_only_so_often() -> None:
    state = InfoCarried(items=[_item(1, "u", version=MAX_ITEM_VERSIONS - 1), _item(2, "u", version=MAX_ITEM_VERSIONS)])
    assert caps.item_refusal(state, _call(resubmit_of=1)) is None
    reason = caps.item_refusal(state, _call(resubmit_of=2))
    assert reason is not None and "send it as a new item" in reason


def _heavy(no: int, unit: str) -> InfoItem:
    """An item as large as a unit can make one: a long title, 20 files with long names, a body."""
    item = _item(no, unit)
    long_name = "某" * 250 + ".pdf"
    refs = [BlobRef(sha256=f"{no * 100 + i:064x}", size=1, name=long_name) for i in range(MAX_ATTACHMENTS + 1)]
    return item.model_copy(update={"title": "标" * 200, "body": refs[0], "attachments": refs[1:]})


def test_what_the_held_items_weigh_is_capped_not_only_their_count() -> None:
    """Far fewer than MAX_OPEN_ITEMS heavy items fill the byte budget: new items and noted returns are then
    refused, a bare adoption still goes through (it settles the item, which is then paged out)."""
    units = [f"u{i}" for i in range(20)]
    items: list[InfoItem] = []
    while caps.held_bytes(InfoCarried(items=items)) <= MAX_HELD_BYTES:
        items.append(_heavy(len(items) + 1, units[len(items) % len(units)]))
    state = InfoCarried(items=items)
    assert len(items) < MAX_OPEN_ITEMS // 2
    reason = caps.item_refusal(state, _call("new-unit"))
    assert reason is not None and "the most it may hold" in reason
    note = DecideItem(no=1, decision=Decision.RETURN, note="请" * 1000, by="op")
    while caps.held_bytes(state) <= MAX_HELD_BYTES + DECISION_HEADROOM:
        state.items.append(_heavy(len(state.items) + 1, "u0"))
    assert "adopt or file without a note" in (caps.decision_refusal(state, note) or "")
    assert caps.decision_refusal(state, DecideItem(no=1, decision=Decision.ADOPT, by="op")) is None
    # Every item the budget lets in stays far below Temporal's 2 MB payload limit once compressed.
    assert len(zlib.compress(state.model_dump_json().encode())) < 1024 * 1024


def test_the_budget_holds_hundreds_of_typical_items() -> None:
    """A typical item (a 30-character title, a text and two files) leaves room for 500 and more."""
    refs = [BlobRef(sha256=f"{i:064x}", size=1, name="关于查获假冒灯具案的情况报告.pdf") for i in range(3)]
    typical = _item(0, "u").model_copy(update={"title": "标" * 30, "body": refs[0], "attachments": refs[1:]})
    items = [typical.model_copy(update={"no": n, "unit_id": f"u{n % 10}"}) for n in range(1, 501)]
    assert caps.item_refusal(InfoCarried(items=items), _call("u-new")) is None
