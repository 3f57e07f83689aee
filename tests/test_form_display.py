"""How forms and page heads read: label punctuation in Chinese, the icon on admin pages."""

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese():
    return Client(headers={"accept-language": "zh-hans"})


def test_chinese_labels_end_in_full_width_colon(world, chinese):
    chinese.force_login(world.villager_user)

    page = chinese.get(reverse("claim-self")).text

    assert "发生日期：</label>" in page
    assert "备注：</label>" in page
    assert "发生日期:</label>" not in page


def test_no_colon_after_a_question_mark(world, chinese):
    chinese.force_login(world.villager_user)

    page = chinese.get(reverse("claim-self")).text

    assert "？</label>" in page
    assert "？:" not in page
    assert "？：" not in page


def test_english_labels_keep_the_colon(world):
    english = Client(headers={"accept-language": "en"})
    english.force_login(world.villager_user)

    page = english.get(reverse("claim-self")).text

    assert "Date of the act:</label>" in page
    assert "What did you do?</label>" in page


def test_matters_board_filter_labels(world, chinese):
    chinese.force_login(world.secretary_a1)

    page = chinese.get(reverse("matter-board")).text

    assert "片区：</label>" in page
    assert "片区:</label>" not in page


def test_admin_pages_link_the_site_icon(client):
    page = client.get(reverse("admin:login")).text

    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in page
    assert finders.find("favicon.svg")
