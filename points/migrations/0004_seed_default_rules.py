import csv
from datetime import date
from pathlib import Path

from django.db import migrations

RULES_FILE = Path(__file__).resolve().parent.parent / "rules_default.csv"
# The default rules apply from the start of the year the scheme was set up.
VALID_FROM = date(2026, 1, 1)


def seed_rules(apps, schema_editor):
    Category = apps.get_model("points", "Category")
    Rule = apps.get_model("points", "Rule")
    categories = {category.code: category for category in Category.objects.all()}
    with RULES_FILE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Rule.objects.get_or_create(
                category=categories[row["category_code"]],
                title=row["rule"],
                valid_from=VALID_FROM,
                defaults={
                    "points": int(row["points"]),
                    "cap": int(row["cap"]) if row["cap"] else None,
                    "cap_period": row["cap_period"],
                    "photo_required": row["photo_required"] == "yes",
                    "note": row["note"],
                },
            )


class Migration(migrations.Migration):
    dependencies = [("points", "0003_seed_governance_items")]

    operations = [migrations.RunPython(seed_rules, migrations.RunPython.noop)]
