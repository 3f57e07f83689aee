"""The deadline sweep run by real Celery worker and beat processes on PostgreSQL and Redis.

Each test starts ``celery`` subprocesses against the pytest test database, so the
tests are transactional: the subprocesses see only committed rows. Every xdist
worker uses a Redis database of its own (see ``xdist_redis_url``).
"""

import importlib
import os
import signal
import socket
import subprocess
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import redis
import time_machine
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.apps import apps
from django.db import connection
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from kombu import exceptions as kombu_errors

from nengliangbang.celery import app, ping
from patrols.models import Escalation, Matter
from patrols.services import matter_report
from patrols.tasks import sweep_matter_deadlines

from .celery_helpers import (
    CeleryProcess,
    database_url,
    logs,
    point_app_at,
    wait_until,
    xdist_redis_url,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The killed-worker tests sweep this many overdue matters, enough to keep a sweep
# busy for seconds, and kill the worker once this many are escalated.
SLOW_SWEEP_MATTERS = 1500
KILL_AFTER_ESCALATIONS = 100

# The migration that seeds beat's schedule, imported by name because it starts with a digit.
schedule_migration = importlib.import_module("patrols.migrations.0003_schedule_deadline_sweep")


@pytest.fixture
def redis_db(settings):
    """This xdist worker's Redis database, empty, with the Celery app pointed at it."""
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set; the worker tests need a Redis broker.")
    url = xdist_redis_url(settings.REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ResponseError as error:
        pytest.fail(
            f"Redis refused the database of {url} ({error}); run fewer xdist workers "
            "(TEST_WORKERS) or raise `databases` in the Redis configuration."
        )
    saved_broker, saved_backend = app.conf.broker_url, app.conf.result_backend
    point_app_at(app, broker_url=url, result_backend=url)
    yield SimpleNamespace(url=url, client=client)
    point_app_at(app, broker_url=saved_broker, result_backend=saved_backend)
    client.flushdb()
    client.close()


@pytest.fixture
def start_celery(transactional_db, redis_db, tmp_path):
    """Start ``celery worker`` or ``celery beat`` subprocesses, all stopped at teardown."""
    started: list[CeleryProcess] = []
    base_env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_db.url,
        "PYTHONUNBUFFERED": "1",
    }
    xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")

    def start(kind: str, *, pool: str = "solo", env: dict[str, str] | None = None):
        name = f"{kind}{len(started) + 1}-{xdist_worker}"
        if kind == "worker":
            arguments = [
                *("-A", "nengliangbang", "worker", "-P", pool),
                *("--without-heartbeat", "--without-gossip", "--without-mingle"),
                *("-l", "info", "-n", f"{name}@%h"),
            ]
            if pool == "prefork":
                arguments += ["-c", "1"]
        else:
            arguments = [
                *("-A", "nengliangbang", "beat", "-l", "info"),
                *("-S", "django_celery_beat.schedulers:DatabaseScheduler"),
                *("--pidfile", str(tmp_path / f"{name}.pid")),
                *("-s", str(tmp_path / f"{name}-schedule")),
            ]
        process = CeleryProcess(
            name, arguments, {**base_env, **(env or {})}, tmp_path / f"{name}.log"
        )
        started.append(process.start())
        return process

    yield start

    for process in reversed(started):
        process.stop()
    # Shown by pytest under "Captured stdout teardown" when the test failed.
    print(logs(*started))


def get_result(async_result, *, timeout: float, processes: tuple[CeleryProcess, ...]):
    try:
        return async_result.get(timeout=timeout)
    except CeleryTimeoutError:
        raise AssertionError(
            f"task {async_result.id} gave no result within {timeout} s\n{logs(*processes)}"
        ) from None


def start_worker(start_celery, **options) -> CeleryProcess:
    """Start a worker and wait until it has completed a task."""
    worker = start_celery("worker", **options)
    assert get_result(ping.delay(), timeout=60, processes=(worker,)) == "pong"
    return worker


def escalation_counts(matter_ids) -> list[int]:
    counts = dict(
        Escalation.objects.filter(matter_id__in=matter_ids, level=Escalation.Level.VILLAGE)
        .values_list("matter_id")
        .annotate(Count("id"))
    )
    return [counts.get(matter_id, 0) for matter_id in matter_ids]


def village_escalations() -> int:
    return Escalation.objects.filter(level=Escalation.Level.VILLAGE).count()


def create_overdue_matters(world, count: int) -> list[int]:
    """Insert ``count`` small matters, already reminded, whose deadline passed half an hour ago.

    Their township escalation is due half an hour from now, so a sweep of these
    matters escalates each to the village only.
    """
    now = timezone.now()
    deadline = now - timedelta(minutes=30)
    matters = Matter.objects.bulk_create(
        Matter(
            village=world.village_a,
            district=world.district_a1,
            title=f"路灯损坏 {number}",
            severity=Matter.Severity.SMALL,
            reported_by=world.secretary_a1,
            reported_at=deadline - timedelta(hours=1),
            time_limit=timedelta(hours=1),
            deadline=deadline,
            remind_at=deadline - timedelta(minutes=15),
            reminded_at=deadline - timedelta(minutes=15),
            township_due_at=deadline + timedelta(hours=1),
            assignee=world.secretary_a1,
        )
        for number in range(count)
    )
    return [matter.pk for matter in matters]


def test_worker_escalates_each_matter_once(world, start_celery):
    eight_days_ago = timezone.now() - timedelta(days=8)
    with time_machine.travel(eight_days_ago, tick=False):
        overdue = [
            matter_report(
                actor=world.secretary_a1,
                district=world.district_a1,
                severity=severity,
                title=f"逾期 {severity}",
            ).pk
            for severity in ("small", "medium", "big")
        ]
    not_due = matter_report(
        actor=world.secretary_a1, district=world.district_a1, severity="small", title="未到期"
    ).pk
    worker = start_worker(start_celery)

    first = get_result(sweep_matter_deadlines.delay(), timeout=60, processes=(worker,))
    assert sorted(first) == sorted(overdue), logs(worker)
    assert escalation_counts(overdue) == [1, 1, 1]

    repeats = [
        get_result(sweep_matter_deadlines.delay(), timeout=60, processes=(worker,))
        for _ in range(2)
    ]
    assert repeats == [[], []], logs(worker)
    assert escalation_counts(overdue) == [1, 1, 1]
    assert escalation_counts([not_due]) == [0]
    village_level = Escalation.objects.get(matter_id=overdue[0], level=Escalation.Level.VILLAGE)
    assert village_level.notified == world.village_admin


def test_beat_sends_due_sweep(world, start_celery):
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=False):
        matter = matter_report(
            actor=world.secretary_a1, district=world.district_a1, severity="small", title="逾期"
        )
    # A transactional test empties every table when it ends, so an earlier one may
    # have removed the seeded schedule. The migration's own function seeds it again.
    schedule_migration.create_schedules(apps, None)
    [(schedule_name, task_name, *_interval)] = schedule_migration.SCHEDULES
    periodic = PeriodicTask.objects.get(name=schedule_name)
    assert periodic.task == task_name == "patrols.tasks.sweep_matter_deadlines"
    assert periodic.enabled
    # An interval entry is due once last_run_at plus its interval has passed, so a
    # day ago makes the every-minute sweep due on beat's first tick.
    long_ago = timezone.now() - timedelta(days=1)
    periodic.last_run_at = long_ago
    periodic.save()
    worker = start_worker(start_celery)
    beat = start_celery("beat")

    wait_until(
        lambda: Escalation.objects.filter(matter=matter).exists(),
        timeout=60,
        description="beat's sweep escalates the overdue matter",
        processes=(worker, beat),
    )
    beat.stop()

    assert escalation_counts([matter.pk]) == [1]
    assert "Sending due task" in beat.log_path.read_text(), logs(beat)
    periodic.refresh_from_db()
    assert periodic.total_run_count >= 1, logs(beat)
    assert periodic.last_run_at > long_ago, logs(beat)


