"""What the records database keeps of every closed cycle and lead, after Temporal's retention drops them.

One model per kind, handed to the archive activity at close and read back by the
board, the unit page, the Excel ledger and statistics once Temporal no longer has
the workflow. It is stored sealed with the payload keys, like the history it replaces.
"""

from schemas.base import Model
from schemas.cycle import CycleSpec, CycleState, CycleStatus
from schemas.lead import LeadInput, LeadStatus


class ArchivedCycle(Model):
    """A closed cycle: its units (spec), each unit's submissions, receipts and timeline and the audit
    trail (state), and its final board (status)."""

    spec: CycleSpec
    state: CycleState
    status: CycleStatus


class ArchivedLead(Model):
    """A closed lead: what was referred (input) and its stages, tracks and timeline (status)."""

    input: LeadInput
    status: LeadStatus


class ArchiveReceipt(Model):
    kind: str
    id: str
