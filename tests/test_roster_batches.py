"""The roster import's two passes and batches: checks that span rows keep working
when the rows they compare land in different batches."""

import pytest

from villagers.models import Villager, VillagerMove

from .factories import VillageFactory
from .test_roster_import import import_roster_en, person, villagers_of, write_roster
from .test_roster_reimport import MOVE_DATE, household_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def batches_of_one(monkeypatch):
    """Save every row in its own batch and look up every ID number on its own."""
    monkeypatch.setattr("villagers.roster.applying.FLUSH_ROWS", 1)
    monkeypatch.setattr("villagers.roster.applying.LOOKUP_CHUNK", 1)


def test_member_above_head_saved_in_order(tmp_path, batches_of_one):
    village = VillageFactory()
    rows = [
        person("李二", "010002", "配偶", male=False),  # row 4, its head is row 6
        person("张一", "010001"),
        person("李一", "010002"),
        person("张三", "010001", "子"),
    ]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, village)

    assert [(row.row_number, row.name, row.status) for row in report.rows] == [
        (4, "李二", "new"),
        (5, "张一", "new"),
        (6, "李一", "new"),
        (7, "张三", "new"),
    ]
    assert len(report.rows) == 4
    assert report.households_created == 2
    assert dict(villagers_of(village).values_list("name", "household__number")) == {
        "李二": "010002",
        "张一": "010001",
        "李一": "010002",
        "张三": "010001",
    }


def test_district_change_moves_later_members(tmp_path, batches_of_one):
    village = VillageFactory()
    rows = household_rows()
    path = write_roster(tmp_path / "roster.xlsx", rows)
    import_roster_en(path, village)
    for row in rows[3:]:
        row["片区"] = "第三片区"
    # The member 王六 now comes above the head 王五, so it is saved after the head.
    rows[3], rows[4] = rows[4], rows[3]
    write_roster(path, rows)

    report = import_roster_en(path, village, effective_date=MOVE_DATE)

    assert report.moved == 2
    assert report.unchanged == 3
    moves = VillagerMove.objects.values_list(
        "villager__name", "kind", "from_district", "to_district"
    )
    assert sorted(moves) == [
        ("王五", "district", "第二片区", "第三片区"),
        ("王六", "district", "第二片区", "第三片区"),
    ]
    assert [row.row_number for row in report.rows] == [4, 5, 6, 7, 8]


def test_repeated_id_names_first_row(tmp_path, batches_of_one):
    village = VillageFactory()
    first = person("张一", "010001")
    rows = [
        first,
        person("李二", "010001", "配偶", male=False),
        {**person("张二", "010001", "子"), "身份证号码": first["身份证号码"]},
        {**person("张四", "010001", "子"), "身份证号码": first["身份证号码"]},
    ]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, village)

    assert [(error.row_number, error.message) for error in report.rejected] == [
        (6, "The same ID number is already in row 4."),
        (7, "The same ID number is already in row 4."),
    ]
    assert [row.status for row in report.rows] == ["new", "new", "rejected", "rejected"]
    assert sorted(villagers_of(village).values_list("name", flat=True)) == ["张一", "李二"]


def test_head_elsewhere_leaves_no_head(tmp_path, batches_of_one):
    other = VillageFactory()
    head = person("张一", "010001")
    import_roster_en(write_roster(tmp_path / "other.xlsx", [head]), other)
    village = VillageFactory()
    rows = [person("王一", "020001"), head, person("李二", "010001", "配偶", male=False)]
    path = write_roster(tmp_path / "roster.xlsx", rows)

    report = import_roster_en(path, village)

    messages = {error.row_number: error.message for error in report.rejected}
    assert messages[5].startswith("A villager with this ID number is registered in another")
    assert messages[6].startswith("Household 010001 has no valid row whose")
    assert list(villagers_of(village).values_list("name", flat=True)) == ["王一"]
    assert Villager.objects.get(name="张一").household.village == other


def test_report_rows_read_twice(tmp_path):
    village = VillageFactory()
    path = write_roster(tmp_path / "roster.xlsx", household_rows())

    report = import_roster_en(path, village)

    assert list(report.rows) == list(report.rows)
    assert len(list(report.rows)) == len(report.rows) == 5
