"""The states of stateful ops: read at one moment, committed to an op store, and loaded back.

Every path that puts a stored state into an op goes through :func:`load_states`: a pipeline's
load (the newest compatible set, or the exact versions of a generation), and
:meth:`~chariots.pipelines.nodes.Node.load_latest_version`. The caller says which states each op
may take, in order of preference (a :data:`Chooser`); the loop fetches what it needs once, loads
the first state whose bytes load, and returns copies of the ops: nothing is changed in place, so a
failed load leaves everything as it was.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from chariots.errors import (
    MissingStateBytesError,
    MLOpError,
    NotFoundError,
    OpIdentityError,
    SaverError,
    SerializerError,
    VersionError,
)
from chariots.pipelines._store_protocol import StateRecord

if TYPE_CHECKING:
    from chariots.pipelines._store_protocol import OpState, OpStoreProtocol
    from chariots.pipelines.ops import LoadableOp
    from chariots.versioning import Version

__all__ = ["Chooser", "Loaded", "load_states", "same_code", "check_identity", "newest_of_its_code", "Snapshot",
           "snapshot_state", "snapshot_states", "pin_states", "upload_states", "commit_states"]

logger = logging.getLogger("chariots.pipelines")

#: what makes a stored state unusable without making the whole load fail: its bytes are missing,
#: corrupt or hold another version (the next state in the chooser's order is tried). Bytes whose
#: signature does not check are never skipped: the load fails, naming them (a key that does not
#: match is a misconfiguration to report, not an old state to fall back to).
UNUSABLE_STATE = (MLOpError, SerializerError, SaverError, NotFoundError)

#: ``chooser(name, op, states, decided, stored)``: the states op ``name`` may take, most wanted first
#: (``states``: every stored state of the op, in store order; ``decided``: the version each op
#: decided before it serves; ``stored``: which of them serve a stored state). An empty list keeps
#: the op as it is; a refusal raises a ``VersionError``.
Chooser = Callable[[str, "LoadableOp", List["OpState"], Mapping[str, "Version"], Set[str]], List["OpState"]]


@dataclass
class Loaded:
    """What a load decided: new copies of the ops that changed state, and each op's state."""

    #: op name -> a copy of the op holding its new state (ops already in that state are not copied)
    ops: Dict[str, "LoadableOp"] = field(default_factory=dict)
    #: op name -> the stored state it now serves (ops kept as they are are absent)
    states: Dict[str, "OpState"] = field(default_factory=dict)


def same_code(op: "LoadableOp", state: "OpState", states: Sequence["OpState"] = ()) -> bool:
    """Whether ``state`` was stored by the op's current code (``states``: every state of the op).

    A state stored before class versions were recorded (op store schema 0001) counts as the
    current code when, as Chariots then decided, the op's major is among those states' majors.
    """
    if state.class_major is None:
        current = (op.class_version.major, op.op_version.major)
        return any(other.class_major is None and other.version.major in current for other in (state, *states))
    return state.class_major == op.class_version.major


def check_identity(name: str, op: "LoadableOp", states: Sequence["OpState"]) -> None:
    """Refuses to load states stored by another class under the same op name.

    :raises OpIdentityError: naming both classes and the ``name=`` to set
    """
    stored_class = next((state.class_path for state in states if state.class_path), None)
    if stored_class is not None and stored_class != op.class_path:
        raise OpIdentityError(
            f"op name {name!r} holds the states of class {stored_class} in the op store, and {op.class_path} "
            f"would load them: the two classes would read each other's states. Give one of them another name "
            f"with name=, e.g. {type(op).__name__}(..., name='{name}_2')"
        )


def newest_of_its_code(name: str, op: "LoadableOp", states: List["OpState"], decided: Mapping[str, "Version"],
                       stored: Set[str]) -> List["OpState"]:
    """A :data:`Chooser` without lineage: the op's states of its current code, newest first."""
    check_identity(name, op, states)
    return [state for state in reversed(states) if same_code(op, state, states)]


def _short(version: "Version") -> str:
    return version.major[:5]


def load_state(name: str, op: "LoadableOp", state: "OpState", store: "OpStoreProtocol") -> "LoadableOp":
    """A copy of ``op`` holding the stored state ``state`` (its bytes fetched from ``store``).

    :raises SerializerError: if the op cannot read the bytes
    :raises MLOpError: if the bytes hold another version than the one they are stored under
    """
    state_bytes = store.get_op_bytes_for_version(name, state.version)
    loaded = copy.copy(op)
    try:
        loaded.load(state_bytes)
    except (MLOpError, SerializerError):
        raise
    except Exception as error:  # the op's own load, or its serializer: a plugin boundary
        raise SerializerError(
            f"op {name!r} could not load the bytes of its version {_short(state.version)}: "
            f"{type(error).__name__}: {error}"
        ) from error
    if not loaded.state_matches(state.version):
        raise MLOpError(
            f"the bytes stored as version {_short(state.version)} of op {name!r} hold version "
            f"{_short(loaded.op_version)}: the store is inconsistent, save the op again"
        )
    loaded.pin_state(state.version, state_bytes, state.lineage, state.upstream)
    return loaded


