"""Adaptive batching of a served pipeline: the policy a pipeline declares and the input a batched run gets.

A pipeline built with ``Pipeline(nodes, name, batching=Batching(...))`` takes a list of rows as its
input and returns a list with one answer per row. When a server runs it, calls that arrive while
a batch is running wait, and the next batch runs their rows together, once; each caller gets
exactly its rows' answers. The queueing itself lives in the serving layer; this module holds the
plain parts the core may know of.

>>> Batching(max_batch_size=32, max_latency_ms=500)
Batching(max_batch_size=32, max_latency_ms=500)
>>> rows = Batch.of([[1, 2], [3]])
>>> rows, rows.sizes, rows.calls
([1, 2, 3], (2, 1), 2)
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from chariots.errors import PipelineError

__all__ = ["Batching", "Batch", "checked_batching", "DEFAULT_MAX_BATCH_SIZE", "DEFAULT_MAX_LATENCY_MS"]

#: the most rows one batch runs at once, by default
DEFAULT_MAX_BATCH_SIZE = 64
#: how long a call may wait behind a full queue before it is refused, by default (milliseconds)
DEFAULT_MAX_LATENCY_MS = 10_000


class Batching:
    """How concurrent calls of a served pipeline are run together.

    Batching is adaptive: a call that arrives when no batch of its pipeline is running runs at
    once, alone (no waiting when traffic is light); calls that arrive while one runs queue, and
    the next batch takes them in arrival order, up to ``max_batch_size`` rows. A call holding
    more rows than that runs in a batch of its own.

    A call is refused (503, :class:`~chariots.errors.OverloadedError`) only when the process is
    truly overloaded: it has waited ``max_latency_ms`` and the calls queued before it still fill
    the next batch, so it would wait for yet another one. A call that fits in the next batch is
    never refused, however long the batch in progress takes.

    :param max_batch_size: the most rows a batch runs (a positive integer)
    :param max_latency_ms: how long, in milliseconds, a call may wait behind a full queue before
                           it is refused (a positive number; None: never refuse)
    :raises ValueError: (a :class:`~chariots.errors.PipelineError`) naming the parameter that is
                        not valid
    """

    __slots__ = ("_max_batch_size", "_max_latency_ms")

    def __init__(
        self, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE, max_latency_ms: Optional[float] = DEFAULT_MAX_LATENCY_MS
    ):
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise PipelineError(f"Batching(max_batch_size=...) must be a positive integer, got {max_batch_size!r}")
        if max_latency_ms is not None and (
            isinstance(max_latency_ms, bool) or not isinstance(max_latency_ms, numbers.Real)
            or not max_latency_ms > 0 or max_latency_ms == float("inf")
        ):
            raise PipelineError(
                f"Batching(max_latency_ms=...) must be a positive number of milliseconds (None: never refuse a "
                f"call), got {max_latency_ms!r}"
            )
        self._max_batch_size = max_batch_size
        self._max_latency_ms = max_latency_ms

    @property
    def max_batch_size(self) -> int:
        """the most rows one batch runs"""
        return self._max_batch_size

    @property
    def max_latency_ms(self) -> Optional[float]:
        """how long a call may wait behind a full queue before it is refused (None: never)"""
        return self._max_latency_ms

    @property
    def max_latency(self) -> Optional[float]:
        """:attr:`max_latency_ms` in seconds"""
        return None if self._max_latency_ms is None else self._max_latency_ms / 1000.0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Batching):
            return NotImplemented
        return (self._max_batch_size, self._max_latency_ms) == (other._max_batch_size, other._max_latency_ms)

    def __hash__(self) -> int:
        return hash((self._max_batch_size, self._max_latency_ms))

    def __repr__(self) -> str:
        return f"Batching(max_batch_size={self._max_batch_size}, max_latency_ms={self._max_latency_ms})"


class Batch(list):
    """The input of one batched run: the rows of every call it holds, in order, as one list.

    Ops see a plain list of rows. Callbacks can tell a batched run by its input
    (``isinstance(args, Batch)``) and read how many calls and rows it holds.

    :param rows: every row of the run
    :param sizes: how many rows each call holds, in order (they sum to ``len(rows)``)
    """

    __slots__ = ("_sizes",)

    def __init__(self, rows: Iterable[Any] = (), sizes: Optional[Sequence[int]] = None):
        super().__init__(rows)
        self._sizes: Tuple[int, ...] = (len(self),) if sizes is None else tuple(sizes)
        if sum(self._sizes) != len(self):
            raise ValueError(f"call sizes {self._sizes} do not add up to the {len(self)} rows of the batch")

    @classmethod
    def of(cls, calls: Sequence[Sequence[Any]]) -> "Batch":
        """The batch holding each call's rows, one call after the other."""
        rows: List[Any] = []
        for call in calls:
            rows.extend(call)
        return cls(rows, [len(call) for call in calls])

    @property
    def sizes(self) -> Tuple[int, ...]:
        """how many rows each call of the batch holds, in order"""
        return self._sizes

    @property
    def calls(self) -> int:
        """how many calls the batch holds"""
        return len(self._sizes)

    @property
    def rows(self) -> int:
        """how many rows the batch holds"""
        return len(self)

    def __reduce__(self) -> Any:
        # a copy or a pickle of a batch is a plain list of its rows
        return list, (list(self),)


def checked_batching(pipeline_name: str, batching: Any, trains: bool) -> Optional[Batching]:
    """A pipeline's ``batching=``: None or a :class:`Batching`, for a pipeline that does not train.

    :raises PipelineError: naming the pipeline, if it is something else or the pipeline trains
    """
    if batching is not None and not isinstance(batching, Batching):
        raise PipelineError(
            f"the batching of pipeline {pipeline_name!r} must be a Batching(max_batch_size=..., max_latency_ms=...) "
            f"or None, got {type(batching).__name__}"
        )
    if batching is not None and trains:
        raise PipelineError(
            f"pipeline {pipeline_name!r} trains an op, so it cannot be batched: batching serves predictions "
            "(build it without batching=, or put its ops in MLMode.PREDICT)"
        )
    return batching
