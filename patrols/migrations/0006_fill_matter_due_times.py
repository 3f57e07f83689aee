from datetime import timedelta

from django.db import migrations, models

# Matters reported before the reminder and township times existed: their
# limit is what they were given, and the reminder comes 15 minutes (the
# default lead) or half the limit before the deadline, whichever is shorter.
DEFAULT_REMINDER_LEAD = timedelta(minutes=15)

HELP = {
    "time_limit": "The village's limit for this severity when it was reported.",
    "remind_at": "When the assignee is reminded of the deadline.",
    "township_due_at": "The deadline for a big matter; for others, the deadline plus the time limit again.",
}


def fill_matter_due_times(apps, schema_editor):
    for model_name in ("Matter", "HistoricalMatter"):
        fill_model(apps.get_model("patrols", model_name))


def fill_model(model):
    for matter in model.objects.filter(time_limit__isnull=True).iterator():
        limit = matter.deadline - matter.reported_at
        matter.time_limit = limit
        matter.remind_at = matter.deadline - min(DEFAULT_REMINDER_LEAD, limit / 2)
        matter.township_due_at = matter.deadline if matter.severity == "big" else matter.deadline + limit
        matter.save(update_fields=["time_limit", "remind_at", "township_due_at"])


def required_fields():
    return [
        ("time_limit", models.DurationField(help_text=HELP["time_limit"], verbose_name="time limit")),
        ("remind_at", models.DateTimeField(help_text=HELP["remind_at"], verbose_name="reminder due at")),
        (
            "township_due_at",
            models.DateTimeField(
                help_text=HELP["township_due_at"], verbose_name="township escalation due at"
            ),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("patrols", "0005_patrol_scheme"),
    ]

    operations = [
        migrations.RunPython(fill_matter_due_times, migrations.RunPython.noop),
        *[
            migrations.AlterField(model_name=model_name, name=name, field=field)
            for model_name in ("matter", "historicalmatter")
            for name, field in required_fields()
        ],
    ]
