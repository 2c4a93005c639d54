"""Building the configuration in Python, overriding file sections, and what each get_* returns."""
from pathlib import Path

import pytest

from chariots.config import ChariotsConfig, OpStoreConfig, PipelinesConfig, WorkersConfig
from chariots.errors import ChariotsError, ConfigError
from chariots.op_store.savers import FileSaver, GoogleStorageSaver
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.runners import SequentialRunner
from chariots.testing import TestPipelinesClient
from tests.config.conftest import DOCS_YAML
from tests.config.pipelines_module import add_one_pipeline


def test_the_docs_python_construction():
    config = ChariotsConfig(
        pipelines_config=PipelinesConfig(runner="sequential-runner", server_port=8000),
        pipelines_worker_config=WorkersConfig(use_for_all=False),
        op_store_config=OpStoreConfig(server_host="127.0.0.1", server_port="8001"),
    )
    assert config.get_pipelines_client().backend_url == "http://127.0.0.1:8000"
    assert config.op_store_config.server_port == 8001  # a port given as a string becomes an int
    assert config.op_store_config.url == "http://127.0.0.1:8001"


def test_a_section_given_as_an_object_replaces_the_files_section(write_config):
    path = write_config(DOCS_YAML)
    config = ChariotsConfig(path, pipelines_config=PipelinesConfig(server_port=1234))
    assert config.pipelines_config.server_port == 1234
    assert config.pipelines_config.runner is None  # nothing of the file's pipelines section is kept
    assert config.pipelines_config.import_name is None
    assert config.op_store_config.server_port == 5000  # the other sections still come from the file

    workers = WorkersConfig()
    op_store = OpStoreConfig(server_port=4321)
    config = ChariotsConfig(str(path), pipelines_worker_config=workers, op_store_config=op_store)
    assert config.pipelines_worker_config is workers and config.op_store_config is op_store


def test_an_overridden_section_of_the_file_is_not_used(write_config):
    path = write_config("op_store:\n  saver_type: no-such-saver\n")
    config = ChariotsConfig(path, op_store_config=OpStoreConfig(server_port=1))
    assert config.op_store_config.server_port == 1


def test_defaults_without_a_file():
    config = ChariotsConfig()
    assert config.config_file is None
    assert config.get_pipelines_client().backend_url == "http://127.0.0.1:5000"
    assert config.op_store_config.url == "http://127.0.0.1:5001"
    assert not config.op_store_config.is_configured
    assert not config.pipelines_worker_config.is_configured
    assert isinstance(config.pipelines_config.get_runner(), SequentialRunner)


def test_config_file_may_be_a_path_object(write_config):
    path = write_config(DOCS_YAML)
    assert ChariotsConfig(Path(path)).config_file == str(path)


def test_empty_file_and_empty_sections_are_defaults(write_config):
    assert ChariotsConfig(write_config("")).pipelines_config.server_port is None
    config = ChariotsConfig(write_config("op_store:\npipelines:\npipelines_workers:\n", "sections.yaml"))
    assert not config.op_store_config.is_configured


def test_pipelines_can_be_appended_after_loading_as_the_docs_show(write_config):
    config = ChariotsConfig(write_config(DOCS_YAML))
    pipeline = add_one_pipeline()
    config.pipelines_config.pipelines.append(pipeline)
    assert config.pipelines_config.pipelines == [pipeline]


def test_runner_instance_is_used_as_is():
    runner = SequentialRunner()
    assert PipelinesConfig(runner=runner).get_runner() is runner
    assert isinstance(PipelinesConfig(runner="sequential-runner").get_runner(), SequentialRunner)


def test_savers_are_built_from_their_type_and_kwargs(tmp_path):
    saver = OpStoreConfig(saver_type="file-saver", saver_kwargs={"root_path": str(tmp_path)}).get_saver()
    assert isinstance(saver, FileSaver)
    # without saver_type, saver_kwargs describe a file saver
    assert isinstance(OpStoreConfig(saver_kwargs={"root_path": str(tmp_path)}).get_saver(), FileSaver)
    google = OpStoreConfig(
        saver_type="google-storage-saver",
        saver_kwargs={"root_path": "ops", "bucket_name": "my-bucket", "client_kwargs": {"project": "p"}},
    ).get_saver()
    assert isinstance(google, GoogleStorageSaver)
    assert google.bucket_name == "my-bucket" and google.client_kwargs == {"project": "p"}


