"""Demo content of the business modules, loaded after the demo organisation.

``org`` creates the demo group and its people (``xietong demo``); a business module that has
something to show on day one (portal articles, notices …) registers a loader in its
``AppConfig.ready``. Loaders run in ``order``, inside the transaction of the demo, and find the
people by their demo user names (``zhangwei`` …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoLoader:
    key: str
    load: Callable[[], None]
    order: int = 100


_loaders: dict[str, DemoLoader] = {}


def register(key: str, load: Callable[[], None], *, order: int = 100) -> None:
    _loaders[key] = DemoLoader(key, load, order)


def loaders() -> list[DemoLoader]:
    return sorted(_loaders.values(), key=lambda loader: (loader.order, loader.key))
