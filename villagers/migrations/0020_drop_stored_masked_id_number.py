"""Stop storing masked ID numbers, which a dump could join with the birth date.

The masked number hides exactly characters 7 to 14, the birth date, so a
stored masked number next to a stored birth date is the full number. The
column is blanked before it is dropped, in the villager table and its
history, and masked numbers are removed from the stored upload reports.
"""

from django.db import migrations


def clear_masked_numbers(apps, schema_editor):
    apps.get_model("villagers", "Villager").objects.update(id_number_masked="")
    apps.get_model("villagers", "HistoricalVillager").objects.update(id_number_masked="")
    RosterUpload = apps.get_model("villagers", "RosterUpload")
    for upload in RosterUpload.objects.exclude(preview=None, result=None).iterator():
        upload.preview = _without_masked_numbers(upload.preview)
        upload.result = _without_masked_numbers(upload.result)
        upload.save(update_fields=["preview", "result"])


def _without_masked_numbers(report):
    if not report:
        return report
    for person in report.get("moved_out", []):
        person.pop("id_number_masked", None)
    return report


class Migration(migrations.Migration):
    dependencies = [
        ("villagers", "0011_merge_roster_and_language"),
    ]

    operations = [
        migrations.RunPython(clear_masked_numbers, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="historicalvillager",
            name="id_number_masked",
        ),
        migrations.RemoveField(
            model_name="villager",
            name="id_number_masked",
        ),
    ]
