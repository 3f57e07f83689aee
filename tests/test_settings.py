"""Start-up configuration: embedded defaults, servers from the environment, strict parsing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
    "'broker': s.CELERY_BROKER_URL, 'cache': s.CACHES['default']['BACKEND'], "
    "'language': s.LANGUAGE_CODE, 'time_zone': s.TIME_ZONE}))"
)


def start(**variables):
    """Start Django in a fresh process with only these variables set."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "nengliangbang.settings",
        "DJANGO_SECRET_KEY": "x" * 50,
        **variables,
    }
    env = {name: value for name, value in env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_embedded_defaults_need_no_server():
    result = start()
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout)
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert chosen["broker"] == "filesystem://"
    assert chosen["language"] == "zh-hans"
    assert chosen["time_zone"] == "Asia/Shanghai"


def test_servers_from_environment():
    result = start(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/nengliangbang",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout)
    assert chosen["engine"] == "django.db.backends.postgresql"
    assert chosen["broker"] == "redis://127.0.0.1:6379/0"
    assert chosen["cache"] == "django_redis.cache.RedisCache"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql//nowhere"),
        ("DATABASE_URL", "postgres://127.0.0.1:5432/"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("REDIS_URL", "redis://127.0.0.1:notaport/0"),
        ("LOG_LEVEL", "loud"),
        ("DJANGO_DEBUG", "maybe"),
        ("CELERY_TASK_TIME_LIMIT", "ten"),
        ("MATTER_SWEEP_BATCH", "0"),
    ],
)
def test_malformed_value_names_variable(variable, value):
    result = start(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_production_needs_secret_key():
    result = start(DJANGO_SECRET_KEY=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is missing" in result.stderr
