"""Exceptions raised by Chariots, all rooted at :class:`ChariotsError`."""
from __future__ import annotations

__all__ = [
    "ChariotsError",
    "ChariotsWarning",
    "VersionError",
    "BackendError",
    "PipelineError",
    "OpStoreError",
    "NotFoundError",
    "InvalidNameError",
    "ServiceUnavailableError",
    "MissingExtraError",
    "ConfigError",
    "AuthenticationError",
    "JobError",
]


class ChariotsError(Exception):
    """Root of every error Chariots raises on purpose."""

    #: HTTP status used when the error crosses a server boundary
    status_code = 500


class VersionError(ChariotsError, TypeError):
    """A node was asked to run with an upstream version it was never validated against."""

    status_code = 409
    hint = "HINT: retrain and save/reload in order to have a loadable version"

    @staticmethod
    def handle() -> tuple[dict, int]:
        """Builds the JSON body and status used to send a version conflict over HTTP.

        :returns: the ``(body, status)`` pair a Flask view can return
        """
        message = (
            "the pipeline you requested cannot be loaded because of version incompatibility"
            + VersionError.hint
        )
        return {"error": {"type": "VersionError", "message": message}}, VersionError.status_code


class BackendError(ChariotsError, ImportError):
    """A pipeline execution failed on the server side."""

    status_code = 500


class PipelineError(ChariotsError, ValueError):
    """A pipeline graph or a node output does not fit the pipeline's declaration."""

    status_code = 400


class OpStoreError(ChariotsError):
    """The op store could not answer a request."""


class NotFoundError(ChariotsError, LookupError, ValueError):
    """The pipeline, op, version or job asked for does not exist (a ``ValueError`` too, as the docs promise)."""

    status_code = 404


class InvalidNameError(ChariotsError, ValueError):
    """A name or version cannot be used as a storage path (it could escape the saver root)."""

    status_code = 400


class ServiceUnavailableError(ChariotsError, ConnectionError):
    """A backing service (database, Redis, op store) cannot be reached."""

    status_code = 503


class MissingExtraError(ChariotsError, ImportError):
    """An optional dependency is missing; the message gives the ``pip install`` line."""

    def __init__(self, package: str, extra: str):
        super().__init__(
            f"{package} is required for this feature: run `pip install chariots[{extra}]`"
        )


class ConfigError(ChariotsError, ValueError):
    """A configuration file or object is invalid; the message names the key path."""

    status_code = 400


class AuthenticationError(ChariotsError, PermissionError):
    """A request to a Chariots server carried no valid bearer token."""

    status_code = 401


class JobError(ChariotsError, RuntimeError):
    """An asynchronous job failed or cannot be run."""


class ChariotsWarning(UserWarning):
    """Something worked but probably not as intended (the test suite turns these into errors)."""


class MLOpError(ChariotsError, ValueError):
    """An ML op cannot do what its mode asks: predict before it was trained or loaded, use a
    predict function its model lacks, or load bytes that are not a saved ML op."""

    status_code = 400


__all__.append("MLOpError")


class TemplateError(ChariotsError, ValueError):
    """A project cannot be created from the Chariots template: an unknown variable, a value the
    template refuses (such as a project name that is not a Python package name), or an existing
    project folder."""


__all__.append("TemplateError")
