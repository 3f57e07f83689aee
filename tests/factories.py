"""Factories for the test suite; each builds valid rows with made-up people."""

import itertools
from datetime import date

import factory
from django.utils import timezone

from points.models import Category, Claim, Rule
from villagers.identity import check_character, encrypt_id_number, id_number_digest
from villagers.models import District, Household, Township, User, Village, Villager

_sequence = itertools.count(1)


def make_id_number(birth: date = date(1980, 5, 17), male: bool = True) -> str:
    """Return a fresh ID number with a valid check digit for this birth date and sex."""
    serial = next(_sequence)
    area = 330100 + serial // 500 % 100
    parity_digits = "13579" if male else "02468"
    sequence = f"{serial % 100:02d}{parity_digits[serial // 100 % 5]}"
    first_17 = f"{area}{birth:%Y%m%d}{sequence}"
    return first_17 + check_character(first_17)


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"测试镇{n}")


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    township = factory.SubFactory(TownshipFactory)
    name = factory.Sequence(lambda n: f"测试村{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")
    is_staff = False

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            from django.contrib.auth.models import Group

            self.groups.set(Group.objects.filter(name__in=extracted))
        if create:
            self.save()


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    village = factory.SubFactory(VillageFactory)
    name = factory.Sequence(lambda n: f"第{n}片区")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    district = factory.SubFactory(DistrictFactory)
    village = factory.SelfAttribute("district.village")
    number = factory.Sequence(lambda n: f"{n:06d}")
    village_group = "1组"
    address = factory.LazyAttribute(lambda o: f"测试村1组{o.number}号")


class VillagerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Villager
        exclude = ("id_number",)

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"村民{n}")
    relation_to_head = "户主"
    sex = Villager.Sex.MALE
    birth_date = date(1980, 5, 17)
    id_number = factory.LazyAttribute(
        lambda o: make_id_number(o.birth_date, o.sex == Villager.Sex.MALE)
    )
    id_number_digest = factory.LazyAttribute(lambda o: id_number_digest(o.id_number))
    id_number_encrypted = factory.LazyAttribute(
        lambda o: encrypt_id_number(o.id_number, digest=o.id_number_digest)
    )
    phone = "13800000000"


def rule(code: str = "volunteer", points: int | None = None) -> Rule:
    """Return the first seeded rule of a category, or a new rule with these points."""
    category = Category.objects.get(code=code)
    if points is None:
        return (
            category.rules.filter(points__gt=0, cap__isnull=True).first() or category.rules.first()
        )
    return Rule.objects.create(
        category=category, title=f"测试规则{points:+d}", points=points, valid_from=date(2020, 1, 1)
    )


def now():
    return timezone.now()


def approve_and_post(*, actor: User, claim_id: int):
    """Approve a claim in a village without public notice, so it posts at once.

    Returns the ledger entry. Tests of the notice itself set the notice days
    and call the services one by one instead.
    """
    from points.models import PointsPolicy
    from points.services import claim_approve

    village_id = Claim.objects.values_list("villager__household__village_id", flat=True).get(
        pk=claim_id
    )
    PointsPolicy.objects.update_or_create(village_id=village_id, defaults={"notice_days": 0})
    return claim_approve(actor=actor, claim_id=claim_id).entry
