from django.db import migrations

# The village's eleven governance items (治理内容). The village may rename,
# reorder or switch them off; codes stay fixed because rules refer to them.
ITEMS = [
    ("courtyard", "美丽庭院·门前三包", "庭院整洁，门前卫生、绿化、秩序三包到位"),
    ("waste", "垃圾分类", "垃圾分类投放与督导"),
    ("customs", "移风易俗", "婚事新办、丧事简办，文明新风"),
    ("filial", "孝老爱亲", "孝敬老人，家庭和睦"),
    ("neighbour", "邻里互助", "邻里互帮互助，调解纠纷"),
    ("safety", "平安守望", "平安巡逻，防火防诈"),
    ("volunteer", "志愿服务", "参加志愿服务和义务劳动"),
    ("law", "学法守法", "学法、守法、用法"),
    ("affairs", "参与村务", "参加村务会议、议事协商和三务公开监督"),
    ("party", "党员先锋", "党员示范带头，联户走访"),
    ("enterprise", "村企共建", "村企合作，共同富裕"),
]


def seed_items(apps, schema_editor):
    Category = apps.get_model("points", "Category")
    for position, (code, name, description) in enumerate(ITEMS, start=1):
        Category.objects.update_or_create(
            code=code, defaults={"name": name, "description": description, "position": position}
        )


def remove_items(apps, schema_editor):
    Category = apps.get_model("points", "Category")
    Category.objects.filter(code__in=[code for code, _, _ in ITEMS], rules__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("points", "0002_initial")]

    operations = [migrations.RunPython(seed_items, remove_items)]
