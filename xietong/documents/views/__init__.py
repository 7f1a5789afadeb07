"""Pages of the 公文 module, one module per area."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _


def crumbs(*trail: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    """The breadcrumbs of a 公文 page: 公文 › … (the last entry has no link)."""
    return [(_("公文"), reverse("documents:home")), *trail]
