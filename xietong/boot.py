"""Start-up guard: configuration errors end the process with one clear line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


def configure_or_exit(load: Callable[[], T]) -> T:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xietong.settings")
    try:
        return load()
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"xietong: 配置错误 / configuration error: {exc}\n")
        raise SystemExit(2) from None
