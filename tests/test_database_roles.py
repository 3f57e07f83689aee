"""The application's database role, from deploy/postgres/app_role.sql, on the test database."""

import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "postgres" / "app_role.sql"


def psql(*arguments: str) -> None:
    settings = connection.settings_dict
    command = [
        "psql",
        "--no-psqlrc",
        "--quiet",
        "--host",
        settings["HOST"] or "127.0.0.1",
        "--port",
        str(settings["PORT"] or 5432),
        "--username",
        settings["USER"],
        "--dbname",
        settings["NAME"],
        *arguments,
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)


@pytest.fixture
def app_role(world):
    """Create a role with the script, as a new deployment would, and drop it afterwards.

    Roles belong to the whole PostgreSQL cluster, so each test run names its own.
    """
    name = f"nlb_app_{uuid.uuid4().hex[:12]}"
    owner = connection.settings_dict["USER"]
    arguments = ["-v", f"app_role={name}", "-v", "app_password=x", "-v", f"owner={owner}"]
    psql(*arguments, "-f", str(SCRIPT))
    # A second run, as on a database set up before, must succeed and change nothing.
    psql(*arguments, "-f", str(SCRIPT))
    yield name
    psql("-c", f'DROP OWNED BY "{name}"', "-c", f'DROP ROLE "{name}"')


@pytest.fixture
def app_cursor(app_role):
    settings = connection.settings_dict
    app_connection = psycopg2.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=app_role,
        password="x",
    )
    app_connection.autocommit = True
    with app_connection.cursor() as cursor:
        yield cursor
    app_connection.close()


def error_message(cursor, sql: str) -> str:
    """Run ``sql`` and return PostgreSQL's error message, failing if it ran."""
    with pytest.raises(psycopg2.Error) as error:
        cursor.execute(sql)
    return str(error.value)


# The test's own rows are in an open transaction that the role's connection
# cannot see, so these tests touch only what migrations committed. The
# triggers themselves are tested in test_ledger_database.


def test_role_reads_and_writes_rows(app_cursor):
    app_cursor.execute("SELECT count(*) FROM points_category")
    assert app_cursor.fetchone()[0] == 11
    app_cursor.execute("UPDATE points_category SET position = position WHERE false")
    app_cursor.execute("SELECT nextval('points_ledgerentry_id_seq')")


def test_role_cannot_disable_ledger_triggers(app_cursor):
    message = error_message(app_cursor, "ALTER TABLE points_ledgerentry DISABLE TRIGGER ALL")
    assert "must be owner" in message


def test_role_cannot_truncate_ledger(app_cursor):
    message = error_message(app_cursor, "TRUNCATE points_ledgerentry")
    assert "permission denied" in message


def test_role_cannot_replicate_around_triggers(app_cursor):
    message = error_message(app_cursor, "SET session_replication_role = replica")
    assert "permission denied" in message


def test_role_cannot_drop_tables(app_cursor):
    message = error_message(app_cursor, "DROP TABLE points_ledgerentry")
    assert "must be owner" in message


def test_role_gets_rights_on_new_tables(app_role, app_cursor):
    """Tables a later migration creates, as the owner, are open to the role too."""
    table = f"nlb_later_{uuid.uuid4().hex[:8]}"
    psql("-c", f"CREATE TABLE {table} (id serial PRIMARY KEY)")
    try:
        app_cursor.execute(f"INSERT INTO {table} DEFAULT VALUES")  # noqa: S608
        app_cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        assert app_cursor.fetchone()[0] == 1
    finally:
        psql("-c", f"DROP TABLE {table}")
