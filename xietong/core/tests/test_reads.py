"""Reads shared within one page view (``core.reads``)."""

from __future__ import annotations

from collections.abc import Callable

from xietong.core import reads


def counter() -> tuple[list[int], Callable[[], int]]:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


def test_outside_a_shared_block_every_call_computes() -> None:
    calls, compute = counter()
    assert reads.once("k", compute) == 1
    assert reads.once("k", compute) == 2
    assert len(calls) == 2


def test_inside_a_shared_block_a_key_is_computed_once_and_forgotten_after() -> None:
    calls, compute = counter()
    with reads.shared():
        assert reads.once(("a", 1), compute) == 1
        assert reads.once(("a", 1), compute) == 1
        assert reads.once(("a", 2), compute) == 2  # another key
    assert len(calls) == 2
    with reads.shared():
        assert reads.once(("a", 1), compute) == 3  # a new page asks again


def test_a_shared_view_scopes_its_own_calls() -> None:
    _calls, compute = counter()

    @reads.shared_view
    def view() -> tuple[int, int]:
        return reads.once("k", compute), reads.once("k", compute)

    assert view() == (1, 1)
    assert view() == (2, 2)
    assert reads.once("k", compute) == 3
