"""随手拍: villagers report problems with a photo, which become matters of their district."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from notifications.models import Notification
from patrols import services
from patrols.models import Matter, MatterPhoto
from points.models import Category
from tests.factories import UserFactory, VillagerFactory
from villagers import roles
from villagers.models import Villager


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def jpeg(name="rubbish.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), "green").save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def report(world, actor=None, form_key=None, photo=None, description="路边垃圾堆了三天"):
    return services.matter_report_by_villager(
        actor=actor or world.villager_user,
        category=Category.objects.filter(is_active=True).first(),
        description=description,
        place="村口桥边",
        photo=photo or jpeg(),
        form_key=form_key or uuid.uuid4(),
    )


def test_report_opens_matter_in_household_district(world):
    matter = report(world)

    assert matter.district == world.district_a1
    assert matter.village == world.district_a1.village
    assert matter.assignee == world.secretary_a1
    assert matter.severity == Matter.Severity.SMALL
    assert matter.status == Matter.Status.REPORTED
    assert matter.place == "村口桥边"
    assert matter.title == "路边垃圾堆了三天"
    assert matter.photos.count() == 1


def test_report_notifies_district_secretary(world):
    matter = report(world)

    [notification] = Notification.objects.filter(recipient=world.secretary_a1)
    assert notification.event_key == f"matter:{matter.pk}:reported"
    assert "路边垃圾堆了三天" in notification.render("en")


def test_report_without_district_secretary_notifies_village(world):
    world.district_a1.secretary = None
    world.district_a1.save()

    matter = report(world)

    assert matter.assignee is None
    assert Notification.objects.filter(recipient=world.village_admin).count() == 1


def test_report_double_post_reports_once(world):
    key = uuid.uuid4()

    first = report(world, form_key=key)
    second = report(world, form_key=key)

    assert first.pk == second.pk
    assert Matter.objects.count() == 1
    assert MatterPhoto.objects.count() == 1


def test_report_moved_out_villager_rejected(world):
    Villager.objects.filter(pk=world.villager.pk).update(status=Villager.Status.MOVED_OUT)

    with pytest.raises(PermissionDenied):
        report(world)
    assert Matter.objects.count() == 0


def test_report_wrong_village_rejected(world):
    world.villager_user.village = world.village_b
    world.villager_user.save()

    with pytest.raises(PermissionDenied):
        report(world)
    assert Matter.objects.count() == 0


def test_report_unlinked_user_rejected(world):
    user = UserFactory(username="nolink", roles=[roles.VILLAGER])

    with pytest.raises(PermissionDenied):
        report(world, actor=user)


def test_report_staff_without_role_rejected(world):
    VillagerFactory(household=world.household_a2, name="书记本人", user=world.secretary_a2)

    with pytest.raises(PermissionDenied):
        report(world, actor=world.secretary_a2)


def test_report_bad_photo_saves_nothing(world):
    text = SimpleUploadedFile("note.jpg", b"not an image", content_type="image/jpeg")

    with pytest.raises(ValidationError):
        report(world, photo=text)
    assert Matter.objects.count() == 0
    assert MatterPhoto.objects.count() == 0


def test_report_empty_description_rejected(world):
    with pytest.raises(ValidationError):
        report(world, description="   ")


def test_report_daily_limit(world):
    for _ in range(services.VILLAGER_REPORTS_PER_DAY):
        report(world)

    with pytest.raises(ValidationError) as raised:
        report(world)
    assert "24" in str(raised.value)
    assert Matter.objects.count() == services.VILLAGER_REPORTS_PER_DAY


def test_report_limit_frees_after_a_day(world):
    for _ in range(services.VILLAGER_REPORTS_PER_DAY):
        report(world)
    Matter.objects.update(reported_at=Matter.objects.first().reported_at - timedelta(days=1))

    report(world)

    assert Matter.objects.count() == services.VILLAGER_REPORTS_PER_DAY + 1


def test_me_page_links_to_report(world, client):
    client.force_login(world.villager_user)

    page = client.get(reverse("my-entries")).content.decode()

    assert reverse("problem-report") in page
    assert reverse("problem-list") in page


def test_report_page_submits_once(world, client):
    client.force_login(world.villager_user)
    form = client.get(reverse("problem-report")).context["form"]
    key = form["form_key"].value()
    data = {"description": "路灯不亮", "place": "", "category": "", "form_key": key}

    first = client.post(reverse("problem-report"), {**data, "photo": jpeg()})
    second = client.post(reverse("problem-report"), {**data, "photo": jpeg()})

    assert first.status_code == 302
    assert first["Location"] == reverse("problem-list")
    assert second.status_code == 302
    assert Matter.objects.filter(reported_by=world.villager_user).count() == 1


def test_report_page_requires_photo(world, client):
    client.force_login(world.villager_user)

    response = client.post(
        reverse("problem-report"), {"description": "路灯不亮", "form_key": uuid.uuid4()}
    )

    assert response.status_code == 400
    assert "photo" in response.context["form"].errors
    assert Matter.objects.count() == 0


def test_report_page_shows_limit_in_chinese(world, client):
    for _ in range(services.VILLAGER_REPORTS_PER_DAY):
        report(world)
    client.force_login(world.villager_user)

    response = client.post(
        reverse("problem-report"),
        {"description": "又一件", "form_key": uuid.uuid4(), "photo": jpeg()},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 400
    assert "24 小时" in response.content.decode()


def test_list_shows_own_reports_and_status(world, client):
    matter = report(world)
    client.force_login(world.villager_user)

    response = client.get(reverse("problem-list"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert list(response.context["matters"]) == [matter]
    page = response.content.decode()
    assert "已上报" in page or matter.get_status_display() in page
    assert reverse("matter-photo", args=[matter.photos.get().pk]) in page


def test_photo_served_to_reporter_and_staff_only(world, client):
    photo = report(world).photos.get()
    url = reverse("matter-photo", args=[photo.pk])

    for user, expected in [
        (world.villager_user, 200),
        (world.secretary_a1, 200),
        (world.village_admin, 200),
        (world.outsider, 404),
    ]:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == expected, user.username
        if expected == 200:
            assert response["Content-Type"] == "image/jpeg"


def test_photo_hidden_from_other_villager(world, client):
    photo = report(world).photos.get()
    other = UserFactory(username="linju", village=world.village_a, roles=[roles.VILLAGER])
    world.neighbour.user = other
    world.neighbour.save()
    client.force_login(other)

    assert client.get(reverse("matter-photo", args=[photo.pk])).status_code == 404


def test_secretary_sees_report_on_board(world, client):
    matter = report(world)
    client.force_login(world.secretary_a1)

    response = client.get(reverse("matter-board"))

    assert matter in [row.matter for row in response.context["rows"]]
    photo_url = reverse("matter-photo", args=[matter.photos.get().pk])
    assert photo_url in response.content.decode()


def test_admin_change_form_shows_photo(world, client):
    matter = report(world)
    client.force_login(world.secretary_a1)

    response = client.get(reverse("admin:patrols_matter_change", args=[matter.pk]))

    assert response.status_code == 200
    assert reverse("matter-photo", args=[matter.photos.get().pk]) in response.content.decode()


def test_report_double_submit_thanks_once(world, client):
    client.force_login(world.villager_user)
    data = {"description": "路灯不亮", "form_key": uuid.uuid4()}
    client.post(reverse("problem-report"), {**data, "photo": jpeg()}, HTTP_ACCEPT_LANGUAGE="en")

    page = client.post(
        reverse("problem-report"),
        {**data, "photo": jpeg()},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )

    assert page.content.decode().count("Your report was sent to the district secretary") == 1
