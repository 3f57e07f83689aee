from django.db import migrations

# Each check runs every morning in the project's time zone. Each one checks the
# days before it, so a morning that beat missed is caught up the next day.
SCHEDULES = [
    ("每日巡查检查（每天 06:30）", "patrols.tasks.check_daily_patrols", "30", "6"),
    ("周二例会检查（每天 07:00）", "patrols.tasks.check_tuesday_meetings", "0", "7"),
]
TIME_ZONE = "Asia/Shanghai"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=TIME_ZONE,
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("patrols", "0006_fill_matter_due_times"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