def test_killed_worker_sweep_redelivered(world, start_celery, redis_db, settings):
    matter_ids = create_overdue_matters(world, SLOW_SWEEP_MATTERS)
    one_run_takes_all = {"MATTER_SWEEP_BATCH": str(SLOW_SWEEP_MATTERS)}
    worker = start_worker(start_celery, env=one_run_takes_all)

    result = sweep_matter_deadlines.delay()
    wait_until(
        lambda: village_escalations() >= KILL_AFTER_ESCALATIONS,
        timeout=60,
        description=f"the sweep escalates {KILL_AFTER_ESCALATIONS} matters",
        processes=(worker,),
    )
    worker.kill()
    escalated_at_kill = village_escalations()

    assert escalated_at_kill < SLOW_SWEEP_MATTERS, (
        "the sweep finished before the kill; raise SLOW_SWEEP_MATTERS"
    )
    # Acknowledged late: the killed worker's message is still held, unacknowledged.
    unacknowledged = redis_db.client.hkeys("unacked")
    assert len(unacknowledged) == 1
    # Kombu (5.7) puts an unacknowledged message back on its queue once it is older
    # than the visibility timeout (an hour in settings), and checks when a worker
    # starts to poll. Moving the delivery time back past the timeout skips the wait.
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    delivered_long_ago = time.time() - visibility_timeout - 60
    redis_db.client.zadd("unacked_index", dict.fromkeys(unacknowledged, delivered_long_ago))
    restarted = start_celery("worker", env=one_run_takes_all)

    rest = get_result(result, timeout=90, processes=(worker, restarted))

    assert 0 < len(rest) <= SLOW_SWEEP_MATTERS - escalated_at_kill, logs(restarted)
    assert set(rest) <= set(matter_ids)
    assert escalation_counts(matter_ids) == [1] * SLOW_SWEEP_MATTERS
    assert village_escalations() == SLOW_SWEEP_MATTERS
    assert Matter.objects.filter(overdue_at__isnull=True).count() == 0
    assert redis_db.client.hlen("unacked") == 0


