from django.db import migrations

# The database itself refuses to change or remove ledger rows, so neither a
# bug, a raw SQL statement nor a manual fix can rewrite history unnoticed.
# The model refuses the same on every database; SQLite (the no-server demo)
# relies on that alone.
#
# One exception: the test runner empties every table with TRUNCATE after a
# transactional test. The trigger lets a TRUNCATE through only when the
# session set nengliangbang.test_flush to 'on' AND the database is a test
# database (Django names it "test_<name>"), so a production database never
# honours the setting. tests/conftest.py sets it just before that flush.
CREATE = r"""
CREATE FUNCTION points_ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('nengliangbang.test_flush', true) = 'on'
       AND current_database() LIKE 'test\_%' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'points_ledgerentry is append-only: % refused; post a reversing entry instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER points_ledger_no_update
    BEFORE UPDATE ON points_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_refuse_change();
CREATE TRIGGER points_ledger_no_delete
    BEFORE DELETE ON points_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_refuse_change();
CREATE TRIGGER points_ledger_no_truncate
    BEFORE TRUNCATE ON points_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION points_ledger_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS points_ledger_no_truncate ON points_ledgerentry;
DROP TRIGGER IF EXISTS points_ledger_no_delete ON points_ledgerentry;
DROP TRIGGER IF EXISTS points_ledger_no_update ON points_ledgerentry;
DROP FUNCTION IF EXISTS points_ledger_refuse_change();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("points", "0006_ledger_workflow")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
