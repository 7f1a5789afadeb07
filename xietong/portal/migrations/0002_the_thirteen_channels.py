"""The thirteen channels a group portal ships with (R-90). Their owner departments and
publishers are set by the portal administrator (the demo sets them for the demo group)."""

from typing import Any

from django.db import migrations

# (code, name, kind, icon, on the workbench, description) — a frozen copy: migrations import no app code.
CHANNELS = (
    ("tzgg", "通知公告", "notices", "megaphone", False, "公司及各部门发布的通知、公告"),
    ("xwdt", "新闻动态", "articles", "newspaper", True, "集团及各单位的工作动态"),
    ("qywh", "企业文化", "articles", "stars", False, "企业精神、先进典型与文化活动"),
    ("cyl", "创一流", "articles", "trophy", False, "创建世界一流企业的举措与成果"),
    ("djgz", "党建工作", "articles", "flag", True, "党建动态、主题教育与组织生活"),
    ("gzzd", "规章制度", "regulations", "journal-bookmark", False, "现行有效的公司规章制度"),
    ("xxyd", "学习园地", "articles", "book", False, "业务知识、政策解读与学习资料"),
    ("zcfg", "政策法规", "articles", "bank", False, "国家及行业政策法规"),
    ("jjjc", "纪检监察", "articles", "shield-check", False, "廉洁从业教育与纪检监察工作"),
    ("gsyb", "公司月报", "articles", "calendar3", False, "公司每月生产经营情况"),
    ("tpxw", "图片新闻", "gallery", "images", False, "图说集团"),
    ("aqjc", "安全监察", "articles", "cone-striped", True, "安全生产监督检查与警示教育"),
    ("cyxz", "常用下载", "downloads", "download", False, "常用表格、模板与软件"),
)


def create_channels(apps: Any, schema_editor: Any) -> None:
    Channel = apps.get_model("portal", "Channel")
    for order, (code, name, kind, icon, on_workbench, description) in enumerate(CHANNELS, start=1):
        Channel.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "icon": icon,
                "on_workbench": on_workbench,
                "description": description,
                "order": order * 10,
            },
        )


def remove_channels(apps: Any, schema_editor: Any) -> None:
    Channel = apps.get_model("portal", "Channel")
    Channel.objects.filter(code__in=[row[0] for row in CHANNELS], articles__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_channels_articles")]

    operations = [migrations.RunPython(create_channels, remove_channels)]
