"""The atomic computation unit of Chariots."""
from __future__ import annotations

from typing import Any, List, Optional

from chariots.pipelines.callbacks import OpCallBack
from chariots.versioning import Version, VersionableMeta


class BaseOp(metaclass=VersionableMeta):
    """An op: one step of computation, versioned by its class fields.

    Subclass it and override :meth:`execute`:

    >>> class AddOp(BaseOp):
    ...     number_to_add = 1
    ...
    ...     def execute(self, op_input):
    ...         return op_input + self.number_to_add
    >>> AddOp().execute(3)
    4

    :param op_callbacks: callbacks run before and after each execution of the op
    :param name: the name the op store knows the op by (its class name in lower case by
                 default); give distinct names to two ops of the same class in one pipeline
    """

    def __init__(self, op_callbacks: Optional[List[OpCallBack]] = None, name: Optional[str] = None):
        self._op_callbacks: tuple[OpCallBack, ...] = tuple(op_callbacks or ())
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"an op's name must be a non-empty string, got {name!r}")
        self._name = name

    @property
    def name(self) -> str:
        """the op's name (its class name in lower case unless given), used to find it in the op store"""
        return getattr(self, "_name", None) or type(self).__name__.lower()

    @property
    def class_path(self) -> str:
        """where the op's class is defined (``module.QualName``): the op store's identity check"""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}"

    @property
    def class_version(self) -> Version:
        """the version of the op's code (its class fields), whatever its state"""
        return type(self).__version__

    @property
    def op_version(self) -> Version:
        """the version the op reports to pipelines (the class version for a plain op)"""
        return type(self).__version__

    @property
    def allow_version_change(self) -> bool:
        """whether the op may be loaded with upstream versions it was not validated on"""
        return False

    @property
    def op_callbacks(self) -> tuple[OpCallBack, ...]:
        """the callbacks of this op"""
        return self._op_callbacks

    def execute(self, *args, **kwargs) -> Any:
        """The op's computation, to override: one positional argument per input node."""
        raise NotImplementedError(f"{type(self).__name__} must override execute()")

    def before_execution(self, args: List[Any]) -> None:
        """One-off hook run before :meth:`execute` (after the op callbacks' ``before_execution``).

        :param args: the arguments about to be passed to the op
        """

    def after_execution(self, args: List[Any], output: Any) -> Any:
        """One-off hook run after :meth:`execute` (before the op callbacks' ``after_execution``).

        :param args: the arguments passed to the op
        :param output: the op's output
        """

    def execute_with_all_callbacks(self, args: List[Any]) -> Any:
        """Runs the op with its callbacks and its before/after hooks.

        :param args: the arguments passed to :meth:`execute`
        :returns: the op's output
        """
        callbacks = self._op_callbacks
        for callback in callbacks:
            callback.before_execution(self, args)
        self.before_execution(args)
        output = self.execute(*args)
        self.after_execution(args, output)
        for callback in callbacks:
            callback.after_execution(self, args, output)
        return output

    def __repr__(self) -> str:
        return f"<OP {self.name}>"
