"""An op store living in this process: the client calls the op store service directly."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

from chariots._signing import KeySource
from chariots._transport import WSGITransport
from chariots.op_store._fleet_client import EmbeddedFleetMixin
from chariots.op_store._op_store import OpStoreServer
from chariots.op_store._op_store_client import BaseOpStoreClient
from chariots.op_store.savers import BaseSaver

if TYPE_CHECKING:
    from chariots.pipelines import OpState, Pipeline, StateRecord
    from chariots.versioning import Version

__all__ = ["EmbeddedOpStoreClient"]


class EmbeddedOpStoreClient(EmbeddedFleetMixin, BaseOpStoreClient):
    """An op store client whose store lives in this process, on files under ``path``.

    The store operations go straight to the op store service (no socket, no WSGI, no version
    strings); :meth:`request` still reaches any route through the server's app in process. One
    process holds the whole application. Two embedded clients on the same ``path`` share the
    same store, and an :class:`~chariots.op_store.OpStoreServer` started later on the same
    files sees it too.

    :param path: the directory holding the SQLite database and, by default, the saved ops
    :param saver: the saver to use instead of a ``FileSaver(path)``
    :param secret_key: the key signing the bytes of states (None: ``CHARIOTS_SECRET_KEY``, else the
                       file ``secret_key`` under ``path``, created once with mode 0600)
    :param old_secret_keys: keys of earlier rotations, still accepted when loading
    """

    def __init__(self, path: str, saver: Optional[BaseSaver] = None, secret_key: Optional[str] = None,
                 old_secret_keys: Optional[List[str]] = None):
        self.path = os.path.abspath(os.fspath(path))
        self._saver = saver
        self.server = OpStoreServer.embedded(self.path, saver)
        self.service = self.server.service
        super().__init__(WSGITransport(self.server.flask, "op store"),
                         KeySource(secret_key, old_secret_keys, key_dir=self.path))

    def __reduce__(self):
        # a worker process rebuilds the client on the same files (used by RQ jobs)
        return type(self), (self.path, self._saver)

    def health_check(self) -> Dict[str, Any]:
        """``{"status": "ok"}`` once the database answers."""
        return self.service.health_check()

    def get_all_versions_of_op(self, op_name: str) -> List["Version"]:
        """Every saved version of an op, oldest first."""
        return self.service.get_all_versions_of_op(op_name)

    def get_op_bytes_for_version(self, op_name: str, version: "Version") -> bytes:
        """The bytes saved for one version of an op."""
        # the data part is read straight into the bytes returned, the signature apart
        with self.service.open_op_bytes(op_name, version) as stream:
            return self.signing_keys.unsign_state_file(op_name, version, stream)

    def save_op_bytes(self, op_name: str, version: "Version", op_bytes: bytes) -> None:
        """Saves the bytes of one version of an op, then records the version."""
        self.service.save_op_bytes(op_name, version, self.signing_keys.sign_state(op_name, version, op_bytes))

    def get_op_states(self, op_name: str) -> List["OpState"]:
        """Every saved state of an op with its lineage, oldest first."""
        return self.service.get_op_states(op_name)

    def upload_op_bytes(self, op_name: str, version: "Version", op_bytes: bytes) -> None:
        """Writes the bytes of a state; listed once :meth:`commit_save` records it."""
        self.service.upload_op_bytes(op_name, version, self.signing_keys.sign_state(op_name, version, op_bytes))

    def commit_save(self, pipeline_name: Optional[str], node_names: List[str], states: List["StateRecord"]) -> None:
        """Records uploaded states, their lineage and the pipeline in one transaction."""
        self.service.commit_save(pipeline_name, node_names, states)

    def register_valid_link(
        self,
        downstream_op: str,
        upstream_op: str,
        upstream_op_version: "Version",
        downstream_op_version: Optional["Version"] = None,
    ) -> None:
        """Records that a saved state of ``downstream_op`` may run behind that upstream version."""
        self.service.register_valid_link(downstream_op, upstream_op, upstream_op_version, downstream_op_version)

    def get_validated_links(
        self, downstream_op: str, upstream_op: str, downstream_op_version: Optional["Version"] = None
    ) -> Set["Version"]:
        """The upstream versions the downstream op's states (or one state) may run behind."""
        return self.service.get_validated_links(downstream_op, upstream_op, downstream_op_version)

    def pipeline_exists(self, pipeline_name: str) -> bool:
        """Whether a pipeline of that name was ever registered or saved."""
        return self.service.pipeline_exists(pipeline_name)

    def register_new_pipeline(self, pipeline: "Pipeline") -> None:
        """Records a pipeline's name and the names of its nodes."""
        self.service.register_new_pipeline(pipeline)

    def get_all_pipelines(self) -> List[str]:
        """The names of every pipeline the store has seen."""
        return self.service.pipeline_names()

    def close(self) -> None:
        """Closes the database connections."""
        self.server.close()

    def __repr__(self) -> str:
        return f"EmbeddedOpStoreClient({self.path!r})"
