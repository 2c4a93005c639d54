"""Versions of classes built from versioned fields, exactly as the reference docs print them."""
import subprocess
import sys
import textwrap

from chariots.pipelines.ops import BaseOp
from chariots.versioning import VersionableMeta, VersionedField, VersionedFieldDict, VersionType


def test_class_without_fields_has_the_empty_version():
    class MyVersionedClass(metaclass=VersionableMeta):
        pass

    assert repr(MyVersionedClass.__version__) == "<Version, major:da39a, minor: da39a, patch: da39a>"


def test_minor_field_versions_from_the_docs():
    class MyVersionedClass(metaclass=VersionableMeta):
        foo = VersionedField(3, VersionType.MINOR)

    assert repr(MyVersionedClass.__version__) == "<Version, major:94e72, minor: 36d3c, patch: 94e72>"
    assert MyVersionedClass.foo == 3

    class MyVersionedClass(metaclass=VersionableMeta):  # noqa: F811
        foo = VersionedField(5, VersionType.MINOR)

    assert repr(MyVersionedClass.__version__) == "<Version, major:94e72, minor: 72101, patch: 94e72>"


def test_assigning_a_field_later_keeps_the_class_version():
    class MyVersionedClass(metaclass=VersionableMeta):
        foo = VersionedField(5, VersionType.MINOR)

    MyVersionedClass.foo = 7
    assert MyVersionedClass.foo == 7
    assert repr(MyVersionedClass.__version__) == "<Version, major:94e72, minor: 72101, patch: 94e72>"


def test_versioned_field_dict_versions_from_the_docs():
    def make(foo, blu):
        class MyVersionedClass(metaclass=VersionableMeta):
            versioned_dict = VersionedFieldDict(
                VersionType.PATCH, {"foo": foo, "bar": 2, "blu": VersionedField(blu, VersionType.MAJOR)}
            )

        return MyVersionedClass

    first = make(1, 3)
    assert repr(first.__version__) == "<Version, major:ddf7a, minor: 1b365, patch: 68722>"
    assert first.versioned_dict["foo"] == 1
    assert repr(make(10, 3).__version__) == "<Version, major:ddf7a, minor: 1b365, patch: 18615>"
    changed = make(1, 10)
    assert repr(changed.__version__) == "<Version, major:d5abf, minor: 1b365, patch: 68722>"
    assert changed.versioned_dict["blu"] == 10


def test_op_versions_from_the_docs():
    class AddOp(BaseOp):
        number_to_add = VersionedField(3, VersionType.MAJOR)

        def execute(self, op_input):
            return op_input + self.number_to_add

    assert repr(AddOp.__version__) == "<Version, major:36d3c, minor: 94e72, patch: 94e72>"
    assert AddOp.number_to_add == 3 and AddOp().execute(3) == 6

    class AddOp(BaseOp):  # noqa: F811
        number_to_add = VersionedField(4, VersionType.MAJOR)

    assert repr(AddOp.__version__) == "<Version, major:8ad66, minor: 94e72, patch: 94e72>"


def test_subclass_inherits_and_overrides_base_fields():
    class Base(metaclass=VersionableMeta):
        foo = VersionedField(3, VersionType.MINOR)

    class Child(Base):
        pass

    class Override(Base):
        foo = VersionedField(5, VersionType.MINOR)

    class Plain(Base):
        foo = 5

    assert Child.__version__ == Base.__version__
    assert repr(Override.__version__) == "<Version, major:94e72, minor: 72101, patch: 94e72>"
    assert repr(Plain.__version__) == "<Version, major:da39a, minor: da39a, patch: da39a>"


def test_versioned_field_dict_behaves_like_a_dict():
    fields = VersionedFieldDict(VersionType.MINOR, {"a": 1}, b=2)
    fields["c"] = VersionedField(3, VersionType.MAJOR)
    assert dict(fields) == {"a": 1, "b": 2, "c": 3}
    assert fields.version_dict["c"].minor == fields.version_dict["a"].major
    del fields["a"]
    assert len(fields) == 2 and "a" not in fields


_CLASS_SOURCE = textwrap.dedent(
    """
    import numpy as np
    from chariots.versioning import VersionableMeta, VersionedField, VersionedFieldDict, VersionType
    from collections import OrderedDict

    def helper(x):
        return x

    class Holder(metaclass=VersionableMeta):
        a_class = VersionedField(OrderedDict, VersionType.MAJOR)
        a_function = VersionedField(helper, VersionType.MAJOR)
        a_dict = VersionedField({"b": 2, "a": [1, 2]}, VersionType.MINOR)
        a_list = VersionedField([1, "x", 2.5], VersionType.PATCH)
        an_array = VersionedField(np.arange(12).reshape(3, 4), VersionType.MINOR)
        params = VersionedFieldDict(VersionType.MAJOR, {"n": 2, "set": {3, 1, 2}})

    print(str(Holder.__version__).rsplit("_", 1)[0])
    """
)


def test_same_class_in_two_processes_gets_the_same_version(tmp_path):
    script = tmp_path / "holder.py"
    script.write_text(_CLASS_SOURCE)
    outputs = {
        subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    (output,) = outputs
    assert output.count("_") == 2 and len(output.strip()) == 3 * 40 + 2


# "A version is considered greater than the other if one or more of its subversions is different
# and it has been created later": a field's version is created with the field
def test_a_field_version_is_greater_than_a_version_made_before_the_field():
    import time

    from chariots.versioning import Version

    before = Version()
    time.sleep(0.01)
    field = VersionedField(3, VersionType.MINOR)
    assert field.version > before
    assert before < field.version
    assert not field.version < before
    assert field.version.creation_time == field.creation_time > before.creation_time
    # the time is the field's: reading its version again gives the same stamp
    assert field.version.creation_time == field.creation_time


def test_field_versions_keep_their_hashes_whatever_their_creation_time():
    import hashlib
    import time

    from chariots.versioning import Version
    from chariots.versioning._canonical import canonical

    early = VersionedField(3, VersionType.MINOR)
    time.sleep(0.01)
    late = VersionedField(3, VersionType.MINOR)
    assert late.version == early.version and not late.version > early.version
    # the same hashes as a version stamped 0.0 (what field versions were before they kept a time)
    digest = hashlib.sha1(canonical(3).encode("utf-8")).hexdigest()
    unstamped = Version(creation_time=0.0).update_minor(digest.encode("utf-8"))
    assert str(late.version).rsplit("_", 1)[0] == str(unstamped).rsplit("_", 1)[0]
    assert repr(late.version) == repr(unstamped) == "<Version, major:da39a, minor: 08743, patch: da39a>"
    assert late.version.creation_time > early.version.creation_time


def test_setting_a_new_value_stamps_a_new_creation_time():
    import time

    class Holder(metaclass=VersionableMeta):
        foo = VersionedField(3, VersionType.MINOR)

    field = vars(Holder)["foo"]
    old_version = field.version
    time.sleep(0.01)
    Holder().foo = 4  # through an instance, the descriptor's __set__
    assert Holder.foo == 4
    assert field.version > old_version
    # the class version was taken when the class was created
    assert repr(Holder.__version__) == "<Version, major:94e72, minor: 36d3c, patch: 94e72>"


def test_dict_fields_are_stamped_when_created():
    import time

    from chariots.versioning import Version

    before = Version()
    time.sleep(0.01)
    fields = VersionedFieldDict(VersionType.PATCH, {"foo": 1, "blu": VersionedField(3, VersionType.MAJOR)})
    assert all(version > before for version in fields.version_dict.values())
