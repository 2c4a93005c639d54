"""Ops whose state is saved to and loaded from an op store."""
from __future__ import annotations

import hashlib
import time
from typing import Dict, Optional

from chariots.pipelines.ops._base_op import BaseOp
from chariots.versioning import Version


class LoadableOp(BaseOp):
    """An op with state: pipelines save its :meth:`serialize` bytes and :meth:`load` them back.

    Override :meth:`load`, :meth:`serialize` and :meth:`execute`. ``load`` is called on a
    copy of the op, so it must assign new attribute values rather than mutate shared ones.

    A plain loadable op's state may change whenever it runs: each run records its
    :attr:`training_lineage` (the versions of the ops it consumed), and a save stores the
    state under the class version with a patch sub-version made from the bytes' hash, so two
    different states never share a version.
    """

    #: what the op consumed when its state last changed: upstream op name -> version
    training_lineage: Optional[Dict[str, Version]] = None
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
        defines it, else the class version with a patch sub-version fed with the bytes' hash (the
        same bytes, the same version)."""
        if self.versions_itself:
            return self.op_version
        if self._state_version is not None and self._state_bytes_hash == _digest(state_bytes):
            return self._state_version
        # only the patch changes with the state: the major (what downstream ops check) is the class's
        code = type(self).__version__
        patch = hashlib.sha1(f"{code.patch}:{_digest(state_bytes)}".encode("ascii")).hexdigest()
        return Version(code.major, code.minor, patch, creation_time=time.time())

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

    def pin_state(self, version: Version, state_bytes: bytes, lineage: Optional[Dict[str, Version]]) -> None:
        """Records that the op now holds the state saved (or loaded) as ``version``.

        :param version: the state's version
        :param state_bytes: the state's bytes
        :param lineage: the versions of the ops the state was trained on
        """
        self._state_version = version
        self._state_bytes_hash = _digest(state_bytes)
        self.training_lineage = dict(lineage) if lineage is not None else None

    _state_bytes_hash: Optional[str] = None

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


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
