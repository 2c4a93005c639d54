"""Ops whose state is saved to and loaded from an op store."""
from __future__ import annotations

import hashlib
import time
from typing import Any, Dict, Mapping, Optional, Union

from chariots.pipelines.ops._base_op import BaseOp
from chariots.versioning import Version, VersionType, canonical


class LoadableOp(BaseOp):
    """An op with state: pipelines save its :meth:`serialize` bytes and :meth:`load` them back.

    Override :meth:`load`, :meth:`serialize` and :meth:`execute`. ``load`` is called on a
    copy of the op, so it must assign new attribute values rather than mutate shared ones.

    A plain loadable op's state may change whenever it runs: each run records its
    :attr:`training_lineage` and :attr:`training_upstream` (what it consumed), and a save stores
    the state under the class version whose ``training_update_version`` sub-version is fed with
    the bytes' digest: two different states never share a version, and the same bytes always
    get the same one. That sub-version is the ``major`` unless the class says otherwise: a change
    of state may change what the op outputs, so models trained behind its former state are not
    served behind the new one. Set ``training_update_version = VersionType.PATCH`` (or ``MINOR``)
    on a class whose state changes never matter downstream (a cache, a counter).
    """

    #: the sub-version a change of state changes (``major`` by default; see the class doc)
    training_update_version: Union[VersionType, str] = VersionType.MAJOR

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        VersionType(cls.training_update_version)  # fail at class creation on a bad value

    #: what the op consumed when its state last changed: upstream op name -> version
    training_lineage: Optional[Dict[str, Version]] = None
    #: the upstream graph the op's state was trained behind (see :mod:`chariots.pipelines._lineage`)
    training_upstream: Optional[Mapping[str, Any]] = None
    _state_version: Optional[Version] = None

    @property
    def op_version(self) -> Version:
        """the version of the state last saved or loaded, the class version before that"""
        return self._state_version or type(self).__version__

    @property
    def holds_state(self) -> bool:
        """whether there is a state worth saving (always, for a plain loadable op)"""
        return True

    @property
    def trains_when_run(self) -> bool:
        """whether running the op may change its state (always, for a plain loadable op)"""
        return True

    def version_for_state(self, state_bytes: bytes) -> Version:
        """The version to save ``state_bytes`` under: :attr:`op_version` when the op's class
        defines it, else the class version whose ``training_update_version`` sub-version is fed
        with the state's identity: the digest of its bytes and of the upstream graph its training
        ran behind (the same bytes learnt behind another upstream are another state)."""
        if self.versions_itself:
            return self.op_version
        identity = self._identity(state_bytes)
        if self._state_version is not None and self._state_bytes_hash == identity:
            return self._state_version
        code = type(self).__version__
        parts = {"major": code.major, "minor": code.minor, "patch": code.patch}
        kind = VersionType(self.training_update_version).value
        parts[kind] = hashlib.sha1(f"{parts[kind]}:{identity}".encode("ascii")).hexdigest()
        return Version(parts["major"], parts["minor"], parts["patch"], creation_time=time.time())

    def _identity(self, state_bytes: bytes) -> str:
        """A state's identity: its bytes, and what its training ran behind when it recorded that."""
        digest = hashlib.sha1(state_bytes)
        if self.training_upstream:
            digest.update(canonical(self.training_upstream).encode("utf-8"))
        return digest.hexdigest()

    def current_version(self) -> Version:
        """The version of the state the op holds now: :attr:`op_version`, except for an op whose
        class does not version its state, whose current bytes are read (what a save would store it
        as; what a model trained behind it records)."""
        if self.versions_itself or not self.holds_state:
            return self.op_version
        return self.version_for_state(self.serialize())

    def state_matches(self, version: Version) -> bool:
        """Whether the state just loaded is the one stored as ``version`` (versions made from the
        bytes always match)."""
        return not self.versions_itself or self.op_version == version

    @property
    def versions_itself(self) -> bool:
        """whether the op tells the version of its state without serializing it (its class computes
        :attr:`op_version` from its state, as every ML op does)"""
        return type(self).op_version is not LoadableOp.op_version

    @property
    def pinned_version(self) -> Optional[Version]:
        """the version of the state the op was last loaded, saved or staged in (None: never)"""
        return self._state_version

    def pin_state(self, version: Version, state_bytes: bytes, lineage: Optional[Dict[str, Version]],
                  upstream: Optional[Mapping[str, Any]] = None) -> None:
        """Records that the op now holds the state saved (or loaded) as ``version``.

        :param version: the state's version
        :param state_bytes: the state's bytes
        :param lineage: the versions of the ops the state was trained on
        :param upstream: the upstream graph it was trained behind
        """
        self._state_version = version
        self.training_lineage = dict(lineage) if lineage is not None else None
        self.training_upstream = upstream
        self._state_bytes_hash = self._identity(state_bytes)

    _state_bytes_hash: Optional[str] = None

    def take_state_of(self, trained: "LoadableOp") -> None:
        """Takes the state a copy of this op reached elsewhere (a runner that ran it in another
        process): every attribute of ``trained`` but its op callbacks, which stay this op's.

        :param trained: a copy of this op, of the same class, after it ran
        :raises TypeError: if ``trained`` is an op of another class
        """
        if type(trained) is not type(self):
            raise TypeError(f"op {self.name!r} ({type(self).__name__}) cannot take the state of {trained!r}")
        state = dict(vars(trained))
        state.pop("_op_callbacks", None)
        vars(self).update(state)

    def without_state(self) -> "LoadableOp":
        """A copy of the op that holds none of the state the op store keeps for it, for a process
        that loads the state back from the store (a worker running a job). A plain loadable op
        cannot tell its state from its settings, so it is its own copy: override this to leave
        a large state out of the jobs sent to workers."""
        return self

    def load(self, serialized_object: bytes) -> None:
        """Sets the op's state from bytes made by :meth:`serialize`.

        :param serialized_object: the bytes of a saved version of this op
        """
        raise NotImplementedError(f"{type(self).__name__} must override load()")

    def serialize(self) -> bytes:
        """Returns the op's state as bytes that :meth:`load` accepts."""
        raise NotImplementedError(f"{type(self).__name__} must override serialize()")

