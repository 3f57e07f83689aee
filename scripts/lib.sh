# Shared steps of scripts/demo and scripts/test. Source it; do not run it.

# Create .venv and install the project's pinned dependencies, again whenever
# pyproject.toml changes. $1 names the extras to add, such as "test".
ensure_venv() {
    local extras="${1:-}"
    local python="${PYTHON:-python3}"
    local stamp=".venv/.installed-${extras:-base}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "error: Python 3.11 or newer is needed; $python is $("$python" --version 2>&1)." >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "Creating the virtual environment in .venv ..."
        "$python" -m venv .venv
    fi
    local wanted
    wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "Installing dependencies into .venv ..."
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
        echo "$wanted" >"$stamp"
    fi
}

# Wait up to 30 seconds for PostgreSQL at the server of the URL in $1.
wait_for_postgres() {
    .venv/bin/python - "$1" <<'PY'
import sys, time
from urllib.parse import urlsplit

import psycopg2
from psycopg2 import sql

url = urlsplit(sys.argv[1])
database = url.path.lstrip("/")
options = dict(host=url.hostname or "127.0.0.1", port=url.port or 5432,
               user=url.username or "postgres", password=url.password or None,
               dbname="postgres", connect_timeout=3)
deadline = time.monotonic() + 30
while True:
    try:
        connection = psycopg2.connect(**options)
        break
    except psycopg2.OperationalError as error:
        if time.monotonic() > deadline:
            sys.exit(f"error: PostgreSQL is not answering at {options['host']}:{options['port']} "
                     f"({str(error).strip()}). Start it, for example with: "
                     "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
        time.sleep(1)
# Create the database named in the URL if it is missing. The test runner makes
# its own test_ copies, but management commands connect to this one.
connection.autocommit = True
with connection.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
    if database and cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
connection.close()
PY
}

# Wait up to 30 seconds for Redis at the URL in $1.
wait_for_redis() {
    .venv/bin/python - "$1" <<'PY'
import sys, time

import redis

deadline = time.monotonic() + 30
while True:
    try:
        redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
        break
    except redis.RedisError as error:
        if time.monotonic() > deadline:
            sys.exit(f"error: Redis is not answering at {sys.argv[1]} ({error}). Start it, for "
                     "example with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 "
                     "--save '' --appendonly no")
        time.sleep(1)
PY
}

# Install Debian's Chromium and CJK fonts for the browser tests when missing.
# The tests never download a browser of their own.
ensure_chromium() {
    # grep reads all of fc-list's output (no -q), so fc-list never dies of
    # SIGPIPE, which pipefail would report as a failure.
    if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -i "noto sans cjk" >/dev/null; then
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "error: the browser tests need Debian's chromium and fonts-noto-cjk; install them with:" >&2
        echo "  sudo apt-get install -y chromium fonts-noto-cjk" >&2
        exit 1
    fi
    echo "Installing Chromium and CJK fonts with apt-get ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
}
