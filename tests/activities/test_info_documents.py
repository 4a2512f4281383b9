"""The 通报 of information adoption (信息报送采用情况通报) as a Word document, and the archive activity."""

import datetime as dt
import io
import json
from pathlib import Path

import docx
from temporalio.testing import ActivityEnvironment

from activities.documents import info_bulletin_docx, info_bulletin_title
from activities.info import InfoActivities
from domain.info_book import InfoBook, statistics
from schemas.info import ArchiveRequest, DecideItem, Decision, InfoItem
from schemas.info_plan import InfoKind
from tests.blobstores import local_store
from tests.info_support import channel_input, info_plan, submit_call

MARCH = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)


def _stats(tmp_path: Path):  # type: ignore[no-untyped-def]
    b = InfoBook(channel_input(info_plan(), MARCH).spec, None)
    for n, (unit, decision) in enumerate([("u1", Decision.ADOPT), ("u1", Decision.FILE), ("u2", Decision.ADOPT)]):
        b.apply_submit(submit_call(unit, f"信息{n}", kind=InfoKind.TYPICAL_CASE), MARCH)
        b.apply_decide(DecideItem(no=n + 1, decision=decision, by="op"), MARCH)
    return b, statistics(b.spec, b.state, "2026-Q1", MARCH + dt.timedelta(days=30))


def _text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_bulletin_names_period_totals_units_and_the_silent(tmp_path: Path) -> None:
    """Title with the period, the totals, a row per unit with its rate, units that sent nothing, A4 margins."""
    _, stats = _stats(tmp_path)
    data = info_bulletin_docx(stats)
    text = _text(data)
    assert info_bulletin_title(stats) == "关于2026年第一季度专项行动信息报送采用情况的通报"
    assert info_bulletin_title(stats) in text
    assert "共收到各单位报送信息3条，采用2条，采用率66.7%" in text
    assert "测试单位1" in text and "50.0%" in text and "100.0%" in text
    assert "以下单位未报送信息：测试单位3" in text
    assert "雅打假办发〔2017〕2号" in text and "2026年4月9日" in text
    section = docx.Document(io.BytesIO(data)).sections[0]
    assert section.page_width is not None and section.top_margin is not None
    assert (round(section.page_width.mm), round(section.top_margin.mm)) == (210, 37)
    assert info_bulletin_docx(stats) == data  # the same figures give the same bytes


def test_monthly_bulletin_counts_only_that_month(tmp_path: Path) -> None:
    """The monthly 通报: its title names the month; an item of another month is not counted in it."""
    b, _ = _stats(tmp_path)
    april = MARCH + dt.timedelta(days=31)
    b.apply_submit(submit_call("u3", "四月信息", kind=InfoKind.TYPICAL_CASE), april)
    march = statistics(b.spec, b.state, "2026-M03", april)
    assert info_bulletin_title(march) == "关于2026年3月专项行动信息报送采用情况的通报"
    text = _text(info_bulletin_docx(march))
    assert "共收到各单位报送信息3条，采用2条" in text and "以下单位未报送信息：测试单位3" in text
    in_april = _text(info_bulletin_docx(statistics(b.spec, b.state, "2026-04", april)))
    assert "共收到各单位报送信息1条，采用0条" in in_april


async def test_archive_page_holds_every_settled_item(tmp_path: Path) -> None:
    """Settled items are written as one JSON page; a retry lands on the same blob."""
    b, _ = _stats(tmp_path)
    store = local_store(tmp_path / "blobs")
    activities = InfoActivities(store, None)
    request = ArchiveRequest(channel_id=b.spec.channel_id, items=b.take_settled())
    page = await ActivityEnvironment().run(activities.archive_info_items, request)
    again = await ActivityEnvironment().run(activities.archive_info_items, request)
    assert page == again and (page.first_no, page.last_no, page.count) == (1, 3, 3)
    items = [InfoItem.model_validate(x) for x in json.loads(await store.get(page.ref))]
    assert [i.no for i in items] == [1, 2, 3] and b.state.items == []
