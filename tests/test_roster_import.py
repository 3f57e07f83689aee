"""Roster import (花名册导入): the sample roster, row checks, updates, history and the command."""

from datetime import date, datetime
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from villagers.identity import check_character, id_number_digest, mask_id_number
from villagers.models import District, Household, Township, Village, Villager
from villagers.roster import RosterFileError, roster_import

from .factories import VillageFactory, VillagerFactory, make_id_number

SAMPLE_ROSTER = Path(__file__).resolve().parent.parent / "data" / "roster_qunying.xlsx"

# The headings of the sample roster, in its order.
STANDARD_HEADINGS = [
    "序号",
    "片区",
    "村民小组",
    "户号",
    "姓名",
    "性别",
    "与户主关系",
    "身份证号码",
    "出生日期",
    "民族",
    "联系电话",
    "政治面貌",
    "文化程度",
    "家庭住址",
    "备注",
]
# Other accepted headings for the same columns, in another order, as some offices write them.
VARIANT_HEADINGS = [
    "姓名",
    "身份证号",
    "网格",
    "户号",
    "关系",
    "性别",
    "手机号码",
    "组别",
    "出生日期",
    "政治面貌",
    "序号",
]
_VARIANT_OF = {
    "身份证号": "身份证号码",
    "网格": "片区",
    "关系": "与户主关系",
    "手机号码": "联系电话",
    "组别": "村民小组",
}


def write_roster(path: Path, people: list[dict | None], headings=STANDARD_HEADINGS) -> Path:
    """Write a roster with a title row and a blank row above the header (row 3).

    Each person is a dict keyed by the standard heading, and None writes a blank row.
    """
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["群英村户籍人员花名册（测试）"])
    sheet.append([])
    sheet.append(headings)
    for person in people:
        if person is None:
            sheet.append([])
            continue
        sheet.append([person.get(_VARIANT_OF.get(heading, heading)) for heading in headings])
    workbook.save(path)
    return path


def person(
    name, household="010001", relation="户主", *, male=True, birth=date(1980, 5, 17), **cells
):
    """Return a valid roster row for a new person, with ``cells`` replacing cells by heading."""
    row = {
        "片区": "第一片区",
        "村民小组": "1组",
        "户号": household,
        "姓名": name,
        "性别": "男" if male else "女",
        "与户主关系": relation,
        "身份证号码": make_id_number(birth, male),
        "出生日期": datetime(birth.year, birth.month, birth.day),
        "民族": "汉族",
        "联系电话": "13800000000",
        "政治面貌": "群众",
        "文化程度": "初中",
        "家庭住址": f"群英村1组{household}号",
    }
    row.update(cells)
    return row


def numeric_id_number(birth: date) -> str:
    """Return a fresh ID number whose check character is a digit, not X."""
    while True:
        id_number = make_id_number(birth)
        if id_number[-1] != "X":
            return id_number


