"""Secrets hidden from the reprs of config objects: database passwords, tokens, Redis passwords."""
from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "masked_url", "masked_settings"]

#: what a secret is replaced with
MASK = "***"

_SECRET_KEY = re.compile(r"password|passwd|secret|token|credential", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


def masked_url(url: Any) -> Any:
    """A database URL with its password hidden (``postgresql://me:***@host/db``); non-strings as they are."""
    if not isinstance(url, str):
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy reads: hide what looks like a password
        return _URL_PASSWORD.sub(rf"\g<1>{MASK}@", url)


def masked_settings(value: Any) -> Any:
    """Keyword arguments with the values of secret-looking keys (``password``, ``token`` ...) hidden.

    Nested mappings and lists are masked too; the given object is not changed.
    """
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and _SECRET_KEY.search(key) and item is not None
            else masked_settings(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(masked_settings(item) for item in value)
    return value
