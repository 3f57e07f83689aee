from django.db import migrations, models

# Beat reads its schedule from the database (django-celery-beat), so staff can
# see and change it in the admin; this only creates it.
SCHEDULE_NAME = "删除未确认的花名册上传文件（每小时）"
TASK = "villagers.tasks.purge_roster_uploads"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=SCHEDULE_NAME, defaults={"task": TASK, "interval": interval}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("villagers", "0020_drop_stored_masked_id_number"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="rosterupload",
            name="state",
            field=models.CharField(
                choices=[
                    ("checking", "Checking"),
                    ("checked", "Checked, waiting for confirmation"),
                    ("queued", "Queued for import"),
                    ("importing", "Importing"),
                    ("done", "Imported"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled, file deleted"),
                ],
                max_length=16,
                verbose_name="state",
            ),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
