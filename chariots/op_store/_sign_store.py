"""Bringing a store written before signing to signed (``chariots sign-store``): each state an
unsigning release wrote, and that carries no signature, is signed in place under the configured key.

Signing a state vouches for it: every process holding the key will then unpickle it. So it signs
only what was written *before signing was enabled*: the store records when (migration 0005: the
time, and the last version row written before), and a state recorded later that carries no
signature was written by someone without the key (a plant, or a process of an earlier release
still running): it is listed and never signed; and once a run signed the store, later runs sign
nothing (bytes without a signature found then were written since). It needs the key the servers use, configured; it
never makes one (a new key would sign states no server accepts). States signed under a key that is
not accepted are left as they are and listed.

What it cannot tell: bytes of a state written before signing that someone changed in the saver
between the upgrade and the run (their database row is the old one) — an exposure no larger than
before the upgrade, when every process loaded unsigned bytes. Run it right after upgrading, on a
store only trusted processes wrote to, and read the listing (each state with when it was
written) first.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from chariots._signing import SigningKeys, looks_signed
from chariots.errors import ChariotsError, ConfigError, SignatureError
from chariots.op_store._database import OpStoreDatabase
from chariots.op_store._names import op_bytes_path
from chariots.op_store._service import OpStoreService
from chariots.op_store.savers import BaseSaver
from chariots.versioning import Version

__all__ = ["SignStoreReport", "StoredState", "sign_store", "sign_service_states", "configured_keys"]


@dataclass(frozen=True)
class StoredState:
    """A recorded state: its op, version, when the store wrote it, and its row (the store's order)."""

    op_name: str
    version: Version
    written_at: float
    row: int

    def describe(self) -> str:
        return f"op {self.op_name!r} version {str(self.version)[:5]}, written {_when(self.written_at)}"


def _when(timestamp: Optional[float]) -> str:
    if timestamp is None:
        return "at an unknown time"
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class SignStoreReport:
    """What :func:`sign_store` found (and, unless it was a dry run, did)."""

    #: written before signing was enabled and carrying no signature (signed now, unless a dry run)
    signed: List[StoredState] = field(default_factory=list)
    #: signed under an accepted key already
    already_signed: List[StoredState] = field(default_factory=list)
    #: signed under a key that is not accepted, or tampered: left as they are
    refused: List[StoredState] = field(default_factory=list)
    #: written after signing was enabled without a signature, so by someone without the key: never signed
    written_after: List[StoredState] = field(default_factory=list)
    #: whose bytes cannot be read (missing from the saver): left as they are
    unreadable: List[Tuple[StoredState, str]] = field(default_factory=list)
    #: when signing was enabled on the store
    enabled_at: Optional[float] = None
    #: when an earlier run signed the store (it then signs nothing more)
    signed_before_at: Optional[float] = None
    #: whether nothing was written
    dry_run: bool = True
    #: the store and the key, for the report's first line
    where: str = "the op store"

    def summary(self) -> str:
        """One line: the counts of each kind."""
        verb = "to sign" if self.dry_run else "signed"
        return (f"{len(self.signed)} state(s) {verb}, {len(self.already_signed)} already signed, "
                f"{len(self.written_after)} written after signing was enabled without a signature (never signed), "
                f"{len(self.refused)} signed under a key not accepted (left as they are), "
                f"{len(self.unreadable)} unreadable")

    def lines(self) -> List[str]:
        """The report as ``chariots sign-store`` prints it: every state with when it was written."""
        lines = [f"{'Checked' if self.dry_run else 'Signed'} the states of {self.where}",
                 f"Signing was enabled on this store {_when(self.enabled_at)}: only states written before then "
                 "are signed"]
        if self.signed_before_at is not None:
            lines.append(f"sign-store signed this store {_when(self.signed_before_at)}: it signs nothing more")
        entries = [(state, f"{'to sign' if self.dry_run else 'signed'}") for state in self.signed]
        entries += [(state, "already signed") for state in self.already_signed]
        entries += [(state, "NOT SIGNED, no signature although written (or rewritten) after signing was "
                            "enabled: not by a process holding the key; remove it unless you know who wrote it")
                    for state in self.written_after]
        entries += [(state, "left as it is (signed under a key not accepted)") for state in self.refused]
        entries += [(state, f"unreadable: {reason}") for state, reason in self.unreadable]
        lines += [f"  {state.describe()}: {what}" for state, what in sorted(entries, key=lambda item: item[0].row)]
        lines.append(self.summary())
        if self.dry_run and self.signed:
            lines.append("Nothing was written: check the list, then run again with --yes to sign them")
        return lines


def configured_keys(secret_key: Optional[str] = None,
                    old_secret_keys: Optional[Sequence[str]] = None) -> SigningKeys:
    """The keys sign-store signs with: given, or ``CHARIOTS_SECRET_KEY``, or an existing file named
    by ``CHARIOTS_SECRET_KEY_FILE``; never a key made for the occasion.

    :raises ConfigError: when no key is configured
    """
    import os

    from chariots._signing import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV

    key_file = os.environ.get(SECRET_KEY_FILE_ENV)
    if secret_key is None and os.environ.get(SECRET_KEY_ENV) is None and not (key_file and os.path.exists(key_file)):
        raise ConfigError(
            "sign-store needs the key the servers and workers use, and none is configured: set op_store.secret_key "
            f"in the config, or {SECRET_KEY_ENV}, or {SECRET_KEY_FILE_ENV} naming the existing key file; it never "
            "makes a key (states signed under a new one would be refused by every server)"
        )
    return SigningKeys.resolve(secret_key, old_secret_keys)


def sign_store(
    saver: BaseSaver,
    db_url: str,
    secret_key: Optional[str] = None,
    old_secret_keys: Optional[Sequence[str]] = None,
    dry_run: bool = True,
) -> SignStoreReport:
    """Signs, in place under the configured key, every state an unsigning release wrote (recorded
    before signing was enabled on the store) that carries no signature; what ``chariots sign-store``
    runs.

    Each state is rewritten through the saver (atomically for a :class:`FileSaver`); states
    signed under an accepted key are left as they are, so running it again changes nothing.

    :param saver: the store's saver
    :param db_url: the store's database
    :param secret_key: the key signing (None: ``CHARIOTS_SECRET_KEY``, else the existing key file
                       ``CHARIOTS_SECRET_KEY_FILE`` names)
    :param old_secret_keys: older keys, whose states count as signed already
    :param dry_run: only report what would be signed (the default: pass False to sign)
    :raises ConfigError: when no key is configured, or the store does not record when signing was enabled
    """
    from sqlalchemy.engine import make_url

    keys = configured_keys(secret_key, old_secret_keys)
    service = OpStoreService(saver, OpStoreDatabase(db_url))
    try:
        service.start()
        report = sign_service_states(service, keys, dry_run)
    finally:
        service.close()
    report.where = (f"the op store {make_url(db_url).render_as_string(hide_password=True)} under the key from "
                    f"{keys.source} (key id {keys.fingerprint})")
    return report


_Enabled = Tuple[float, Optional[int], Optional[float]]


def _records(service: OpStoreService) -> Tuple[Optional[_Enabled], List[StoredState]]:
    from sqlalchemy import select

    from chariots.op_store.models import DBOp, DBSigningEnabled, DBVersion

    with service.database.session() as session:
        enabled = session.scalars(select(DBSigningEnabled).order_by(DBSigningEnabled.id)).first()
        rows = session.execute(select(DBOp.name, DBVersion).join(DBOp, DBVersion.op_id == DBOp.id)
                               .order_by(DBVersion.id)).all()
        states = [StoredState(name, row.to_version(), row.saved_at, row.id) for name, row in rows]
        if enabled is None:
            return None, states
        return (enabled.enabled_at, enabled.last_version_before, enabled.signed_at), states


def _record_the_signing(service: OpStoreService) -> None:
    import time

    from sqlalchemy import select

    from chariots.op_store.models import DBSigningEnabled

    with service.database.session() as session:
        enabled = session.scalars(select(DBSigningEnabled).order_by(DBSigningEnabled.id)).first()
        enabled.signed_at = time.time()
        session.commit()


def sign_service_states(service: OpStoreService, keys: SigningKeys, dry_run: bool = True) -> SignStoreReport:
    """:func:`sign_store` on an op store service (its saver and database) with resolved keys.

    :raises ConfigError: if the store does not record when signing was enabled
    """
    enabled, states = _records(service)
    if enabled is None:
        raise ConfigError(
            "this op store does not record when signing was enabled (its tables were made by a release that signs "
            "every state): every unsigned state in it was written without the key, and sign-store signs none"
        )
    enabled_at, last_before, signed_at = enabled
    report = SignStoreReport(dry_run=dry_run, enabled_at=enabled_at, signed_before_at=signed_at)
    for state in states:
        try:
            blob = service.get_op_bytes_for_version(state.op_name, state.version)
        except ChariotsError as error:
            report.unreadable.append((state, str(error)))
            continue
        try:
            keys.unsign_state(state.op_name, state.version, blob)
        except SignatureError:
            if looks_signed(blob):
                report.refused.append(state)
            elif last_before is None or state.row > last_before or signed_at is not None:
                report.written_after.append(state)
            else:
                if not dry_run:
                    service.saver.save(keys.sign_state(state.op_name, state.version, blob),
                                       op_bytes_path(state.op_name, state.version))
                report.signed.append(state)
        else:
            report.already_signed.append(state)
    if not dry_run and signed_at is None:
        _record_the_signing(service)  # what is unsigned from now on was written without the key
    return report
