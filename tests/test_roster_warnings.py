"""Roster import: rows and files that need the user's attention, and the messages for them.

A birth date in the future, a 片区 the village lacks (often a typo), missing
columns and a file of the wrong format.
"""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from villagers.identity import check_character
from villagers.models import District, RosterUpload, Villager
from villagers.roster import RosterFileError, roster_import, rows_text

from .factories import VillageFactory, make_id_number
from .test_roster_admin import upload
from .test_roster_import import (
    STANDARD_HEADINGS,
    import_roster_en,
    person,
    run_command,
    write_roster,
)


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"


def future_birth_date() -> date:
    return date(timezone.localdate().year + 1, 1, 1)


def run_command_zh(*args):
    output = StringIO()
    with translation.override("zh-hans"):
        call_command("import_roster", *[str(arg) for arg in args], stdout=output)
    return output.getvalue().splitlines()


def write_csv(path, lines):
    header = "片区,户号,姓名,性别,与户主关系,身份证号码,手机号码"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


# Birth dates in the ID number


@pytest.mark.django_db
def test_future_birth_date_rejected(tmp_path):
    birth = future_birth_date()
    rows = [person("张一"), person("周未来", "010002", birth=birth, 出生日期=None)]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, VillageFactory())

    assert report.created == 1
    assert [(error.row_number, error.name, error.message) for error in report.rejected] == [
        (
            5,
            "周未来",
            f"The birth date {birth.isoformat()} in the ID number is later than today. "
            "Check the ID number against the ID card.",
        )
    ]
    assert not Villager.objects.filter(name="周未来").exists()


@pytest.mark.django_db
def test_future_birth_date_named_in_chinese(tmp_path, world):
    birth = future_birth_date()
    rows = [person("周未来", "090009", birth=birth, 出生日期=None)]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    lines = run_command_zh(path, "--village", "群英村", "--dry-run")

    assert (
        f"第 4 行（周未来）：身份证号码中的出生日期 {birth.isoformat()} 晚于今天，"
        "请对照身份证核对号码。"
    ) in lines


@pytest.mark.django_db
def test_birth_date_today_accepted(tmp_path):
    rows = [person("王今天", birth=timezone.localdate())]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, VillageFactory())

    assert report.rejected == []
    assert report.created == 1


@pytest.mark.django_db
def test_impossible_birth_date_rejected(tmp_path):
    first_17 = "110105" + "19801301" + "001"  # month 13
    rows = [person("张十三", 身份证号码=first_17 + check_character(first_17), 出生日期=None)]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, VillageFactory())

    assert report.created == 0
    assert [error.message for error in report.rejected] == [
        "The ID number holds no valid birth date in characters 7 to 14."
    ]


# Districts the village does not have


def new_district_roster(tmp_path):
    return write_csv(
        tmp_path / "roster.csv",
        [
            f"第九片区,99b010,新人,男,户主,{make_id_number()},13800001111",
            f"第一片区,99b011,周一,男,户主,{make_id_number()},13800001112",
            f"第九片区,99b010,新人妻,女,配偶,{make_id_number(male=False)},13800001113",
        ],
    )


@pytest.mark.django_db
def test_report_lists_new_district_with_its_rows(tmp_path, world):
    report = import_roster_en(new_district_roster(tmp_path), world.village_a, dry_run=True)

    assert list(report.new_districts) == ["第九片区"]
    new_district = report.new_districts["第九片区"]
    assert new_district.rows == [(2, "新人"), (4, "新人妻")]
    assert new_district.row_count == 2


@pytest.mark.django_db
def test_dry_run_warns_of_new_district(tmp_path, world):
    lines = run_command(new_district_roster(tmp_path), "--village", "群英村", "--dry-run")

    assert lines[3] == (
        "Warning: the district 第九片区 does not exist and would be created, named in "
        "row 2 (新人), row 4 (新人妻). If the name is a typo, correct it in the file."
    )
    assert not District.objects.filter(name="第九片区").exists()


@pytest.mark.django_db
def test_dry_run_warns_of_new_district_in_chinese(tmp_path, world):
    lines = run_command_zh(new_district_roster(tmp_path), "--village", "群英村", "--dry-run")

    assert (
        "注意：片区“第九片区”尚不存在，导入时将新建，用到它的是第 2 行（新人）、第 4 行（新人妻）。"
        "如果片区名称写错了，请在文件中改正。"
    ) in lines


