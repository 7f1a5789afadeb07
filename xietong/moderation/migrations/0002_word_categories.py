"""The word categories of the rule books (R-27, R-29, R-33). No words: each installation
maintains its own lexicon (``xietong moderation_import``)."""

from django.db import migrations

CATEGORIES = [
    ("政治敏感", "危害国家安全、损害国家荣誉和利益等内容", "block"),
    ("违法违规", "违反法律法规和公司规章制度的内容", "block"),
    ("涉密词汇", "国家秘密、商业秘密标识和保密项目代号等，命中后送保密审核", "hold"),
    ("低俗辱骂", "低俗、不健康、侮辱诽谤他人的用语", "hold"),
    ("广告", "与工作无关的广告、推销和引流信息", "hold"),
]


def create_categories(apps, schema_editor):
    WordCategory = apps.get_model("moderation", "WordCategory")
    for name, description, action in CATEGORIES:
        WordCategory.objects.get_or_create(name=name, defaults={"description": description, "default_action": action})


def remove_categories(apps, schema_editor):
    WordCategory = apps.get_model("moderation", "WordCategory")
    WordCategory.objects.filter(name__in=[name for name, _, _ in CATEGORIES], words__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]

    operations = [migrations.RunPython(create_categories, remove_categories)]
