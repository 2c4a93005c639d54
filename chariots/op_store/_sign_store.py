"""Bringing a store written before signing to signed: each stored state that carries no
signature is signed, in place, under the configured key (``chariots sign-store``).

Signing a state vouches for it: every process holding the key will then unpickle it. Run it once,
after upgrading, on a store only trusted processes wrote to; a state that carries a signature
this key does not accept (another key, or tampered bytes) is left as it is and reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from chariots._signing import SigningKeys, looks_signed
from chariots.errors import ChariotsError, SignatureError
from chariots.op_store._database import OpStoreDatabase
from chariots.op_store._names import op_bytes_path
from chariots.op_store._service import OpStoreService
from chariots.op_store.savers import BaseSaver
from chariots.versioning import Version

__all__ = ["SignStoreReport", "sign_store", "sign_service_states"]

#: an op name and one of its versions
StoredState = Tuple[str, Version]


@dataclass
class SignStoreReport:
    """What :func:`sign_store` found (and, unless it was a dry run, did)."""

    #: the states that carried no signature (signed now, unless it was a dry run)
    signed: List[StoredState] = field(default_factory=list)
    #: the states that were signed under an accepted key already
    already_signed: List[StoredState] = field(default_factory=list)
    #: the states signed under a key that is not accepted, or tampered: left as they are
    refused: List[StoredState] = field(default_factory=list)
    #: the states whose bytes cannot be read (missing from the saver): left as they are
    unreadable: List[Tuple[StoredState, str]] = field(default_factory=list)
    #: whether nothing was written
    dry_run: bool = True
    #: the store and the key, for the report's first line
    where: str = "the op store"

    def summary(self) -> str:
        """One line: the counts of each kind."""
        verb = "to sign" if self.dry_run else "signed"
        return (f"{len(self.signed)} state(s) {verb}, {len(self.already_signed)} already signed, "
                f"{len(self.refused)} signed under a key not accepted (left as they are), "
                f"{len(self.unreadable)} unreadable")

    def lines(self) -> List[str]:
        """The report as ``chariots sign-store`` prints it."""
        lines = [f"{'Checked' if self.dry_run else 'Signed'} the states of {self.where}"]
        lines += [f"  {'to sign' if self.dry_run else 'signed'}: op {name!r} version {str(version)[:5]}"
                  for name, version in self.signed]
        lines += [f"  left as it is (signed under a key not accepted): op {name!r} version {str(version)[:5]}"
                  for name, version in self.refused]
        lines += [f"  unreadable: op {name!r} version {str(version)[:5]}: {reason}"
                  for (name, version), reason in self.unreadable]
        lines.append(self.summary())
        if self.dry_run and self.signed:
            lines.append("Nothing was written: run again with --yes to sign them")
        return lines


def _op_names(service: OpStoreService) -> List[str]:
    from sqlalchemy import select

    from chariots.op_store.models import DBOp

    with service.database.session() as session:
        return sorted(session.scalars(select(DBOp.name)))


def sign_store(
    saver: BaseSaver,
    db_url: str,
    secret_key: Optional[str] = None,
    old_secret_keys: Optional[Sequence[str]] = None,
    dry_run: bool = True,
) -> SignStoreReport:
    """Signs every recorded state of an op store that carries no signature (what a store written
    before signing holds), in place, under the secret key; what ``chariots sign-store`` runs.

    Each state is rewritten through the saver (atomically for a :class:`FileSaver`); states
    signed under an accepted key are left as they are, so running it again changes nothing.
    Signing vouches for the states: run it on a store only trusted processes wrote to.

    :param saver: the store's saver
    :param db_url: the store's database
    :param secret_key: the key signing (None: ``CHARIOTS_SECRET_KEY``, else the user's key file)
    :param old_secret_keys: older keys, whose states count as signed already
    :param dry_run: only report what would be signed (the default: pass False to sign)
    """
    from sqlalchemy.engine import make_url

    keys = SigningKeys.resolve(secret_key, old_secret_keys)
    service = OpStoreService(saver, OpStoreDatabase(db_url))
    try:
        service.start()
        report = sign_service_states(service, keys, dry_run)
    finally:
        service.close()
    report.where = (f"the op store {make_url(db_url).render_as_string(hide_password=True)} under the key from "
                    f"{keys.source} (key id {keys.fingerprint})")
    return report


def sign_service_states(service: OpStoreService, keys: SigningKeys, dry_run: bool = True) -> SignStoreReport:
    """:func:`sign_store` on an op store service (its saver and database) with resolved keys."""
    report = SignStoreReport(dry_run=dry_run)
    for op_name in _op_names(service):
        for version in service.get_all_versions_of_op(op_name):
            state = (op_name, version)
            try:
                blob = service.get_op_bytes_for_version(op_name, version)
            except ChariotsError as error:
                report.unreadable.append((state, str(error)))
                continue
            try:
                keys.unsign_state(op_name, version, blob)
            except SignatureError:
                if looks_signed(blob):
                    report.refused.append(state)
                    continue
                if not dry_run:
                    service.saver.save(keys.sign_state(op_name, version, blob), op_bytes_path(op_name, version))
                report.signed.append(state)
            else:
                report.already_signed.append(state)
    return report