def wrong_check_digit(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def import_roster_en(path, village, actor=None, **options):
    with translation.override("en"):
        return roster_import(path=path, village=village, actor=actor, **options)


def villagers_of(village):
    return Villager.objects.filter(household__village=village)


# The sample roster


@pytest.mark.django_db
def test_sample_roster_imports_every_row(django_assert_max_num_queries):
    village = VillageFactory(name="群英村")

    # Bulk statements: about 25 queries on PostgreSQL and 90 on SQLite, whose
    # backend splits bulk inserts into smaller batches. Saving row by row needs over 4,000.
    with django_assert_max_num_queries(150):
        report = roster_import(path=SAMPLE_ROSTER, village=village, actor=None)

    assert report.rejected == []
    assert report.created == 2033
    assert report.updated == 0
    assert report.unchanged == 0
    assert report.households_created == 560
    assert report.districts_created == 6
    assert villagers_of(village).count() == 2033
    assert Household.objects.filter(village=village).count() == 560
    assert District.objects.filter(village=village).count() == 6
    assert villagers_of(village).filter(is_party_member=True).count() == 236


@pytest.mark.django_db
def test_sample_roster_first_row_fields():
    village = VillageFactory(name="群英村")

    roster_import(path=SAMPLE_ROSTER, village=village, actor=None)

    # Row 4 of the sample: 吕超, head of household 010001, ID 330109198701057276.
    villager = villagers_of(village).get(id_number_digest=id_number_digest("330109198701057276"))
    assert villager.name == "吕超"
    assert villager.relation_to_head == "户主"
    assert villager.sex == Villager.Sex.MALE
    assert villager.birth_date == date(1987, 1, 5)
    assert villager.phone == "18711929411"
    assert villager.ethnicity == "汉族"
    assert villager.political_status == "群众"
    assert villager.is_party_member is False
    assert villager.education == "初中"
    household = villager.household
    assert household.number == "010001"
    assert household.district.name == "第一片区"
    assert household.village_group == "1组"
    assert household.address == "浙江省杭州市萧山区益农镇群英村1组119号"


@pytest.mark.django_db
def test_sample_roster_second_import_changes_nothing(django_assert_max_num_queries):
    village = VillageFactory(name="群英村")
    roster_import(path=SAMPLE_ROSTER, village=village, actor=None)
    history_rows = Villager.history.count() + Household.history.count()

    with django_assert_max_num_queries(15):
        report = roster_import(path=SAMPLE_ROSTER, village=village, actor=None)

    assert report.created == 0
    assert report.updated == 0
    assert report.unchanged == 2033
    assert report.rejected == []
    assert report.households_created == 0
    assert report.households_updated == 0
    assert report.districts_created == 0
    assert villagers_of(village).count() == 2033
    assert Villager.history.count() + Household.history.count() == history_rows


# Rejected rows


@pytest.mark.django_db
def test_faulty_rows_rejected_by_row_and_message(tmp_path):
    head = person("张一", birth=date(1960, 1, 1), 联系电话="138-0013 8000", 政治面貌="中共党员")
    spouse = person(
        "李二",
        relation="配偶",
        male=False,
        birth=date(1962, 3, 4),
        出生日期="1962/03/04",
        联系电话="",
    )
    bad_check_digit = person("张三", relation="子")
    bad_check_digit["身份证号码"] = wrong_check_digit(bad_check_digit["身份证号码"])
    impossible_first_17 = "33010919890230123"
    impossible_date = person(
        "张六",
        relation="子",
        身份证号码=impossible_first_17 + check_character(impossible_first_17),
        出生日期=None,
    )
    number_id = float(numeric_id_number(date(1980, 1, 1)))
    no_head_id = person("赵九", "030003", "户主", 网格="第二片区")
    no_head_id["身份证号码"] = wrong_check_digit(no_head_id["身份证号码"])

    rows = [
        head,  # row 4
        spouse,  # row 5
        bad_check_digit,  # row 6
        person("张四", relation="女", male=False, 身份证号码="33010919800517123"),  # row 7
        impossible_date,  # row 8
        person("张七", relation="子", 身份证号码=number_id),  # row 9
        person("张八", relation="子", 身份证号码="3.30109E+17"),  # row 10
        person(
            "钱一", relation="子", birth=date(1970, 1, 1), 出生日期=datetime(1970, 1, 2)
        ),  # row 11
        person("钱二", relation="子", 出生日期="去年"),  # row 12
        person("钱三", relation="子", male=True, 性别="女"),  # row 13
        person("钱四", relation="子", 性别="M"),  # row 14
        person("钱五", relation="子", 联系电话="1380013800"),  # row 15
        person(
            "钱六", relation="子", 身份证号码=head["身份证号码"], birth=date(1960, 1, 1)
        ),  # row 16
        {"序号": 99},  # row 17: numbered but empty, skipped
        person("孙一", "020002", "配偶", male=False),  # row 18
        person("孙二", "020002", "子"),  # row 19
        no_head_id,  # row 20
        person("赵十", "030003", "子", 网格="第二片区"),  # row 21
        person("张二十", relation="户主"),  # row 22
        person("张二一", relation="子", 片区="第二片区"),  # row 23
        person("", relation="子"),  # row 24
        person("钱七", relation="子", 性别="M", 联系电话="12345"),  # row 25
        person("王  五", "040004", 片区="第二片区"),  # row 26
        None,  # row 27: blank
        person("周" * 65, relation="子"),  # row 28
        person("吴一", relation="子", 身份证号码=None),  # row 29
        person("吴二", relation="子", 身份证号码=int(number_id)),  # row 30
    ]
    path = write_roster(tmp_path / "faulty.xlsx", rows, headings=VARIANT_HEADINGS)
    village = VillageFactory(name="群英村")

    report = import_roster_en(path, village)

    number_message = (
        "The ID number was stored as a number, which loses its last digits. "
        "Format the 身份证号 column as text and enter the number again."
    )
    check_digit_message = (
        "The ID number's check digit is wrong; check the number against the ID card."
    )
    rejected = {error.row_number: error.message for error in report.rejected}
    assert rejected == {
        6: check_digit_message,
        7: "The ID number must be 18 characters: 17 digits and a final digit or X.",
        8: "The ID number holds no valid birth date in characters 7 to 14.",
        9: number_message,
        10: number_message,
        11: "The birth date 1970-01-02 does not match the birth date 1970-01-01 in the ID number.",
        12: "The birth date “去年” is not a date like 1989-06-06.",
        13: "Sex is 女, but the 17th digit of the ID number means 男.",
        14: "Sex must be 男 or 女, not “M”.",
        15: "The phone number “1380013800” is neither an 11-digit mobile number starting "
        "with 13 to 19 nor a landline number with its area code.",
        16: "The same ID number is already in row 4.",
        18: "Household 020002 has no valid row whose 关系 is 户主, so none of its rows were imported.",
        19: "Household 020002 has no valid row whose 关系 is 户主, so none of its rows were imported.",
        20: check_digit_message,
        21: "Household 030003 has no valid row whose 关系 is 户主, so none of its rows were imported.",
        22: "Household 010001 already has its head in row 4.",
        23: "This row puts household 010001 in 第二片区, but the head's row 4 puts it in 第一片区.",
        24: "姓名 is empty.",
        25: "Sex must be 男 or 女, not “M”. "
        "The phone number “12345” is neither an 11-digit mobile number starting "
        "with 13 to 19 nor a landline number with its area code.",
        28: "姓名 is longer than 64 characters.",
        29: "身份证号 is empty.",
        30: number_message,
    }
    names = {error.row_number: error.name for error in report.rejected}
    assert names[6] == "张三"
    assert names[24] == ""
    assert [error.row_number for error in report.rejected] == sorted(rejected)

    assert report.created == 3
    assert set(villagers_of(village).values_list("name", flat=True)) == {"张一", "李二", "王五"}
    assert villagers_of(village).count() == 3
    assert set(Household.objects.filter(village=village).values_list("number", flat=True)) == {
        "010001",
        "040004",
    }
    assert set(District.objects.filter(village=village).values_list("name", flat=True)) == {
        "第一片区",
        "第二片区",
    }


@pytest.mark.django_db
def test_valid_rows_of_faulty_roster_stored(tmp_path):
    head = person("张一", birth=date(1960, 1, 1), 联系电话="138-0013 8000", 政治面貌="中共党员")
    spouse = person(
        "李二",
        relation="配偶",
        male=False,
        birth=date(1962, 3, 4),
        出生日期="1962/03/04",
        联系电话="",
    )
    broken = person("张三", relation="子", 联系电话="110")
    path = write_roster(tmp_path / "roster.xlsx", [head, spouse, broken], headings=VARIANT_HEADINGS)
    village = VillageFactory(name="群英村")

    report = import_roster_en(path, village)

    assert [error.row_number for error in report.rejected] == [6]
    stored_head = villagers_of(village).get(name="张一")
    assert stored_head.phone == "13800138000"
    assert stored_head.is_party_member is True
    assert stored_head.political_status == "中共党员"
    assert stored_head.id_number_masked == mask_id_number(head["身份证号码"])
    stored_spouse = villagers_of(village).get(name="李二")
    assert stored_spouse.sex == Villager.Sex.FEMALE
    assert stored_spouse.birth_date == date(1962, 3, 4)
    assert stored_spouse.phone == ""
    # 组别 sets the village group; the variant header has no 家庭住址 column.
    assert stored_head.household.village_group == "1组"
    assert stored_head.household.address == ""


@pytest.mark.django_db
def test_id_number_of_other_village_rejected(tmp_path, world):
    registered_id = make_id_number(date(1975, 8, 1))
    VillagerFactory(household=world.household_b1, name="赵外村二", id_number=registered_id)
    rows = [
        person("张一", "090009"),
        person("赵外村二", "090009", "子", birth=date(1975, 8, 1), 身份证号码=registered_id),
    ]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, world.village_a)

    assert [(error.row_number, error.message) for error in report.rejected] == [
        (
            5,
            "A villager with this ID number is registered in another village, "
            "so this row was not imported.",
        )
    ]
    moved = Villager.objects.get(name="赵外村二")
    assert moved.household == world.household_b1


