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
    and getattr(errors, name) is not errors.OpError  # an op's own error, wrapped: see its own tests
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
    server.flask.view_functions["pipeline_names"] = raiser.view
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


#: the errors whose message a server answers as it is (4xx: what the caller did wrong)
CLIENT_ERRORS = [error_class for error_class in PUBLIC_ERRORS if error_class.status_code < 500]
#: the errors of a server or a backing service (5xx): their class travels, their message stays in the log
SERVER_ERRORS = [error_class for error_class in PUBLIC_ERRORS if error_class.status_code >= 500]


def public(side: Side, request_id: str, what: str = "") -> str:
    """The message of a 5xx answer: what failed and where its log line is."""
    service = "pipelines server" if side.server == "pipelines" else "op store"
    route = "/available_pipelines" if side.server == "pipelines" else "/pipelines"
    return f"{what or f'the {service} failed on GET {route}'}: see the {service}'s log (request id {request_id})"


def test_every_public_error_class_is_covered():
    names = {error.__name__ for error in PUBLIC_ERRORS}
    assert {"VersionError", "NotFoundError", "BadRequestError", "ServiceUnavailableError", "ConfigError"} <= names
    unlisted = ("ChariotsError", "ChariotsWarning", "OpError")
    assert len(PUBLIC_ERRORS) == len([name for name in errors.__all__ if name not in unlisted])
    assert {"BackendError", "OpStoreError", "ServiceUnavailableError"} <= {e.__name__ for e in SERVER_ERRORS}


@pytest.mark.parametrize("error_class", CLIENT_ERRORS, ids=lambda error_class: error_class.__name__)
def test_a_client_error_comes_back_as_itself_with_its_message(side, error_class):
    message = f"{error_class.__name__} raised in a view: node 'pca' of pipeline 'train', \"quoted\", ünïcode"
    side.raiser.error = error_class(message)
    with pytest.raises(error_class) as raised:
        side.call()
    assert type(raised.value) is error_class
    assert str(raised.value) == message
    assert side.status() == error_class.status_code


@pytest.mark.parametrize("error_class", SERVER_ERRORS, ids=lambda error_class: error_class.__name__)
def test_a_server_error_comes_back_as_itself_with_a_public_message_and_the_request_id(side, error_class, caplog):
    message = f"{error_class.__name__} raised in a view: the file /srv/secret/db.sqlite at 10.0.0.7:5432"
    side.raiser.error = error_class(message)
    with pytest.raises(error_class) as raised:
        side.call()
    assert type(raised.value) is error_class
    request_id = raised.value.request_id
    what = None
    if error_class is errors.ServiceUnavailableError:
        what = f"a backing service of the {'pipelines server' if side.server == 'pipelines' else 'op store'} " \
               "cannot be reached"
    elif error_class is errors.OverloadedError:
        what = "this server is overloaded, retry later"
    assert str(raised.value) == public(side, request_id, what)
    assert "/srv/secret" not in str(raised.value) and "10.0.0.7" not in str(raised.value)
    # the server's log line under the same id has the whole message
    assert any(request_id in record.getMessage() and message in record.getMessage() for record in caplog.records)
    assert side.status() == error_class.status_code


def test_an_error_carrying_a_public_message_answers_it(side):
    from chariots._wire import with_public_message

    side.raiser.error = with_public_message(errors.ServiceUnavailableError("redis at 10.0.0.7:6379 refused"),
                                            "Redis is unreachable")
    with pytest.raises(errors.ServiceUnavailableError) as raised:
        side.call()
    assert str(raised.value) == public(side, raised.value.request_id, "Redis is unreachable")


def test_the_notes_of_an_error_travel_with_its_message(side):
    error = errors.PipelineError("the output of node 'x' is missing")
    error.add_note("raised by node 'x' of pipeline 'p'")
    side.raiser.error = error
    with pytest.raises(errors.PipelineError) as raised:
        side.call()
    assert str(raised.value) == "the output of node 'x' is missing; raised by node 'x' of pipeline 'p'"


def test_an_op_error_keeps_its_type_and_message_and_carries_the_request_id(side):
    if side.server == "pipelines":  # what a pipeline run raises when an op fails
        error = errors.OpError(FarAwayError("the model exploded"), "model", "predict")
    else:
        error = FarAwayError("the model exploded")
        error.add_note("while running node 'model' of pipeline 'predict'")
    side.raiser.error = error
    with pytest.raises(errors.ChariotsError) as raised:
        side.call()
    assert len(raised.value.request_id) == 32
    if side.server == "pipelines":
        assert type(raised.value) is errors.BackendError
        assert str(raised.value) == "FarAwayError: the model exploded; while running node 'model' of pipeline 'predict'"
    else:  # the op store runs no op: any exception of its code is its own failure
        assert type(raised.value) is errors.OpStoreError
        assert str(raised.value) == public(side, raised.value.request_id,
                                           "the op store failed on GET /pipelines with an unexpected FarAwayError")
    assert side.status() == 500


def test_the_root_error_comes_back_as_a_backend_error_naming_it(side):
    side.raiser.error = errors.ChariotsError("something of ours at /srv/secret")
    with pytest.raises(errors.BackendError) as raised:
        side.call()
    assert str(raised.value) == f"ChariotsError: {public(side, raised.value.request_id)}"
    assert side.status() == 500


@pytest.mark.parametrize(
    "error, name",
    [(ZeroDivisionError("division by zero"), "ZeroDivisionError"),
     (FarAwayError("the model exploded"), "FarAwayError")],
    ids=["builtin", "own-class"],
)
def test_an_unknown_exception_type_comes_back_naming_the_type(side, error, name):
    side.raiser.error = error
    with pytest.raises(errors.ChariotsError) as raised:
        side.call()
    request_id = raised.value.request_id
    if side.server == "pipelines":
        assert type(raised.value) is errors.BackendError
        assert str(raised.value) == f"{name}: {public(side, request_id)}"
    else:  # the op store turns any exception of its own code into an OpStoreError naming the route and type
        assert type(raised.value) is errors.OpStoreError
        assert str(raised.value) == public(side, request_id, f"the op store failed on GET /pipelines with an "
                                                             f"unexpected {name}")
    assert "division by zero" not in str(raised.value) and "exploded" not in str(raised.value)
    assert side.status() == 500


def test_a_foreign_exception_sharing_a_chariots_name_is_not_taken_for_ours(side):
    side.raiser.error = NotFoundError("index 'models' is missing")
    with pytest.raises(errors.ChariotsError) as raised:
        side.call()
    assert not isinstance(raised.value, errors.NotFoundError)
    assert "NotFoundError" in str(raised.value) and "index 'models'" not in str(raised.value)


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
    # the answer names no host or port: the server's log line, under the same request id, does
    assert str(raised.value) == (
        f"a backing service of the {service} cannot be reached: see the {service}'s log "
        f"(request id {raised.value.request_id})"
    )
    assert side.status() == 503
