"""The wire round trip: an exception raised in a view of a real server comes back to the client.

Both servers (:class:`PipelinesServer`, :class:`OpStoreServer`) are reached over a real werkzeug
server in a thread (HTTP transport) and in process (WSGI transport). A view of each server is
swapped for one raising what the test chooses, and the client's public call to that route must
raise the same class with the same message.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Type

import flask
import pytest

from chariots import errors
from chariots._transport import WSGITransport
from chariots.op_store import BaseOpStoreClient, OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesClient, PipelinesServer
from chariots.testing import TestPipelinesClient

#: every public error class of chariots.errors but the root
PUBLIC_ERRORS: List[Type[errors.ChariotsError]] = [
    getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
    and issubclass(getattr(errors, name), errors.ChariotsError)
    and getattr(errors, name) is not errors.ChariotsError
]


class Raiser:
    """A view that raises (or answers) whatever the running test put in it."""

    def __init__(self):
        self.error: Optional[BaseException] = None
        self.answer: Any = None

    def reset(self) -> "Raiser":
        self.error, self.answer = None, None
        return self

    def view(self, **_: Any) -> Any:
        if self.error is not None:
            raise self.error
        return self.answer


@dataclass
class Side:
    """One server reached through one transport."""

    server: str  # "pipelines" or "op_store"
    raiser: Raiser
    call: Callable[[], Any]  # a public client call reaching the raising view
    status: Callable[[], int]  # the status of the same request, read raw
    what: str  # how the client names that request in its messages


class FarAwayError(Exception):
    """An exception type Chariots knows nothing of (an op's own error)."""


class NotFoundError(Exception):  # noqa: N818 - named like Chariots' on purpose
    """Another library's exception that happens to share a Chariots error's name."""


@pytest.fixture(scope="module")
def pipelines_app():
    raiser = Raiser()
    server = PipelinesServer([])
    server.view_functions["available_pipelines"] = raiser.view
    return server, raiser


@pytest.fixture(scope="module")
def op_store_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("wire_op_store")
    server = OpStoreServer(FileSaver(str(root / "saver")), db_url=f"sqlite:///{root / 'op_store.db'}")
    raiser = Raiser()
    server.flask.view_functions["pipelines"] = raiser.view
    yield server, raiser
    server.close()


@pytest.fixture(params=["pipelines-http", "pipelines-wsgi", "op_store-http", "op_store-wsgi"])
def side(request, wsgi_server) -> Side:
    server_kind, transport = request.param.split("-")
    if server_kind == "pipelines":
        server, raiser = request.getfixturevalue("pipelines_app")
        raiser.reset()
        client = PipelinesClient(wsgi_server(server)) if transport == "http" else TestPipelinesClient(server)
        return Side(
            "pipelines", raiser, client.available_pipelines,
            lambda: client.request("GET", "/available_pipelines")[0],
            "the pipelines server (GET /available_pipelines)",
        )
    server, raiser = request.getfixturevalue("op_store_app")
    raiser.reset()
    if transport == "http":
        store = OpStoreClient(wsgi_server(server.flask))
    else:
        store = BaseOpStoreClient(WSGITransport(server.flask, "op store"))
    request.addfinalizer(store.close)
    return Side(
        "op_store", raiser, store.get_all_pipelines,
        lambda: store.request("GET", "/pipelines").status,
        "the op store (GET /pipelines)",
    )


def test_every_public_error_class_is_covered():
    names = {error.__name__ for error in PUBLIC_ERRORS}
    assert {"VersionError", "NotFoundError", "BadRequestError", "ServiceUnavailableError", "ConfigError"} <= names
    assert len(PUBLIC_ERRORS) == len([n for n in errors.__all__ if n not in ("ChariotsError", "ChariotsWarning")])


@pytest.mark.parametrize("error_class", PUBLIC_ERRORS, ids=lambda error_class: error_class.__name__)
def test_a_public_error_comes_back_as_itself_with_its_message(side, error_class):
    message = f"{error_class.__name__} raised in a view: node 'pca' of pipeline 'train', \"quoted\", ünïcode"
    side.raiser.error = error_class(message)
    with pytest.raises(error_class) as raised:
        side.call()
    assert type(raised.value) is error_class
    assert str(raised.value) == message
    assert side.status() == error_class.status_code


def test_the_notes_of_an_error_travel_with_its_message(side):
    error = errors.PipelineError("the output of node 'x' is missing")
    error.add_note("raised by node 'x' of pipeline 'p'")
    side.raiser.error = error
    with pytest.raises(errors.PipelineError) as raised:
        side.call()
    assert str(raised.value) == "the output of node 'x' is missing; raised by node 'x' of pipeline 'p'"


def test_the_root_error_comes_back_as_a_backend_error_naming_it(side):
    side.raiser.error = errors.ChariotsError("something of ours")
    with pytest.raises(errors.BackendError) as raised:
        side.call()
    assert str(raised.value) == "ChariotsError: something of ours"
    assert side.status() == 500


@pytest.mark.parametrize(
    "error, text",
    [
        (ZeroDivisionError("division by zero"), "ZeroDivisionError: division by zero"),
        (FarAwayError("the model exploded"), "FarAwayError: the model exploded"),
    ],
    ids=["builtin", "own-class"],
)
def test_an_unknown_exception_type_comes_back_naming_the_type(side, error, text):
    side.raiser.error = error
    if side.server == "pipelines":
        expected, message = errors.BackendError, text
    else:  # the op store turns any exception of its own code into an OpStoreError naming the route
        expected, message = errors.OpStoreError, f"the op store failed on GET /pipelines: {text}"
    with pytest.raises(expected) as raised:
        side.call()
    assert type(raised.value) is expected
    assert str(raised.value) == message
    assert side.status() == 500


def test_a_foreign_exception_sharing_a_chariots_name_is_not_taken_for_ours(side):
    side.raiser.error = NotFoundError("index 'models' is missing")
    with pytest.raises(errors.ChariotsError) as raised:
        side.call()
    assert not isinstance(raised.value, errors.NotFoundError)
    assert "NotFoundError: index 'models' is missing" in str(raised.value)


@pytest.mark.parametrize(
    "status, body, content_type, expected, text",
    [
        (502, "<html><body>Bad Gateway</body></html>", "text/html", errors.BackendError,
         "<html><body>Bad Gateway</body></html>"),
        (404, "no such thing", "text/plain", errors.NotFoundError, "no such thing"),
        (401, "login first", "text/plain", errors.AuthenticationError, "login first"),
        (503, "", "text/plain", errors.ServiceUnavailableError, "no body"),
        (409, '{"detail": "conflict"}', "application/json", errors.VersionError, '{"detail": "conflict"}'),
        (400, '["not", "an", "object"]', "application/json", errors.BadRequestError, '["not", "an", "object"]'),
    ],
    ids=["html-502", "text-404", "text-401", "empty-503", "json-without-error-409", "json-list-400"],
)
def test_an_error_body_that_is_not_a_chariots_error(side, status, body, content_type, expected, text):
    side.raiser.answer = flask.Response(body, status=status, content_type=content_type)
    with pytest.raises(expected) as raised:
        side.call()
    assert type(raised.value) is expected
    assert str(raised.value) == f"{side.what} answered {status} without a Chariots error: {text}"
    assert side.status() == status


def test_an_error_body_naming_a_type_chariots_does_not_know_follows_its_status(side):
    side.raiser.answer = ({"error": {"type": "TeapotError", "message": "short and stout"}}, 409)
    with pytest.raises(errors.VersionError) as raised:
        side.call()
    assert str(raised.value) == "short and stout"


def test_a_connection_error_in_a_view_is_a_503(side):
    side.raiser.error = ConnectionError("redis at 127.0.0.1:6379 refused the connection")
    with pytest.raises(errors.ServiceUnavailableError) as raised:
        side.call()
    service = "pipelines server" if side.server == "pipelines" else "op store"
    assert str(raised.value) == (
        f"a backing service of the {service} cannot be reached: redis at 127.0.0.1:6379 refused the connection"
    )
    assert side.status() == 503
