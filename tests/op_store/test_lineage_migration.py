"""An op store filled by a Chariots of schema 0001 serves, once upgraded, what it served before.

Schema 0001 keyed validated links by op names: (downstream op, upstream op) -> upstream
version. Migration 0002 moves them to every saved version of the downstream op, as explicit
links. The stores below are written the way 0001-era Chariots wrote them, with plain SQL and
a FileSaver:

- a server starting with ``train`` and ``pred`` registers them: the untrained ops are saved
  under their class versions (creation time 0), and every edge gets a link;
- ``train`` is trained and saved: the trained PCA and linear regression, and a link for every
  edge of ``train``;
- in the *unlinked* store, the PCA is then retrained alone (``train_pca``) and saved: its new
  major has no link to the linear regression.

Upgraded to the head revision, the first store loads ``pred`` with both trained models and
predicts what they predict; the second refuses it with a VersionError, as 0001 Chariots did.
A downgrade to 0001 gives the links back as they were, and a new upgrade serves the same.

0001-era Chariots wrote the bytes of states unsigned; since state signing (issue 12), only
signed bytes are loaded, so the stores here hold the old bytes signed with the test's key, as
an operator must sign them when upgrading (the last test shows unsigned ones are refused).
"""

from __future__ import annotations

import json
import time
from typing import Dict, Iterator, List, NamedTuple, Set, Tuple

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install chariots[sklearn])")

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from chariots._signing import SECRET_KEY_ENV, KeySource  # noqa: E402
from chariots.errors import SignatureError, VersionError  # noqa: E402
from chariots.op_store import OpStoreClient, OpStoreServer, upgrade_database  # noqa: E402
from chariots.op_store._names import op_bytes_path  # noqa: E402
from chariots.op_store.migrations import MIGRATIONS_DIRECTORY  # noqa: E402
from chariots.op_store.savers import FileSaver  # noqa: E402
from chariots.pipelines import PipelinesServer  # noqa: E402
from chariots.pipelines.runners import SequentialRunner  # noqa: E402
from chariots.testing import TestPipelinesClient  # noqa: E402
from chariots.versioning import Version  # noqa: E402
from tests.lineage.lineage_ops import FIT, PREDICT, ROWS, LinearOp, PCAOp, build  # noqa: E402

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

#: a link as schema 0001 kept it: (downstream op, upstream op, major, minor, patch, creation time)
Link = Tuple[str, str, str, str, str, float]


# ------------------------------------------------------------------ a 0001-era store


class Store0001:
    """Writes rows into an op store database at revision 0001 as Chariots did then."""

    def __init__(self, db_url: str, saver_root: str, sign: bool = True):
        self.engine = create_engine(db_url)
        self.saver = FileSaver(saver_root)
        self.keys = KeySource().keys if sign else None

    def _op_id(self, connection, name: str) -> int:
        found = connection.execute(text("SELECT id FROM ops WHERE name = :name"), {"name": name}).scalar()
        if found is not None:
            return found
        connection.execute(text("INSERT INTO ops (name) VALUES (:name)"), {"name": name})
        return connection.execute(text("SELECT id FROM ops WHERE name = :name"), {"name": name}).scalar()

    def has_versions(self, name: str) -> bool:
        with self.engine.connect() as connection:
            query = "SELECT count(*) FROM versions JOIN ops ON ops.id = versions.op_id WHERE ops.name = :name"
            return bool(connection.execute(text(query), {"name": name}).scalar())

    def save_op(self, name: str, version: Version, op_bytes: bytes) -> None:
        """``save_op_bytes``: the bytes to the saver, then the version row."""
        if self.keys is not None:
            op_bytes = self.keys.sign_state(name, version, op_bytes)
        self.saver.save(op_bytes, op_bytes_path(name, version))
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO versions (op_id, major, minor, patch, creation_time, saved_at) "
                    "VALUES (:op_id, :major, :minor, :patch, :creation_time, :saved_at)"
                ),
                {"op_id": self._op_id(connection, name), "saved_at": time.time(), **_hashes(version)},
            )

    def link(self, downstream: str, upstream: str, version: Version) -> None:
        """``register_valid_link``: a link keyed by the two op names (kept once)."""
        with self.engine.begin() as connection:
            row = {
                "downstream": self._op_id(connection, downstream),
                "upstream": self._op_id(connection, upstream),
                **_hashes(version),
            }
            exists = connection.execute(
                text(
                    "SELECT id FROM validated_links WHERE downstream_op_id = :downstream AND "
                    "upstream_op_id = :upstream AND major = :major AND minor = :minor AND patch = :patch"
                ),
                row,
            ).scalar()
            if exists is None:
                connection.execute(
                    text(
                        "INSERT INTO validated_links (downstream_op_id, upstream_op_id, major, minor, patch, "
                        "creation_time) VALUES (:downstream, :upstream, :major, :minor, :patch, :creation_time)"
                    ),
                    row,
                )

    def record_pipeline(self, name: str, node_names: List[str]) -> None:
        now = time.time()
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO pipelines (name, node_names, registered_at, updated_at) "
                    "VALUES (:name, :node_names, :now, :now)"
                ),
                {"name": name, "node_names": json.dumps(node_names), "now": now},
            )

    def close(self) -> None:
        self.engine.dispose()


