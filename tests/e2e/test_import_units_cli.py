"""`duban plan import-units` as an office uses it (issue 19): a unit list kept in Excel or CSV becomes the
plan's `units:`; every bad row is named by row and column, exit 2, nothing written. No Temporal needed."""

import datetime as dt
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from console.cli import app
from console.unit_import import MAX_FILE_BYTES, MAX_ROWS, template_workbook
from domain.unit_rows import TEMPLATE_HEADINGS

DUBAN = Path(sys.executable).parent / "duban"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEAD = ["单位名称", "单位代码", "联系人", "邮箱", "电话", "分管领导", "类型"]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str) -> Ran:
    """The `duban` command in process (its start-up costs seconds on a loaded machine; one test below runs
    the installed command for real)."""
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def run_installed(*args: str) -> Ran:
    done = subprocess.run([str(DUBAN), *args], capture_output=True, text=True, timeout=120, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


def workbook(path: Path, rows: list[list[object]], head: list[str] | None = HEAD, title: str | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
    if head:
        sheet.append(head)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


GOOD = [
    ["市公安局", "yaan-gaj", "张三", "gaj@yaan.example", 2824527, "李四", "成员单位"],
    ["市市场监管局", None, "王五", "scjgj@yaan.example", "0835-2222222", None, None],
    ["名山区打假办", "mingshan", "赵六", "ms@yaan.example", None, "区打假办主任", "县区打假办"],
]


class TestImportUnits:
    def test_good_workbook_prints_the_units_block(self, tmp_path: Path) -> None:
        """A title line above the headings, a phone typed as a number, an id left empty: all read right."""
        sheet = workbook(tmp_path / "名单.xlsx", GOOD, title="雅安市成员单位名单")
        done = run_installed("plan", "import-units", str(sheet))
        assert done.returncode == 0, done.stderr
        units = yaml.safe_load(done.stdout)["units"]
        assert [u["id"] for u in units] == ["yaan-gaj", "sscjgj", "mingshan"]
        assert units[0]["contacts"] == [{"name": "张三", "email": "gaj@yaan.example", "phone": "2824527"}]
        assert units[0]["leader"] == {"name": "李四"}
        assert units[2]["kind"] == "county" and "kind" not in units[0]
        assert "sscjgj" in done.stderr and "pinyin" in done.stderr  # the made id is said, not hidden

    def test_csv_in_gb18030_with_prefix_and_json(self, tmp_path: Path) -> None:
        """Excel in China saves CSV as GBK: read; --prefix goes before made ids; --json for scripts."""
        csv = tmp_path / "名单.csv"
        csv.write_bytes("单位名称,联系人,邮箱\n雅安海关,钱七,hg@yaan.example\n".encode("gb18030"))
        done = run("plan", "import-units", str(csv), "--prefix", "yaan-", "--json")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["ok"] is True and [u["id"] for u in out["units"]] == ["yaan-yahg"]

    def test_bad_rows_are_named_by_row_and_column(self, tmp_path: Path) -> None:
        """A formula, a date where a name goes, a bad e-mail, an unknown kind, a duplicate id, an empty
        contact: each reported with its row and column, exit 2, no units printed."""
        rows: list[list[object]] = [
            ["市公安局", "yaan-gaj", "张三", "gaj@yaan.example", None, None, None],  # row 2: fine
            ['=HYPERLINK("http://x.example")', "a1", "李", "a@yaan.example", None, None, None],  # row 3
            [dt.datetime(2026, 1, 1), "a2", "李", "b@yaan.example", None, None, None],  # row 4
            ["市海关", "a3", "李", "not-an-email", None, None, None],  # row 5
            ["市税务局", "a4", "李", "c@yaan.example", None, None, "街道"],  # row 6
            ["市公安局二", "yaan-gaj", "李", "d@yaan.example", None, None, None],  # row 7
            ["市检察院", "a6", None, "e@yaan.example", None, None, None],  # row 8
            ["市法院", "Bad Id!", "李", "f@yaan.example", None, None, None],  # row 9
            [True, "a8", "李", "g@yaan.example", None, None, None],  # row 10
        ]
        done = run_installed("plan", "import-units", str(workbook(tmp_path / "bad.xlsx", rows)))
        assert done.returncode == 2
        assert done.stdout == ""
        err = done.stderr
        for row, column, words in [
            (3, "单位名称", "formula"),
            (4, "单位名称", "date"),
            (5, "邮箱", "not an e-mail"),
            (6, "类型", "街道"),
            (7, "单位代码", "already used in row 2"),
            (8, "联系人", "empty"),
            (9, "单位代码", "not an id"),
            (10, "单位名称", "TRUE/FALSE"),
        ]:
            assert f"row {row}, column {column}:" in err and words in err, (row, err)
        assert "row 2," not in err

    @pytest.mark.parametrize(
        "case",
        ["empty-sheet", "headings-only", "no-name-column", "not-xlsx", "huge", "too-many-rows", "other-type"],
    )
    def test_unreadable_or_empty_lists_exit_2(self, tmp_path: Path, case: str) -> None:
        """Empty sheets, a missing column, a file that is not a workbook, one too large: a reason, exit 2."""
        path = tmp_path / "list.xlsx"
        expect = {
            "empty-sheet": "no heading row",
            "headings-only": "lists no units",
            "no-name-column": "no heading row",
            "not-xlsx": "not a readable .xlsx",
            "huge": "at most",
            "too-many-rows": f"more than {MAX_ROWS} rows",
            "other-type": "expected an .xlsx or .csv",
        }[case]
        if case == "empty-sheet":
            workbook(path, [], head=None)
        elif case == "headings-only":
            workbook(path, [])
        elif case == "no-name-column":
            workbook(path, [["张三", "a@b.example"]], head=["联系人", "邮箱"])
        elif case == "not-xlsx":
            path.write_bytes(b"PK\x03\x04 this is not really a workbook")
        elif case == "huge":
            path.write_bytes(b"\0" * (MAX_FILE_BYTES + 1))
        elif case == "too-many-rows":
            path = tmp_path / "many.csv"
            lines = ["单位名称,联系人,邮箱"] + [f"单位{i},李,u{i}@yaan.example" for i in range(MAX_ROWS + 5)]
            path.write_text("\n".join(lines), encoding="utf-8")
        else:
            path = tmp_path / "list.ods"
            path.write_bytes(b"whatever")
        done = run("plan", "import-units", str(path))
        assert done.returncode == 2, done.stdout
        assert expect in done.stderr and done.stdout == ""

    def test_into_a_plan_keeps_everything_else_and_checks_the_whole(self, tmp_path: Path) -> None:
        """--into replaces the plan's units (comments and the rest kept) after checking the whole plan;
        units the plan's work areas still name are missing → exit 2, the plan left as it was."""
        plan = tmp_path / "demo.yaml"
        original = (EXAMPLES / "demo.yaml").read_text(encoding="utf-8")
        plan.write_text(original, encoding="utf-8")
        # The demo's work areas name yaan-gaj, yaan-scjgj, yaan-hg: an import without them breaks the plan.
        partial = workbook(tmp_path / "partial.xlsx", [GOOD[0]])
        refused = run("plan", "import-units", str(partial), "--into", str(plan))
        assert refused.returncode == 2 and "left as it was" in refused.stderr
        assert plan.read_text(encoding="utf-8") == original
        assert list(tmp_path.glob(".demo.yaml.*")) == []

        rows = [
            ["市公安局", "yaan-gaj", "张三", "gaj@yaan.example", None, "李四", None],
            ["市市场监管局", "yaan-scjgj", "王五", "scjgj@yaan.example", None, None, None],
            ["雅安海关", "yaan-hg", "钱七", "hg@yaan.example", None, None, None],
        ]
        done = run("plan", "import-units", str(workbook(tmp_path / "full.xlsx", rows)), "--into", str(plan))
        assert done.returncode == 0, done.stderr
        text = plan.read_text(encoding="utf-8")
        assert text.startswith("# A demo campaign") and "work_areas:" in text and "obligations:" in text
        assert [u["id"] for u in yaml.safe_load(text)["units"]] == ["yaan-gaj", "yaan-scjgj", "yaan-hg"]
        checked = run("plan", "check", str(plan))
        assert checked.returncode == 0, checked.stderr

    def test_template_workbook_reads_back(self, tmp_path: Path) -> None:
        """The console's template has the headings the importer reads, and its example row imports."""
        path = tmp_path / "单位名单模板.xlsx"
        path.write_bytes(template_workbook())
        sheet = load_workbook(path).worksheets[0]
        assert tuple(c.value for c in sheet[1]) == TEMPLATE_HEADINGS
        done = run("plan", "import-units", str(path))
        assert done.returncode == 0, done.stderr
        assert yaml.safe_load(done.stdout)["units"][0]["id"] == "yaan-gaj"
