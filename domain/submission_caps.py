"""What a cycle or an information channel may take from a unit: the caps an upload is checked against
before the workflow holds it.

Every report stays in the cycle's state (and its continue-as-new input) and goes into the roll-up,
so these caps keep both bounded whatever a unit's portal is made to send (issue 17). An information
item stays in its channel's state until it is settled: the same per-upload caps apply, plus caps on
what waits for the office, so one unit (or one leaked link) cannot fill the channel (issue 22).
Pure: the `submit_report` / `submit_item` validators ask `refusal` / `item_refusal`, and the
handlers then take the call as it is.
"""

from typing import Protocol

from schemas.base import Model
from schemas.blobs import BlobRef
from schemas.cycle import (
    MAX_ATTACHMENTS,
    MAX_CYCLE_BYTES,
    MAX_CYCLE_FILES,
    MAX_REPORTS_PER_KIND,
    MAX_SUBMISSION_BYTES,
    CycleState,
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
    InfoCarried,
    SubmitItem,
)

# What an item adds beyond the call that brings it: its number, state, dates, month, first event.
ITEM_OVERHEAD = 600


class Upload(Protocol):
    """Anything sent with a body and attachments: a report, a submission, an information item."""

    @property
    def body(self) -> BlobRef | None: ...

    @property
    def attachments(self) -> list[BlobRef]: ...


def files_of(report: Upload) -> list[BlobRef]:
    """A report's files: its body first, then its attachments."""
    return ([report.body] if report.body else []) + report.attachments


def upload_refusal(call: Upload, max_bytes: int, what: str) -> str | None:
    """The caps every upload has: at most MAX_ATTACHMENTS attachments and `max_bytes` with the body."""
    if len(call.attachments) > MAX_ATTACHMENTS:
        return f"too many attachments: {len(call.attachments)} > {MAX_ATTACHMENTS}"
    size = sum(r.size for r in files_of(call))
    if size > max_bytes:
        return f"{what} too large: {size} bytes > {max_bytes}"
    return None


def cycle_holdings(state: CycleState) -> tuple[int, int]:
    """Files and bytes across every report the cycle holds (replaced versions included: they are kept)."""
    refs = [r for u in state.units.values() for s in u.submissions for r in files_of(s)]
    return len(refs), sum(r.size for r in refs)


def refusal(state: CycleState, unit: UnitState, call: SubmitReport) -> str | None:
    """Why the cycle cannot take this report, or None when it can."""
    too_big = upload_refusal(call, MAX_SUBMISSION_BYTES, "submission")
    if too_big:
        return too_big
    files = files_of(call)
    size = sum(r.size for r in files)
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


def item_refusal(state: InfoCarried, call: SubmitItem) -> str | None:
    """Why the channel cannot hold this item (or this new version of a returned one), or None when it can.

    Only the caps: whether the unit, kind, work area and item are right is the book's to say."""
    too_big = upload_refusal(call, MAX_ITEM_BYTES, "item")
    if too_big:
        return too_big
    if call.resubmit_of is not None:
        old = next((i for i in state.items if i.no == call.resubmit_of), None)
        if old is not None and old.version >= MAX_ITEM_VERSIONS:
            return (
                f"item {call.resubmit_of} has been sent {old.version} times, the most an item may be;"
                " send it as a new item"
            )
    open_items = [i for i in state.items if i.settled_at is None]
    held = held_bytes(state)
    if held + _json_bytes(call) + ITEM_OVERHEAD > MAX_HELD_BYTES:
        return (
            f"the channel's items already take {held} bytes, the most it may hold;"
            " more can be sent once the office has reviewed some"
        )
    if call.resubmit_of is not None:
        return None
    if len(open_items) >= MAX_OPEN_ITEMS:
        return f"{MAX_OPEN_ITEMS} items are waiting for the office; it must review some before more can be sent"
    mine = sum(1 for i in open_items if i.unit_id == call.unit_id)
    if mine >= MAX_OPEN_ITEMS_PER_UNIT:
        return (
            f"unit {call.unit_id} already has {mine} items waiting for the office, the most one unit may have;"
            " more can be sent once some are reviewed"
        )
    return None


def decision_refusal(state: InfoCarried, call: DecideItem) -> str | None:
    """Why a decision's note no longer fits the channel's state, or None. A decision without a note
    always fits: adopting or filing settles the item, and settled items are paged out."""
    note = len(call.note.strip().encode("utf-8"))
    if not note:
        return None
    held = held_bytes(state)
    # The note is kept twice: on the item and in its decision's event.
    if held + 2 * note > MAX_HELD_BYTES + DECISION_HEADROOM:
        return (
            f"the channel's items already take {held} bytes, the most it may hold: adopt or file without"
            " a note until items have gone up or been paged out"
        )
    return None


def held_bytes(state: InfoCarried) -> int:
    """What the items the channel holds weigh in its carried state (JSON, before compression)."""
    return sum(_json_bytes(i) for i in state.items)


def _json_bytes(model: Model) -> int:
    return len(model.model_dump_json().encode("utf-8"))
