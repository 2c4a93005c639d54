"""Staged trainings that no save will commit do not fill the saver: each staging sweeps the
pipeline's trainings superseded long enough ago, and deletes their bytes that no save committed,
no other staged training holds and nothing wrote lately. On SQLite and PostgreSQL, real files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from chariots.op_store._fleet import STAGED_GRACE_SECONDS
from chariots.op_store._names import op_bytes_path
from chariots.op_store.savers import FileSaver
from chariots.pipelines import StateRecord
from tests.op_store.test_service import version

A1, A2, A3 = version("a1", 100.0), version("a2", 200.0), version("a3", 300.0)
B1 = version("b1", 100.0)


def stage(service, *states):
    """What a training run does: upload each state's bytes, then stage their records."""
    records = []
    for op_name, op_version in states:
        service.upload_op_bytes(op_name, op_version, f"{op_name} {op_version}".encode())
        records.append(StateRecord(op_name, op_version, f"tests.{op_name}", "c" * 40, {}))
    service.stage_training("train", ["a", "b"], records)


def on_disk(saver_root: str, op_name: str, op_version) -> bool:
    return os.path.isfile(os.path.join(saver_root, op_bytes_path(op_name, op_version).lstrip("/")))


def age(saver_root: str, seconds: float) -> None:
    """Makes every saved file look written ``seconds`` ago."""
    then = time.time() - seconds
    for path in Path(saver_root).rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def test_superseded_trainings_lose_the_bytes_nothing_else_holds(service, saver_root):
    stage(service, ("a", A1), ("b", B1))
    stage(service, ("a", A2), ("b", B1))  # b did not change: the newer training holds B1 too
    stage(service, ("a", A3), ("b", B1))
    age(saver_root, 2 * STAGED_GRACE_SECONDS)
    deleted = service.sweep_staged_trainings("train", superseded_for=0)
    assert sorted(deleted) == [("a", A1), ("a", A2)]
    assert not on_disk(saver_root, "a", A1) and not on_disk(saver_root, "a", A2)
    assert on_disk(saver_root, "a", A3) and on_disk(saver_root, "b", B1)
    committed = service.commit_staged_training("train")  # the newest still commits, whole
    assert [(state.op_name, state.version) for state in committed] == [("a", A3), ("b", B1)]
    assert service.get_op_bytes_for_version("a", A3) == f"a {A3}".encode()
    assert service.sweep_staged_trainings("train", superseded_for=0) == []  # nothing left to sweep


def test_committed_states_keep_their_bytes(service, saver_root):
    stage(service, ("a", A1), ("b", B1))
    service.commit_staged_training("train")  # a save
    stage(service, ("a", A2), ("b", B1))
    stage(service, ("a", A3), ("b", B1))
    age(saver_root, 2 * STAGED_GRACE_SECONDS)
    assert service.sweep_staged_trainings("train", superseded_for=0) == [("a", A2)]
    assert service.get_all_versions_of_op("a") == [A1]
    assert service.get_op_bytes_for_version("a", A1) == f"a {A1}".encode()


def test_a_training_superseded_lately_or_bytes_written_lately_are_kept(service, saver_root):
    stage(service, ("a", A1))
    stage(service, ("a", A2))
    assert service.sweep_staged_trainings("train") == []  # superseded a moment ago: a save may be on it
    assert service.sweep_staged_trainings("train", superseded_for=0) == []  # its bytes were written lately
    assert on_disk(saver_root, "a", A1)
    stage(service, ("a", A1))  # A1 again (a plain op back to earlier bytes): uploaded anew
    age(saver_root, 2 * STAGED_GRACE_SECONDS)
    service.upload_op_bytes("a", A2, b"rewritten now")
    assert service.sweep_staged_trainings("train", superseded_for=0) == []  # A1 held, A2 written lately
    assert on_disk(saver_root, "a", A1) and on_disk(saver_root, "a", A2)


def test_each_staging_sweeps_on_its_own(service, saver_root):
    service.staged_grace_seconds = 5.0
    stage(service, ("a", A1))
    age(saver_root, 10)
    stage(service, ("a", A2))  # supersedes A1, a moment ago: kept
    assert on_disk(saver_root, "a", A1)
    age(saver_root, 10)
    time.sleep(5.2)
    stage(service, ("a", A3))  # A1 is swept now that A2 was staged longer than the grace ago
    assert not on_disk(saver_root, "a", A1)
    assert on_disk(saver_root, "a", A3)


def test_the_file_saver_puts_back_a_file_an_upload_replaced_while_it_deleted(tmp_path):
    saver = FileSaver(str(tmp_path))
    saver.save(b"old", "op/state")
    age(str(tmp_path), 2 * STAGED_GRACE_SECONDS)
    assert saver.delete_unchanged("op/state", STAGED_GRACE_SECONDS) is True
    assert not saver.exists("op/state") and saver.delete_unchanged("op/state", 0) is False
    saver.save(b"new", "op/state")  # written now
    assert saver.delete_unchanged("op/state", STAGED_GRACE_SECONDS) is False
    assert saver.load("op/state") == b"new"
    assert sorted(path.name for path in tmp_path.rglob("*") if path.is_file()) == ["state"]  # nothing aside


@pytest.mark.parametrize("grace", [0.0])
def test_a_saver_that_cannot_delete_keeps_everything(tmp_path, grace):
    from chariots.op_store.savers import BaseSaver

    class Memory(BaseSaver):
        def __init__(self):
            super().__init__("/")
            self.files = {}

        def save(self, serialized_object, path):
            self.files[path] = serialized_object
            return True

        def load(self, path):
            return self.files[path]

    saver = Memory()
    saver.save(b"x", "op/state")
    assert saver.delete_unchanged("op/state", grace) is False and saver.load("op/state") == b"x"