def test_lost_pool_process_task_requeued(world, start_celery):
    matter_ids = create_overdue_matters(world, SLOW_SWEEP_MATTERS)
    worker = start_worker(
        start_celery, pool="prefork", env={"MATTER_SWEEP_BATCH": str(SLOW_SWEEP_MATTERS)}
    )
    [pool_process] = worker.child_pids()

    result = sweep_matter_deadlines.delay()
    wait_until(
        lambda: village_escalations() >= KILL_AFTER_ESCALATIONS,
        timeout=60,
        description=f"the sweep escalates {KILL_AFTER_ESCALATIONS} matters",
        processes=(worker,),
    )
    os.kill(pool_process, signal.SIGKILL)
    escalated_at_kill = village_escalations()

    assert escalated_at_kill < SLOW_SWEEP_MATTERS, (
        "the sweep finished before the kill; raise SLOW_SWEEP_MATTERS"
    )
    # The main process rejects the task of its lost pool process (task_reject_on_worker_lost),
    # which puts it back on the queue for the pool process that replaces it.
    rest = get_result(result, timeout=90, processes=(worker,))

    assert worker.is_running()
    assert pool_process not in worker.child_pids()
    assert "Worker exited prematurely: signal 9 (SIGKILL)" in worker.log_path.read_text()
    assert 0 < len(rest) <= SLOW_SWEEP_MATTERS - escalated_at_kill, logs(worker)
    assert set(rest) <= set(matter_ids)
    assert escalation_counts(matter_ids) == [1] * SLOW_SWEEP_MATTERS
    assert village_escalations() == SLOW_SWEEP_MATTERS