def _hashes(version: Version) -> Dict[str, object]:
    return {
        "major": version.major,
        "minor": version.minor,
        "patch": version.patch,
        "creation_time": version.creation_time,
    }


class OldStore(NamedTuple):
    """What the 0001-era store holds, to compare the upgraded store's answers with."""

    db_url: str
    saver_root: str
    untrained_pca: Version
    pca: Version  # the PCA ``train`` trained
    linear: Version  # the linear regression ``train`` trained
    retrained_pca: object  # the PCA ``train_pca`` retrained alone (None in the linked store)
    expected: list  # what ``pred`` predicts behind the trained PCA and linear regression
    links: Set[Link]


def _versions(pipeline) -> Dict[str, Version]:
    return {node.name: version for node, version in pipeline.get_pipeline_versions().items()}


def _ops(pipeline) -> Dict[str, object]:
    return {node.name: node.op for node in pipeline.get_pipeline_versions()}


def fill_0001_store(db_url: str, saver_root: str, retrain_pca_alone: bool, sign: bool = True) -> OldStore:
    """Creates the 0001 schema and fills it as a 0001-era server running ``train``, ``pred``
    (and ``train_pca`` when ``retrain_pca_alone``) did (bytes signed unless ``sign`` is False)."""
    upgrade_database(db_url, "0001")
    store = Store0001(db_url, saver_root, sign)
    train, pred, train_pca = build("train", "pred", "train_pca")
    try:
        # the server starts: the pipelines the store never saw are registered
        for pipeline in (train, pred):
            versions = _versions(pipeline)
            for node in pipeline.get_pipeline_versions():
                if node.is_loadable and not store.has_versions(node.name):
                    store.save_op(node.name, versions[node.name], node.op.serialize())
            _link_edges(store, pipeline, versions)
            store.record_pipeline(pipeline.name, [node.name for node in pipeline.pipeline_nodes])
        untrained_pca = _versions(pred)["pcaop"]

        # train is trained and saved: every loadable op under its version, a link per edge
        SequentialRunner().run(train)
        versions, ops = _versions(train), _ops(train)
        for name in ("pcaop", "linearop"):
            store.save_op(name, versions[name], ops[name].serialize())
        _link_edges(store, train, versions)
        pca, linear = ops["pcaop"], ops["linearop"]
        expected = linear.model.predict(pca.model.transform(ROWS)).tolist()

        retrained = None
        if retrain_pca_alone:
            SequentialRunner().run(train_pca)
            retrained = _versions(train_pca)["pcaop"]
            store.save_op("pcaop", retrained, _ops(train_pca)["pcaop"].serialize())
            _link_edges(store, train_pca, _versions(train_pca))
        links = links_0001(store.engine)
    finally:
        store.close()
    return OldStore(
        db_url, saver_root, untrained_pca, versions["pcaop"], versions["linearop"], retrained, expected, links
    )