def load_states(
    entries: Sequence[Tuple[str, "LoadableOp"]],
    store: "OpStoreProtocol",
    choose: Chooser,
    states: Optional[Mapping[str, List["OpState"]]] = None,
    strict: Iterable[str] = (),
) -> Loaded:
    """Picks and loads a state for each op, in the order given (upstream ops first).

    :param entries: ``(op name, op)`` of each stateful op, upstream ops before downstream ones
    :param store: where states and bytes come from
    :param choose: which states each op may take, most wanted first
    :param states: every stored state of each op, when the caller fetched them already (else one
                   request fetches them all)
    :param strict: the ops whose state must be the one chosen (an exact version asked for): a state
                   of theirs whose bytes cannot be used fails the load; for the others the next
                   state the chooser named is tried, and the skipped one logged
    :raises VersionError: when the chooser refuses
    :raises ServiceUnavailableError: if the store cannot be reached
    """
    if states is None:
        states = store.get_states([name for name, _ in entries])
    strict = set(strict)
    result = Loaded()
    decided: Dict[str, "Version"] = {}
    for name, op in entries:
        for state in choose(name, op, list(states.get(name, ())), decided, set(result.states)):
            if op.op_version == state.version:  # it holds that state already
                result.states[name] = state
                break
            try:
                result.ops[name] = load_state(name, op, state, store)
            except UNUSABLE_STATE as error:
                if name in strict:
                    raise
                logger.warning("skipped version %s of op %r, which cannot be loaded: %s: %s",
                               _short(state.version), name, type(error).__name__, error)
                continue
            result.states[name] = state
            break
        decided[name] = result.states[name].version if name in result.states else op.op_version
    return result


def refuse(details: str) -> VersionError:
    """The version error of a refused load (the message starts like every version error)."""
    return VersionError.incompatible(details)


# ---------------------------------------------------------------------------- saving


class Snapshot(NamedTuple):
    """One state of a save, read at one moment."""

    leaf: Any
    #: the state's bytes (None: not read, the op tells its version without them and it is unchanged)
    state_bytes: Optional[bytes]
    record: StateRecord
    #: whether the state differs from the one the op was loaded, saved or staged in
    changed: bool


def _record(leaf: Any, version: "Version") -> StateRecord:
    op = leaf.op
    lineage = dict(op.training_lineage) if op.training_lineage is not None else None
    return StateRecord(leaf.name, version, op.class_path, op.class_version.major, lineage, op.training_upstream)


def snapshot_state(leaf: Any) -> Snapshot:
    """A stateful op's node, its bytes and what to record of it, read at one moment. An op that
    tells its version without its bytes (every ML op) is not serialized when its state is the one
    it was loaded, saved or staged in."""
    op = leaf.op
    pinned = op.pinned_version
    if op.versions_itself:
        version = op.op_version
        if version == pinned:
            return Snapshot(leaf, None, _record(leaf, version), False)
        return Snapshot(leaf, op.serialize(), _record(leaf, version), True)
    state_bytes = op.serialize()
    version = op.version_for_state(state_bytes)
    return Snapshot(leaf, state_bytes, _record(leaf, version), version != pinned)


def snapshot_states(leaves: Iterable[Any], changed_only: bool = False) -> List[Snapshot]:
    """Each stateful op holding a state among ``leaves`` (nodes), read at one moment (see
    :func:`snapshot_state`).

    :param changed_only: only the ops whose state changed since it was loaded, saved or staged
    """
    found = []
    for leaf in leaves:
        if leaf.is_loadable and leaf.op.holds_state:
            snapshot = snapshot_state(leaf)
            if snapshot.changed or not changed_only:
                found.append(snapshot)
    return found


def pin_states(states: List[Snapshot]) -> None:
    """Tells each op whose state changed that it now holds the one stored (or staged) under its
    record's version."""
    for leaf, state_bytes, record, changed in states:
        if changed and state_bytes is not None:
            leaf.op.pin_state(record.version, state_bytes, record.lineage, record.upstream)


def upload_states(store: "OpStoreProtocol", states: List[Snapshot]) -> None:
    """Uploads the bytes of each state (read or not)."""
    for _, state_bytes, record, _ in states:
        store.upload_op_bytes(record.op_name, record.version, state_bytes)


def commit_states(pipeline_name: Optional[str], node_names: List[str], states: List[Snapshot],
                  store: "OpStoreProtocol") -> None:
    """Uploads the changed states, then commits every state in one transaction. When the store
    lacks the bytes of an unchanged state (the op was loaded from another store), they are read
    and sent, and the commit is made again."""
    upload_states(store, [state for state in states if state.changed])
    records = [state.record for state in states]
    try:
        store.commit_save(pipeline_name, node_names, records)
    except MissingStateBytesError:
        unchanged = [state for state in states if not state.changed]
        if not unchanged:
            raise
        upload_states(store, [state._replace(state_bytes=state.state_bytes if state.state_bytes is not None
                                       else state.leaf.op.serialize()) for state in unchanged])
        store.commit_save(pipeline_name, node_names, records)
    pin_states(states)
