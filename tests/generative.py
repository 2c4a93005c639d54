"""Generative tests of the promises: bounded in ``make test``, long in ``make soak``.

A generative test (Hypothesis, or a generator of ours) marks itself ``@pytest.mark.generative``,
asks :func:`examples` how many cases to try, and records each case it ran with
:func:`record` (``shape`` names what kind of case it was: a graph's shape, a sequence of
actions). The end of the run prints, per test, how many examples and distinct shapes it tried.

``CHARIOTS_SOAK=1`` (what ``make soak`` sets) switches every generative test to its long count;
``CHARIOTS_SOAK=<n>`` asks for at least ``n`` examples each.
"""
from __future__ import annotations

import os
import threading
from collections import defaultdict
from typing import Dict, Set, Tuple

SOAK_ENV = "CHARIOTS_SOAK"

_lock = threading.Lock()
_counts: Dict[str, int] = defaultdict(int)
_shapes: Dict[str, Set[str]] = defaultdict(set)


def soaking() -> bool:
    """Whether this run is a soak (``make soak``)."""
    return os.environ.get(SOAK_ENV, "").strip() not in ("", "0")


def examples(bounded: int, soak: int) -> int:
    """How many examples a generative test tries: ``bounded`` in ``make test``, ``soak`` (or the
    number ``CHARIOTS_SOAK`` gives, when larger) in ``make soak``."""
    if not soaking():
        return bounded
    value = os.environ.get(SOAK_ENV, "").strip()
    asked = int(value) if value.isdigit() and int(value) > 1 else 0
    return max(soak, asked)


def record(test: str, shape: str) -> None:
    """Counts one example of ``test`` and the shape it had."""
    with _lock:
        _counts[test] += 1
        _shapes[test].add(shape)


def report() -> Dict[str, Tuple[int, int]]:
    """``{test: (examples, distinct shapes)}`` of this run."""
    with _lock:
        return {test: (_counts[test], len(_shapes[test])) for test in sorted(_counts)}
