"""A database URL's password is never printed back (issue 19, finding 17): ``chariots db-upgrade
--db-url`` with a malformed URL said it back whole, password included."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from chariots.cli import cli
from tests import generative

MALFORMED = [
    "postgresql//admin:{password}@db.internal:5432/chariots",  # no colon after the scheme
    "postgres ql://admin:{password}@db.internal/chariots",  # a space in the scheme
    "://admin:{password}@db.internal/chariots",
    "admin:{password}@db.internal",
    "post=gres://admin:{password}@db.internal",
]


def _upgrade(url: str):
    return CliRunner().invoke(cli, ["db-upgrade", "--db-url", url])


@pytest.mark.parametrize("template", MALFORMED)
def test_a_malformed_database_url_is_refused_without_its_password(template):
    result = _upgrade(template.format(password="hunter2-the-password"))
    assert result.exit_code == 2, result.output
    assert "hunter2" not in result.output
    assert "Invalid value for '--db-url':" in result.output
    assert "is not a SQLAlchemy URL, e.g. sqlite:////tmp/op_store.db or postgresql+psycopg://user:password@host:5432/" \
           "database (its user and password are not shown)" in " ".join(result.output.split())


@pytest.mark.generative
@given(template=st.sampled_from(MALFORMED),
       password=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="@/:"),
                        min_size=6, max_size=20))
def test_no_database_url_error_shows_its_password(template, password):
    """The promise: whatever the password, a refused URL's message does not hold it."""
    generative.record("test_no_database_url_error_shows_its_password", f"{MALFORMED.index(template)}:{len(password)}")
    result = _upgrade(template.format(password=password))
    assert result.exit_code == 2
    assert password not in result.output.replace("--db-url", "").replace("SQLAlchemy URL", "")
