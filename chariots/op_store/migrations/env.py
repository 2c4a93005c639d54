"""Alembic environment of the op store: runs migrations on a given connection or the Flask app's engine."""

from __future__ import annotations

from alembic import context

from chariots.op_store.models import Base

config = context.config
target_metadata = Base.metadata


def _run_on(connection) -> None:
    # batch mode lets ALTER-style migrations work on SQLite too
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif config.attributes.get("connection") is not None:
    # upgrade_database() passes its own connection
    _run_on(config.attributes["connection"])
else:
    # `flask db ...` (Flask-Migrate) on an OpStoreServer app
    from flask import current_app

    with current_app.extensions["migrate"].db.engine.connect() as app_connection:
        _run_on(app_connection)
