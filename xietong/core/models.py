"""Abstract building blocks shared by every app's models."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from xietong.core import clock


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True
