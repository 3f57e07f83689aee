"""Importing a roster again: updates, moves, move-outs, splits and merges, population types."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from villagers.models import Villager, VillagerMove

from .factories import VillageFactory
from .test_roster_import import STANDARD_HEADINGS, import_roster_en, person, write_roster

pytestmark = pytest.mark.django_db

MOVE_DATE = date(2026, 11, 30)


def household_rows():
    return [
        person("张一", "010001"),
        person("李二", "010001", "配偶", male=False),
        person("张三", "010001", "子", birth=date(2000, 1, 1)),
        person("王五", "020002", 片区="第二片区"),
        person("王六", "020002", "女", male=False, 片区="第二片区"),
    ]


def first_import(tmp_path, village, actor=None):
    rows = household_rows()
    path = write_roster(tmp_path / "roster.xlsx", rows)
    import_roster_en(path, village, actor)
    return rows, path


def reimport(path, rows, village, actor=None, **options):
    write_roster(path, rows)
    return import_roster_en(path, village, actor, effective_date=MOVE_DATE, **options)


def test_split_moves_person_with_date(tmp_path, world):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    son = Villager.objects.get(name="张三")
    rows[2].update({"户号": "010003", "与户主关系": "户主"})

    report = reimport(path, rows, village, world.village_admin)

    assert report.moved == 1
    assert report.unchanged == 4
    outcome = next(row for row in report.rows if row.name == "张三")
    assert outcome.status == "moved"
    assert outcome.detail == "From household 010001 in 第一片区 to household 010003 in 第一片区."
    moved = Villager.objects.get(name="张三")
    assert moved.pk == son.pk
    assert moved.household.number == "010003"
    move = VillagerMove.objects.get(villager=moved)
    assert move.kind == VillagerMove.Kind.HOUSEHOLD
    assert move.moved_on == MOVE_DATE
    assert (move.from_household, move.to_household) == ("010001", "010003")
    assert move.recorded_by == world.village_admin
    assert moved.history.count() == 2
    assert moved.history.first().history_user == world.village_admin
    assert moved.history.last().household_id == son.household_id


def test_merge_keeps_each_history(tmp_path, world):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    before = {name: Villager.objects.get(name=name) for name in ("王五", "王六")}
    rows[3].update({"户号": "010001", "与户主关系": "子", "片区": "第一片区"})
    rows[4].update({"户号": "010001", "与户主关系": "儿媳", "片区": "第一片区"})

    report = reimport(path, rows, village, world.village_admin)

    assert report.moved == 2
    for name, villager in before.items():
        merged = Villager.objects.get(pk=villager.pk)
        assert merged.household.number == "010001"
        assert [record.household_id for record in merged.history.order_by("history_date")] == [
            villager.household_id,
            merged.household_id,
        ], name
        move = VillagerMove.objects.get(villager=merged)
        assert (move.from_district, move.to_district) == ("第二片区", "第一片区")


def test_household_district_change_moves_members(tmp_path):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    for row in rows[3:]:
        row["片区"] = "第三片区"

    report = reimport(path, rows, village)

    assert report.moved == 2
    assert set(VillagerMove.objects.values_list("kind", flat=True)) == {"district"}
    assert set(VillagerMove.objects.values_list("to_district", flat=True)) == {"第三片区"}


def test_missing_person_moved_out_never_deleted(tmp_path, world):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    son = Villager.objects.get(name="张三")
    del rows[2]

    report = reimport(path, rows, village, world.village_admin)

    assert [person.name for person in report.moved_out] == ["张三"]
    son.refresh_from_db()
    assert son.status == Villager.Status.MOVED_OUT
    assert son.moved_out_on == MOVE_DATE
    move = VillagerMove.objects.get(villager=son)
    assert (move.kind, move.from_household, move.to_household) == ("moved_out", "010001", "")
    assert son.history.first().history_user == world.village_admin
    assert Villager.objects.filter(household__village=village).count() == 5


def test_moved_out_twice_recorded_once(tmp_path):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    del rows[2]
    reimport(path, rows, village)

    report = reimport(path, rows, village)

    assert report.moved_out == []
    assert report.unchanged == 4
    assert VillagerMove.objects.count() == 1


def test_person_back_on_roster_returns(tmp_path):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    son_row = rows.pop(2)
    reimport(path, rows, village)
    rows.append(son_row)

    report = reimport(path, rows, village)

    son = Villager.objects.get(name="张三")
    assert son.status == Villager.Status.ACTIVE
    assert son.moved_out_on is None
    assert report.moved == 1
    assert list(son.moves.values_list("kind", flat=True)) == ["moved_out", "returned"]


def test_rejected_row_of_known_person_not_moved_out(tmp_path):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    rows[2]["联系电话"] = "12"
    rows[1]["身份证号码"] = "330109"

    report = reimport(path, rows, village)

    assert len(report.rejected) == 2
    assert report.moved_out == []
    assert not Villager.objects.exclude(status=Villager.Status.ACTIVE).exists()


def test_dry_run_records_no_moves(tmp_path):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    rows[2].update({"户号": "010003", "与户主关系": "户主"})
    del rows[0:2]
    rows.insert(0, person("新户主", "010001"))

    report = reimport(path, rows, village, dry_run=True)

    assert report.moved == 1
    assert [person.name for person in report.moved_out] == ["张一", "李二"]
    assert report.created == 1
    assert VillagerMove.objects.count() == 0
    assert not Villager.objects.exclude(status=Villager.Status.ACTIVE).exists()
    assert Villager.objects.get(name="张三").household.number == "010001"


def test_failure_part_way_writes_nothing(tmp_path, monkeypatch):
    village = VillageFactory()
    rows, path = first_import(tmp_path, village)
    rows[2].update({"户号": "010003", "与户主关系": "户主"})
    del rows[0]
    rows[0]["与户主关系"] = "户主"

    def fail(self, *args):
        raise RuntimeError("disk full")

    monkeypatch.setattr("villagers.roster.applying._Writer.mark_moved_out", fail)
    with pytest.raises(RuntimeError):
        reimport(path, rows, village)

    assert VillagerMove.objects.count() == 0
    assert Villager.objects.get(name="张三").household.number == "010001"
    assert Villager.objects.get(name="李二").relation_to_head == "配偶"


# Population types


def test_population_types_imported_and_told_apart(tmp_path):
    village = VillageFactory()
    rows = [
        person("户一", "010001", 人员类别="户籍"),
        person("新二", "010002", 人员类别="新居民"),
        person("企三", "010003", 人员类别="企业员工"),
    ]
    headings = [*STANDARD_HEADINGS, "人员类别"]
    path = write_roster(tmp_path / "roster.xlsx", rows, headings=headings)

    import_roster_en(path, village)

    types = dict(Villager.objects.values_list("name", "population_type"))
    assert types == {"户一": "registered", "新二": "new_resident", "企三": "employee"}


def test_village_chooses_who_takes_part(tmp_path):
    village = VillageFactory(points_for_employees=False)
    rows = [
        person("户一", "010001", 人员类别="户籍"),
        person("新二", "010002", 人员类别="新居民"),
        person("企三", "010003", 人员类别="企业员工"),
        person("户四", "010004", 人员类别="户籍"),
    ]
    headings = [*STANDARD_HEADINGS, "人员类别"]
    path = write_roster(tmp_path / "roster.xlsx", rows, headings=headings)
    import_roster_en(path, village)
    Villager.objects.filter(name="户四").update(status=Villager.Status.MOVED_OUT)

    taking_part = Villager.objects.filter(household__village=village).taking_part()

    assert sorted(taking_part.values_list("name", flat=True)) == ["户一", "新二"]
    flags = {v.name: v.takes_part_in_points for v in Villager.objects.all()}
    assert flags == {"户一": True, "新二": True, "企三": False, "户四": False}


# The command's row-by-row dry run


def test_command_dry_run_lists_each_row_in_chinese(tmp_path):
    village = VillageFactory(name="试点村")
    rows, path = first_import(tmp_path, village)
    rows[1]["联系电话"] = "13912345678"
    rows[2].update({"户号": "010003", "与户主关系": "户主"})
    rows[3]["性别"] = "女"
    del rows[4]
    write_roster(path, rows)
    output = StringIO()

    with translation.override("zh-hans"):
        call_command("import_roster", str(path), "--village", "试点村", "--dry-run", stdout=output)

    assert output.getvalue().splitlines() == [
        "试运行：没有保存任何数据。",
        "村民新增 0 人，更新 1 人，迁移 1 人，无变化 1 人，迁出 1 人。未导入 1 行。",
        "户新增 1 户，更新 0 户。片区新增 0 个。",
        "第 4 行（张一）：无变化。",
        "第 5 行（李二）：更新：联系电话。",
        "第 6 行（张三）：迁移。从第一片区 010001 户迁到第一片区 010003 户。",
        "第 7 行（王五）：性别填的是女，但身份证号码第 17 位表示男。",
        f"迁出：020002 户的王六（身份证号码 {Villager.objects.get(name='王六').id_number_masked}）不在文件中。",
    ]
    assert VillagerMove.objects.count() == 0
