"""Saver, runner and worker types are found whatever the case, separator or class-name spelling."""
import pytest

from chariots.config import ChariotsConfig, OpStoreConfig, PipelinesConfig, WorkersConfig
from chariots.errors import ConfigError
from chariots.op_store.savers import FileSaver, GoogleStorageSaver
from chariots.pipelines.runners import SequentialRunner
from chariots.workers import RQWorkerPool

GCS_KWARGS = {"root_path": "ops", "bucket_name": "my-bucket"}


@pytest.mark.parametrize("name", ["file-saver", "file_saver", "FileSaver", "file-Saver", "FILE_SAVER", "filesaver"])
def test_file_saver_spellings(name, tmp_path):
    config = OpStoreConfig(saver_type=name, saver_kwargs={"root_path": str(tmp_path)})
    assert config.saver_type == "file-saver"  # stored under its canonical name
    assert isinstance(config.get_saver(), FileSaver)


@pytest.mark.parametrize("name", ["google-storage-saver", "google_storage_saver", "GoogleStorageSaver",
                                  "Google-Storage-Saver"])
def test_google_storage_saver_spellings(name):
    config = OpStoreConfig(saver_type=name, saver_kwargs=GCS_KWARGS)
    assert config.saver_type == "google-storage-saver"
    saver = config.get_saver()
    assert isinstance(saver, GoogleStorageSaver) and saver.bucket_name == "my-bucket"


@pytest.mark.parametrize("name", ["sequential-runner", "sequential_runner", "SequentialRunner", "Sequential-Runner"])
def test_sequential_runner_spellings(name):
    config = PipelinesConfig(runner=name)
    assert config.runner == "sequential-runner"
    assert isinstance(config.get_runner(), SequentialRunner)


@pytest.mark.parametrize("name", ["rq", "RQ", "Rq", "RQWorkerPool", "rqworkerpool"])
def test_rq_spellings(name):
    config = WorkersConfig(worker_type=name, worker_pool_kwargs={"redis_kwargs": {"host": "localhost", "port": 8080}})
    assert config.worker_type == "rq"
    pool = config.get_worker_pool()  # builds the client, contacts nothing
    assert isinstance(pool, RQWorkerPool)
    assert pool.redis.connection_pool.connection_kwargs["port"] == 8080


def test_a_file_may_use_class_names(write_config, tmp_path):
    config = ChariotsConfig(write_config(
        f"op_store:\n  saver_type: FileSaver\n  saver_kwargs: {{root_path: {tmp_path}}}\n"
        "pipelines:\n  runner: SequentialRunner\n"
        "pipelines_workers:\n  worker_type: RQ\n"
    ))
    assert config.op_store_config.saver_type == "file-saver"
    assert config.pipelines_config.runner == "sequential-runner"
    assert config.pipelines_worker_config.worker_type == "rq"


def test_a_name_set_after_creation_is_found_without_being_rewritten(tmp_path):
    config = OpStoreConfig(saver_kwargs={"root_path": str(tmp_path)})
    config.saver_type = "File_Saver"
    config.check()
    assert isinstance(config.get_saver(), FileSaver)
    assert config.saver_type == "File_Saver"  # check() and get_saver() only read


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: OpStoreConfig(saver_type="File_Savr", saver_kwargs={"root_path": "/x"}),
         "op_store.saver_type must be one of 'file-saver', 'google-storage-saver', 's3-saver', "
         "'fsspec-saver', got 'File_Savr'; "
         "did you mean 'file-saver'?"),
        (lambda: PipelinesConfig(runner="Sequential_Runer"),
         "pipelines.runner must be one of 'sequential-runner', 'thread-runner', 'dask-runner', got 'Sequential_Runer'; "
         "did you mean 'sequential-runner'?"),
        (lambda: WorkersConfig(worker_type="RQ-Pool"),
         "pipelines_workers.worker_type must be one of 'rq', got 'RQ-Pool'"),
        (lambda: OpStoreConfig(saver_type="GoogleStorage", saver_kwargs=GCS_KWARGS),
         "op_store.saver_type must be one of 'file-saver', 'google-storage-saver', 's3-saver', "
         "'fsspec-saver', got 'GoogleStorage'"),
    ],
)
def test_unknown_names_list_the_canonical_names(build, message):
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value).startswith(message)


def test_required_arguments_are_named_after_the_canonical_name():
    with pytest.raises(ConfigError) as info:
        OpStoreConfig(saver_type="GoogleStorageSaver", saver_kwargs={"root_path": "ops"})
    assert str(info.value) == "op_store.saver_kwargs.bucket_name is required by 'google-storage-saver' (a string)"
    with pytest.raises(ConfigError) as info:
        OpStoreConfig(saver_type="FileSaver")
    assert str(info.value) == "op_store.saver_kwargs is required by saver_type 'file-saver' (keys: 'root_path')"
