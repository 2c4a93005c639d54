"""The keys a file section may hold are the section class's constructor arguments."""
import inspect

import pytest

from chariots.config import ChariotsConfig, OpStoreConfig, PipelinesConfig, WorkersConfig
from chariots.config._file import file_keys, section_kwargs
from chariots.errors import ConfigError


@pytest.mark.parametrize(
    "text, message",
    [
        ("op_store:\n  port: 1\n",
         "unknown key op_store.port (allowed: 'server_host', 'server_port', 'saver_type', 'saver_kwargs', "
         "'op_store_db_url', 'secret_key', 'old_secret_keys')"),
        ("pipelines:\n  server_hots: localhost\n",
         "unknown key pipelines.server_hots (allowed: 'runner', 'server_host', 'server_port', 'import_name', "
         "'runner_kwargs'); "
         "did you mean 'server_host'?"),
        ("pipelines_workers:\n  worker: rq\n",
         "unknown key pipelines_workers.worker (allowed: 'use_for_all', 'worker_type', 'worker_pool_kwargs'); "
         "did you mean 'worker_type'?"),
    ],
)
def test_an_unknown_key_lists_the_allowed_ones(write_config, text, message):
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        ChariotsConfig(path)
    assert str(info.value) == f"config file {str(path)!r}: {message}"


@pytest.mark.parametrize("section_class", [OpStoreConfig, PipelinesConfig, WorkersConfig])
def test_the_allowed_keys_are_the_constructor_arguments_python_objects_aside(section_class):
    arguments = [name for name in inspect.signature(section_class).parameters]
    python_only = {"pipelines", "pipeline_callbacks"}
    assert file_keys(section_class) == [name for name in arguments if name not in python_only]


def _section_with_an_extra_argument():
    class WithRetries(OpStoreConfig):
        def __init__(self, server_host=None, server_port=None, saver_type=None, saver_kwargs=None,
                     op_store_db_url=None, retries=3):
            self.retries = retries
            super().__init__(server_host, server_port, saver_type, saver_kwargs, op_store_db_url)

    return WithRetries


def test_a_new_constructor_argument_is_a_new_file_key():
    with_retries = _section_with_an_extra_argument()
    assert file_keys(with_retries)[-1] == "retries"
    assert section_kwargs(with_retries, {"retries": 5, "server_port": 1}) == {"retries": 5, "server_port": 1}
    with pytest.raises(ConfigError) as info:
        section_kwargs(with_retries, {"retry": 5})
    assert str(info.value) == (
        "unknown key op_store.retry (allowed: 'server_host', 'server_port', 'saver_type', 'saver_kwargs', "
        "'op_store_db_url', 'retries'); did you mean 'retries'?"
    )


@pytest.mark.parametrize("key", ["pipelines", "pipeline_callbacks"])
def test_python_only_arguments_stay_refused_in_files(key):
    with pytest.raises(ConfigError) as info:
        section_kwargs(PipelinesConfig, {key: []})
    assert str(info.value).startswith(f"pipelines.{key} cannot be set in a config file: set them in Python (")
