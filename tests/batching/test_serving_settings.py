"""The gunicorn settings ``chariots pipelines`` chooses: threads enough for batched calls to meet, and
connections spread over the processes."""
from __future__ import annotations

from chariots._serve import DEFAULT_THREADS, MAX_BATCHING_THREADS, serving_settings
from chariots.pipelines import Batching
from tests.batching.batching_ops import shift_pipeline
from tests.serving.test_service import is_odd


def test_unbatched_pipelines_keep_the_defaults():
    plain = {"workers": 1, "threads": DEFAULT_THREADS, "worker_class": "gthread", "reuse_port": False}
    assert serving_settings([is_odd()]) == plain
    assert serving_settings([]) == plain
    assert serving_settings([is_odd()], workers=4, port=8000)["reuse_port"] is False


def test_a_batched_pipeline_gets_a_thread_per_row_of_its_largest_batch_and_a_socket_per_process():
    pipelines = [is_odd(), shift_pipeline("small", Batching(16)), shift_pipeline("large", Batching(48))]
    assert serving_settings(pipelines, workers=3, port=8000) == {
        "workers": 3, "threads": 48, "worker_class": "gthread", "reuse_port": True}
    # one process, or a port the kernel picks (each process would get its own): one shared socket
    assert serving_settings(pipelines, workers=1, port=8000)["reuse_port"] is False
    assert serving_settings(pipelines, workers=3, port=0)["reuse_port"] is False


def test_the_threads_stay_within_bounds():
    assert MAX_BATCHING_THREADS == 64
    assert serving_settings([shift_pipeline("huge", Batching(1000))])["threads"] == MAX_BATCHING_THREADS
    assert serving_settings([shift_pipeline("tiny", Batching(2))])["threads"] == DEFAULT_THREADS


def test_given_threads_are_kept_and_one_thread_means_sync_workers():
    assert serving_settings([shift_pipeline("shift")], threads=8)["threads"] == 8
    assert serving_settings([shift_pipeline("shift")], threads=1)["worker_class"] == "sync"
