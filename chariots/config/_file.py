"""Reading a YAML config file into the keyword arguments of each section class."""
from __future__ import annotations

import inspect
import os
from typing import Any, Dict, List, Union

from chariots.config._checks import check_keys, quoted, type_name
from chariots.errors import ConfigError

__all__ = ["read_file", "file_keys", "section_kwargs"]

_GIVE_A_FILE = "give the path of a YAML config file"


def read_file(config_file: Union[str, os.PathLike], sections: List[str]) -> Dict[str, Any]:
    """The content of a YAML config file: a mapping of section names (``{}`` for an empty file).

    :param sections: the section names, for the message when the file holds no mapping
    :raises ConfigError: naming the file when it is missing, a directory, not YAML or not a mapping
    """
    import yaml

    path = os.fspath(config_file)
    try:
        with open(path, encoding="utf-8") as stream:
            content = yaml.safe_load(stream)
    except FileNotFoundError:
        raise ConfigError(f"config file {path!r} does not exist: {_GIVE_A_FILE}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path!r} is a directory: {_GIVE_A_FILE}") from None
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"config file {path!r} is not valid YAML{where}: {problem}") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(
            f"config file {path!r} must hold a mapping with the keys {quoted(sections)}, "
            f"got a {type_name(content)}"
        )
    return content


def file_keys(section_class: type) -> List[str]:
    """The keys a file section may hold: the section class's constructor arguments, in order,
    except those only Python can give (``pipelines.pipelines``, for instance)."""
    python_only = getattr(section_class, "_python_only_keys", {})
    parameters = inspect.signature(section_class.__init__).parameters
    return [
        name for name, parameter in parameters.items()
        if name != "self" and name not in python_only
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]


def section_kwargs(section_class: type, value: Any) -> Dict[str, Any]:
    """The keyword arguments of ``section_class`` a file section gives (``{}`` for an empty section).

    :raises ConfigError: naming the section when it is not a mapping, and the key that is
                         unknown or can only be set in Python
    """
    section = section_class._section
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{section} must be a mapping of settings, got {value!r} ({type_name(value)})")
    python_only = getattr(section_class, "_python_only_keys", {})
    for key in value:
        if key in python_only:
            raise ConfigError(f"{section}.{key} cannot be set in a config file: {python_only[key]}")
    check_keys(section, value, file_keys(section_class))
    return dict(value)
