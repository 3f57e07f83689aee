from points.models import Category, Rule


def test_seeded_items_and_rules(db):
    assert Category.objects.count() == 11
    assert Rule.objects.count() == 34


def test_world_builds(world):
    assert world.villager.household.village == world.village_a
