"""Roster files as offices send them: .xlsx and .csv in each encoding, untidy layout and values.

Each test writes one faulty roster in several formats, imports it in Chinese
and checks every row's outcome and reason, and that the people stored are
exactly the valid rows, with none invented and none lost.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from villagers.identity import check_character, id_number_digest
from villagers.models import Villager
from villagers.roster import RowStatus, roster_import
from villagers.roster.normalising import date_of, name_of, phone_of

from .factories import VillageFactory, make_id_number

HEADINGS = [
    "序号",
    "网格",
    "组别",
    "户号",
    "姓名",
    "性别",
    "关系",
    "公民身份号码",
    "出生日期",
    "手机号码",
    "政治面貌",
    "家庭住址",
    "人员类别",
]
FORMATS = ["xlsx", "utf-8", "utf-8-sig", "gb18030", "gbk"]
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")


def x_id_number(birth: date, male: bool = True) -> str:
    """Return a fresh valid ID number whose check character is X."""
    while True:
        id_number = make_id_number(birth, male)
        if id_number.endswith("X"):
            return id_number


def digit_id_number(birth: date, male: bool = True) -> str:
    while True:
        id_number = make_id_number(birth, male)
        if not id_number.endswith("X"):
            return id_number


def wrong_check(id_number: str) -> str:
    first_17 = id_number[:17]
    wrong = "1" if check_character(first_17) != "1" else "2"
    return first_17 + wrong


@dataclass
class Row:
    """One data row: its cells by heading, and what the import must do with it."""

    cells: dict
    status: str
    reason: str = ""
    id_number: str = ""  # the normalised ID number of a row that must be stored
    expected: dict = field(default_factory=dict)  # stored Villager fields


def cell_row(household, name, relation, id_number, birth, *, male=True, **cells):
    row = {
        "网格": "第一片区",
        "组别": "1组",
        "户号": household,
        "姓名": name,
        "性别": "男" if male else "女",
        "关系": relation,
        "公民身份号码": id_number,
        "出生日期": birth,
        "手机号码": "13800138000",
        "政治面貌": "群众",
        "家庭住址": "群英村1组",
        "人员类别": "户籍",
    }
    row.update(cells)
    return row


def faulty_rows(format_name: str) -> list[Row]:
    """Return the rows of the faulty roster, with characters the format's encoding can hold."""
    encoding = "gb18030" if format_name == "xlsx" else format_name.replace("-sig", "")
    space = next(c for c in ("\u00a0", "\u3000") if _encodable(c, encoding))
    dot = next(c for c in ("•", "・", "．") if _encodable(c, encoding))
    birth = date(1989, 6, 6)
    serial = 32665 if format_name == "xlsx" else "32665"  # 1989-06-06 as an Excel serial
    numeric_id = 330109198906061234.0 if format_name == "xlsx" else "3.30109E+17"

    head_x = x_id_number(birth)
    plain = digit_id_number(birth, male=False)
    dotted = digit_id_number(date(1990, 1, 2))
    new_resident = digit_id_number(date(1995, 3, 4), male=False)
    employee = digit_id_number(date(2000, 12, 31))
    duplicate = digit_id_number(date(1970, 7, 7))
    landline = digit_id_number(date(1975, 5, 5), male=False)
    orphan = digit_id_number(date(2001, 1, 1))
    return [
        Row(
            cell_row(
                "010001",
                f"{space}张三{space}",
                "户主",
                head_x.translate(FULL_WIDTH),
                "1989/06/06",
                手机号码="+86 138-0013-8000",
            ),
            RowStatus.NEW,
            id_number=head_x,
            expected={"name": "张三", "phone": "13800138000"},
        ),
        Row(
            cell_row(
                "010001", "李四", "配偶", plain, "1989.6.6", male=False, 手机号码="138 0013 8001"
            ),
            RowStatus.NEW,
            id_number=plain,
            expected={"phone": "13800138001"},
        ),
        Row(
            cell_row(
                "020002",
                f"阿卜杜{dot}热合曼",
                "户主",
                dotted.lower(),
                "1990年1月2日",
                人员类别=f"{space}户籍人口",
            ),
            RowStatus.NEW,
            id_number=dotted,
            expected={"name": "阿卜杜·热合曼", "population_type": "registered"},
        ),
        Row(
            cell_row(
                "030003", "王芳", "户主", new_resident, "19950304", male=False, 人员类别="新居民"
            ),
            RowStatus.NEW,
            id_number=new_resident,
            expected={"population_type": "new_resident"},
        ),
        Row(
            cell_row("040004", "赵强", "户主", employee, "2000-12-31", 人员类别="企业员工"),
            RowStatus.NEW,
            id_number=employee,
            expected={"population_type": "employee"},
        ),
        Row(
            cell_row("050005", "钱一", "户主", duplicate, "1970-07-07", 手机号码="0571-82345678"),
            RowStatus.NEW,
            id_number=duplicate,
            expected={"phone": "057182345678"},
        ),
        Row(
            cell_row("050005", "钱二", "子", duplicate, "1970-07-07"),
            RowStatus.REJECTED,
            "同一身份证号码已出现在第 {row_of_duplicate} 行。",
        ),
        Row(
            cell_row("050005", "钱三", "女", numeric_id, serial, male=False),
            RowStatus.REJECTED,
            "身份证号码被存成了数字，末几位已丢失。请把 公民身份号码 列设为文本格式后重新录入号码。",
        ),
        Row(
            cell_row("050005", "钱四", "子", wrong_check(employee), "2000-12-31"),
            RowStatus.REJECTED,
            "身份证号码的校验位不对，请对照身份证核对号码。",
        ),
        Row(
            cell_row(
                "050005", "钱五", "女", landline, "1975-05-06", male=False, 手机号码="1380013800"
            ),
            RowStatus.REJECTED,
            "联系电话“1380013800”既不是以 13 至 19 开头的 11 位手机号码，也不是带区号的固定电话号码。"
            " 出生日期 1975-05-06 与身份证号码中的出生日期 1975-05-05 不一致。",
        ),
        Row(
            cell_row("050005", "钱六", "子", digit_id_number(date(1999, 9, 9), male=False), serial),
            RowStatus.REJECTED,
            "出生日期 1989-06-06 与身份证号码中的出生日期 1999-09-09 不一致。"
            " 性别填的是男，但身份证号码第 17 位表示女。",
        ),
        Row(
            cell_row("060006", "孙七", "子", orphan, "2001-01-01"),
            RowStatus.REJECTED,
            "户号 060006 没有关系为“户主”的有效行，该户所有行均未导入。",
        ),
        Row(
            cell_row("070007", "周八", "户主", digit_id_number(birth), serial, 人员类别="游客"),
            RowStatus.REJECTED,
            "人员类别应为户籍、新居民、企业员工之一，而不是“游客”。",
        ),
    ]


