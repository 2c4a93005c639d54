"""Helpers of ``chariots db-upgrade``: messages naming the database with its password masked,
the migration steps echoed as they run, and a missing database driver turned into its pip line."""
from __future__ import annotations

import contextlib
from typing import Iterator

import click

__all__ = ["echo_migration_steps", "missing_driver", "safe_url"]


@contextlib.contextmanager
def echo_migration_steps() -> Iterator[None]:
    """Echoes a line per migration step Alembic runs (its ``Running upgrade`` log records)."""
    import logging

    class EchoSteps(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("Running upgrade"):
                click.echo(f"  step: {message.replace('Running upgrade', 'upgrade', 1)}")

    migration_logger = logging.getLogger("alembic.runtime.migration")
    handler, level = EchoSteps(logging.INFO), migration_logger.level
    migration_logger.addHandler(handler)
    migration_logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        migration_logger.removeHandler(handler)
        migration_logger.setLevel(level)


#: database drivers and the extra that installs them
_DRIVER_EXTRAS = {"psycopg": "postgres"}


def missing_driver(error: ImportError, db_url: str) -> Exception:
    from chariots.errors import MissingExtraError

    package = (error.name or "").split(".")[0]
    if package in _DRIVER_EXTRAS:
        return MissingExtraError(package, _DRIVER_EXTRAS[package])
    return click.ClickException(
        f"cannot upgrade the op store database {safe_url(db_url)}: its database driver is not installed "
        f"({error}): install it with pip, or use a driver of an extra (postgresql+psycopg://: "
        "`pip install chariots[postgres]`)"
    )


def safe_url(db_url: str) -> str:
    """The database URL with its password masked, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return masked_url(db_url)


def masked_url(text: str) -> str:
    """A URL that may not parse, with whatever stands between ``://`` and the last ``@`` of its
    authority (a user and password) masked: ``postgresql://***@db:5432/x``."""
    scheme, separator, rest = str(text).partition("://")
    if not separator:
        return "***" if "@" in scheme else scheme
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{slash}{path}"
