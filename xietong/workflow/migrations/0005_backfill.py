"""补录 (R-81): the instance flag and the two actions of the administrators' pages (改派, 补录)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0003_builtin_flows"),
    ]

    operations = [
        migrations.AddField(
            model_name="instance",
            name="backfilled",
            field=models.BooleanField(default=False, verbose_name="补录"),
        ),
        migrations.AlterField(
            model_name="action",
            name="kind",
            field=models.CharField(
                choices=[
                    ("start", "提交"),
                    ("approve", "同意"),
                    ("reject", "拒绝"),
                    ("return", "退回"),
                    ("resubmit", "重新提交"),
                    ("withdraw", "撤回"),
                    ("revoke", "撤销"),
                    ("terminate", "终止"),
                    ("transfer", "转交"),
                    ("add_sign_before", "前加签"),
                    ("add_sign_after", "后加签"),
                    ("add_sign_parallel", "并加签"),
                    ("urge", "催办"),
                    ("comment", "评论"),
                    ("cc", "抄送"),
                    ("read", "已阅"),
                    ("circulate", "传阅"),
                    ("auto_approve", "自动通过"),
                    ("skip", "自动跳过"),
                    ("delegate", "委托"),
                    ("timeout_remind", "超时提醒"),
                    ("escalate", "超时上报"),
                    ("finish", "流程结束"),
                    ("reassign", "改派"),
                    ("backfill", "补录"),
                ],
                max_length=24,
                verbose_name="操作",
            ),
        ),
    ]
