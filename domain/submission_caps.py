"""What a cycle may take from a unit: the caps a report is checked against before the cycle holds it.

Every report stays in the cycle's state (and its continue-as-new input) and goes into the roll-up,
so these caps keep both bounded whatever a unit's portal is made to send (issue 17). Pure: the
cycle's `submit_report` validator asks `refusal` and the handler then takes the report as it is.
"""

from schemas.blobs import BlobRef
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


def files_of(report: Submission | SubmitReport) -> list[BlobRef]:
    """A report's files: its body first, then its attachments."""
    return ([report.body] if report.body else []) + report.attachments


def cycle_holdings(state: CycleState) -> tuple[int, int]:
    """Files and bytes across every report the cycle holds (replaced versions included: they are kept)."""
    refs = [r for u in state.units.values() for s in u.submissions for r in files_of(s)]
    return len(refs), sum(r.size for r in refs)


def refusal(state: CycleState, unit: UnitState, call: SubmitReport) -> str | None:
    """Why the cycle cannot take this report, or None when it can."""
    if len(call.attachments) > MAX_ATTACHMENTS:
        return f"too many attachments: {len(call.attachments)} > {MAX_ATTACHMENTS}"
    files = files_of(call)
    size = sum(r.size for r in files)
    if size > MAX_SUBMISSION_BYTES:
        return f"submission too large: {size} bytes > {MAX_SUBMISSION_BYTES}"
    same_kind = sum(1 for s in unit.submissions if s.kind is call.kind)
    if same_kind >= MAX_REPORTS_PER_KIND:
        return (
            f"unit {call.unit_id} has already sent {same_kind} {call.kind.value} report(s) in this cycle,"
            " the most it may send; ask the office to return one for revision"
        )
    held_files, held_bytes = cycle_holdings(state)
    if held_files + len(files) > MAX_CYCLE_FILES:
        return f"the cycle already holds {held_files} files; at most {MAX_CYCLE_FILES}"
    if held_bytes + size > MAX_CYCLE_BYTES:
        return f"the cycle already holds {held_bytes} bytes of reports; at most {MAX_CYCLE_BYTES}"
    return None
