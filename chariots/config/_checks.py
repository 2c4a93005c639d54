"""Pure checks of config values: each one validates and raises a ConfigError naming the key."""
from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, Iterable, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from chariots.errors import ConfigError

__all__ = [
    "quoted", "did_you_mean", "with_article", "type_name", "check_type", "check_optional", "check_keys",
    "port_number", "check_port", "check_host", "check_db_url",
]

_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def quoted(names: Iterable[str]) -> str:
    """``'a', 'b'``: names as a message lists them."""
    return ", ".join(repr(name) for name in names)


def did_you_mean(name: Any, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when one of ``choices`` is close to ``name``, else ``""``."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def with_article(name: str) -> str:
    """``'an OpStoreConfig'``, ``'a PipelinesConfig'``."""
    return f"an {name}" if name[0].lower() in "aeiou" else f"a {name}"


def type_name(value: Any) -> str:
    """The type of a value as a YAML user reads it (``null`` for ``None``)."""
    return "null" if value is None else type(value).__name__


def check_type(path: str, value: Any, types: Tuple[type, ...], expected: str) -> None:
    """Checks that ``value`` is one of ``types`` (a bool is not an int unless ``bool`` is listed).

    :raises ConfigError: naming ``path``, what was expected and what was given
    """
    if value is None or isinstance(value, bool) and bool not in types or not isinstance(value, types):
        raise ConfigError(f"{path} must be {expected}, got {value!r} ({type_name(value)})")


def check_optional(path: str, value: Any, types: Tuple[type, ...], expected: str) -> None:
    """:func:`check_type`, with ``None`` (not set) allowed."""
    if value is not None:
        check_type(path, value, types, expected)


def check_keys(path: str, mapping: Mapping, allowed: Iterable[str], what: str = "key", context: str = "") -> None:
    """Checks that every key of ``mapping`` is allowed.

    :raises ConfigError: naming the first unknown key, the allowed ones and the closest one
    """
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            full_path = f"{path}.{key}" if path else str(key)
            raise ConfigError(
                f"unknown {what} {full_path}{context} (allowed: {quoted(allowed) or 'none'})"
                f"{did_you_mean(key, allowed)}"
            )


def port_number(value: Any) -> Optional[int]:
    """The port ``value`` denotes (``8001`` for ``'8001'``), or ``None`` if it denotes none."""
    port = None
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and value.strip().isdigit():
        port = int(value)
    return port if port is not None and 1 <= port <= 65535 else None


def check_port(path: str, value: Any) -> None:
    """Checks an optional port: an int, or a string of digits, from 1 to 65535.

    :raises ConfigError: naming ``path`` and the range
    """
    if value is not None and port_number(value) is None:
        raise ConfigError(
            f"{path} must be a port number between 1 and 65535, got {value!r} ({type_name(value)})"
        )


def _is_ipv6(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def check_host(path: str, value: Any) -> None:
    """Checks an optional host: a bare host name or IP address (``localhost``, ``10.0.0.2``, ``::1``).

    A scheme (``http://``), a port or a path is refused, naming what to remove: the URL
    clients call is built from the host, the port and ``http://``.

    :raises ConfigError: naming ``path``, the bare host to write instead and where the port goes
    """
    check_optional(path, value, (str,), "a host name")
    if value is None or _HOST_NAME.fullmatch(value) or ":" in value and _is_ipv6(value):
        return
    has_scheme = "://" in value
    parts = urlsplit(value if has_scheme else f"//{value}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    extras = []
    if has_scheme:
        extras.append(f"the scheme {parts.scheme + '://'!r}")
    if port is not None:
        extras.append(f"the port (set {path.rpartition('.')[0]}.server_port: {port} instead)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        extras.append("the path")
    fix = f": remove {' and '.join(extras)}" if extras else ""
    suggestion = f"; did you mean {host!r}?" if host and host != value and (
        _HOST_NAME.fullmatch(host) or _is_ipv6(host)) else ""
    raise ConfigError(
        f"{path} must be a bare host name or IP address (like 'localhost', '127.0.0.1' or '::1'), "
        f"got {value!r}{fix}{suggestion}"
    )


def check_db_url(path: str, value: Any) -> None:
    """Checks an optional SQLAlchemy URL (SQLAlchemy is imported on first use).

    :raises ConfigError: naming ``path`` and the URL forms expected
    """
    check_optional(path, value, (str,), "a SQLAlchemy URL")
    if value is None:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except ArgumentError as error:
        raise ConfigError(
            f"{path} is not a SQLAlchemy URL ({error}): "
            "write it like 'sqlite:////tmp/op_store.db' or 'postgresql+psycopg://user@host/db'"
        ) from None
