"""The console's lead stage diagram: every stage drawn once, the open stage highlighted, late ones marked."""

import datetime as dt
from zoneinfo import ZoneInfo

from console.web.lead_views import stage_diagram
from domain.lead_stages import STAGE_DIAGRAM, LeadBook
from schemas.lead import Decide, Decision, SignFor, StageName
from tests.lead_support import MARKET, POLICE, lead_input

SH = ZoneInfo("Asia/Shanghai")
REFERRED = dt.datetime(2026, 3, 2, 9, tzinfo=SH)  # a Monday


def states(book: LeadBook, now: dt.datetime) -> dict[StageName, str]:
    rows = stage_diagram(book.status(now), MARKET.id)
    return {n.stage: n.state for row in rows for n in row.nodes}


class TestStageDiagram:
    def test_every_stage_is_drawn_once(self) -> None:
        """A stage added to StageName but not to the diagram fails here."""
        drawn = [s for _, stages in STAGE_DIAGRAM for s in stages]
        assert sorted(drawn) == sorted(StageName)

    def test_current_stage_is_highlighted_and_done_ones_marked(self) -> None:
        """Referred: sign is current; after signing and handing to the police, approve is current."""
        book = LeadBook(lead_input(REFERRED))
        book.start()
        first = states(book, REFERRED)
        assert first[StageName.SIGN] == "current"
        assert {s for s, v in first.items() if v != "idle"} == {StageName.SIGN}

        signed_at = REFERRED + dt.timedelta(hours=1)
        book.apply_sign_for(SignFor(unit_id=MARKET.id, by="t"), signed_at)
        book.apply_decide(Decide(unit_id=MARKET.id, decision=Decision.POLICE, to=POLICE, by="t"), signed_at)
        later = states(book, signed_at)
        assert later[StageName.SIGN] == later[StageName.DECIDE] == "done"
        assert later[StageName.APPROVE] == "current"
        assert later[StageName.FEEDBACK] == "idle"

    def test_an_open_stage_past_its_limit_is_current_and_overdue(self) -> None:
        book = LeadBook(lead_input(REFERRED))
        book.start()
        assert states(book, REFERRED + dt.timedelta(days=30))[StageName.SIGN] == "current overdue"
