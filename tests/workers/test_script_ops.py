"""Ops defined in a script (``__main__``) travel to workers, and a ``Chariots`` app uses them."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    from redis import Redis
    from chariots import Chariots, Pipeline
    from chariots.nodes import Node
    from chariots.pipelines.ops import BaseOp
    from chariots.testing import TestPipelinesClient
    from chariots.workers import RQWorkerPool

    class Double(BaseOp):
        def execute(self, value):
            return 2 * value

    pipeline = Pipeline([Node(Double(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                        "double")
    pool = RQWorkerPool(redis=Redis.from_url(sys.argv[1]))
    app = Chariots([pipeline], sys.argv[2], import_name="script_app", worker_pool=pool)
    client = TestPipelinesClient(app)
    response = client.call_pipeline(pipeline, 21, use_worker=True)
    pool.spawn_worker(burst=True).wait(60)
    response = client.fetch_job(response.job_id, pipeline)
    print(response.job_status.value, response.value)
    """
)


def test_an_op_defined_in_a_script_runs_in_a_worker_of_a_chariots_app(redis_connection, redis_url, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, str(script), redis_url, str(tmp_path / "app")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "done 42"
