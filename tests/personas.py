"""The personas and villages shared by the suite: one user per role of village A, plus outsiders."""

from types import SimpleNamespace

from villagers import roles

from .factories import (
    DistrictFactory,
    HouseholdFactory,
    TownshipFactory,
    UserFactory,
    VillageFactory,
    VillagerFactory,
)


def build_world() -> SimpleNamespace:
    """Village A (districts A1 and A2) in township T, and village B in township U."""
    township = TownshipFactory(name="益农镇")
    other_township = TownshipFactory(name="党湾镇")
    village_a = VillageFactory(township=township, name="群英村")
    village_b = VillageFactory(township=other_township, name="新围村")
    district_a1 = DistrictFactory(village=village_a, name="第一片区")
    district_a2 = DistrictFactory(village=village_a, name="第二片区")
    district_b1 = DistrictFactory(village=village_b, name="第一片区")

    def staff(username, village, role_names, **extra):
        return UserFactory(
            username=username, village=village, is_staff=True, roles=role_names, **extra
        )

    village_admin = staff("cunshuji", village_a, [roles.VILLAGE_ADMIN])
    village_a.secretary = village_admin
    village_a.save()
    secretary_a1 = staff("pianqu1", village_a, [roles.DISTRICT_SECRETARY])
    secretary_a2 = staff("pianqu2", village_a, [roles.DISTRICT_SECRETARY])
    district_a1.secretary = secretary_a1
    district_a1.save()
    district_a2.secretary = secretary_a2
    district_a2.save()
    recorder = staff("jifenyuan", village_a, [roles.RECORDER])
    approver = staff("shenheyuan", village_a, [roles.APPROVER])
    second_approver = staff("shenheyuan2", village_a, [roles.APPROVER])
    outsider = staff("waicun", village_b, [roles.VILLAGE_ADMIN, roles.RECORDER])
    township_viewer = UserFactory(
        username="zhenjie", township=township, is_staff=True, roles=[roles.TOWNSHIP_VIEWER]
    )
    other_township_viewer = UserFactory(
        username="zhenjie2", township=other_township, is_staff=True, roles=[roles.TOWNSHIP_VIEWER]
    )

    household_a1 = HouseholdFactory(district=district_a1, number="010001")
    household_a2 = HouseholdFactory(district=district_a2, number="020001")
    household_b1 = HouseholdFactory(district=district_b1, number="010001")
    villager_user = UserFactory(username="cunmin", village=village_a, roles=[roles.VILLAGER])
    villager = VillagerFactory(household=household_a1, name="张小明", user=villager_user)
    spouse = VillagerFactory(
        household=household_a1, name="李小红", relation_to_head="配偶", sex="female"
    )
    neighbour = VillagerFactory(household=household_a2, name="王大力")
    villager_b = VillagerFactory(household=household_b1, name="赵外村")

    return SimpleNamespace(**locals())
