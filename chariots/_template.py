"""The project template: where it is, checking the values given for its variables, and generating a project.

``chariots new`` and ``make demo`` both call :func:`generate_project`.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Dict, Mapping, Optional

from chariots.errors import TemplateError

__all__ = ["generate_project", "check_template_context", "template_directory"]


def _version() -> str:
    from chariots import __version__

    return __version__


def template_directory() -> str:
    """The folder of the cookiecutter template shipped with Chariots.

    :raises TemplateError: if the installation lacks it
    """
    try:
        import chariots_template

        directory = os.path.dirname(os.path.abspath(chariots_template.__file__))
    except ImportError:
        # a source checkout run without installing: the template sits next to the package
        import chariots

        root = os.path.dirname(os.path.dirname(os.path.abspath(chariots.__file__)))
        directory = os.path.join(root, "chariots_template")
    if not os.path.isfile(os.path.join(directory, "cookiecutter.json")):
        raise TemplateError(
            f"the Chariots project template is missing (looked in {directory}): reinstall chariots"
        )
    return directory


def _template_variables() -> Dict[str, Any]:
    with open(os.path.join(template_directory(), "cookiecutter.json"), encoding="utf-8") as stream:
        return json.load(stream)


def check_template_context(extra_context: Mapping[str, Any]) -> None:
    """Checks values given for the template's variables before anything is written.

    :param extra_context: template variable -> value
    :raises TemplateError: for an unknown variable, a value outside a variable's choices, or a
                           ``project_name`` that cannot be a Python package name
    """
    import difflib

    variables = _template_variables()
    public = [name for name in variables if not name.startswith("_")]
    for key, value in extra_context.items():
        if key not in variables:
            close = difflib.get_close_matches(key, public, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TemplateError(f"unknown template variable {key!r} (variables: {', '.join(public)}){hint}")
        choices = variables[key]
        if isinstance(choices, list) and value not in choices:
            raise TemplateError(
                f"{key} must be one of {', '.join(repr(choice) for choice in choices)}, got {value!r}"
            )
    if "project_name" in extra_context:
        _check_project_name(str(extra_context["project_name"]))


def _check_project_name(name: str) -> None:
    # the template's pre-generation hook checks the names typed at the prompt the same way
    import keyword
    import re

    problem = None
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        problem = "use lower-case letters, digits and _, starting with a letter or _"
    elif keyword.iskeyword(name):
        problem = "it is a Python keyword"
    elif name in sys.stdlib_module_names or name in {"chariots", "tests", "test"}:
        problem = "a module of that name already exists and would be shadowed"
    if problem:
        raise TemplateError(
            f"project_name {name!r} cannot be a Python package name: {problem} (e.g. iris, my_project)"
        )


def _prompt_for_context(extra_context: Mapping[str, Any]) -> Dict[str, Any]:
    """Asks for every template variable the way cookiecutter does, checking each answer as it
    is typed: a refused project name is asked again at once, not after the other questions.

    :param extra_context: values given beforehand, shown as the defaults
    :returns: a value for every public variable, and the given private ones
    """
    from cookiecutter.config import get_user_config
    from cookiecutter.prompt import read_user_choice, read_user_variable

    variables = _template_variables()
    prompts = variables.pop("__prompts__", {})
    defaults = {**get_user_config().get("default_context", {}), **extra_context}
    public = [name for name in variables if not name.startswith("_")]
    answers: Dict[str, Any] = {key: value for key, value in extra_context.items() if key.startswith("_")}
    for count, key in enumerate(public, start=1):
        prefix = f"  [dim][{count}/{len(public)}][/] "
        choices = variables[key]
        while True:
            if isinstance(choices, list):
                if key in defaults and defaults[key] in choices:
                    choices = [defaults[key]] + [choice for choice in choices if choice != defaults[key]]
                answer = read_user_choice(key, choices, prompts, prefix)
            else:
                answer = read_user_variable(key, defaults.get(key, choices), prompts, prefix)
            try:
                check_template_context({key: answer})
            except TemplateError as error:
                print(f"Error: {error}", file=sys.stderr, flush=True)
                continue
            answers[key] = answer
            break
    return answers


def generate_project(
    output_dir: str = ".",
    extra_context: Optional[Mapping[str, Any]] = None,
    no_input: bool = True,
    overwrite_if_exists: bool = False,
) -> str:
    """Creates a project from the Chariots template (what ``chariots new`` runs).

    :param output_dir: the folder to create the project folder in
    :param extra_context: values of template variables (``project_name``, ``use_iris_example`` ...)
    :param no_input: use the defaults for the variables not given instead of prompting (the
                     prompts check each answer as it is typed, the project name first)
    :param overwrite_if_exists: write into an existing project folder
    :raises TemplateError: if a value is refused or the project folder already exists
    :returns: the path of the created project
    """
    from cookiecutter.exceptions import CookiecutterException, FailedHookException, OutputDirExistsException
    from cookiecutter.main import cookiecutter

    context = dict(extra_context or {})
    check_template_context(context)
    if not no_input:
        # our prompts check each answer when it is given; cookiecutter then only renders
        context = _prompt_for_context(context)
        no_input = True
    context.setdefault("_chariots_version", _version())
    # cookiecutter logs a traceback when a hook refuses an answer: the hook already said why
    logger = logging.getLogger("cookiecutter")
    quiet = logging.NullHandler()
    logger.addHandler(quiet)
    try:
        return cookiecutter(
            template_directory(),
            no_input=no_input,
            output_dir=output_dir,
            extra_context=context,
            overwrite_if_exists=overwrite_if_exists,
        )
    except OutputDirExistsException as error:
        reason = str(error).removeprefix("Error: ")
        raise TemplateError(
            f"{reason}: choose another project_name or output folder, or overwrite it "
            "(chariots new --overwrite-if-exists)"
        ) from None
    except FailedHookException:
        raise TemplateError(
            "the project was not created: the template refused an answer (reason above)"
        ) from None
    except (CookiecutterException, ValueError) as error:
        raise TemplateError(f"the project was not created: {error}") from None
    finally:
        logger.removeHandler(quiet)
