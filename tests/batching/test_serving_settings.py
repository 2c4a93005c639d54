"""The gunicorn settings ``chariots pipelines`` chooses: threads enough for batched calls to meet."""
from __future__ import annotations

from chariots._serve import DEFAULT_THREADS, MAX_BATCHING_THREADS, serving_settings
from chariots.pipelines import Batching
from tests.batching.batching_ops import shift_pipeline
from tests.serving.test_service import is_odd


def test_unbatched_pipelines_keep_the_defaults():
    assert serving_settings([is_odd()]) == {"workers": 1, "threads": DEFAULT_THREADS}
    assert serving_settings([]) == {"workers": 1, "threads": DEFAULT_THREADS}


def test_a_batched_pipeline_gets_a_thread_per_row_of_its_largest_batch():
    pipelines = [is_odd(), shift_pipeline("small", Batching(16)), shift_pipeline("large", Batching(48))]
    assert serving_settings(pipelines, workers=3) == {"workers": 3, "threads": 48}


def test_the_threads_stay_within_bounds():
    assert MAX_BATCHING_THREADS == 64
    assert serving_settings([shift_pipeline("huge", Batching(1000))])["threads"] == MAX_BATCHING_THREADS
    assert serving_settings([shift_pipeline("tiny", Batching(2))])["threads"] == DEFAULT_THREADS


def test_given_threads_are_kept():
    assert serving_settings([shift_pipeline("shift")], threads=8)["threads"] == 8
    assert serving_settings([shift_pipeline("shift")], threads=1) == {"workers": 1, "threads": 1}