@pytest.mark.django_db
def test_import_reports_created_district(tmp_path, world):
    lines = run_command(new_district_roster(tmp_path), "--village", "群英村")

    assert "Created the district 第九片区, named in row 2 (新人), row 4 (新人妻)." in lines
    assert District.objects.filter(village=world.village_a, name="第九片区").exists()


def test_rows_text_counts_rows_not_listed():
    with translation.override("zh-hans"):
        text = rows_text([(7, "李二"), (3, "张一")], 25)

    assert text == "第 3 行（张一）、第 7 行（李二），另有 23 行"


@pytest.mark.django_db
def test_preview_warns_of_new_district_before_confirm(
    client, world, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(world.village_admin)

    response = upload(client, new_district_roster(tmp_path), world.village_a)

    roster_upload = RosterUpload.objects.get()
    assert roster_upload.state == RosterUpload.State.CHECKED
    assert not District.objects.filter(name="第九片区").exists()
    page = client.get(response["Location"]).content.decode()
    warning = page[page.index('id="roster-new-districts"') : page.index('id="roster-counts"')]
    assert "文件中有本村没有的片区，确认导入将新建这些片区。" in warning
    assert "如果是片区名称写错了，请取消，在文件中改正“片区”列后重新上传。" in warning
    assert "<strong>第九片区</strong>：第 2 行（新人）、第 4 行（新人妻）" in warning
    assert page.index('id="roster-new-districts"') < page.index('id="roster-confirm"')

    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"token": str(roster_upload.token)})

    assert District.objects.filter(village=world.village_a, name="第九片区").exists()
    page = client.get(response["Location"]).content.decode()
    assert "本次导入新建了以下片区（原先本村没有）：" in page
    assert "<strong>第九片区</strong>：第 2 行（新人）、第 4 行（新人妻）" in page


@pytest.mark.django_db
def test_preview_without_new_district_has_no_warning(client, world, tmp_path):
    client.force_login(world.village_admin)
    path = write_csv(
        tmp_path / "roster.csv", [f"第一片区,99b011,周一,男,户主,{make_id_number()},13800001112"]
    )

    response = upload(client, path, world.village_a)

    page = client.get(response["Location"]).content.decode()
    assert RosterUpload.objects.get().state == RosterUpload.State.CHECKED
    assert 'id="roster-new-districts"' not in page


# Whole-file messages


@pytest.mark.django_db
def test_missing_columns_listed_in_chinese(tmp_path):
    headings = [h for h in STANDARD_HEADINGS if h not in {"片区", "性别", "与户主关系"}]
    path = write_roster(tmp_path / "roster.xlsx", [person("张一")], headings=headings)

    with translation.override("zh-hans"), pytest.raises(RosterFileError) as raised:
        roster_import(path=path, village=VillageFactory(), actor=None)

    assert str(raised.value) == (
        "第 3 行的列名中缺少以下列：片区、性别、与户主关系。请在列名行中补上这些列。"
    )


@pytest.mark.django_db
def test_svg_upload_names_both_formats(client, world, tmp_path):
    client.force_login(world.village_admin)
    path = tmp_path / "roster.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>')

    response = upload(client, path, world.village_a)

    roster_upload = RosterUpload.objects.get()
    assert roster_upload.state == RosterUpload.State.FAILED
    message = (
        "只能导入 .xlsx 工作簿或 .csv 文件，这个文件两者都不是。请用 Excel 或 WPS 打开花名册，"
        "另存为 .xlsx 或 CSV（逗号分隔）格式，再导入该文件。"
    )
    assert roster_upload.error == message
    assert message in client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_svg_file_named_in_english(tmp_path):
    path = tmp_path / "roster.svg"
    path.write_text("<svg></svg>")

    with pytest.raises(RosterFileError) as raised:
        import_roster_en(path, VillageFactory())

    assert str(raised.value) == (
        "Only .xlsx workbooks and .csv files can be imported, and this file is neither. "
        "Open the roster in Excel or WPS, save it as .xlsx or as CSV (comma separated), "
        "and import that file."
    )