def _encodable(character: str, encoding: str) -> bool:
    try:
        character.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def write_faulty_roster(path: Path, format_name: str, rows: list[Row]) -> dict[int, Row]:
    """Write the rows with title, filler, blank and totals rows; return the rows by row number.

    Row 1 is a title, row 2 blank, row 3 a date note, row 4 the header. A blank
    row sits after the second data row, and a 合计 row and a signature line follow the data.
    """
    lines: list[list] = [["群英村人员花名册"], [], ["填报日期：2026年12月1日"], HEADINGS]
    by_row: dict[int, Row] = {}
    for index, row in enumerate(rows, 1):
        lines.append([index, *(row.cells.get(heading, "") for heading in HEADINGS[1:])])
        by_row[len(lines)] = row
        if index == 2:
            lines.append([])
    lines.append(["合计", "", "", "", f"{len(rows)}人"])
    lines.append([])
    lines.append(["制表人：张会计", "", "", "", "", "审核：李书记"])

    if format_name == "xlsx":
        _write_xlsx(path, lines)
    else:
        _write_csv(path, lines, format_name)
    return by_row


def _write_xlsx(path: Path, lines: list[list]) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in lines:
        sheet.append([_xlsx_value(value) for value in line])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADINGS))
    workbook.save(path)


def _xlsx_value(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _write_csv(path: Path, lines: list[list], encoding: str) -> None:
    text = io.StringIO()
    csv.writer(text).writerows(lines)
    path.write_bytes(text.getvalue().encode(encoding))


def import_in_chinese(path, village, **options):
    with translation.override("zh-hans"):
        return roster_import(path=path, village=village, actor=None, **options)


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_faulty_roster_outcome_per_row(tmp_path, format_name):
    rows = faulty_rows(format_name)
    suffix = ".xlsx" if format_name == "xlsx" else ".csv"
    path = tmp_path / f"roster{suffix}"
    by_row = write_faulty_roster(path, format_name, rows)
    duplicate_row = next(number for number, row in by_row.items() if row.cells["姓名"] == "钱一")

    report = import_in_chinese(path, VillageFactory())

    outcomes = {outcome.row_number: outcome for outcome in report.rows}
    assert sorted(outcomes) == sorted(by_row)
    for number, row in by_row.items():
        assert outcomes[number].status == row.status, (number, outcomes[number])
        if row.status == RowStatus.REJECTED:
            expected = row.reason.format(row_of_duplicate=duplicate_row)
            assert outcomes[number].detail == expected, number
    # The blank row inside, the 合计 row, the blank row below it and the signature line.
    assert report.skipped_rows == 4


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_faulty_roster_stores_exactly_valid_rows(tmp_path, format_name):
    rows = faulty_rows(format_name)
    suffix = ".xlsx" if format_name == "xlsx" else ".csv"
    path = tmp_path / f"roster{suffix}"
    write_faulty_roster(path, format_name, rows)
    village = VillageFactory()

    import_in_chinese(path, village)

    valid = [row for row in rows if row.status == RowStatus.NEW]
    stored = Villager.objects.filter(household__village=village)
    assert set(stored.values_list("id_number_digest", flat=True)) == {
        id_number_digest(row.id_number) for row in valid
    }
    for row in valid:
        villager = stored.get(id_number_digest=id_number_digest(row.id_number))
        for name, value in row.expected.items():
            assert getattr(villager, name) == value, (row.cells["姓名"], name)


@pytest.mark.django_db
def test_merged_household_cells_filled(tmp_path):
    """Offices merge a household's 片区, 户号 and address cells over its rows."""
    head = make_id_number(date(1960, 1, 1))
    spouse = make_id_number(date(1962, 2, 2), male=False)
    child = make_id_number(date(1990, 3, 3))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["群英村花名册"])
    sheet.append(["片区", "户号", "姓名", "性别", "与户主关系", "身份证号码", "家庭住址"])
    sheet.append(["第二片区", "020009", "陈一", "男", "户主", head, "群英村2组9号"])
    sheet.append([None, None, "林二", "女", "配偶", spouse, None])
    sheet.append([None, None, "陈三", "男", "子", child, None])
    for column in ("A", "B", "G"):
        sheet.merge_cells(f"{column}3:{column}5")
    sheet.merge_cells("A1:G1")
    path = tmp_path / "merged.xlsx"
    workbook.save(path)
    village = VillageFactory()

    report = import_in_chinese(path, village)

    assert report.rejected == []
    assert report.created == 3
    stored = Villager.objects.filter(household__village=village)
    assert {villager.household.number for villager in stored} == {"020009"}
    assert {villager.household.district.name for villager in stored} == {"第二片区"}
    assert stored.get(name="陈三").household.address == "群英村2组9号"


