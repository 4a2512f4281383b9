"""Read a unit list from .xlsx or .csv (`duban plan import-units`), and the template workbook offices fill in.

The sheet is hostile until proven otherwise: its size is checked before it is opened, rows are streamed
(openpyxl read-only) and counted, formulas are refused (their cached values may be stale or absent),
and nothing outside the first sheet is read. The rules for a row are in domain/unit_rows.py.
"""

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml
from openpyxl import Workbook, load_workbook

from domain.plan_check import MAX_UNITS_PER_OFFICE
from domain.unit_rows import TEMPLATE_HEADINGS, ImportResult, RowProblem, build_units, headings, units_block

MAX_FILE_BYTES = 5 * 1024 * 1024  # a thousand units with their contacts are ~100 KB
MAX_ROWS = MAX_UNITS_PER_OFFICE + 200  # rows read at most, blank ones included
MAX_COLUMNS = 30
HEADING_SEARCH_ROWS = 10  # a title line or two above the headings is common in office sheets


class SheetError(ValueError):
    """The file cannot be read as a unit list at all (not a row's problem)."""


def import_units(path: Path, prefix: str = "") -> ImportResult:
    """Units from the file, or every problem found (SheetError when it is not a readable sheet)."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SheetError(f"cannot read {path}: {err.strerror}") from err
    if size > MAX_FILE_BYTES:
        raise SheetError(f"{path.name}: {size} bytes; a unit list is at most {MAX_FILE_BYTES} bytes")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        rows = _xlsx_rows(path)
    elif suffix == ".csv":
        rows = _csv_rows(path)
    else:
        raise SheetError(f"{path.name}: expected an .xlsx or .csv file")
    return _from_rows(rows, prefix)


def _from_rows(rows: Iterator[tuple[int, Sequence[object]]], prefix: str) -> ImportResult:
    found = None
    for number, cells in rows:
        where, shown, unknown = headings(cells)
        if "name" in where:
            found = (number, where, shown, unknown)
            break
        if number >= HEADING_SEARCH_ROWS:
            break
    if found is None:
        return ImportResult(
            problems=[
                RowProblem(row=1, column="单位名称", message="no heading row with 单位名称 (name) in the first rows")
            ]
        )
    number, where, shown, unknown = found
    result = build_units(_capped(rows), where, shown, prefix)
    for text in unknown:
        result.notes.append(f"row {number}: column {text!r} is not read")
    return result


def _capped(rows: Iterator[tuple[int, Sequence[object]]]) -> Iterator[tuple[int, Sequence[object]]]:
    for number, cells in rows:
        if number > MAX_ROWS:
            raise SheetError(f"more than {MAX_ROWS} rows; a plan holds at most {MAX_UNITS_PER_OFFICE} units")
        yield number, cells


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Sequence[object]]]:
    try:
        # read_only streams the sheet; data_only=False keeps formulas as "=…" text so they can be refused.
        book = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as err:
        raise SheetError(f"{path.name}: not a readable .xlsx workbook ({type(err).__name__})") from err
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise SheetError(f"{path.name}: the workbook has no sheet")
        # The sheet's own dimension is not trusted (a forged A1:XFD1048576 would pad every row to 16,384
        # cells); only the first MAX_COLUMNS columns are read.
        sheet.reset_dimensions()
        yield from enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1)
    finally:
        book.close()


def _csv_rows(path: Path) -> Iterator[tuple[int, Sequence[object]]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK unless told otherwise
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetError(f"{path.name}: neither UTF-8 nor GB18030 text")
    if "\x00" in text:
        raise SheetError(f"{path.name}: not a text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as err:
        raise SheetError(f"{path.name}: not a CSV file ({err})") from err


def units_yaml(result: ImportResult) -> str:
    """The `units:` block as the plan writes it."""
    return yaml.safe_dump({"units": units_block(result.units)}, allow_unicode=True, sort_keys=False, width=120)


def replace_units(plan_text: str, block: str) -> str:
    """The plan's text with its top-level `units:` replaced by `block` (appended when it has none); every
    other line — comments included — stays as it was."""
    lines = plan_text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("units:")), None)
    if start is None:
        sep = "" if not plan_text or plan_text.endswith("\n") else "\n"
        return plan_text + sep + block
    end = start + 1
    # The block runs while lines are indented, list items, blank or comments; the next top-level key ends it.
    while end < len(lines) and (lines[end][:1] in (" ", "-", "\t", "\n", "\r", "#") or not lines[end].strip()):
        end += 1
    # Comments and blank lines just before the next key belong to it, not to the units.
    while end - 1 > start and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


def template_workbook() -> bytes:
    """The workbook offices fill in: headings, one example row, and a sheet that explains each column."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "单位名单"
    sheet.append(list(TEMPLATE_HEADINGS))
    sheet.append(
        [
            "市公安局",
            "yaan-gaj",
            "张三",
            "gaj@yaan.example",
            "0835-2824527",
            "李四",
            "gaj-leader@yaan.example",
            "",
            "成员单位",
        ]
    )
    for column, width in zip("ABCDEFGHI", (24, 16, 10, 26, 16, 10, 26, 16, 12), strict=True):
        sheet.column_dimensions[column].width = width
    notes = book.create_sheet("填写说明")
    for line in (
        ("列", "说明"),
        ("单位名称", "必填"),
        ("单位代码", "可空：空则按单位名称拼音首字母生成（如 市公安局 → sgaj）；小写字母、数字、- 和 _"),
        ("联系人", "必填：接收通知、提醒的联络员"),
        ("邮箱", "必填：联系人邮箱"),
        ("电话", "可空"),
        ("分管领导", "可空：逾期督办时通知"),
        ("领导邮箱 / 领导电话", "可空"),
        ("类型", "成员单位 或 县区打假办；空为成员单位"),
        ("", "请填写数值，不要使用公式；第一张工作表为名单。"),
    ):
        notes.append(list(line))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