# Whole-file problems


@pytest.mark.django_db
def test_missing_required_columns_named(tmp_path):
    headings = [heading for heading in STANDARD_HEADINGS if heading not in {"户号", "性别"}]
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")], headings=headings)
    village = VillageFactory()

    with pytest.raises(RosterFileError) as raised:
        import_roster_en(path, village)

    assert str(raised.value) == (
        "The header in row 3 lacks these columns: 户号、性别. Add them to the header row."
    )
    assert Villager.objects.count() == 0


@pytest.mark.django_db
def test_missing_one_column_named(tmp_path):
    headings = [heading for heading in STANDARD_HEADINGS if heading != "身份证号码"]
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")], headings=headings)

    with pytest.raises(RosterFileError) as raised:
        import_roster_en(path, VillageFactory())

    assert str(raised.value) == (
        "The header in row 3 has no 身份证号码 column. Add it to the header row."
    )


@pytest.mark.django_db
def test_same_column_twice_rejected(tmp_path):
    headings = [*STANDARD_HEADINGS, "电话"]
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")], headings=headings)

    with pytest.raises(RosterFileError) as raised:
        import_roster_en(path, VillageFactory())

    assert str(raised.value) == (
        "The header in row 3 has both 联系电话 and 电话, which are the same column. "
        "Delete or rename one of them."
    )