def test_a_saver_needs_its_settings():
    with pytest.raises(ConfigError, match=r"op_store\.saver_type and op_store\.saver_kwargs are needed .*"
                                          r"'file-saver', 'google-storage-saver'"):
        OpStoreConfig(server_port=5001).get_server()


def test_pipelines_server_is_wired_to_runner_callbacks_and_no_store_when_none_is_configured():
    class Recorder(PipelineCallback):
        def __init__(self):
            self.calls = []

        def before_execution(self, pipeline, args):
            self.calls.append(pipeline.name)

    recorder = Recorder()
    runner = SequentialRunner()
    config = ChariotsConfig(pipelines_config=PipelinesConfig(
        runner=runner, pipelines=[add_one_pipeline()], pipeline_callbacks=[recorder], import_name="wired",
    ))
    server = config.get_pipelines_server(max_content_length=1000)
    assert server.runner is runner
    assert server.op_store_client is None and server.worker_pool is None and server.use_workers is None
    assert server.name == "wired"
    assert server.config["MAX_CONTENT_LENGTH"] == 1000
    assert TestPipelinesClient(server).call_pipeline("add_one", 1).value == 2
    assert recorder.calls == ["add_one"]


def test_use_for_all_false_leaves_the_choice_to_pipelines_and_requests():
    config = ChariotsConfig(pipelines_worker_config=WorkersConfig(use_for_all=False, worker_type="rq"))
    server = config.get_pipelines_server()
    assert server.use_workers is None  # not False: a pipeline or a request may still ask for a worker
    assert server.worker_pool is not None


def test_changes_after_loading_are_checked_before_building(write_config):
    config = ChariotsConfig(write_config(DOCS_YAML))
    config.op_store_config.saver_type = "azure-saver"
    with pytest.raises(ConfigError, match=r"op_store\.saver_type must be one of 'file-saver', "
                                          r"'google-storage-saver', 's3-saver', "
         "'fsspec-saver', got 'azure-saver'"):
        config.get_op_store_server()
    config.pipelines_config.pipelines.append("not a pipeline")
    with pytest.raises(ConfigError, match=r"pipelines\.pipelines\[0\] must be a chariots Pipeline, "
                                          r"got 'not a pipeline' \(str\)"):
        config.get_pipelines_server()


def test_config_error_is_a_chariots_error_and_a_value_error():
    with pytest.raises(ConfigError) as info:
        WorkersConfig(worker_type="celery")
    assert isinstance(info.value, ChariotsError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ChariotsConfig(pipelines_config={"server_port": 1}),
         r"pipelines_config must be a PipelinesConfig, got \{'server_port': 1\} \(dict\)"),
        (lambda: ChariotsConfig(op_store_config=WorkersConfig()),
         r"op_store_config must be an OpStoreConfig, got WorkersConfig"),
        (lambda: PipelinesConfig(pipelines=[add_one_pipeline(), add_one_pipeline()]),
         r"pipelines\.pipelines has several pipelines named 'add_one'"),
        (lambda: PipelinesConfig(pipeline_callbacks=[print]),
         r"pipelines\.pipeline_callbacks\[0\] must be a PipelineCallback, got <built-in function print>"),
        (lambda: PipelinesConfig(runner=SequentialRunner),
         r"pipelines\.runner must be a runner name \('sequential-runner', 'thread-runner', 'dask-runner'\) "
         r"or a BaseRunner instance"),
        (lambda: OpStoreConfig(server_port=0),
         r"op_store\.server_port must be a port number between 1 and 65535"),
        (lambda: WorkersConfig(worker_pool_kwargs={"redis_kwargs": {}}),
         r"pipelines_workers\.worker_type is required when pipelines_workers\.worker_pool_kwargs is set "
         r"\(allowed: 'rq'\)"),
    ],
)
def test_objects_are_checked_when_created(build, message):
    with pytest.raises(ConfigError, match=message):
        build()
