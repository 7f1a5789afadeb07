"""审核 of 发文审批 goes to the issuing organ's own 公文管理员 (the ``checkers`` the document
names when it is sent), no longer to every holder of the role in the group."""

from django.db import migrations

from xietong.documents import flows


def forwards(apps, schema_editor):
    from django.utils import timezone

    flows.scope_the_check_step(
        apps.get_model("workflow", "FlowDefinition"), apps.get_model("workflow", "FlowVersion"), now=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [("documents", "0002_outgoing_flows")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