@pytest.mark.django_db
def test_roster_without_header_rejected(tmp_path):
    path = write_roster(tmp_path / "roster.xlsx", [], headings=["名单", "备注"])

    with pytest.raises(RosterFileError) as raised:
        import_roster_en(path, VillageFactory())

    assert str(raised.value) == (
        "No header row was found in the first 30 rows. The header row must contain the "
        "headings 片区、户号、姓名、性别、与户主关系、身份证号码."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,id\n", "The file is not an .xlsx workbook, or it is damaged."),
        (b"PK\x03\x04broken", "The file is not an .xlsx workbook, or it is damaged."),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "The file is an old .xls workbook or is protected by a password.",
        ),
    ],
)
def test_unreadable_file_rejected(tmp_path, content, message):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(content)

    with pytest.raises(RosterFileError) as raised:
        import_roster_en(path, VillageFactory())

    assert str(raised.value).startswith(message)


@pytest.mark.django_db
def test_missing_file_rejected(tmp_path):
    with pytest.raises(RosterFileError) as raised:
        import_roster_en(tmp_path / "missing.xlsx", VillageFactory())

    assert str(raised.value) == "The file does not exist."


# Updates, dry runs and history


@pytest.mark.django_db
def test_changed_row_updated_with_history(tmp_path, world):
    rows = [person("张一", "090009"), person("李二", "090009", "配偶", male=False)]
    path = write_roster(tmp_path / "roster.xlsx", rows)
    import_roster_en(path, world.village_a, actor=world.village_admin)
    rows[1]["联系电话"] = "13912345678"
    rows[1]["家庭住址"] = "群英村1组新址8号"
    rows[0]["家庭住址"] = "群英村1组新址8号"
    write_roster(path, rows)

    report = import_roster_en(path, world.village_a, actor=world.recorder)

    assert report.created == 0
    assert report.updated == 1
    assert report.unchanged == 1
    assert report.households_updated == 1
    spouse = Villager.objects.get(name="李二")
    assert spouse.phone == "13912345678"
    assert spouse.household.address == "群英村1组新址8号"
    latest = spouse.history.latest()
    assert latest.history_type == "~"
    assert latest.history_user == world.recorder
    assert latest.phone == "13912345678"
    assert spouse.household.history.latest().history_user == world.recorder
    head = Villager.objects.get(name="张一")
    assert head.history.count() == 1