def _link_edges(store: Store0001, pipeline, versions: Dict[str, Version]) -> None:
    for node in pipeline.get_pipeline_versions():
        for downstream in pipeline._graph.consumers[node]:
            store.link(downstream.name, node.name, versions[node.name])


# ------------------------------------------------------------------ reading the store back


def links_0001(engine) -> Set[Link]:
    """The rows of ``validated_links``, by op names."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT down.name, up.name, l.major, l.minor, l.patch, l.creation_time FROM validated_links l "
                "JOIN ops down ON down.id = l.downstream_op_id JOIN ops up ON up.id = l.upstream_op_id"
            )
        )
        return {tuple(row) for row in rows}


def lineage_links(db_url: str) -> Set[Tuple[str, str, str, str, bool]]:
    """The rows of ``lineage_links``: (downstream op, downstream version, upstream op, upstream major, explicit)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT down.name, v.major || '_' || v.minor || '_' || v.patch, up.name, l.major, l.explicit "
                    "FROM lineage_links l JOIN versions v ON v.id = l.version_id "
                    "JOIN ops down ON down.id = v.op_id JOIN ops up ON up.id = l.upstream_op_id"
                )
            )
            return {(a, b, c, d, bool(e)) for a, b, c, d, e in rows}
    finally:
        engine.dispose()


def revision(db_url: str) -> str:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIRECTORY)
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def downgrade_database(db_url: str, target: str) -> None:
    config = _alembic_config()
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, target)
    finally:
        engine.dispose()


class Served(NamedTuple):
    client: TestPipelinesClient
    store: OpStoreClient


@pytest.fixture
def serve_upgraded(wsgi_server) -> Iterator:
    """Serves ``pred`` on the op store of an (upgraded) database, over HTTP."""
    opened: List = []

    def serve(old: OldStore) -> Served:
        server = OpStoreServer(FileSaver(old.saver_root), db_url=old.db_url)
        store = OpStoreClient(wsgi_server(server.flask))
        opened.append((server, store))
        client = TestPipelinesClient(PipelinesServer(build("pred"), op_store_client=store))
        return Served(client, store)

    yield serve
    for server, store in reversed(opened):
        store.close()
        server.close()


@pytest.fixture(autouse=True)
def secret_key(monkeypatch) -> None:
    """The key the old bytes are signed with, and the serving process checks them with."""
    monkeypatch.setenv(SECRET_KEY_ENV, "lineage-migration-test-key")


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'op_store.db'}"
    return request.getfixturevalue("postgres_schema_url")


# ------------------------------------------------------------------ checks


def assert_serves_the_trained_models(served: Served, old: OldStore) -> None:
    served.client.load_pipeline("pred")
    assert served.client.pipeline_versions("pred") == {"pcaop": old.pca, "linearop": old.linear}
    assert served.client.call_pipeline("pred", ROWS).value == pytest.approx(old.expected)


def assert_refuses_the_retrained_pca(served: Served, old: OldStore) -> None:
    trained_behind = ", ".join(sorted({old.untrained_pca.major[:5], old.pca.major[:5]}))
    with pytest.raises(VersionError) as error:
        served.client.load_pipeline("pred")
    assert str(error.value) == (
        "the pipeline you requested cannot be loaded because of version incompatibility. "
        "HINT: retrain and save/reload in order to have a loadable version: no stored version of op "
        f"'linearop' fits the versions its upstream ops load: version {old.linear.major[:5]} of op 'linearop' "
        f"was trained behind upstream op 'pcaop' {trained_behind}, but upstream op 'pcaop' now loads "
        f"{old.retrained_pca.major[:5]}. Rerun its training pipeline so that 'linearop' trains behind them, "
        "save it, then load again"
    )


def test_the_0001_store_is_written_as_chariots_wrote_it(db_url, tmp_path):
    old = fill_0001_store(db_url, str(tmp_path / "saver"), retrain_pca_alone=True)

    assert revision(db_url) == "0001"
    # links of the registrations and of the saves of train and train_pca, by op names
    assert {(link[0], link[1]) for link in old.links} == {
        ("pcaop", "data"), ("pcaop", "features"), ("linearop", "data"), ("linearop", "pcaop")
    }
    assert {link[2] for link in old.links if link[:2] == ("linearop", "pcaop")} == {
        old.untrained_pca.major, old.pca.major
    }
    # the registration saved the untrained ops under their class versions
    assert old.untrained_pca == PCAOp(FIT).op_version and old.untrained_pca.creation_time == 0.0
    assert LinearOp(PREDICT).op_version.major == old.linear.major
    assert len({old.untrained_pca.major, old.pca.major, old.retrained_pca.major}) == 3


