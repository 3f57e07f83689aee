"""Personal data at rest and on screen: encrypted ID numbers, masked phones by role."""

from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from django.db import connection
from django.urls import reverse

from villagers.identity import decrypt_id_number, encrypt_id_number, id_number_digest
from villagers.models import Villager

from .factories import VillageFactory, make_id_number
from .test_roster_import import SAMPLE_ROSTER, import_roster_en, person, write_roster

pytestmark = pytest.mark.django_db


def test_id_number_decrypts_with_its_digest():
    id_number = make_id_number()
    digest = id_number_digest(id_number)

    token = encrypt_id_number(id_number, digest=digest)

    assert decrypt_id_number(token, digest=digest) == id_number
    assert id_number not in token
    assert encrypt_id_number(id_number, digest=digest) != token  # a fresh nonce each time


def test_id_number_fails_on_other_row():
    id_number = make_id_number()
    token = encrypt_id_number(id_number, digest=id_number_digest(id_number))

    with pytest.raises(InvalidTag):
        decrypt_id_number(token, digest=id_number_digest(make_id_number()))


def test_id_number_fails_with_other_key(settings):
    id_number = make_id_number()
    digest = id_number_digest(id_number)
    token = encrypt_id_number(id_number, digest=digest)
    settings.PERSONAL_DATA_KEY = "another-deployment-key"

    with pytest.raises(InvalidTag):
        decrypt_id_number(token, digest=digest)


def test_database_dump_has_no_full_id_number(tmp_path):
    rows = [person("张一", "010001"), person("李二", "010001", "配偶", male=False)]
    path = write_roster(tmp_path / "roster.xlsx", rows)
    import_roster_en(path, VillageFactory())
    rows[1]["联系电话"] = "13912345678"
    write_roster(path, rows)
    import_roster_en(path, Villager.objects.first().household.village)

    dump = []
    with connection.cursor() as cursor:
        for table in (
            "villagers_villager",
            "villagers_historicalvillager",
            "villagers_rosterupload",
        ):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dump.extend(str(value) for row in cursor.fetchall() for value in row)

    for row in rows:
        full = row["身份证号码"]
        assert not [value for value in dump if full in value], full
        # The masked number hides only the birth date, which the dump holds.
        assert not [value for value in dump if full[:6] + "********" + full[-4:] in value]


def test_sample_roster_numbers_recoverable():
    village = VillageFactory(name="群英村")
    import_roster_en(SAMPLE_ROSTER, village)

    villager = Villager.objects.order_by("pk").first()
    full = decrypt_id_number(villager.id_number_encrypted, digest=villager.id_number_digest)

    assert id_number_digest(full) == villager.id_number_digest
    assert full[:6] + "********" + full[-4:] == villager.id_number_masked


# Phones on the villager list


@pytest.fixture
def phones(world):
    Villager.objects.filter(pk=world.villager.pk).update(phone="13811112222")
    Villager.objects.filter(pk=world.neighbour.pk).update(phone="13933334444")
    return world


@pytest.mark.parametrize(
    ("persona", "seen", "hidden"),
    [
        ("village_admin", ["13811112222", "13933334444"], []),
        # A district secretary lists only their district's villagers, in full.
        ("secretary_a1", ["13811112222"], ["13933334444", "139****4444"]),
        ("secretary_a2", ["13933334444"], ["13811112222", "138****2222"]),
        ("recorder", ["138****2222", "139****4444"], ["13811112222", "13933334444"]),
    ],
)
def test_villager_list_phone_by_role(client, phones, persona, seen, hidden):
    client.force_login(getattr(phones, persona))

    response = client.get(reverse("admin:villagers_villager_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    for phone in seen:
        assert phone in page, phone
    for phone in hidden:
        assert phone not in page, phone


def test_villager_list_query_count(client, phones, django_assert_max_num_queries):
    client.force_login(phones.secretary_a1)

    # The district of each row comes with the list query, not one query per row.
    with django_assert_max_num_queries(12):
        client.get(reverse("admin:villagers_villager_changelist"))


# Birth dates beside masked ID numbers


@pytest.mark.parametrize("persona", ["village_admin", "secretary_a1", "recorder"])
def test_villager_list_shows_birth_year(client, world, persona):
    client.force_login(getattr(world, persona))

    page = client.get(reverse("admin:villagers_villager_changelist")).content.decode()

    # The masked number hides only the birth date, so the list shows its year.
    assert world.villager.id_number_masked in page
    assert world.villager.birth_date == date(1980, 5, 17)
    assert "1980年5月17日" not in page
    assert "1980/05/17" not in page
    assert '<td class="field-birth_year">1980</td>' in page


@pytest.mark.parametrize(("persona", "shows_date"), [("village_admin", True), ("recorder", False)])
def test_villager_form_birth_date_needs_permission(client, world, persona, shows_date):
    client.force_login(getattr(world, persona))
    url = reverse("admin:villagers_villager_change", args=[world.villager.pk])

    page = client.get(url).content.decode()

    assert ('id="id_birth_date"' in page) is shows_date
    assert ("1980/05/17" in page or "1980年5月17日" in page) is shows_date
    assert world.villager.id_number_masked in page


def test_masked_id_number_read_from_ciphertext(world):
    villager = Villager.objects.get(pk=world.villager.pk)
    full = decrypt_id_number(villager.id_number_encrypted, digest=villager.id_number_digest)

    assert villager.id_number_masked == full[:6] + "********" + full[-4:]
    assert not [field for field in Villager._meta.get_fields() if field.name == "id_number_masked"]
