"""Reprs of config objects never show a database password, a Redis password or a token."""
from chariots.config import ChariotsConfig, OpStoreConfig, WorkersConfig

DB_URL = "postgresql+psycopg://chariots:s3cret-pw@db.example.com:5432/ops"


def test_the_database_password_is_masked_in_every_repr(write_config):
    config = OpStoreConfig(op_store_db_url=DB_URL)
    assert "s3cret-pw" not in repr(config)
    assert "op_store_db_url='postgresql+psycopg://chariots:***@db.example.com:5432/ops'" in repr(config)
    assert config.op_store_db_url == DB_URL  # only the repr hides it

    whole = ChariotsConfig(op_store_config=config)
    assert "s3cret-pw" not in repr(whole) and "chariots:***@db.example.com" in repr(whole)

    from_file = ChariotsConfig(write_config(f"op_store:\n  op_store_db_url: '{DB_URL}'\n"))
    assert "s3cret-pw" not in repr(from_file) and "chariots:***@db.example.com" in repr(from_file)


def test_a_url_without_password_is_shown_as_is():
    assert "op_store_db_url='sqlite:////tmp/ops.db'" in repr(OpStoreConfig(op_store_db_url="sqlite:////tmp/ops.db"))
    assert "op_store_db_url=None" in repr(OpStoreConfig())


def test_a_password_set_after_creation_in_an_unreadable_url_is_masked_too():
    config = OpStoreConfig()
    config.op_store_db_url = "not a url://user:hunter2@host/db"
    assert "hunter2" not in repr(config)
    assert "user:***@host/db" in repr(config)


def test_passwords_and_tokens_in_plugin_settings_are_masked():
    kwargs = {"redis_kwargs": {"host": "redis.example.com", "password": "hunter2"},
              "queue_kwargs": {"default_timeout": 10}}
    config = WorkersConfig(worker_type="rq", worker_pool_kwargs=kwargs)
    text = repr(config)
    assert "hunter2" not in text
    assert "'password': '***'" in text and "'host': 'redis.example.com'" in text and "'default_timeout': 10" in text
    assert config.worker_pool_kwargs["redis_kwargs"]["password"] == "hunter2"  # the pool still gets it

    saver = OpStoreConfig(saver_type="google-storage-saver", saver_kwargs={
        "root_path": "ops", "bucket_name": "b", "client_kwargs": {"project": "p", "access_token": "ya29.tok"},
    })
    assert "ya29.tok" not in repr(saver) and "'access_token': '***'" in repr(saver)
