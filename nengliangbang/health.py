"""Health checks: the web process, the database and a Celery worker that completes a task."""

from celery.exceptions import TimeoutError as CeleryTimeout
from django.db import connection
from django.http import JsonResponse
from django.urls import path

from .celery import ping

WORKER_TIMEOUT_SECONDS = 10


def live(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def worker(request):
    """Send a ping task and wait for its result: a stalled worker fails this check.

    Staff only, because each call puts a task on the queue.
    """
    if not request.user.is_staff:
        return JsonResponse({"status": "forbidden"}, status=403)
    try:
        result = ping.apply_async().get(timeout=WORKER_TIMEOUT_SECONDS)
    except CeleryTimeout:
        return JsonResponse({"status": "timeout"}, status=503)
    except NotImplementedError:
        # The filesystem broker of local use keeps no results.
        return JsonResponse({"status": "unknown", "reason": "no result backend"}, status=503)
    return JsonResponse({"status": "ok" if result == "pong" else "error"})


urlpatterns = [
    path("", live, name="health"),
    path("worker/", worker, name="health-worker"),
]
