from django.db import migrations

# Beat reads its schedule from the database (django-celery-beat), so staff can
# see and change these in the admin; this only creates them.
INTERVALS = [
    ("公示到期入账（每5分钟）", "points.tasks.post_due_claims", 5, "minutes"),
    ("异议超期标记（每小时）", "points.tasks.flag_overdue_objections", 1, "hours"),
]
# (name, task, minute, hour): daily at a fixed local time.
DAILY = [
    ("积分余额对账（每晚）", "points.tasks.reconcile_balances", "30", "2"),
    ("可兑换积分年度清零（每日检查）", "points.tasks.reset_redeemable_points", "10", "0"),
]


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in INTERVALS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})
    for name, task, minute, hour in DAILY:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    names = [name for name, *_ in INTERVALS + DAILY]
    PeriodicTask.objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("points", "0007_ledger_append_only_triggers"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