def test_health_check_sees_working_worker(world, start_celery, client):
    start_worker(start_celery)
    client.force_login(world.village_admin)

    response = client.get(reverse("health-worker"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_check_reports_missing_worker(world, redis_db, client, monkeypatch):
    monkeypatch.setattr("nengliangbang.health.WORKER_TIMEOUT_SECONDS", 1)
    client.force_login(world.village_admin)

    response = client.get(reverse("health-worker"))

    assert response.status_code == 503
    assert response.json() == {"status": "timeout"}


# --- notifications, catch-up after downtime and a Redis restart ------------------


def test_worker_sends_sms_once(world, start_celery):
    from notifications.models import Notification
    from notifications.services import notification_send
    from notifications.tasks import send_notification_sms

    from .factories import VillagerFactory

    VillagerFactory(household=world.household_a1, user=world.secretary_a1, phone="13912345678")
    worker = start_worker(start_celery)
    notification = notification_send(
        recipient=world.secretary_a1,
        event_key="drill:sms",
        msgid="No meeting of %(village)s was recorded for Tuesday %(date)s.",
        params={"village": "群英村", "date": "2026-03-03"},
    )
    # The on-commit task was queued when the row committed (the test is transactional).
    wait_until(
        lambda: Notification.objects.filter(pk=notification.pk, sms_sent_at__isnull=False).exists(),
        timeout=60,
        description="the worker sends the notification's SMS",
        processes=(worker,),
    )
    again = get_result(
        send_notification_sms.delay(notification.pk), timeout=60, processes=(worker,)
    )

    log = worker.log_path.read_text()
    assert again is False
    assert log.count("sms to 139******78 not sent (logging backend)") == 1, logs(worker)
    assert "13912345678" not in log


def test_beat_down_then_sweep_catches_up(world, start_celery):
    # Reported two days ago while no beat or worker ran: every reminder, village
    # and township time of these small and medium matters has passed.
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        matters = [
            matter_report(
                actor=world.secretary_a1,
                district=world.district_a1,
                severity=severity,
                title=f"停机期间 {severity}",
            )
            for severity in ("small", "small", "medium")
        ]
    schedule_migration.create_schedules(apps, None)
    [(schedule_name, *_rest)] = schedule_migration.SCHEDULES
    periodic = PeriodicTask.objects.get(name=schedule_name)
    periodic.last_run_at = timezone.now() - timedelta(days=2)
    periodic.save()
    worker = start_worker(start_celery)
    beat = start_celery("beat")

    wait_until(
        lambda: Escalation.objects.filter(level=Escalation.Level.TOWNSHIP).count() == 3,
        timeout=90,
        description="the first sweep after the downtime escalates all three matters",
        processes=(worker, beat),
    )
    beat.stop()
    get_result(sweep_matter_deadlines.delay(), timeout=60, processes=(worker,))

    ids = [matter.pk for matter in matters]
    assert escalation_counts(ids) == [1, 1, 1]
    assert Escalation.objects.filter(level=Escalation.Level.TOWNSHIP).count() == 3
    assert Matter.objects.filter(pk__in=ids, reminded_at__isnull=True).count() == 0


class OwnRedis:
    """A redis-server of the test's own, on a free local port, without persistence."""

    def __init__(self, directory):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path, redis_db):
    """Start a private redis-server and point the Celery app at it; the shared one is never touched."""
    server = OwnRedis(tmp_path)
    server.start()
    point_app_at(app, broker_url=server.url, result_backend=server.url)
    yield server
    server.stop()
    point_app_at(app, broker_url=redis_db.url, result_backend=redis_db.url)


def test_worker_resumes_after_redis_restart(world, start_celery, own_redis):
    worker = start_worker(start_celery, env={"REDIS_URL": own_redis.url})

    own_redis.stop()
    # Matters fall due while the broker is down; no sweep can run.
    matter_ids = create_overdue_matters(world, 5)
    time.sleep(2)
    own_redis.start()

    def sweep_answers() -> bool:
        try:
            return (
                get_result(sweep_matter_deadlines.delay(), timeout=5, processes=(worker,))
                is not None
            )
        except (AssertionError, redis.ConnectionError, kombu_errors.OperationalError):
            return False

    wait_until(
        sweep_answers,
        timeout=90,
        description="the worker reconnects to the restarted Redis and runs a sweep",
        processes=(worker,),
        interval=1,
    )

    assert worker.is_running()
    assert "Connection to broker lost" in worker.log_path.read_text(), logs(worker)
    assert escalation_counts(matter_ids) == [1] * 5
    assert get_result(ping.delay(), timeout=30, processes=(worker,)) == "pong"
