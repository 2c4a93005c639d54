"""The batching policy, a batched pipeline's construction, and how a batch is put together and split."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chariots import MLMode, Pipeline
from chariots.errors import PipelineError
from chariots.nodes import Node
from chariots.pipelines import Batch, Batching
from chariots.serving._batcher import split_answers
from tests.batching.batching_ops import ShiftModel, SlowShift


def test_the_defaults():
    policy = Batching()
    assert (policy.max_batch_size, policy.max_latency_ms, policy.max_latency) == (64, 10_000, 10.0)
    assert repr(policy) == "Batching(max_batch_size=64, max_latency_ms=10000)"
    assert Batching(8, None).max_latency is None
    assert Batching(8, 2.5) == Batching(max_batch_size=8, max_latency_ms=2.5) != Batching(8, 3)


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "64", None])
def test_max_batch_size_must_be_a_positive_integer(size):
    with pytest.raises(PipelineError) as error:
        Batching(max_batch_size=size)
    assert str(error.value) == f"Batching(max_batch_size=...) must be a positive integer, got {size!r}"


@pytest.mark.parametrize("latency", [0, -5, "10", float("inf"), float("nan"), False])
def test_max_latency_ms_must_be_a_positive_number_or_none(latency):
    with pytest.raises(PipelineError) as error:
        Batching(max_latency_ms=latency)
    assert str(error.value) == (
        "Batching(max_latency_ms=...) must be a positive number of milliseconds (None: never refuse a call), "
        f"got {latency!r}"
    )


def test_a_pipeline_keeps_its_batching_and_the_unbatched_default_is_none():
    policy = Batching(16)
    node = Node(SlowShift(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")
    assert Pipeline([node], "batched", batching=policy).batching is policy
    other = Node(SlowShift(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")
    assert Pipeline([other], "plain").batching is None


def test_batching_must_be_a_batching():
    node = Node(SlowShift(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")
    with pytest.raises(PipelineError) as error:
        Pipeline([node], "p", batching={"max_batch_size": 8})
    assert str(error.value) == (
        "the batching of pipeline 'p' must be a Batching(max_batch_size=..., max_latency_ms=...) or None, got dict"
    )


def test_a_pipeline_that_trains_cannot_be_batched():
    with pytest.raises(PipelineError) as error:
        Pipeline([Node(ShiftModel(MLMode.FIT), input_nodes=["__pipeline_input__"])], "train", batching=Batching())
    assert str(error.value) == (
        "pipeline 'train' trains an op, so it cannot be batched: batching serves predictions (build it without "
        "batching=, or put its ops in MLMode.PREDICT)"
    )


def test_a_batch_is_the_list_of_its_calls_rows():
    batch = Batch.of([[1, 2], [], [3]])
    assert batch == [1, 2, 3] and isinstance(batch, list)
    assert (batch.sizes, batch.calls, batch.rows) == ((2, 0, 1), 3, 3)
    assert Batch([4, 5]).sizes == (2,)
    with pytest.raises(ValueError) as error:
        Batch([1, 2], [1])
    assert str(error.value) == "call sizes (1,) do not add up to the 2 rows of the batch"


@pytest.mark.parametrize("output", [
    list(range(6)),
    tuple(range(6)),
    np.arange(6),
    np.arange(12).reshape(6, 2),
    pd.Series(range(6)),
    pd.DataFrame({"a": range(6), "b": range(6, 12)}),
])
def test_an_output_is_split_into_each_calls_answers_of_its_type(output):
    answers = split_answers("p", output, [1, 3, 0, 2])
    assert [len(answer) for answer in answers] == [1, 3, 0, 2]
    assert all(type(answer) is type(output) for answer in answers)
    rejoined = [row for answer in answers for row in (answer.values.tolist() if hasattr(answer, "values")
                                                      else np.asarray(answer).tolist())]
    expected = output.values.tolist() if hasattr(output, "values") else np.asarray(output).tolist()
    assert rejoined == expected


def test_one_call_gets_the_output_itself():
    output = [1, 2]
    assert split_answers("p", output, [2])[0] is output


@pytest.mark.parametrize("output, got", [
    ([1, 2], "2 answers"), (7, "an object of type int"), (None, "an object of type NoneType"),
    ("abc", "an object of type str"), ({"a": 1, "b": 2, "c": 3}, "an object of type dict"),
])
def test_an_output_of_another_length_than_the_rows_is_an_error(output, got):
    with pytest.raises(PipelineError) as error:
        split_answers("p", output, [1, 2])
    assert str(error.value) == (
        f"batched pipeline 'p' returned {got} for a batch of 3 rows: a batched pipeline returns one answer per row "
        "of its input (a list, an array or a pandas object as long as the input)"
    )
