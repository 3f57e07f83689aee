"""Real Celery worker and beat processes for the tests, on the test database and Redis."""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from celery import Celery

REPO_ROOT = Path(__file__).resolve().parent.parent
CELERY = REPO_ROOT / ".venv" / "bin" / "celery"
# Databases of a Redis server with the default configuration.
REDIS_DATABASES = 16
# How much of each process's log an assertion message shows.
LOG_TAIL_LINES = 60


def xdist_redis_url(base_url: str, xdist_worker: str | None) -> str:
    """Return ``base_url`` moved to a Redis database of this xdist worker's own.

    gw0 gets the base URL's database number plus one, gw1 plus two, and so on,
    wrapping around after Redis's default 16 databases (0 to 15). A run without
    xdist gets plus one. Parallel test processes therefore never take each
    other's tasks, and none of them uses the base database of the suite, as long
    as there are fewer than 16 of them.
    """
    parts = urlsplit(base_url)
    base_database = int(parts.path.lstrip("/") or 0)
    index = int(xdist_worker.removeprefix("gw")) if xdist_worker else 0
    database = (base_database + 1 + index) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_url(settings_dict: dict) -> str:
    """Build a postgres:// URL for the database that Django's connection uses."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = settings_dict["PASSWORD"]
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = settings_dict["HOST"] or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = settings_dict["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def point_app_at(app: Celery, *, broker_url: str, result_backend: str | None) -> None:
    """Send the app's tasks to ``broker_url`` and read their results from ``result_backend``.

    The app caches its connection pool, producer pool and result backend, so they
    are dropped here (Celery has no public call for that). The pools are left open
    because kombu keeps them in a registry keyed by URL and hands them out again.
    """
    app.conf.broker_url = broker_url
    app.conf.result_backend = result_backend
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    app._backend_cache = None
    vars(app._local).pop("backend", None)


class CeleryProcess:
    """A ``celery`` subprocess in its own session, its output written to a log file."""

    def __init__(self, name: str, arguments: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.arguments = arguments
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "CeleryProcess":
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CELERY), *self.arguments],
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def child_pids(self) -> list[int]:
        """Return the ids of the process's children, such as prefork pool processes."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def kill(self) -> None:
        """Kill the process at once with SIGKILL, as a crash or the OOM killer would."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        """Ask the process to shut down with SIGTERM, and kill its whole session if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def output(self) -> str:
        """Return the tail of the process's log."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(lines[-LOG_TAIL_LINES:])


def logs(*processes: CeleryProcess) -> str:
    """Format the log tails of ``processes`` for an assertion message."""
    return "\n".join(
        f"--- {process.name} (exit code {process.process.poll() if process.process else None}) ---\n"
        f"{process.output()}"
        for process in processes
    )


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    description: str,
    processes: tuple[CeleryProcess, ...] = (),
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until it holds, failing with the processes' logs on timeout or exit."""
    deadline = time.monotonic() + timeout
    while not condition():
        exited = [process for process in processes if not process.is_running()]
        if exited:
            raise AssertionError(
                f"{exited[0].name} exited while waiting until {description}\n{logs(*processes)}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting until {description}\n{logs(*processes)}"
            )
        time.sleep(interval)
