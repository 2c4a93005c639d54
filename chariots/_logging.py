"""Logs a person can follow: a request id on every line, short versions, and JSON lines as an option.

While a server handles a request, :data:`request_id` holds that request's id (the client's
``X-Request-ID`` header, or a new one); every log record made meanwhile carries it as
``record.request_id`` (``"-"`` outside a request), whichever logger made it, so a handler's
format may use ``%(request_id)s``.

:func:`configure` gives the ``chariots`` loggers a handler writing text or JSON lines; it is what
the servers call when asked for a log format (``log_format=`` or the ``CHARIOTS_LOG_FORMAT``
environment variable: ``text`` or ``json``).
"""
from __future__ import annotations

import contextvars
import datetime
import json
import logging
import os
import re
import uuid
from typing import Any, Mapping, Optional

from chariots.errors import ConfigError

__all__ = ["request_id", "new_request_id", "clean_request_id", "install_record_factory", "configure",
           "JSONFormatter", "short_version", "version_changes", "LOG_FORMAT_ENV"]

#: the environment variable choosing the log format of the servers (``text`` or ``json``)
LOG_FORMAT_ENV = "CHARIOTS_LOG_FORMAT"
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
NO_REQUEST = "-"

#: the id of the request being handled in this context (None outside a request)
request_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("chariots_request_id", default=None)

# what a client may send as its request id: short and printable, so it cannot forge log lines
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")
# the record attributes every LogRecord has, which a JSON line does not repeat as extras
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def clean_request_id(sent: Optional[str]) -> str:
    """The id a request is logged under: the one the client sent when it is short and printable
    (letters, digits and ``._:/+=@-``, at most 128), else a fresh one."""
    if sent and _REQUEST_ID.match(sent):
        return sent
    return new_request_id()


_installed_factory: Optional[Any] = None


def install_record_factory() -> None:
    """Makes every log record carry ``request_id`` (idempotent; keeps any factory set before)."""
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is _installed_factory:
        return
    previous = current

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id.get() or NO_REQUEST
        return record

    _installed_factory = factory
    logging.setLogRecordFactory(factory)


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON object per line: time, level, logger, message, request id,
    the extras given with ``extra=`` and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _ChariotsHandler(logging.StreamHandler):
    """The handler :func:`configure` installs (found again to be replaced, never doubled)."""


def configure(log_format: Optional[str] = None, level: int = logging.INFO) -> Optional[logging.Handler]:
    """Gives the ``chariots`` loggers a stream handler writing ``text`` or ``json`` lines.

    :param log_format: ``text`` or ``json``; None reads ``CHARIOTS_LOG_FORMAT`` and, when it is
                       not set either, leaves logging as the application set it
    :param level: the level of the ``chariots`` logger
    :raises ConfigError: for another format
    :returns: the handler installed (None when nothing was asked)
    """
    install_record_factory()
    chosen = log_format if log_format is not None else os.environ.get(LOG_FORMAT_ENV) or None
    if chosen is None:
        return None
    chosen = chosen.strip().lower()
    if chosen not in LOG_FORMATS:
        origin = "log_format" if log_format is not None else f"the environment variable {LOG_FORMAT_ENV}"
        raise ConfigError(f"{origin} is {chosen!r}; expected one of {list(LOG_FORMATS)}")
    logger = logging.getLogger("chariots")
    for handler in [h for h in logger.handlers if isinstance(h, _ChariotsHandler)]:
        logger.removeHandler(handler)
    handler = _ChariotsHandler()
    handler.setFormatter(JSONFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


def short_version(version: Any) -> str:
    """The first 5 hex digits of a version's major, as ``repr(version)`` shows them (``-`` for None)."""
    if version is None:
        return NO_REQUEST
    major = getattr(version, "major", None)
    return (major if major is not None else str(version))[:5]


def version_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``'pca 94e72 -> 1a2b3, rf 0c0c0 -> 77a1f'`` for the ops whose version changed ('' if none).

    A version whose major stays the same shows its patch digits after a dot, so a retraining that
    only moves the patch is still visible: ``'rf 94e72.1d2c3 -> 94e72.8f0aa'``.
    """
    changes = []
    for name, new in after.items():
        old = before.get(name)
        if old == new:
            continue
        if old is not None and getattr(old, "major", None) == getattr(new, "major", object()):
            changes.append(f"{name} {short_version(old)}.{old.patch[:5]} -> {short_version(new)}.{new.patch[:5]}")
        else:
            changes.append(f"{name} {short_version(old)} -> {short_version(new)}")
    return ", ".join(changes)
