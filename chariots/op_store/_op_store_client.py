"""The op store client: every store operation once, over a backend (HTTP, or the service in process).

Names are checked, states signed and checked, and values converted here, whatever carries the
calls: :class:`OpStoreClient` talks HTTP to an :class:`~chariots.op_store.OpStoreServer`,
:class:`~chariots.op_store.EmbeddedOpStoreClient` calls the op store service of its own process,
and ``TestOpStoreClient`` sends HTTP requests into an app in process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple, Union

from chariots import errors
from chariots._signing import KeySource, SigningKeys
from chariots._transport import HTTPTransport
from chariots._wire import RawResponse, error_from_response
from chariots.op_store._backends import Backend, HTTPBackend, decode_json_answer
from chariots.op_store._names import check_node_name, check_op_name
from chariots.pipelines import Generation, OpState, StateRecord
from chariots.versioning import Version

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

__all__ = ["BaseOpStoreClient", "OpStoreClient", "RawResponse"]


class BaseOpStoreClient:
    """The op store operations pipelines, nodes and servers use, over a backend.

    This class names the operations, checks names before anything is sent, signs the bytes of
    every state on their way in and checks them on their way out (see :mod:`chariots._signing`:
    bytes nobody holding the secret key wrote are refused with a
    :class:`~chariots.errors.SignatureError` before anything reads them), and raises the
    :mod:`chariots.errors` exception matching the store's answer. The backend only carries the
    calls (:mod:`chariots.op_store._backends`).

    :param backend: where the calls go (an :class:`HTTPBackend` over a transport, or a
                    ``ServiceBackend``; a transport alone is taken as HTTP)
    :param key_source: the secret keys (by default: ``CHARIOTS_SECRET_KEY``, else the user's key file)
    """

    def __init__(self, backend: Any, key_source: Optional[KeySource] = None):
        self._backend: Backend = backend if hasattr(backend, "call") else HTTPBackend(backend)
        self._key_source = key_source if key_source is not None else KeySource()

    @property
    def signing_keys(self) -> SigningKeys:
        """the keys signing and checking the bytes of states"""
        return self._key_source.keys

    @property
    def key_source(self) -> KeySource:
        """where :attr:`signing_keys` come from (what a worker pool serving this store's app adopts)"""
        return self._key_source

    def _call(self, endpoint: str, **arguments: Any) -> Any:
        return self._backend.call(endpoint, **arguments)

    # ------------------------------------------------------------------ raw requests

    def request(
        self,
        method: str,
        route: str,
        json_body: Any = None,
        data: Optional[bytes] = None,
        params: Optional[Mapping[str, str]] = None,
        split_tail: int = 0,
    ) -> RawResponse:
        """Sends one request to the op store's routes and returns its raw answer, whatever its status.

        :param method: the HTTP method
        :param route: the route, already URL-encoded (``/ops/my_op/versions``)
        :param json_body: a body to send as JSON
        :param data: raw bytes to send as an ``application/octet-stream`` body
        :param params: query string parameters
        :param split_tail: how many of the body's last bytes to read apart (see :class:`Transport`)
        :raises ServiceUnavailableError: if the op store cannot be reached
        """
        return self._backend.request(method, route, json=json_body, data=data, params=params, split_tail=split_tail)

    def post(self, route: str, arguments_json: Any) -> Any:
        """Posts a JSON body to a route of the op store and returns the decoded JSON answer.

        :param route: the route (``/validated_links`` for instance)
        :param arguments_json: the JSON-serializable body
        :raises ChariotsError: (the matching subclass) when the op store answers an error
        :returns: the decoded JSON answer
        """
        response = self.request("POST", route, json_body=arguments_json)
        if response.status >= 400:
            raise error_from_response(response, f"the op store (POST {route})")
        return decode_json_answer(response, f"POST {route}")

    def health_check(self) -> Dict[str, Any]:
        """Checks that the op store and its database answer.

        :raises ServiceUnavailableError: if either does not
        :returns: the server's status (``{"status": "ok"}``)
        """
        return self._call("health_check")

    # ------------------------------------------------------------------ versions and bytes

    def get_all_versions_of_op(self, op_name: str) -> List[Version]:
        """Every saved version of an op (empty when it was never saved), oldest first.

        :param op_name: the op's name
        :raises InvalidNameError: if the name could not be a saver path
        """
        return self._call("get_all_versions_of_op", op_name=check_op_name(op_name))

    def get_op_bytes_for_version(self, op_name: str, version: Version) -> bytes:
        """The bytes saved for one version of an op, their signature checked.

        :param op_name: the op's name
        :param version: the version to fetch
        :raises NotFoundError: if the op or that version was never saved
        :raises SignatureError: if the bytes carry no valid signature for that op and version
        """
        answer = self._call("open_op_bytes", op_name=check_op_name(op_name), version=_checked_version(op_name, version))
        if isinstance(answer, RawResponse):  # over HTTP: the signature was read apart from the data
            return self.signing_keys.unsign_state_parts(op_name, version, answer.body, answer.tail)
        with answer:  # in process: the data is read straight into the bytes returned
            return self.signing_keys.unsign_state_file(op_name, version, answer)

    def save_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        """Saves the bytes of one version of an op; the store records the version once they are saved.

        :param op_name: the op's name
        :param version: the version the bytes belong to
        :param op_bytes: the serialized op, sent as a raw binary body
        :raises ConflictError: if that version is already stored (versions are immutable)
        """
        self._call("save_op_stream", op_name=check_op_name(op_name), version=_checked_version(op_name, version),
                   stream=self._signed(op_name, version, op_bytes))

    def upload_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        """Uploads the bytes of a state; the store lists it once :meth:`commit_save` records it.

        :param op_name: the op's name
        :param version: the version the bytes belong to
        :param op_bytes: the serialized op, sent as a raw binary body
        """
        self._call("upload_op_stream", op_name=check_op_name(op_name), version=_checked_version(op_name, version),
                   stream=self._signed(op_name, version, op_bytes))

    def _signed(self, op_name: str, version: Version, op_bytes: Any) -> bytes:
        if not isinstance(op_bytes, (bytes, bytearray, memoryview)):
            raise TypeError(f"op {op_name!r} must serialize to bytes, got {type(op_bytes).__name__}")
        return self.signing_keys.sign_state(op_name, version, op_bytes)

    def get_op_states(self, op_name: str) -> List[OpState]:
        """Every saved state of an op with its lineage, oldest first (empty when never saved).

        :param op_name: the op's name
        """
        return self._call("get_op_states", op_name=check_op_name(op_name))

    def get_states(self, op_names: List[str]) -> Dict[str, List[OpState]]:
        """Every saved state of each op, oldest first, by op name, in one request.

        :param op_names: the ops' names
        """
        names = [check_op_name(name) for name in op_names]
        if not names:
            return {}
        return self._call("get_states", op_names=names)

    def commit_save(self, pipeline_name: Optional[str], node_names: List[str], states: List[StateRecord]) -> None:
        """Records uploaded states, their lineage and the pipeline in one op store transaction.

        :param pipeline_name: the pipeline saved (None: record no pipeline)
        :param node_names: the names of its nodes
        :param states: the states whose bytes were uploaded
        :raises MissingStateBytesError: if the bytes of a state were not uploaded
        :raises OpIdentityError: if a state's class differs from the class its op name holds
        """
        self._call("commit_save", pipeline_name=pipeline_name, node_names=list(node_names), states=list(states))

    # ------------------------------------------------------------------ links

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
        self._call("register_valid_link", downstream_op=check_node_name(downstream_op, "downstream op name"),
                   upstream_op=check_node_name(upstream_op, "upstream op name"),
                   upstream_op_version=upstream_op_version, downstream_op_version=downstream_op_version)

    def get_validated_links(
        self, downstream_op: str, upstream_op: str, downstream_op_version: Optional[Version] = None
    ) -> Set[Version]:
        """The upstream versions the downstream op's states (or one state) may run behind."""
        return set(self._call("validated_links", downstream_op=check_node_name(downstream_op, "downstream op name"),
                              upstream_op=check_node_name(upstream_op, "upstream op name"),
                              downstream_op_version=downstream_op_version))

    # ------------------------------------------------------------------ pipelines

    def pipeline_exists(self, pipeline_name: str) -> bool:
        """Whether a pipeline of that name was ever registered or saved."""
        try:
            self._call("get_pipeline", pipeline_name=check_node_name(pipeline_name, "pipeline name"))
        except errors.NotFoundError:
            return False
        return True

    def register_new_pipeline(self, pipeline: "Pipeline") -> None:
        """Records a pipeline's name and the names of its nodes."""
        self._call("record_pipeline", pipeline_name=check_node_name(pipeline.name, "pipeline name"),
                   node_names=[node.name for node in pipeline.pipeline_nodes])

    def get_all_pipelines(self) -> List[str]:
        """The names of every pipeline the store has seen."""
        return self._call("pipeline_names")

    # ------------------------------------------------------------------ served generations

    def record_generation(self, pipeline_name: str, versions: Dict[str, Version]) -> Generation:
        """Records the versions a load checked as the pipeline's next served generation.

        :param pipeline_name: the pipeline loaded
        :param versions: op name -> version, each one stored
        :raises NotFoundError: if a version is not stored
        :returns: the recorded generation
        """
        return self._call("record_generation", pipeline_name=check_node_name(pipeline_name, "pipeline name"),
                          versions=dict(versions))

    def latest_generation(self, pipeline_name: str) -> Optional[Generation]:
        """The newest served generation of a pipeline, with the stored state of each version it
        names (None: no load was ever recorded)."""
        try:
            return self._call("latest_generation", pipeline_name=check_node_name(pipeline_name, "pipeline name"))
        except errors.NotFoundError:
            return None

    def generation_numbers(self) -> Dict[str, int]:
        """The newest generation number of every pipeline ever loaded (one cheap request)."""
        return self._call("generation_numbers")

    # ------------------------------------------------------------------ staged trainings

    def stage_training(self, pipeline_name: str, node_names: List[str], states: List[StateRecord]) -> None:
        """Stages the states of a training run whose bytes were uploaded, for any process's save."""
        self._call("stage_training", pipeline_name=check_node_name(pipeline_name, "pipeline name"),
                   node_names=list(node_names), states=list(states))

    def commit_staged_training(self, pipeline_name: str) -> Optional[List[StateRecord]]:
        """Commits the pipeline's newest staged training (None: it was committed already, or none was staged)."""
        return self._call("commit_staged_training", pipeline_name=check_node_name(pipeline_name, "pipeline name"))

    def close(self) -> None:
        """Releases what the backend holds (pooled connections, database connections)."""
        self._backend.close()


def _checked_version(op_name: str, version: Any) -> Version:
    if not isinstance(version, Version):
        raise TypeError(f"expected a Version for op {op_name!r}, got {version!r}")
    return version


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
        super().__init__(HTTPBackend(transport), KeySource(secret_key, old_secret_keys))
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
