"""Version arithmetic, representation, parsing and ordering."""
import hashlib
import time

import pytest

from chariots.versioning import Version, VersionType

EMPTY = hashlib.sha1().hexdigest()


def test_fresh_version_is_three_empty_hashes():
    version = Version()
    assert (version.major, version.minor, version.patch) == (EMPTY, EMPTY, EMPTY)
    assert repr(version) == "<Version, major:da39a, minor: da39a, patch: da39a>"


def test_update_feeds_only_the_chosen_sub_version():
    version = Version().update(VersionType.MINOR, b"abc")
    assert version.minor == hashlib.sha1(b"abc").hexdigest()
    assert version.major == EMPTY and version.patch == EMPTY
    assert Version().update_major(b"x").major == hashlib.sha1(b"x").hexdigest()
    assert Version().update_patch(b"x").patch == hashlib.sha1(b"x").hexdigest()


def test_addition_hashes_left_then_right_digests():
    left = Version().update_major(b"a")
    right = Version().update_major(b"b")
    total = left + right
    assert total.major == hashlib.sha1((left.major + right.major).encode()).hexdigest()
    assert total.minor == hashlib.sha1((EMPTY + EMPTY).encode()).hexdigest()
    assert left + right != right + left


def test_str_and_parse_round_trip_with_creation_time():
    version = Version().update_major(b"a").update_patch(b"b")
    parsed = Version.parse(str(version))
    assert parsed == version
    assert parsed.creation_time == version.creation_time
    assert str(parsed) == str(version)


def test_parsed_version_keeps_changing_when_updated():
    version = Version().update_major(b"a")
    parsed = Version.parse(str(version))
    before = parsed.major
    parsed.update_major(b"more")
    assert parsed.major != before


@pytest.mark.parametrize(
    "text",
    ["", "abc", "a_b_c_d", f"{EMPTY}_{EMPTY}_{EMPTY}_soon", f"../../{EMPTY}_{EMPTY}_{EMPTY}_1.0"],
)
def test_parse_rejects_what_str_never_makes(text):
    with pytest.raises(ValueError, match="version string|sub-version"):
        Version.parse(text)


def test_equality_ignores_creation_time_and_ordering_uses_it():
    early = Version(creation_time=1.0).update_major(b"a")
    late = Version(creation_time=2.0).update_major(b"b")
    same_as_early = Version(creation_time=5.0).update_major(b"a")
    assert early == same_as_early and hash(early) == hash(same_as_early)
    assert late > early and early < late
    assert not (same_as_early > early) and not (same_as_early < early)


def test_versions_created_later_compare_greater():
    first = Version().update_major(b"1")
    time.sleep(0.001)
    second = Version().update_major(b"2")
    assert max([second, first]) is second


def test_versions_pickle_equal_with_their_creation_time():
    import pickle

    version = Version().update_major(b"a").update_minor(b"b")
    copy = pickle.loads(pickle.dumps(version))
    assert copy == version and copy.creation_time == version.creation_time
    assert repr(copy) == repr(version)
