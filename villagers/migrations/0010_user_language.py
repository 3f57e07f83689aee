from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("villagers", "0002_bound_matter_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(
                choices=[("zh-hans", "Simplified Chinese"), ("en", "English")],
                default="zh-hans",
                help_text="Language of the notifications this user receives.",
                max_length=8,
                verbose_name="language",
            ),
        ),
    ]
