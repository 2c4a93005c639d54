"""Bad config files fail when loading, with the file, the key path and the allowed values."""
import re

import pytest

from chariots.config import ChariotsConfig
from chariots.errors import ConfigError

BAD_FILES = {
    "unknown section": (
        "op_stor:\n  server_port: 5000\n",
        "unknown section op_stor (allowed: 'op_store', 'pipelines', 'pipelines_workers'); "
        "did you mean 'op_store'?",
    ),
    "unknown key": (
        "op_store:\n  saver_typ: file-saver\n",
        "unknown key op_store.saver_typ (allowed: 'server_host', 'server_port', 'saver_type', "
        "'saver_kwargs', 'op_store_db_url', 'secret_key', 'old_secret_keys'); did you mean 'saver_type'?",
    ),
    "unknown saver type": (
        "op_store:\n  saver_type: azure-saver\n  saver_kwargs: {root_path: /x}\n",
        "op_store.saver_type must be one of 'file-saver', 'google-storage-saver', 's3-saver', "
         "'fsspec-saver', got 'azure-saver'",
    ),
    "close saver type": (
        "op_store:\n  saver_type: File_Savr\n  saver_kwargs: {root_path: /x}\n",
        "op_store.saver_type must be one of 'file-saver', 'google-storage-saver', 's3-saver', "
         "'fsspec-saver', got 'File_Savr'; "
        "did you mean 'file-saver'?",
    ),
    "saver type not a string": (
        "op_store:\n  saver_type: [file-saver]\n  saver_kwargs: {root_path: /x}\n",
        "op_store.saver_type must be one of 'file-saver', 'google-storage-saver', 's3-saver', "
         "'fsspec-saver', got ['file-saver'] (list)",
    ),
    "unknown runner": (
        "pipelines:\n  runner: parallel-runner\n",
        "pipelines.runner must be one of 'sequential-runner', 'thread-runner', 'dask-runner', got 'parallel-runner'",
    ),
    "unknown worker type": (
        "pipelines_workers:\n  worker_type: celery\n",
        "pipelines_workers.worker_type must be one of 'rq', got 'celery'",
    ),
    "port not a number": (
        "pipelines:\n  server_port: eighty\n",
        "pipelines.server_port must be a port number between 1 and 65535, got 'eighty' (str)",
    ),
    "port out of range": (
        "op_store:\n  server_port: 70000\n",
        "op_store.server_port must be a port number between 1 and 65535, got 70000 (int)",
    ),
    "host not a string": (
        "op_store:\n  server_host: 12\n",
        "op_store.server_host must be a host name, got 12 (int)",
    ),
    "use_for_all not a boolean": (
        "pipelines_workers:\n  use_for_all: 'yes'\n  worker_type: rq\n",
        "pipelines_workers.use_for_all must be true or false, got 'yes' (str)",
    ),
    "use_for_all without worker type": (
        "pipelines_workers:\n  use_for_all: true\n",
        "pipelines_workers.worker_type is required when pipelines_workers.use_for_all is set (allowed: 'rq')",
    ),
    "saver_kwargs not a mapping": (
        "op_store:\n  saver_type: file-saver\n  saver_kwargs: [/tmp]\n",
        "op_store.saver_kwargs must be a mapping, got ['/tmp'] (list)",
    ),
    "unknown saver argument": (
        "op_store:\n  saver_type: file-saver\n  saver_kwargs: {rootpath: /tmp}\n",
        "unknown key op_store.saver_kwargs.rootpath for 'file-saver' (allowed: 'root_path'); "
        "did you mean 'root_path'?",
    ),
    "missing saver argument": (
        "op_store:\n  saver_type: google-storage-saver\n  saver_kwargs: {root_path: ops}\n",
        "op_store.saver_kwargs.bucket_name is required by 'google-storage-saver' (a string)",
    ),
    "saver type without kwargs": (
        "op_store:\n  saver_type: file-saver\n",
        "op_store.saver_kwargs is required by saver_type 'file-saver' (keys: 'root_path')",
    ),
    "unknown worker pool argument": (
        "pipelines_workers:\n  worker_type: rq\n  worker_pool_kwargs: {redis_kwarg: {}}\n",
        "unknown key pipelines_workers.worker_pool_kwargs.redis_kwarg for 'rq' "
        "(allowed: 'redis_kwargs', 'queue_kwargs', 'redis'); did you mean 'redis_kwargs'?",
    ),
    "redis_kwargs not a mapping": (
        "pipelines_workers:\n  worker_type: rq\n  worker_pool_kwargs: {redis_kwargs: localhost}\n",
        "pipelines_workers.worker_pool_kwargs.redis_kwargs must be a mapping, got 'localhost' (str)",
    ),
    "bad database url": (
        "op_store:\n  op_store_db_url: not a url\n",
        "op_store.op_store_db_url is not a SQLAlchemy URL",
    ),
    "pipelines in the file": (
        "pipelines:\n  pipelines: [train, predict]\n",
        "pipelines.pipelines cannot be set in a config file: set them in Python "
        "(config.pipelines_config.pipelines.append(pipeline)) or with "
        "`chariots pipelines --pipelines my_module:pipelines`",
    ),
    "callbacks in the file": (
        "pipelines:\n  pipeline_callbacks: [logger]\n",
        "pipelines.pipeline_callbacks cannot be set in a config file",
    ),
    "section not a mapping": (
        "op_store: localhost:5000\n",
        "op_store must be a mapping of settings, got 'localhost:5000' (str)",
    ),
}


@pytest.mark.parametrize("text, message", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_files_fail_at_load_naming_the_file_and_key(write_config, text, message):
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        ChariotsConfig(path)
    assert str(info.value).startswith(f"config file {str(path)!r}: ")
    assert message in str(info.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=re.escape(
        f"config file {str(path)!r} does not exist: give the path of a YAML config file"
    )):
        ChariotsConfig(path)


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory: give the path of a YAML config file"):
        ChariotsConfig(tmp_path)


def test_invalid_yaml_names_the_line(write_config):
    path = write_config("op_store:\n  server_port: [5000\npipelines:\n")
    expected = f"config file {str(path)!r} is not valid YAML at line 3"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        ChariotsConfig(path)


def test_top_level_must_be_a_mapping(write_config):
    path = write_config("- op_store\n- pipelines\n")
    with pytest.raises(ConfigError, match=re.escape(
        f"config file {str(path)!r} must hold a mapping with the keys 'op_store', 'pipelines', "
        "'pipelines_workers', got a list"
    )):
        ChariotsConfig(path)
