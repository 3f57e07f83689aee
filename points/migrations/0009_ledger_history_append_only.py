from django.db import migrations

# The history table of the ledger (django-simple-history) is as much a record
# as the ledger itself: a row changed there would make the audit trail lie.
# Ledger rows never change, so their history only ever gains rows, and the
# same refusal applies, with the same test-flush exception as the ledger
# trigger (see 0007).
CREATE = r"""
CREATE FUNCTION points_ledger_history_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('nengliangbang.test_flush', true) = 'on'
       AND current_database() LIKE 'test\_%' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER points_ledger_history_no_update
    BEFORE UPDATE ON points_historicalledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_history_refuse_change();
CREATE TRIGGER points_ledger_history_no_delete
    BEFORE DELETE ON points_historicalledgerentry
    FOR EACH ROW EXECUTE FUNCTION points_ledger_history_refuse_change();
CREATE TRIGGER points_ledger_history_no_truncate
    BEFORE TRUNCATE ON points_historicalledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION points_ledger_history_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS points_ledger_history_no_truncate ON points_historicalledgerentry;
DROP TRIGGER IF EXISTS points_ledger_history_no_delete ON points_historicalledgerentry;
DROP TRIGGER IF EXISTS points_ledger_history_no_update ON points_historicalledgerentry;
DROP FUNCTION IF EXISTS points_ledger_history_refuse_change();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("points", "0008_schedule_ledger_tasks")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
