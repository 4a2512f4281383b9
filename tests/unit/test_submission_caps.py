"""The caps a cycle checks a report against (issue 17): each one refuses just past its limit, with
a reason, and lets the report at the limit through."""

import datetime as dt

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
