"""The op store as a plain object: bytes to the saver first, then versions, links, pipelines,
served generations and staged trainings to the database. No HTTP here: the Flask server builds
its views from the route table (:mod:`chariots.op_store._routes`), whose endpoints are these
methods, and the embedded client calls them directly.

The saver is a plugin: whatever it raises (a full disk, a bucket's error) is re-raised as a
:class:`~chariots.errors.SaverError` naming the op and the version, from the saver's own error;
an outage it reports as a :class:`~chariots.errors.ServiceUnavailableError` stays one.

What the serving processes of a pipeline share goes through here too:

- **Served generations.** A successful ``load`` records the versions it checked as the
  pipeline's next generation; every server process follows the newest one
  (:mod:`chariots.serving._generations`).
- **Staged trainings.** A training run uploads its states' bytes and stages their records; a
  save of the pipeline, in whichever process, commits the newest staged training.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, Iterator, List, Optional, Set, Tuple

from chariots._logging import short_version
from chariots._signing import state_data
from chariots._wire import with_public_message
from chariots.errors import (
    BadRequestError,
    ChariotsError,
    ConflictError,
    MissingStateBytesError,
    NotFoundError,
    OpStoreError,
    SaverError,
)
from chariots.op_store import _repository as repository
from chariots.op_store._database import OpStoreDatabase
from chariots.op_store._names import check_node_name, check_op_name, op_bytes_path
from chariots.op_store._records import record_from_json, record_to_json
from chariots.op_store.savers import BaseSaver
from chariots.pipelines import Generation, OpState, StateRecord
from chariots.versioning import Version

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["OpStoreService", "stream_size"]

logger = logging.getLogger("chariots.op_store")


class OpStoreService:
    """Saves and loads op bytes and keeps the versions, validated links, pipelines, served
    generations and staged trainings.

    Its methods are the op store's operations (each one an endpoint of
    :data:`chariots.op_store._routes.ROUTES`); names are checked before anything is read or written.

    :param saver: where the bytes of the ops go
    :param database: the database of versions, links and pipelines
    :param metrics: count the saved versions in the Prometheus metrics (:mod:`chariots._metrics`)
    """

    def __init__(self, saver: BaseSaver, database: OpStoreDatabase, metrics: bool = False):
        if not isinstance(saver, BaseSaver):
            raise TypeError(f"the op store needs a saver (a BaseSaver), got {saver!r}")
        self.saver = saver
        self.database = database
        self.metrics = metrics

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

    def _transaction(self, work: Any) -> Any:
        with self.database.session() as session:
            return repository.in_transaction(session, work)

    # ------------------------------------------------------------------ the saver, wrapped

    @contextlib.contextmanager
    def _saver_call(self, doing: str, op_name: str, version: Version,
                    source: Optional["_Source"] = None) -> Iterator[None]:
        try:
            yield
        except (ChariotsError, FileNotFoundError):
            raise
        except Exception as exc:
            if source is not None and source.raised(exc):
                raise  # the sender's stream failed (cut short, too large): not the saver
            if isinstance(exc, ValueError):  # the saver's check of a stream cut short
                raise BadRequestError(str(exc)) from exc
            # the plugin boundary: anything else is the saver's own failure
            raise with_public_message(SaverError(
                f"the saver {self.saver!r} failed {doing} version {short_version(version)} of op {op_name!r}: "
                f"{type(exc).__name__}: {exc}"
            ), f"the op store's saver failed {doing} version {short_version(version)} of op {op_name!r}") from exc

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
            with self._saver_call("reading", op_name, version):
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

    def get_states(self, op_names: List[str]) -> Dict[str, List[OpState]]:
        """Every saved state of each op, oldest first, by op name (an unknown op: an empty list)."""
        names = [check_op_name(name) for name in op_names]
        with self.database.session() as session:
            return repository.states_of_ops(session, names)

    def upload_op_stream(self, op_name: str, version: Version, stream: BinaryIO, size: Optional[int] = None) -> bool:
        """Writes the bytes of a state; nothing is listed before :meth:`commit_save` records it.

        The bytes of a recorded version are never replaced (versions are written once): the same
        bytes again are read and dropped, other bytes are a conflict.

        :param size: the number of bytes the stream announces, checked when given
        :raises BadRequestError: if the stream ends before ``size`` bytes
        :raises ConflictError: if the version is recorded with other bytes
        :returns: whether the bytes were written
        """
        check_op_name(op_name)
        if self._is_recorded(op_name, version):
            # versions are written once: the same bytes again are a no-op, other bytes a conflict
            if not self._same_bytes(op_name, version, stream):
                raise ConflictError(
                    f"version {str(version)!r} of op {op_name!r} is already stored with other bytes, and versions "
                    "are written once: a new state needs a new version (nothing was changed)"
                )
            return False
        source = _Source(stream)
        with self._saver_call("writing", op_name, version, source):
            self.saver.save_stream(source, op_bytes_path(op_name, version), size=size)
        return True

    def upload_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> bool:
        """Writes the bytes of a state (see :meth:`upload_op_stream`)."""
        return self.upload_op_stream(op_name, version, io.BytesIO(op_bytes), size=len(op_bytes))

    def _same_bytes(self, op_name: str, version: Version, stream: BinaryIO) -> bool:
        """Whether ``stream`` holds the stored state of a recorded version again: the same data,
        whatever its signature tail (a nonce or a rotated key makes two signatures of one state)."""
        with self._saver_call("reading", op_name, version), self.saver.open_stream(
                op_bytes_path(op_name, version)) as stored:
            return state_data(stored.read()) == state_data(stream.read())

    def _is_recorded(self, op_name: str, version: Version) -> bool:
        with self.database.session() as session:
            op = repository.find_op(session, op_name)
            return op is not None and repository.find_version(session, op, version) is not None

    def commit_save(self, pipeline_name: Optional[str], node_names: Optional[List[str]],
                    states: List[StateRecord]) -> None:
        """Records uploaded states, the lineage their training recorded, and the pipeline, in one
        transaction: all of it or none. A state already recorded keeps its lineage.

        :param pipeline_name: the pipeline saved (None: record no pipeline)
        :param node_names: its nodes' names
        :param states: the states whose bytes were uploaded
        :raises MissingStateBytesError: if the bytes of a state were not uploaded
        :raises OpIdentityError: if a state's class differs from the class its op name holds
        """
        self._check_uploaded(states)
        node_names = list(node_names or [])
        if pipeline_name is not None:
            check_node_name(pipeline_name, "pipeline name")
            node_names = [check_node_name(name, "node name") for name in node_names]
        self._count_saved(self._transaction(
            lambda session: repository.commit_records(session, pipeline_name, node_names, states)))

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
        created = self._transaction(lambda session: repository.ensure_version(session, op_name, version)[1])
        if created:
            logger.info("op store saved op %r at version %s", op_name, short_version(version))
            self._count_saved(1)
        return created

    def save_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> bool:
        """Saves the bytes of one version of an op, then records the version."""
        return self.save_op_stream(op_name, version, io.BytesIO(op_bytes), size=len(op_bytes))

    def _count_saved(self, added: int) -> None:
        if self.metrics and added:
            from chariots import _metrics

            _metrics.metrics().op_store_saves.inc(added)

    def _check_uploaded(self, states: List[StateRecord]) -> None:
        for state in states:
            check_op_name(state.op_name)
            path = op_bytes_path(state.op_name, state.version)
            with self._saver_call("checking", state.op_name, state.version):
                present = self.saver.exists(path)
            if not present:
                raise MissingStateBytesError(
                    f"the bytes of version {str(state.version)!r} of op {state.op_name!r} were not uploaded: "
                    "upload them before committing the save"
                )

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

        def link(session: "Session") -> bool:
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

        return self._transaction(link)

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

    def record_pipeline(self, pipeline_name: str, node_names: List[str]) -> bool:
        """Adds a pipeline, or updates the node names of a known one.

        :returns: whether the pipeline is new
        """
        name = check_node_name(pipeline_name, "pipeline name")
        if not isinstance(node_names, list):
            raise BadRequestError(f"'node_names' must be a list of node names, got {node_names!r}")
        node_names = [check_node_name(node_name, "node name") for node_name in node_names]
        return self._transaction(lambda session: repository.record_pipeline(session, name, node_names))

    # ------------------------------------------------------------------ served generations

    def record_generation(self, pipeline_name: str, versions: Dict[str, Version]) -> Generation:
        """Records the versions a load checked as the pipeline's next generation.

        :param versions: op name -> the version every serving process must hold
        :raises NotFoundError: if one of the versions is not stored (a generation only names
                               versions any process can load)
        :returns: the recorded generation, numbered one more than the pipeline's last
        """
        name = check_node_name(pipeline_name, "pipeline name")
        for op_name in versions:
            check_op_name(op_name)
        return self._transaction(lambda session: repository.add_generation(session, name, versions))

    def latest_generation(self, pipeline_name: str) -> Optional[Generation]:
        """The newest served generation of a pipeline, with the stored state of each version it
        names (None: no load was ever recorded)."""
        name = check_node_name(pipeline_name, "pipeline name")
        with self.database.session() as session:
            return repository.latest_generation(session, name)

    def generation_numbers(self) -> Dict[str, int]:
        """The newest generation number of every pipeline ever loaded, in one query."""
        with self.database.session() as session:
            return repository.generation_numbers(session)

    # ------------------------------------------------------------------ staged trainings

    def stage_training(self, pipeline_name: str, node_names: List[str], states: List[StateRecord]) -> None:
        """Keeps the records of states whose bytes a training run uploaded, for a save to commit.

        :raises MissingStateBytesError: if the bytes of a state were not uploaded
        """
        name = check_node_name(pipeline_name, "pipeline name")
        node_names = [check_node_name(node_name, "node name") for node_name in node_names]
        self._check_uploaded(states)
        records = [record_to_json(state) for state in states]
        self._transaction(lambda session: repository.add_staged_training(session, name, node_names, records))

    def commit_staged_training(self, pipeline_name: str) -> Optional[List[StateRecord]]:
        """Commits the newest staged training of a pipeline, in one transaction with its lineage.

        :returns: the committed states, or None when the newest staged training was committed
                  already (or none was ever staged)
        """
        name = check_node_name(pipeline_name, "pipeline name")

        def commit(session: "Session") -> Tuple[Optional[List[StateRecord]], int]:
            row = repository.newest_staged_training(session, name)
            if row is None or row.committed:
                return None, 0
            states = [record_from_json(state, index) for index, state in enumerate(row.states)]
            self._check_uploaded(states)
            added = repository.commit_records(session, name, list(row.node_names), states)
            row.committed = True
            return states, added

        committed, added = self._transaction(commit)
        self._count_saved(added)
        return committed

    def close(self) -> None:
        """Closes the database connections."""
        self.database.close()

    def __repr__(self) -> str:
        return f"<OpStoreService saver={self.saver!r} db_url={self.database.safe_url!r}>"


class _Source:
    """The stream a sender's bytes come from, remembering what its reads raised (a body cut short
    or over the size cap is the sender's failure, not the saver's)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._raised: Optional[BaseException] = None

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except BaseException as exc:
            self._raised = exc
            raise

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __getattr__(self, name: str) -> Any:  # tell, seek ... of the stream, as a saver may use them
        return getattr(self._stream, name)

    def raised(self, exc: BaseException) -> bool:
        """Whether ``exc`` is (or comes from) what a read of the stream raised."""
        while exc is not None:
            if exc is self._raised:
                return True
            exc = exc.__cause__ or exc.__context__
        return False


def stream_size(stream: Any) -> Optional[int]:
    """The size of an opened saver stream, when it can be known without reading it."""
    if isinstance(stream, io.BytesIO):
        return stream.getbuffer().nbytes
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
