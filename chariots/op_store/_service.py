"""The op store as a plain object: bytes to the saver first, then versions, links and pipelines
to the database. No HTTP here: the Flask server translates requests into these calls, and the
embedded client calls them directly."""

from __future__ import annotations

import io
import logging
import os
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, List, Optional, Set

from chariots._wire import with_public_message
from chariots.errors import BadRequestError, ChariotsError, ConflictError, NotFoundError, OpStoreError
from chariots.op_store import _repository as repository
from chariots.op_store._database import OpStoreDatabase
from chariots.op_store._fleet import FleetServiceMixin, commit_records
from chariots.op_store._names import check_node_name, check_op_name, op_bytes_path
from chariots.op_store.savers import BaseSaver
from chariots.pipelines import OpState, StateRecord
from chariots.versioning import Version

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

__all__ = ["OpStoreService"]

logger = logging.getLogger("chariots.op_store")


class OpStoreService(FleetServiceMixin):
    """Saves and loads op bytes and keeps the versions, validated links and pipelines.

    Its methods are the op store protocol pipelines use (``get_all_versions_of_op``,
    ``save_op_bytes`` ...) plus what the server needs to stream bytes. Names are checked
    before anything is read or written.

    :param saver: where the bytes of the ops go
    :param database: the database of versions, links and pipelines
    """

    def __init__(self, saver: BaseSaver, database: OpStoreDatabase):
        if not isinstance(saver, BaseSaver):
            raise TypeError(f"the op store needs a saver (a BaseSaver), got {saver!r}")
        self.saver = saver
        self.database = database

    def start(self) -> None:
        """Removes the temporary files killed saves left in the saver (when it keeps any), then
        creates or upgrades the database tables.

        :raises ServiceUnavailableError: if the database cannot be reached
        """
        sweep = getattr(self.saver, "sweep_temporary_files", None)
        if sweep is not None:
            removed = sweep()
            if removed:
                logger.warning("the op store removed %d temporary files left by interrupted saves: %s",
                               len(removed), ", ".join(removed))
        self.database.upgrade_schema()

    def health_check(self) -> Dict[str, Any]:
        """``{"status": "ok"}`` once the database answers.

        :raises ServiceUnavailableError: if it does not
        """
        self.database.ping()
        return {"status": "ok"}

    # ------------------------------------------------------------------ versions and bytes

    def get_all_versions_of_op(self, op_name: str) -> List[Version]:
        """Every saved version of an op, oldest first (empty when it was never saved)."""
        check_op_name(op_name)
        with self.database.session() as session:
            return repository.versions_of_op(session, op_name)

    def open_op_bytes(self, op_name: str, version: Version) -> BinaryIO:
        """Opens the bytes of one saved version of an op; the caller closes the stream.

        :raises NotFoundError: if the op or that version was never saved
        :raises OpStoreError: if the version is registered but its bytes are gone
        """
        check_op_name(op_name)
        with self.database.session() as session:
            op = repository.find_op(session, op_name)
            if op is None:
                raise NotFoundError(
                    f"op {op_name!r} is unknown to the op store: save a pipeline holding it before loading it"
                )
            if repository.find_version(session, op, version) is None:
                raise NotFoundError(
                    f"version {str(version)!r} of op {op_name!r} is not in the op store; "
                    f"GET /ops/{op_name}/versions lists the saved ones"
                )
        path = op_bytes_path(op_name, version)
        try:
            return self.saver.open_stream(path)
        except FileNotFoundError as exc:
            raise with_public_message(OpStoreError(
                f"version {str(version)!r} of op {op_name!r} is registered but its bytes are missing from "
                f"{self.saver!r} at {path!r}: save the op again"
            ), f"version {str(version)!r} of op {op_name!r} is registered but its bytes are missing from the "
               "op store's saver: save the op again") from exc

    def get_op_bytes_for_version(self, op_name: str, version: Version) -> bytes:
        """The bytes saved for one version of an op (see :meth:`open_op_bytes`)."""
        with self.open_op_bytes(op_name, version) as stream:
            return stream.read()

    def get_op_states(self, op_name: str) -> List[OpState]:
        """Every saved state of an op with its lineage and explicit links, oldest first."""
        check_op_name(op_name)
        with self.database.session() as session:
            return repository.states_of_op(session, op_name)

    def upload_op_stream(self, op_name: str, version: Version, stream: BinaryIO, size: Optional[int] = None) -> bool:
        """Writes the bytes of a state; nothing is listed before :meth:`commit_save` records it.

        The bytes of a recorded version are never replaced (versions are immutable): the
        upload is then read and dropped.

        :param size: the number of bytes the stream announces, checked when given
        :raises BadRequestError: if the stream ends before ``size`` bytes
        :returns: whether the bytes were written
        """
        check_op_name(op_name)
        if self._is_recorded(op_name, version):
            while stream.read(1 << 20):
                pass
            return False
        try:
            self.saver.save_stream(stream, op_bytes_path(op_name, version), size=size)
        except ValueError as exc:
            if isinstance(exc, ChariotsError):
                raise
            raise BadRequestError(str(exc)) from exc
        return True

    def upload_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> bool:
        """Writes the bytes of a state (see :meth:`upload_op_stream`)."""
        return self.upload_op_stream(op_name, version, io.BytesIO(op_bytes), size=len(op_bytes))

    def _is_recorded(self, op_name: str, version: Version) -> bool:
        with self.database.session() as session:
            op = repository.find_op(session, op_name)
            return op is not None and repository.find_version(session, op, version) is not None

    def commit_save(self, pipeline_name: Optional[str], node_names: List[str], states: List[StateRecord]) -> None:
        """Records uploaded states, the lineage their training recorded, and the pipeline, in one
        transaction: all of it or none.

        A state already recorded keeps its lineage (saving certifies nothing new).

        :param pipeline_name: the pipeline saved (None: record no pipeline)
        :param node_names: its nodes' names
        :param states: the states whose bytes were uploaded
        :raises BadRequestError: if the bytes of a state were not uploaded
        :raises OpIdentityError: if a state's class differs from the class its op name holds
        """
        self._check_uploaded(states)
        if pipeline_name is not None:
            check_node_name(pipeline_name, "pipeline name")
            node_names = [check_node_name(name, "node name") for name in node_names]

        def commit(session) -> None:
            commit_records(session, pipeline_name, node_names, states)

        with self.database.session() as session:
            repository.in_transaction(session, commit)

    def save_op_stream(self, op_name: str, version: Version, stream: BinaryIO, size: Optional[int] = None) -> bool:
        """Writes the bytes of one version of an op, then records the version (no lineage).

        :raises ConflictError: if that version is already stored (versions are immutable)
        :returns: True once the version is recorded
        """
        if not self.upload_op_stream(op_name, version, stream, size):
            raise ConflictError(
                f"version {str(version)!r} of op {op_name!r} is already stored and versions are immutable: "
                "a new state needs a new version"
            )
        with self.database.session() as session:
            return repository.in_transaction(
                session, lambda s: repository.ensure_version(s, op_name, version)[1]
            )

    def save_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> bool:
        """Saves the bytes of one version of an op, then records the version."""
        return self.save_op_stream(op_name, version, io.BytesIO(op_bytes), size=len(op_bytes))

    # ------------------------------------------------------------------ links

    def register_valid_link(
        self,
        downstream_op: str,
        upstream_op: str,
        upstream_op_version: Version,
        downstream_op_version: Optional[Version] = None,
    ) -> bool:
        """Records that a saved state of ``downstream_op`` may run behind that version of
        ``upstream_op``, as if it had been trained behind it.

        :param downstream_op_version: the state (the newest saved one when None)
        :raises NotFoundError: if the downstream op (or that version of it) was never saved
        :returns: whether the link is new
        """
        downstream = check_node_name(downstream_op, "downstream op name")
        upstream = check_node_name(upstream_op, "upstream op name")

        def link(session) -> bool:
            op = repository.find_op(session, downstream)
            rows = [] if op is None else repository.version_rows(session, downstream)
            if downstream_op_version is not None:
                rows = [row for row in rows if row.to_version() == downstream_op_version]
            if not rows:
                which = "" if downstream_op_version is None else f"version {str(downstream_op_version)!r} of "
                raise NotFoundError(
                    f"{which}op {downstream!r} was never saved: save the op before validating links to its states"
                )
            return repository.add_link(session, rows[-1], upstream, upstream_op_version, explicit=True)

        with self.database.session() as session:
            return repository.in_transaction(session, link)

    def get_validated_links(
        self, downstream_op: str, upstream_op: str, downstream_op_version: Optional[Version] = None
    ) -> Set[Version]:
        """The upstream versions the downstream op's states (or one state) may run behind."""
        return set(self.validated_links(downstream_op, upstream_op, downstream_op_version))

    def validated_links(
        self, downstream_op: str, upstream_op: str, downstream_op_version: Optional[Version] = None
    ) -> List[Version]:
        """The upstream versions the downstream op's states (or one state) may run behind, oldest first."""
        downstream = check_node_name(downstream_op, "downstream op name")
        upstream = check_node_name(upstream_op, "upstream op name")
        with self.database.session() as session:
            return repository.validated_links(session, downstream, upstream, downstream_op_version)

    # ------------------------------------------------------------------ pipelines

    def pipeline_names(self) -> List[str]:
        """The names of every pipeline the store has seen, sorted."""
        with self.database.session() as session:
            return repository.pipeline_names(session)

    def get_pipeline(self, pipeline_name: str) -> Dict[str, Any]:
        """``{"pipeline_name", "node_names"}`` of a pipeline the store has seen.

        :raises NotFoundError: if it never was registered or saved
        """
        check_node_name(pipeline_name, "pipeline name")
        with self.database.session() as session:
            pipeline = repository.find_pipeline(session, pipeline_name)
            if pipeline is None:
                raise NotFoundError(f"pipeline {pipeline_name!r} was never registered or saved in the op store")
            return {"pipeline_name": pipeline.name, "node_names": list(pipeline.node_names)}

    def pipeline_exists(self, pipeline_name: str) -> bool:
        """Whether a pipeline of that name was ever registered or saved."""
        try:
            self.get_pipeline(pipeline_name)
        except NotFoundError:
            return False
        return True

    def record_pipeline(self, pipeline_name: str, node_names: List[str]) -> bool:
        """Adds a pipeline, or updates the node names of a known one.

        :returns: whether the pipeline is new
        """
        name = check_node_name(pipeline_name, "pipeline name")
        if not isinstance(node_names, list):
            raise BadRequestError(f"'node_names' must be a list of node names, got {node_names!r}")
        node_names = [check_node_name(node_name, "node name") for node_name in node_names]
        with self.database.session() as session:
            return repository.in_transaction(session, lambda s: repository.record_pipeline(s, name, node_names))

    def register_new_pipeline(self, pipeline: "Pipeline") -> bool:
        """Records a pipeline's name and the names of its nodes."""
        return self.record_pipeline(pipeline.name, [node.name for node in pipeline.pipeline_nodes])

    def close(self) -> None:
        """Closes the database connections."""
        self.database.close()

    def __repr__(self) -> str:
        return f"<OpStoreService saver={self.saver!r} db_url={self.database.safe_url!r}>"


def stream_size(stream: Any) -> Optional[int]:
    """The size of an opened saver stream, when it can be known without reading it."""
    if isinstance(stream, io.BytesIO):
        return stream.getbuffer().nbytes
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
