"""The Celery application shared by the worker, beat and the web process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nengliangbang.settings")

app = Celery("nengliangbang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="nengliangbang.ping")
def ping() -> str:
    """Return "pong": the health check proves a worker completes a task with it."""
    return "pong"
