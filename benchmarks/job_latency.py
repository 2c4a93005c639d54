"""Job start latency: from queueing a pipeline call to its op starting in a worker, with and without preloading.

The op's module imports scikit-learn, as a user's training ops do. A preloading worker (the
default) imports a job's op modules once, before forking the job's process; without it
(``--no-preload-job-modules``, RQ's plain behaviour) every job's process imports them again.
Needs Redis: ``python benchmarks/job_latency.py [redis://127.0.0.1:6379/13]`` (that database
is flushed). Figures are printed side by side, nothing is asserted.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from redis import Redis

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool, WorkerProcess

N_JOBS = 10
OP_MODULE = textwrap.dedent(
    """
    import time

    import sklearn.ensemble  # what makes a training op's module slow to import
    import sklearn.linear_model

    from chariots.pipelines.ops import BaseOp


    class StartTime(BaseOp):
        def execute(self, value):
            return time.time()
    """
)


def latencies(redis_url: str, client, pipeline, *worker_options: str) -> list[float]:
    command = [sys.executable, "-m", "chariots.workers", "--url", redis_url, "--log-level", "WARNING",
               *worker_options]
    with WorkerProcess(subprocess.Popen(command, start_new_session=True)):
        found = []
        for index in range(N_JOBS + 1):
            queued_at = time.time()
            response = client.call_pipeline(pipeline, 0, use_worker=True)
            while response.job_status not in (JobStatus.done, JobStatus.failed):
                time.sleep(0.01)
                response = client.fetch_job(response.job_id, pipeline)
            if response.job_status is JobStatus.failed:
                raise RuntimeError(f"the benchmark job failed: {response.error}")
            if index:  # the first job also waits for the worker to start
                found.append(response.value - queued_at)
        return found


def main() -> None:
    redis_url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/13"
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "latency_ops.py"), "w") as module:
            module.write(OP_MODULE)
        sys.path.insert(0, folder)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")]))
        from latency_ops import StartTime

        pipeline = Pipeline([Node(StartTime(), input_nodes=["__pipeline_input__"],
                                  output_nodes="__pipeline_output__")], "start_time")
        client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=RQWorkerPool(redis=redis),
                                                     import_name="latency"))
        without = latencies(redis_url, client, pipeline, "--no-preload-job-modules")
        with_preloading = latencies(redis_url, client, pipeline)
    redis.flushdb()
    print(f"job start latency over {N_JOBS} jobs (queued -> op starts), op module importing scikit-learn")
    print(f"{'':24}{'median':>10}{'max':>10}")
    for name, values in (("without preloading", without), ("with preloading", with_preloading)):
        print(f"{name:24}{statistics.median(values) * 1000:>8.0f}ms{max(values) * 1000:>8.0f}ms")
    print(f"ratio (without / with), median: {statistics.median(without) / statistics.median(with_preloading):.1f}x")


if __name__ == "__main__":
    main()
