"""The pure rules of a unit list (domain/unit_rows.py) and the Chinese wording of periods and refusals."""

import pytest

from domain.cycle_words import zh_reason
from domain.legaltime.wording import zh_period, zh_titled
from domain.unit_rows import build_units, headings, pinyin_id

HEAD = ["单位名称", "联系人", "邮箱", "单位代码"]


def rows(*cells: list[object]) -> list[tuple[int, list[object]]]:
    return [(n, list(c)) for n, c in enumerate(cells, start=2)]


class TestPinyinIds:
    @pytest.mark.parametrize(
        ("name", "prefix", "expected"),
        [
            ("市公安局", "", "sgaj"),
            ("雅安海关", "yaan-", "yaan-yahg"),
            ("ABC 海关", "", "abchg"),
            ("第2中队", "", "d2zd"),
        ],
    )
    def test_initials_of_the_name(self, name: str, prefix: str, expected: str) -> None:
        """Pinyin initials of the characters, Latin letters and digits kept, the prefix in front."""
        assert pinyin_id(name, prefix) == expected

    def test_nothing_usable_is_empty(self) -> None:
        """A name of punctuation alone gives no id (the row must then give one)."""
        assert pinyin_id("！！——") == ""


class TestBuildUnits:
    def test_made_ids_collide_and_are_refused(self) -> None:
        """Two names with the same initials make the same id: an error naming both rows, not a silent -2."""
        where, shown, _ = headings(HEAD)
        result = build_units(
            rows(["市公安局", "张", "a@x.example", None], ["市国安局", "李", "b@x.example", None]), where, shown
        )
        assert result.units == []
        assert [str(p) for p in result.problems] == ["row 3, column 单位代码: id 'sgaj' already used in row 2"]

    def test_blank_lines_are_skipped_and_whole_numbers_are_digits(self) -> None:
        """A blank line between groups is no error; a phone typed as 2824527.0 reads as 2824527."""
        where, shown, _ = headings([*HEAD, "电话"])
        result = build_units(rows(["市公安局", "张", "a@x.example", "gaj", 2824527.0], [None] * 5), where, shown)
        assert result.problems == []
        assert result.units[0].contacts[0].phone == "2824527"

    def test_missing_required_column(self) -> None:
        """No e-mail column: one problem on the heading row, no unit read."""
        where, shown, _ = headings(["单位名称", "联系人"])
        result = build_units(rows(["市公安局", "张"]), where, shown)
        assert [p.column for p in result.problems] == ["email"] and result.units == []

    def test_leader_details_without_a_leader(self) -> None:
        """A leader's e-mail with no leader's name is an error on the leader column."""
        where, shown, _ = headings([*HEAD, "领导邮箱"])
        result = build_units(rows(["市公安局", "张", "a@x.example", "gaj", "l@x.example"]), where, shown)
        assert [(p.row, p.column) for p in result.problems] == [(2, "leader")]


class TestChineseWords:
    @pytest.mark.parametrize(
        ("label", "words"),
        [
            ("2026-Y", "2026年度"),
            ("2026-H1", "2026年上半年"),
            ("2026-H2", "2026年下半年"),
            ("2026-M03", "2026年3月"),
            ("2026-1202T0930", "2026年12月2日"),
            ("2026-M13", "2026-M13"),
            ("demo", "demo"),
        ],
    )
    def test_period_labels(self, label: str, words: str) -> None:
        """Period labels as a Chinese reader says them; anything unknown stays as it is."""
        assert zh_period(label) == words

    def test_title_not_repeating_its_period(self) -> None:
        """半年工作总结（2026年上半年）, but 2026年度工作总结 stays as it is."""
        assert zh_titled("半年工作总结", "2026-H1") == "半年工作总结（2026年上半年）"
        assert zh_titled("2026年度工作总结", "2026-Y") == "2026年度工作总结"

    def test_refusals_in_chinese_first_english_kept(self) -> None:
        """A known refusal reads in Chinese with the original after it; an unknown one is unchanged."""
        said = zh_reason("cycle cycle:x:y:z:2026-Y is closed")
        assert said.startswith("本期报送已结束") and "is closed" in said
        assert zh_reason("x.exe: file type not accepted (allowed: pdf)").startswith("文件类型不受理")
        assert zh_reason("something new") == "something new"