@pytest.mark.django_db
def test_missing_column_named_in_chinese(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("姓名,性别,身份证号\n张三,男,330109198906061234\n", encoding="utf-8")

    with translation.override("zh-hans"), pytest.raises(Exception) as raised:
        roster_import(path=path, village=VillageFactory(), actor=None)

    assert str(raised.value) == (
        "第 1 行的列名中缺少以下列：片区、户号、与户主关系。请在列名行中补上这些列。"
    )


@pytest.mark.django_db
def test_masked_export_rows_rejected_not_moved_out(tmp_path, world):
    """A masked ID number is rejected, and its villager is not marked moved out."""
    path = tmp_path / "roster.csv"
    text = (
        "片区,户号,姓名,性别,与户主关系,身份证号码\n"
        f"第一片区,010001,张小明,男,户主,{world.villager.id_number_masked}\n"
    )
    path.write_text(text, encoding="utf-8")

    report = import_in_chinese(path, world.village_a)

    assert [outcome.detail for outcome in report.rows] == [
        "身份证号码中有 * 号，是脱敏后的号码。请导入含完整身份证号码的花名册，或填写完整号码。"
    ]
    world.villager.refresh_from_db()
    assert world.villager.status == Villager.Status.ACTIVE


# Normalisation of single values


@given(
    digits=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    style=st.sampled_from(["plain", "spaces", "dashes", "+86", "0086", "full-width"]),
)
def test_phone_forms_normalise_to_digits(digits, style):
    written = {
        "plain": digits,
        "spaces": f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        "dashes": f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        "+86": f"+86 {digits}",
        "0086": f"0086{digits}",
        "full-width": digits.translate(FULL_WIDTH),
    }[style]

    assert phone_of(written) == digits


@given(
    day=st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31)),
    style=st.sampled_from(["slash", "dot", "compact", "chinese", "serial", "iso"]),
)
def test_date_forms_read_alike(day, style):
    written = {
        "slash": f"{day.year}/{day.month:02d}/{day.day:02d}",
        "dot": f"{day.year}.{day.month}.{day.day}",
        "compact": f"{day:%Y%m%d}",
        "chinese": f"{day.year}年{day.month}月{day.day}日",
        "serial": (day - date(1899, 12, 30)).days,
        "iso": day.isoformat(),
    }[style]

    assert date_of(written) == day


@given(
    first=st.text(alphabet="阿卜杜热合曼买提", min_size=1, max_size=4),
    last=st.text(alphabet="阿卜杜热合曼买提", min_size=1, max_size=4),
    dot=st.sampled_from(["·", "•", "・", "．", "."]),
    padding=st.sampled_from(["", " ", "\u00a0", "\u3000"]),
)
def test_name_dots_normalise(first, last, dot, padding):
    assert name_of(f"{padding}{first}{dot}{last}{padding}") == f"{first}·{last}"
