"""Clients of the op store: the store protocol over any transport, and the HTTP client."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple, Union
from urllib.parse import quote

from chariots import errors
from chariots._manifest import STATE_TAIL_BYTES
from chariots._signing import KeySource, SigningKeys
from chariots._transport import HTTPTransport, Transport
from chariots._wire import RawResponse, error_from_response
from chariots.op_store._fleet_client import FleetClientMixin
from chariots.op_store._names import check_node_name, check_op_name
from chariots.op_store._records import record_to_json, state_from_json
from chariots.pipelines import OpState, StateRecord
from chariots.versioning import Version

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

__all__ = ["BaseOpStoreClient", "OpStoreClient", "RawResponse"]


class BaseOpStoreClient(FleetClientMixin):
    """The op store operations pipelines and nodes use, over any transport.

    This class builds the routes, encodes names and versions, and turns the server's JSON errors
    back into :mod:`chariots.errors` exceptions with the server's message; the transport only
    carries requests (:class:`OpStoreClient` over HTTP, ``TestOpStoreClient`` into an app in
    process). Op names are checked before anything is sent.

    The bytes of every state are signed on their way in and checked on their way out (see
    :mod:`chariots._signing`): bytes nobody holding the secret key wrote are refused with a
    :class:`~chariots.errors.SignatureError` before anything reads them.

    :param transport: how requests reach the op store
    :param key_source: the secret keys (by default: ``CHARIOTS_SECRET_KEY``, else the user's key file)
    """

    def __init__(self, transport: Transport, key_source: Optional[KeySource] = None):
        self._transport = transport
        self._key_source = key_source if key_source is not None else KeySource()

    @property
    def signing_keys(self) -> SigningKeys:
        """the keys signing and checking the bytes of states"""
        return self._key_source.keys

    def request(
        self,
        method: str,
        route: str,
        json_body: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
        split_tail: int = 0,
    ) -> RawResponse:
        """Sends one request to the op store and returns its raw answer, whatever its status.

        :param method: the HTTP method
        :param route: the route, already URL-encoded (``/ops/my_op/versions``)
        :param json_body: a body to send as JSON
        :param data: raw bytes to send as an ``application/octet-stream`` body
        :param params: query string parameters
        :param split_tail: how many of the body's last bytes to read apart (see :class:`Transport`)
        :raises ServiceUnavailableError: if the op store cannot be reached
        """
        return self._transport.send(method, route, json=json_body, data=data, params=params, split_tail=split_tail)

    # ------------------------------------------------------------------ generic requests

    def post(self, route: str, arguments_json: Any) -> Any:
        """Posts a JSON body to a route of the op store and returns the decoded JSON answer.

        :param route: the route (``/validated_links`` for instance)
        :param arguments_json: the JSON-serializable body
        :raises ChariotsError: (the matching subclass) when the op store answers an error
        :returns: the decoded JSON answer
        """
        return self._json("POST", route, json_body=arguments_json)

    def health_check(self) -> Dict[str, Any]:
        """Checks that the op store and its database answer.

        :raises ServiceUnavailableError: if either does not
        :returns: the server's status (``{"status": "ok"}``)
        """
        return self._json("GET", "/health_check")

    def _json(self, method: str, route: str, **kwargs: Any) -> Any:
        response = self._checked(method, route, **kwargs)
        try:
            return json.loads(response.body) if response.body else None
        except ValueError as exc:
            raise errors.OpStoreError(
                f"the op store answered {method} {route} with a body that is not JSON: {response.body[:200]!r}"
            ) from exc

    def _checked(self, method: str, route: str, **kwargs: Any) -> RawResponse:
        response = self.request(method, route, **kwargs)
        if response.status >= 400:
            raise error_from_response(response, f"the op store ({method} {route})")
        return response

    # ------------------------------------------------------------------ the store protocol

    def get_all_versions_of_op(self, op_name: str) -> List[Version]:
        """Every saved version of an op (empty when it was never saved), oldest first.

        :param op_name: the op's name
        :raises InvalidNameError: if the name could not be a saver path
        """
        check_op_name(op_name)
        body = self._json("GET", f"/ops/{_quote(op_name)}/versions")
        return [Version.parse(version) for version in body["versions"]]

    def get_op_bytes_for_version(self, op_name: str, version: Version) -> bytes:
        """The bytes saved for one version of an op.

        :param op_name: the op's name
        :param version: the version to fetch
        :raises NotFoundError: if the op or that version was never saved
        """
        check_op_name(op_name)
        # the signature read apart from the data over HTTP: the data is handed out without a copy
        response = self._checked("GET", _bytes_route(op_name, version), split_tail=STATE_TAIL_BYTES)
        return self.signing_keys.unsign_state_parts(op_name, version, response.body, response.tail)

    def save_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        """Saves the bytes of one version of an op; the store records the version once they are saved.

        :param op_name: the op's name
        :param version: the version the bytes belong to
        :param op_bytes: the serialized op, sent as a raw binary body
        """
        self._put_state(op_name, version, op_bytes, "versions")

    def _put_state(self, op_name: str, version: Version, op_bytes: bytes, kind: str) -> None:
        check_op_name(op_name)
        signed = self.signing_keys.sign_state(op_name, version, _as_bytes(op_name, op_bytes))
        self._checked("PUT", _bytes_route(op_name, version, kind), data=signed)

    def get_op_states(self, op_name: str) -> List[OpState]:
        """Every saved state of an op with its lineage, oldest first (empty when never saved).

        :param op_name: the op's name
        """
        check_op_name(op_name)
        body = self._json("GET", f"/ops/{_quote(op_name)}/states")
        return [state_from_json(state) for state in body["states"]]

    def upload_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        """Uploads the bytes of a state; the store lists it once :meth:`commit_save` records it.

        :param op_name: the op's name
        :param version: the version the bytes belong to
        :param op_bytes: the serialized op, sent as a raw binary body
        """
        self._put_state(op_name, version, op_bytes, "uploads")

    def commit_save(self, pipeline_name: Optional[str], node_names: List[str], states: List[StateRecord]) -> None:
        """Records uploaded states, their lineage and the pipeline in one op store transaction.

        :param pipeline_name: the pipeline saved (None: record no pipeline)
        :param node_names: the names of its nodes
        :param states: the states whose bytes were uploaded
        :raises OpIdentityError: if a state's class differs from the class its op name holds
        """
        body = {
            "pipeline_name": pipeline_name,
            "node_names": list(node_names),
            "states": [record_to_json(state) for state in states],
        }
        self._json("POST", "/saves", json_body=body)

    def register_valid_link(
        self,
        downstream_op: str,
        upstream_op: str,
        upstream_op_version: Version,
        downstream_op_version: Optional[Version] = None,
    ) -> None:
        """Records that a saved state of ``downstream_op`` may run behind that version of
        ``upstream_op``, as if it had been trained behind it.

        :param downstream_op_version: the state (the newest saved one when None)
        :raises NotFoundError: if the downstream op (or that version) was never saved
        """
        body = {
            "downstream_op": check_node_name(downstream_op, "downstream op name"),
            "upstream_op": check_node_name(upstream_op, "upstream op name"),
            "upstream_op_version": str(upstream_op_version),
        }
        if downstream_op_version is not None:
            body["downstream_op_version"] = str(downstream_op_version)
        self._json("POST", "/validated_links", json_body=body)

    def get_validated_links(
        self, downstream_op: str, upstream_op: str, downstream_op_version: Optional[Version] = None
    ) -> Set[Version]:
        """The upstream versions the downstream op's states (or one state) may run behind."""
        params = {
            "downstream_op": check_node_name(downstream_op, "downstream op name"),
            "upstream_op": check_node_name(upstream_op, "upstream op name"),
        }
        if downstream_op_version is not None:
            params["downstream_op_version"] = str(downstream_op_version)
        body = self._json("GET", "/validated_links", params=params)
        return {Version.parse(version) for version in body["versions"]}

    def pipeline_exists(self, pipeline_name: str) -> bool:
        """Whether a pipeline of that name was ever registered or saved."""
        check_node_name(pipeline_name, "pipeline name")
        try:
            self._json("GET", f"/pipelines/{_quote(pipeline_name)}")
        except errors.NotFoundError:
            return False
        return True

    def register_new_pipeline(self, pipeline: "Pipeline") -> None:
        """Records a pipeline's name and the names of its nodes."""
        self._json(
            "POST",
            "/pipelines",
            json_body={
                "pipeline_name": check_node_name(pipeline.name, "pipeline name"),
                "node_names": [node.name for node in pipeline.pipeline_nodes],
            },
        )

    def get_all_pipelines(self) -> List[str]:
        """The names of every pipeline the store has seen."""
        return list(self._json("GET", "/pipelines")["pipelines"])

    def close(self) -> None:
        """Releases what the transport holds (pooled connections)."""
        close = getattr(self._transport, "close", None)
        if close is not None:
            close()


class OpStoreClient(BaseOpStoreClient):
    """Client used to query an :class:`~chariots.op_store.OpStoreServer` over HTTP.

    It keeps a pooled ``requests.Session``, sends model bytes as raw binary bodies, and
    raises the :mod:`chariots.errors` exception matching the server's answer.

    >>> op_store_client = OpStoreClient("http://127.0.0.1:5000")  # doctest: +SKIP

    :param url: the base URL of the op store server
    :param auth_token: the bearer token, when the server requires one
    :param timeout: seconds to wait to connect and between two reads (a ``requests`` timeout)
    :param pool_size: how many connections to keep open to the server
    :param secret_key: the key signing the bytes of states (None: ``CHARIOTS_SECRET_KEY``, else the
                       user's key file, see :mod:`chariots._signing`)
    :param old_secret_keys: keys of earlier rotations, still accepted when loading

    Pickled into a worker's job, the client keeps only its URL and timeout: the worker takes
    the token from its own ``CHARIOTS_OP_STORE_AUTH_TOKEN`` and the keys from its own configuration.
    """

    def __init__(
        self,
        url: str,
        auth_token: Optional[str] = None,
        timeout: Union[float, Tuple[float, float], None] = (10.0, 600.0),
        pool_size: int = 10,
        secret_key: Optional[str] = None,
        old_secret_keys: Optional[List[str]] = None,
    ):
        if auth_token is not None and not auth_token.strip():
            raise errors.ConfigError("the op store auth_token is empty: give the server's token, or None for no token")
        transport = HTTPTransport(url, "op store", auth_token=auth_token, timeout=timeout, pool_size=pool_size)
        super().__init__(transport, KeySource(secret_key, old_secret_keys))
        self.url = transport.base_url
        self.timeout = timeout

    def __reduce__(self):
        # no token nor key in a pickle (an RQ job): the worker takes them from its own configuration
        return _client_from_worker_configuration, (self.url, self.timeout)

    def __repr__(self) -> str:
        return f"OpStoreClient({self.url!r})"


#: where a worker finds the op store token of the clients its jobs name
OP_STORE_TOKEN_ENV = "CHARIOTS_OP_STORE_AUTH_TOKEN"


def _client_from_worker_configuration(url: str, timeout: Any) -> "OpStoreClient":
    """The client a job names, rebuilt with this process's own token and keys."""
    import os

    return OpStoreClient(url, auth_token=os.environ.get(OP_STORE_TOKEN_ENV) or None, timeout=timeout)


def _quote(name: str) -> str:
    return quote(name, safe="")


def _bytes_route(op_name: str, version: Version, kind: str = "versions") -> str:
    if not isinstance(version, Version):
        raise TypeError(f"expected a Version for op {op_name!r}, got {version!r}")
    return f"/ops/{_quote(op_name)}/{kind}/{_quote(str(version))}"


def _as_bytes(op_name: str, op_bytes: Any) -> bytes:
    if not isinstance(op_bytes, (bytes, bytearray, memoryview)):
        raise TypeError(f"op {op_name!r} must serialize to bytes, got {type(op_bytes).__name__}")
    return op_bytes.tobytes() if isinstance(op_bytes, memoryview) else bytes(op_bytes)
