"""The 公文 module's permissions."""

from django.utils.translation import gettext_lazy as _

from xietong.core.access import register_permission

# Everyone drafts outgoing documents and handles what is sent to them (the default role).
USE = register_permission("documents.use", _("使用公文")).codename
# 公文管理员 (文秘): 复核, 登记 and numbering, 用印, 分发; 收文 签收, 登记 and 拟办; the registers.
CLERK = register_permission("documents.clerk", _("办理公文（文秘）")).codename
# 档案管理员: archives finished documents, verifies the archive, sets 全宗号 and 保管期限.
ARCHIVE = register_permission("documents.archive", _("管理文书档案")).codename