@pytest.mark.parametrize("retrain_pca_alone", [False, True], ids=["linked", "unlinked"])
def test_upgrading_carries_the_links_over_to_every_version(db_url, tmp_path, retrain_pca_alone):
    old = fill_0001_store(db_url, str(tmp_path / "saver"), retrain_pca_alone)

    upgrade_database(db_url)

    assert revision(db_url) == head_revision()
    # each link goes to every saved version of its downstream op, as an explicit link
    saved = {
        "linearop": [LinearOp(PREDICT).op_version, old.linear],
        "pcaop": [old.untrained_pca, old.pca] + ([old.retrained_pca] if retrain_pca_alone else []),
    }
    assert lineage_links(db_url) == {
        (down, f"{version.major}_{version.minor}_{version.patch}", up, major, True)
        for down, up, major, _, _, _ in old.links
        for version in saved[down]
    }


def test_an_upgraded_store_serves_the_models_it_served(db_url, tmp_path, serve_upgraded):
    old = fill_0001_store(db_url, str(tmp_path / "saver"), retrain_pca_alone=False)

    upgrade_database(db_url)
    served = serve_upgraded(old)

    assert_serves_the_trained_models(served, old)
    states = served.store.get_op_states("linearop")
    assert [state.version for state in states] == [LinearOp(PREDICT).op_version, old.linear]
    for state in states:
        assert state.lineage == {}
        assert {version.major for version in state.links["pcaop"]} == {old.untrained_pca.major, old.pca.major}


def test_an_upgraded_store_refuses_a_model_never_linked_to_its_upstream(db_url, tmp_path, serve_upgraded):
    old = fill_0001_store(db_url, str(tmp_path / "saver"), retrain_pca_alone=True)

    upgrade_database(db_url)
    served = serve_upgraded(old)

    assert_refuses_the_retrained_pca(served, old)


@pytest.mark.parametrize("retrain_pca_alone", [False, True], ids=["linked", "unlinked"])
def test_downgrading_to_0001_and_upgrading_again_keeps_the_links(db_url, tmp_path, serve_upgraded, retrain_pca_alone):
    old = fill_0001_store(db_url, str(tmp_path / "saver"), retrain_pca_alone)
    upgrade_database(db_url)
    upgraded_links = lineage_links(db_url)

    downgrade_database(db_url, "0001")

    assert revision(db_url) == "0001"
    engine = create_engine(db_url)
    try:
        assert links_0001(engine) == old.links
    finally:
        engine.dispose()

    upgrade_database(db_url)

    assert revision(db_url) == head_revision()
    assert lineage_links(db_url) == upgraded_links
    served = serve_upgraded(old)
    if retrain_pca_alone:
        assert_refuses_the_retrained_pca(served, old)
    else:
        assert_serves_the_trained_models(served, old)


def test_unsigned_bytes_of_an_upgraded_0001_store_are_refused(db_url, tmp_path, wsgi_server):
    old = fill_0001_store(db_url, str(tmp_path / "saver"), retrain_pca_alone=False, sign=False)
    upgrade_database(db_url)
    server = OpStoreServer(FileSaver(old.saver_root), db_url=db_url)
    store = OpStoreClient(wsgi_server(server.flask))
    try:
        assert [state.version for state in store.get_op_states("pcaop")] == [old.untrained_pca, old.pca]
        with pytest.raises(SignatureError) as error:
            store.get_op_bytes_for_version("pcaop", old.pca)
    finally:
        store.close()
        server.close()
    assert str(error.value).startswith(
        f"version {old.pca.major[:5]} of op 'pcaop' is refused: it carries no signature (accepted: the key from "
        f"{SECRET_KEY_ENV} and 0 old key(s))"
    )
