"""check() only validates: values are normalised once, at creation, and check() assigns nothing."""
import copy

import pytest

from chariots.config import OpStoreConfig, PipelinesConfig, WorkersConfig
from chariots.errors import ConfigError
from tests.config.pipelines_module import add_one_pipeline


def watched(section_class):
    """A subclass of ``section_class`` recording every attribute assignment once ``watching`` is on."""
    class Watched(section_class):
        watching = False
        assigned: list = []

        def __setattr__(self, name, value):
            if type(self).watching:
                type(self).assigned.append(name)
            super().__setattr__(name, value)

    Watched.assigned = []
    return Watched


SECTIONS = [
    (OpStoreConfig, dict(server_host="localhost", server_port="5001", saver_type="FileSaver",
                         saver_kwargs={"root_path": "/tmp/x"}, op_store_db_url="sqlite:////tmp/x.db")),
    (PipelinesConfig, dict(runner="SequentialRunner", server_host="::1", server_port="8000",
                           pipelines=(add_one_pipeline(),), import_name="app")),
    (WorkersConfig, dict(use_for_all=True, worker_type="RQ", worker_pool_kwargs={"redis_kwargs": {"db": 3}})),
]


@pytest.mark.parametrize("section_class, kwargs", SECTIONS, ids=[cls.__name__ for cls, _ in SECTIONS])
def test_check_assigns_nothing_and_twice_changes_nothing(section_class, kwargs):
    section_class = watched(section_class)
    config = section_class(**kwargs)
    before = copy.copy(vars(config))
    section_class.watching = True
    config.check()
    config.check()
    section_class.watching = False
    assert section_class.assigned == []
    assert vars(config) == before


def test_the_constructor_normalises_once():
    assert OpStoreConfig(server_port=" 8001").server_port == 8001
    assert PipelinesConfig(pipelines=(add_one_pipeline(),)).pipelines[0].name == "add_one"
    assert OpStoreConfig(saver_type="file_saver", saver_kwargs={"root_path": "/x"}).saver_type == "file-saver"


def test_a_port_set_after_creation_is_checked_but_kept_as_given():
    config = OpStoreConfig()
    config.server_port = "8001"
    config.check()
    assert config.server_port == "8001"
    assert config.port == 8001 and config.url == "http://127.0.0.1:8001"


def test_a_bad_value_set_after_creation_is_reported_and_left_alone():
    config = PipelinesConfig()
    config.server_port = "eighty"
    with pytest.raises(ConfigError) as info:
        config.check()
    assert str(info.value) == "pipelines.server_port must be a port number between 1 and 65535, got 'eighty' (str)"
    assert config.server_port == "eighty"
