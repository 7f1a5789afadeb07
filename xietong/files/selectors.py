"""Reads of stored files. The owning module decides who may read a file; these only find it."""

from __future__ import annotations

import uuid

from django.utils.translation import gettext as _

from xietong.core.errors import NotFoundError
from xietong.files.models import StoredFile


def get_by_key(key: uuid.UUID | str) -> StoredFile:
    """The file with the public ``key``; a malformed or unknown key raises ``NotFoundError``."""
    try:
        key = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
        return StoredFile.objects.get(key=key)
    except (ValueError, StoredFile.DoesNotExist):
        raise NotFoundError(_("文件不存在或已被删除。")) from None