@pytest.mark.django_db
def test_absent_column_keeps_stored_value(tmp_path):
    village = VillageFactory()
    rows = [person("张一", 联系电话="13912345678")]
    path = write_roster(tmp_path / "roster.xlsx", rows)
    import_roster_en(path, village)
    headings = [heading for heading in STANDARD_HEADINGS if heading != "联系电话"]
    write_roster(path, rows, headings=headings)

    report = import_roster_en(path, village)

    assert report.unchanged == 1
    assert villagers_of(village).get().phone == "13912345678"


@pytest.mark.django_db
def test_created_rows_carry_acting_user(tmp_path, world):
    rows = [
        person("张一", "090009", 片区="第九片区"),
        person("李二", "090009", "配偶", male=False, 片区="第九片区"),
    ]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, world.village_a, actor=world.village_admin)

    assert report.created == 2
    created = Villager.history.filter(history_type="+", name__in=["张一", "李二"])
    assert created.count() == 2
    assert {record.history_user for record in created} == {world.village_admin}
    household_record = Household.history.get(number="090009")
    assert household_record.history_user == world.village_admin
    district_record = District.history.get(name="第九片区")
    assert district_record.history_user == world.village_admin
    assert district_record.history_change_reason == "Roster import from roster.xlsx"


@pytest.mark.django_db
def test_long_file_name_shortened_in_history(tmp_path):
    path = write_roster(tmp_path / ("r" * 120 + ".xlsx"), [person("张一")])

    report = import_roster_en(path, VillageFactory())

    assert report.created == 1
    reason = Villager.history.get().history_change_reason
    assert len(reason) == 100
    assert reason.startswith("Roster import from rrr")


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path):
    village = VillageFactory()
    rows = [person("张一"), person("李二", relation="配偶", male=False)]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, village, dry_run=True)

    assert report.dry_run is True
    assert report.created == 2
    assert report.households_created == 1
    assert report.districts_created == 1
    assert Villager.objects.count() == 0
    assert Household.objects.count() == 0
    assert District.objects.count() == 0
    assert Villager.history.count() == 0


@pytest.mark.django_db
def test_existing_villager_moves_household(tmp_path, world):
    rows = [person("张一", "090009"), person("李二", "090009", "配偶", male=False)]
    path = write_roster(tmp_path / "roster.xlsx", rows)
    import_roster_en(path, world.village_a)
    rows.append(person("王三", "080008", 片区="第二片区"))
    rows[1].update({"户号": "080008", "与户主关系": "配偶", "片区": "第二片区"})
    write_roster(path, rows)

    report = import_roster_en(path, world.village_a)

    assert report.created == 1
    assert report.moved == 1
    assert report.unchanged == 1
    assert Villager.objects.get(name="李二").household.number == "080008"
    assert Villager.objects.get(name="李二").household.district == world.district_a2


