"""Idempotent API writes on the demo's embedded SQLite database."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_replay_and_reuse_on_sqlite(tmp_path):
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "nengliangbang.settings",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SECURE_COOKIES": "0",
        "LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    environment.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "sqlite_idempotency_run.py")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    first, replay, reused = [line.split(" ", 2) for line in result.stdout.splitlines()[-3:]]

    assert first[:2] == ["201", "false"]
    assert replay[:2] == ["201", "true"]
    assert json.loads(replay[2]) == json.loads(first[2])
    assert reused[0] == "422"
