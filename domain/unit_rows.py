"""A unit list (名单/通讯录) as offices keep it in Excel, turned into the plan's `units:`.

Pure: the rows come in as cell values already read from the sheet (console/unit_import.py reads xlsx and
csv), every problem goes out with its row number (as the spreadsheet numbers it) and its column, so the
clerk fixes the sheet in one pass. Nothing is guessed silently: a unit without an id gets one made from
its name in pinyin initials (市公安局 → sgaj), said so in a note; two units with the same id are an error.
"""

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin

from schemas.base import Model
from schemas.people import ID_PATTERN
from schemas.plan import Unit, UnitKind

# The columns a sheet may carry, by any of their usual headings (Chinese first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("单位名称", "单位", "名称", "name"),
    "id": ("单位代码", "代码", "编号", "id"),
    "contact": ("联系人", "联络员", "contact"),
    "email": ("邮箱", "电子邮箱", "联系人邮箱", "email"),
    "phone": ("电话", "联系电话", "手机", "phone"),
    "leader": ("分管领导", "领导", "leader"),
    "leader_email": ("领导邮箱", "分管领导邮箱", "leader_email"),
    "leader_phone": ("领导电话", "分管领导电话", "leader_phone"),
    "kind": ("类型", "单位类型", "kind"),
}
REQUIRED = ("name", "contact", "email")
# Headings as printed in the template workbook, in its column order.
TEMPLATE_HEADINGS = ("单位名称", "单位代码", "联系人", "邮箱", "电话", "分管领导", "领导邮箱", "领导电话", "类型")
KIND_WORDS: dict[str, UnitKind] = {
    "成员单位": UnitKind.MEMBER,
    "member": UnitKind.MEMBER,
    "县区打假办": UnitKind.COUNTY,
    "县（区）打假办": UnitKind.COUNTY,
    "县(区)打假办": UnitKind.COUNTY,
    "county": UnitKind.COUNTY,
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID = re.compile(ID_PATTERN)
MAX_TEXT = 200


class RowProblem(Model):
    row: int  # as the spreadsheet numbers it: the heading is row 1 (or wherever it was found)
    column: str  # the heading as the sheet wrote it, or the field name when the column is missing
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class ImportResult:
    units: list[Unit] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # ids made from names, said so


def pinyin_id(name: str, prefix: str = "") -> str:
    """An id from a unit's name: pinyin initials of its Chinese characters, letters and digits kept
    (雅安市公安局 → yasgaj); '' when nothing usable is left."""
    # Characters without pinyin (Latin letters, digits) pass through as they are.
    letters = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"))
    core = re.sub(r"[^a-z0-9]", "", letters.lower())
    return f"{prefix}{core}"[:63] if core else ""


def headings(row: Sequence[object]) -> tuple[dict[str, int], dict[int, str], list[str]]:
    """(field → column index, column index → heading as written, problems) for a heading row."""
    where: dict[str, int] = {}
    shown: dict[int, str] = {}
    unknown: list[str] = []
    for i, cell in enumerate(row):
        text = str(cell).strip() if cell is not None else ""
        if not text:
            continue
        key = next((k for k, names in COLUMNS.items() if text.lower() in names), None)
        if key is None:
            unknown.append(text)
            continue
        if key in where:
            unknown.append(f"{text} (a second {key} column)")
            continue
        where[key] = i
        shown[i] = text
    return where, shown, unknown


def _text(value: object) -> tuple[str, str | None]:
    """A cell as text, or why it cannot be: numbers that are whole (a phone typed as a number) become digits."""
    if value is None:
        return "", None
    if isinstance(value, bool):
        return "", "expected text, got TRUE/FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    if isinstance(value, int | float):
        return str(value), None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return "", f"expected text, got a date ({value})"
    text = str(value).strip()
    if text.startswith("="):
        return "", "a formula; paste the values instead (formulas are not read)"
    if len(text) > MAX_TEXT:
        return "", f"longer than {MAX_TEXT} characters"
    return text, None


def build_units(
    rows: Iterable[tuple[int, Sequence[object]]], where: dict[str, int], shown: dict[int, str], prefix: str = ""
) -> ImportResult:
    """Units from data rows (row number, cells); every bad cell reported, no unit kept when any is bad."""
    out = ImportResult()

    def column(key: str) -> str:
        return shown.get(where[key], key) if key in where else key

    for key in REQUIRED:
        if key not in where:
            out.problems.append(
                RowProblem(row=1, column=key, message=f"no column for {key} ({'/'.join(COLUMNS[key])})")
            )
    if out.problems:
        return out
    seen: dict[str, int] = {}
    for number, cells in rows:
        values: dict[str, str] = {}
        bad = False
        for key, i in where.items():
            text, why = _text(cells[i] if i < len(cells) else None)
            if why:
                out.problems.append(RowProblem(row=number, column=column(key), message=why))
                bad = True
            values[key] = text
        if not any(values.values()) and not bad:
            continue  # a blank line between groups is not an error
        unit, problems, note = _unit(number, values, column, prefix)
        out.problems += problems
        if note:
            out.notes.append(note)
        if unit is None:
            continue
        if unit.id in seen:
            out.problems.append(
                RowProblem(
                    row=number, column=column("id"), message=f"id {unit.id!r} already used in row {seen[unit.id]}"
                )
            )
            continue
        seen[unit.id] = number
        out.units.append(unit)
    if not out.units and not out.problems:
        out.problems.append(RowProblem(row=1, column="name", message="the sheet lists no units"))
    if out.problems:
        out.units = []
    return out


def _unit(
    number: int, v: dict[str, str], column: Callable[[str], str], prefix: str
) -> tuple[Unit | None, list[RowProblem], str]:
    problems: list[RowProblem] = []

    def fail(key: str, message: str) -> None:
        problems.append(RowProblem(row=number, column=column(key), message=message))

    for key in REQUIRED:
        if not v.get(key):
            fail(key, "empty")
    note = ""
    unit_id = v.get("id", "")
    if unit_id and not _ID.match(unit_id):
        fail("id", f"{unit_id!r} is not an id (lower-case letters, digits, - and _, starting with a letter or digit)")
    if not unit_id and v.get("name"):
        unit_id = pinyin_id(v["name"], prefix)
        if not unit_id or not _ID.match(unit_id):
            fail("id", f"no id given and none can be made from the name {v['name']!r}; give one")
        else:
            note = f"row {number}: {v['name']} → id {unit_id} (from the name's pinyin)"
    for key in ("email", "leader_email"):
        if v.get(key) and not _EMAIL.match(v[key]):
            fail(key, f"{v[key]!r} is not an e-mail address")
    kind = UnitKind.MEMBER
    if v.get("kind"):
        found = KIND_WORDS.get(v["kind"].lower())
        if found is None:
            fail("kind", f"{v['kind']!r}: expected 成员单位 (member) or 县区打假办 (county)")
        else:
            kind = found
    if (v.get("leader_email") or v.get("leader_phone")) and not v.get("leader"):
        fail("leader", "empty, but the leader's e-mail or phone is given")
    if problems:
        return None, problems, ""
    leader = None
    if v.get("leader"):
        leader = {"name": v["leader"], "email": v.get("leader_email") or None, "phone": v.get("leader_phone", "")}
    unit = Unit.model_validate(
        {
            "id": unit_id,
            "name": v["name"],
            "kind": kind,
            "contacts": [{"name": v["contact"], "email": v["email"], "phone": v.get("phone", "")}],
            "leader": leader,
        }
    )
    return unit, [], note


def units_block(units: Sequence[Unit]) -> list[dict[str, object]]:
    """The units as the plan's YAML writes them: only what is set, in the plan's field order."""
    out: list[dict[str, object]] = []
    for u in units:
        entry: dict[str, object] = {"id": u.id, "name": u.name}
        if u.kind is not UnitKind.MEMBER:
            entry["kind"] = u.kind.value
        entry["contacts"] = [_person(p.model_dump()) for p in u.contacts]
        if u.leader is not None:
            entry["leader"] = _person(u.leader.model_dump())
        out.append(entry)
    return out


def _person(p: dict[str, object]) -> dict[str, object]:
    return {k: p[k] for k in ("name", "email", "phone") if p.get(k)}
