"""Exceptions raised by Chariots, all rooted at :class:`ChariotsError`.

Each area has its own class, mixing in the built-in exception the docs promise (a
:class:`VersionError` is a ``TypeError``, a :class:`NotFoundError` a ``ValueError``), and a
``status_code`` used when the error crosses a server boundary: a client raises the same class
with the server's message.
"""
from __future__ import annotations

from typing import Optional

__all__ = [
    "ChariotsError",
    "ChariotsWarning",
    "VersionError",
    "BackendError",
    "PipelineError",
    "MLOpError",
    "OpStoreError",
    "ConflictError",
    "OpIdentityError",
    "NotFoundError",
    "InvalidNameError",
    "BadRequestError",
    "ServiceUnavailableError",
    "OverloadedError",
    "MissingExtraError",
    "ConfigError",
    "AuthenticationError",
    "TemplateError",
    "SignatureError",
    "OpError",
    "SaverError",
    "SerializerError",
    "MissingStateBytesError",
]


class ChariotsError(Exception):
    """Root of every error Chariots raises on purpose."""

    #: HTTP status used when the error crosses a server boundary
    status_code = 500


class VersionError(ChariotsError, TypeError):
    """A node was asked to run with an upstream version it was never trained (validated) on.

    Build it with :meth:`incompatible` so every message starts the same way, then says which
    ops and versions are involved and which training pipeline to rerun.
    """

    status_code = 409
    summary = "the pipeline you requested cannot be loaded because of version incompatibility"
    hint = "HINT: retrain and save/reload in order to have a loadable version"

    @classmethod
    def incompatible(cls, details: str) -> "VersionError":
        """A version error whose message is the summary, the hint, then ``details``.

        :param details: which op was refused and why, and how to fix it
        """
        return cls(f"{cls.summary}. {cls.hint}: {details}")

    @staticmethod
    def handle() -> tuple[dict, int]:
        """Builds the JSON body and status used to send a version conflict over HTTP.

        :returns: the ``(body, status)`` pair a Flask view can return
        """
        message = f"{VersionError.summary}. {VersionError.hint}"
        return {"error": {"type": "VersionError", "message": message}}, VersionError.status_code


class BackendError(ChariotsError, ImportError):
    """A pipeline execution failed on the server side (the message starts with the op's error type)."""

    status_code = 500


class PipelineError(ChariotsError, ValueError):
    """A pipeline graph or a node output does not fit the pipeline's declaration."""

    status_code = 400


class MLOpError(ChariotsError, ValueError):
    """An ML op cannot do what its mode asks: predict before it was trained or loaded, use a
    predict function its model lacks, or load bytes that are not a saved ML op."""

    status_code = 400


class SerializerError(ChariotsError, ValueError):
    """An op's state could not be turned into bytes, or stored bytes back into a state (the
    serializer or the op's own ``load``/``serialize`` failed); the message names the op and version."""

    status_code = 500


class OpError(ChariotsError):
    """An op raised while a pipeline ran it (an error of the op's own code, not of Chariots).

    The op's exception is :attr:`cause` (and ``__cause__``); the message names its type, its
    message, and the node and pipeline that ran the op. A Chariots error an op raises (a
    :class:`PipelineError` for a wrong number of inputs, say) is not wrapped.

    :param cause: the exception the op raised
    :param node: the name of the node that ran the op
    :param pipeline: the name of the pipeline that ran the node
    """

    status_code = 500

    def __init__(self, cause: BaseException, node: str, pipeline: str):
        self.cause = cause
        self.node = node
        self.pipeline = pipeline
        #: the op's own words and where it raised: what a server answers of the error
        self.detail = f"{cause}; while running node {node!r} of pipeline {pipeline!r}"
        super().__init__(f"{type(cause).__name__}: {self.detail}")

    def __reduce__(self):
        return type(self), (self.cause, self.node, self.pipeline)


class OpStoreError(ChariotsError):
    """The op store could not answer a request."""


class SaverError(OpStoreError):
    """A saver (the plugin keeping the bytes of states: files, a bucket) failed to write or read
    the bytes of a state; the message names the op, the version and the saver's own error."""


class MissingStateBytesError(OpStoreError, ValueError):
    """A save or a staged training names a state whose bytes were never uploaded to this op store."""

    status_code = 400


class ConflictError(OpStoreError, ValueError):
    """The op store already holds something else under that name or version: stored versions
    are immutable."""

    status_code = 409


class OpIdentityError(ConflictError):
    """Another op class was saved under a name that holds the states of a different class."""


class NotFoundError(ChariotsError, LookupError, ValueError):
    """The pipeline, op, version or job asked for does not exist (a ``ValueError`` too, as the docs promise)."""

    status_code = 404


class BadRequestError(ChariotsError, ValueError):
    """A request a server cannot take: a body that is not the JSON object the route expects, a
    value of the wrong type."""

    status_code = 400


class SignatureError(ChariotsError, ValueError):
    """Stored or queued bytes carry no valid signature under the accepted secret keys: they are
    refused before anything reads them (the message names the op and version, or the job)."""

    status_code = 403


class InvalidNameError(BadRequestError):
    """A name or version cannot be used as a storage path (it could escape the saver root)."""


class ServiceUnavailableError(ChariotsError, ConnectionError):
    """A backing service (database, Redis, op store) cannot be reached."""

    status_code = 503


class OverloadedError(ServiceUnavailableError):
    """A call of a batched pipeline waited its ``max_latency_ms`` behind more queued calls than
    the next batch holds: the process is overloaded; retry later or add processes."""

    #: what a server answers of it to any client when the raiser gave no public message of its own
    public_message = "this server is overloaded, retry later"


class MissingExtraError(ChariotsError, ImportError):
    """An optional dependency is missing; the message gives the ``pip install`` line.

    :param package: the missing package (or the whole message when ``extra`` is None)
    :param extra: the Chariots extra that installs it
    """

    def __init__(self, package: str, extra: Optional[str] = None):
        if extra is None:
            super().__init__(package)
        else:
            super().__init__(f"{package} is required for this feature: run `pip install chariots[{extra}]`")


class ConfigError(ChariotsError, ValueError):
    """A configuration file or object is invalid, or a server lacks what a request needs; the
    message names the key path or the missing part."""

    status_code = 400


class AuthenticationError(ChariotsError, PermissionError):
    """A request to a Chariots server carried no valid bearer token."""

    status_code = 401


class TemplateError(ChariotsError, ValueError):
    """A project cannot be created from the Chariots template: an unknown variable, a value the
    template refuses (such as a project name that is not a Python package name), or an existing
    project folder."""


class ChariotsWarning(UserWarning):
    """Something worked but probably not as intended (the test suite turns these into errors)."""
