"""Roster export: masked by default, full numbers for the village admin with a reason, round trip."""

from io import BytesIO, StringIO

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse

from villagers.models import RosterExport, Villager
from villagers.roster.exporting import roster_export

from .factories import VillageFactory
from .test_roster_import import SAMPLE_ROSTER, import_roster_en, person, write_roster

pytestmark = pytest.mark.django_db


def exported_rows(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(BytesIO(data), read_only=True).active
    return list(sheet.iter_rows(values_only=True))


def imported_village(tmp_path, world):
    rows = [
        person("张一", "010001", 联系电话="13811112222"),
        person("李二", "010001", "配偶", male=False, 联系电话="13933334444"),
    ]
    import_roster_en(write_roster(tmp_path / "in.xlsx", rows), world.village_a)
    return rows


def test_export_masked_by_default(tmp_path, world):
    rows = imported_village(tmp_path, world)
    output = BytesIO()

    count = roster_export(
        village=world.village_a, actor=world.recorder, output=output, unmasked=False
    )

    lines = exported_rows(output.getvalue())
    assert count == 2
    assert lines[2][:8] == (
        "序号",
        "片区",
        "村民小组",
        "户号",
        "姓名",
        "性别",
        "与户主关系",
        "身份证号码",
    )
    id_numbers = {line[7] for line in lines[3:]}
    assert id_numbers == {
        row["身份证号码"][:6] + "********" + row["身份证号码"][-4:] for row in rows
    }
    assert {line[10] for line in lines[3:]} == {"138****2222", "139****4444"}
    # The birth date is what a masked ID number hides, so only its year is exported.
    assert lines[2][8] == "出生日期"
    assert {line[8] for line in lines[3:]} == {1980}
    log = RosterExport.objects.get()
    assert (log.exported_by, log.unmasked, log.reason, log.row_count) == (
        world.recorder,
        False,
        "",
        2,
    )


def test_unmasked_export_needs_permission(tmp_path, world):
    imported_village(tmp_path, world)

    with pytest.raises(PermissionDenied) as raised:
        roster_export(
            village=world.village_a,
            actor=world.secretary_a1,
            output=BytesIO(),
            unmasked=True,
            reason="户籍核对",
        )

    assert str(raised.value) == "只有村书记可以导出完整的身份证号码和电话号码。"
    assert not RosterExport.objects.exists()


def test_unmasked_export_needs_reason(tmp_path, world):
    imported_village(tmp_path, world)

    with pytest.raises(PermissionDenied) as raised:
        roster_export(
            village=world.village_a,
            actor=world.village_admin,
            output=BytesIO(),
            unmasked=True,
            reason=" ",
        )

    assert str(raised.value) == "请填写导出完整身份证号码和电话号码的理由。"


def test_unmasked_export_logged_with_reason(tmp_path, world):
    rows = imported_village(tmp_path, world)
    output = BytesIO()

    roster_export(
        village=world.village_a,
        actor=world.village_admin,
        output=output,
        unmasked=True,
        reason="医保参保核对",
    )

    lines = exported_rows(output.getvalue())
    exported = {line[7] for line in lines[3:] if line[4] in ("张一", "李二")}
    assert exported == {row["身份证号码"] for row in rows}
    log = RosterExport.objects.get()
    assert (log.unmasked, log.reason) == (True, "医保参保核对")


def test_export_import_round_trip_changes_nothing(tmp_path, world):
    village = VillageFactory(name="群英村")
    import_roster_en(SAMPLE_ROSTER, village)
    history_before = Villager.history.count()
    path = tmp_path / "export.xlsx"
    with path.open("wb") as output:
        roster_export(
            village=village, actor=world.village_admin, output=output, unmasked=True, reason="备份"
        )

    report = import_roster_en(path, village)

    assert report.rejected == []
    assert report.unchanged == 2033
    assert (report.created, report.updated, report.moved, len(report.moved_out)) == (0, 0, 0, 0)
    assert Villager.history.count() == history_before


def test_command_exports_masked(tmp_path, world):
    imported_village(tmp_path, world)
    path = tmp_path / "out.xlsx"
    output = StringIO()

    call_command(
        "export_roster", str(path), "--village", "群英村", "--user", "jifenyuan", stdout=output
    )

    assert output.getvalue().strip() == f"已将 2 名村民导出到 {path}。"
    assert "****" in exported_rows(path.read_bytes())[3][7]


def test_command_unmasked_refused_without_permission(tmp_path, world):
    path = tmp_path / "out.xlsx"

    with pytest.raises(CommandError):
        call_command(
            "export_roster",
            str(path),
            "--village",
            "群英村",
            "--user",
            "pianqu1",
            "--unmasked",
            "--reason",
            "核对",
        )

    assert not path.exists()


@pytest.mark.parametrize(
    ("persona", "status"), [("village_admin", 200), ("recorder", 403), ("outsider", 200)]
)
def test_export_page_access(client, world, persona, status):
    client.force_login(getattr(world, persona))

    response = client.get(reverse("admin:villagers_roster_export"))

    assert response.status_code == status


def test_export_page_offers_only_own_village(client, world):
    client.force_login(world.outsider)

    response = client.post(
        reverse("admin:villagers_roster_export"), {"village": world.village_a.pk}
    )

    assert response.status_code == 200
    assert "village" in response.context["form"].errors
    assert not RosterExport.objects.exists()


def test_export_page_downloads_masked_for_secretary(client, world, tmp_path):
    imported_village(tmp_path, world)
    client.force_login(world.village_admin)

    response = client.post(
        reverse("admin:villagers_roster_export"), {"village": world.village_a.pk}
    )

    assert response.status_code == 200
    lines = exported_rows(b"".join(response.streaming_content))
    assert all("****" in line[7] for line in lines[3:])


def test_export_log_read_only(client, world, tmp_path, admin_user):
    imported_village(tmp_path, world)
    roster_export(village=world.village_a, actor=world.recorder, output=BytesIO(), unmasked=False)
    log = RosterExport.objects.get()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:villagers_rosterexport_change", args=[log.pk]), {"reason": "改过"}
    )

    assert response.status_code == 403
    log.refresh_from_db()
    assert log.reason == ""