# The management command


def run_command(*args):
    output = StringIO()
    with translation.override("en"):
        call_command("import_roster", *[str(arg) for arg in args], stdout=output)
    return output.getvalue().splitlines()


@pytest.mark.django_db
def test_command_lists_rejected_rows(tmp_path, world):
    rows = [
        person("张一", "090009"),
        person("李二", "090009", "配偶", male=False, 联系电话="110"),
        person("", "090009", "子"),
    ]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    lines = run_command(path, "--village", "群英村", "--user", "cunshuji")

    assert lines[:4] == [
        "Villagers created: 1, updated: 0, moved: 0, unchanged: 0, moved out: 3. Rows rejected: 2.",
        "Households created: 1, updated: 0. Districts created: 0.",
        "Row 5 (李二): The phone number “110” is neither an 11-digit mobile number starting "
        "with 13 to 19 nor a landline number with its area code.",
        "Row 6: 姓名 is empty.",
    ]
    assert lines[4].startswith("Moved out: 张小明 of household 010001 (ID number 330")
    created = Villager.objects.get(name="张一")
    assert created.history.get().history_user == world.village_admin


@pytest.mark.django_db
def test_command_creates_village_with_township(tmp_path):
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")])

    lines = run_command(path, "--village", "新村", "--township", "新镇")

    assert lines[0] == "Created the village 新村 in the township 新镇."
    village = Village.objects.get(name="新村", township__name="新镇")
    assert villagers_of(village).count() == 1


@pytest.mark.django_db
def test_command_dry_run_creates_nothing(tmp_path):
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")])

    lines = run_command(path, "--village", "新村", "--township", "新镇", "--dry-run")

    assert lines[:3] == [
        "The village 新村 in the township 新镇 would be created.",
        "Dry run: nothing was saved.",
        "Villagers created: 1, updated: 0, moved: 0, unchanged: 0, moved out: 0. Rows rejected: 0.",
    ]
    # Every district of a new village is new, so the dry run names it.
    assert lines[4] == (
        "Warning: the district 第一片区 does not exist and would be created, named in "
        "row 4 (张一). If the name is a typo, correct it in the file."
    )
    assert lines[5] == "Row 4 (张一): New villager."
    assert not Village.objects.filter(name="新村").exists()
    assert not Township.objects.filter(name="新镇").exists()
    assert Villager.objects.count() == 0


@pytest.mark.django_db
def test_command_unknown_village_explains(tmp_path):
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")])

    with pytest.raises(CommandError) as raised:
        run_command(path, "--village", "无名村")

    assert str(raised.value) == (
        "No village is named 无名村. To create it, run the command again with --township "
        "and the name of its township."
    )


@pytest.mark.django_db
def test_command_ambiguous_village_needs_township(tmp_path, world):
    VillageFactory(name="群英村")
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")])

    with pytest.raises(CommandError) as raised:
        run_command(path, "--village", "群英村")

    assert str(raised.value) == (
        "More than one village is named 群英村. Give its township with --township."
    )
    lines = run_command(path, "--village", "群英村", "--township", "益农镇")
    assert lines[0] == (
        "Villagers created: 1, updated: 0, moved: 0, unchanged: 0, moved out: 3. Rows rejected: 0."
    )
    assert villagers_of(world.village_a).filter(name="张一").exists()


@pytest.mark.django_db
def test_command_unreadable_file_names_it(tmp_path, world):
    path = tmp_path / "名单.xlsx"
    path.write_text("not a workbook")

    with pytest.raises(CommandError) as raised:
        run_command(path, "--village", "群英村")

    assert str(raised.value) == (
        f"The roster {path} could not be imported. The file is not an .xlsx workbook, "
        "or it is damaged. Open it in Excel or WPS and save it as .xlsx, "
        "or as CSV (comma separated)."
    )
