import uuid

from django.db import migrations, models


def fill_lineage(apps, schema_editor):
    """Give each chain of rule versions its own lineage, copied into their history rows.

    AddField gave every existing row the same default value, so each chain is
    walked from its first version and renumbered here.
    """
    Rule = apps.get_model("points", "Rule")
    HistoricalRule = apps.get_model("points", "HistoricalRule")
    next_of = dict(Rule.objects.filter(previous__isnull=False).values_list("previous_id", "pk"))
    for first_id in Rule.objects.filter(previous__isnull=True).values_list("pk", flat=True):
        lineage = uuid.uuid4()
        version_id = first_id
        while version_id is not None:
            Rule.objects.filter(pk=version_id).update(lineage=lineage)
            HistoricalRule.objects.filter(id=version_id).update(lineage=lineage)
            version_id = next_of.get(version_id)


class Migration(migrations.Migration):
    dependencies = [
        ("points", "0009_ledger_history_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalrule",
            name="lineage",
            field=models.UUIDField(
                db_index=True, default=uuid.uuid4, editable=False, verbose_name="rule lineage"
            ),
        ),
        migrations.AddField(
            model_name="rule",
            name="lineage",
            field=models.UUIDField(
                db_index=True, default=uuid.uuid4, editable=False, verbose_name="rule lineage"
            ),
        ),
        migrations.RunPython(fill_lineage, migrations.RunPython.noop),
    ]
