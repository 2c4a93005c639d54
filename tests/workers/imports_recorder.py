"""An op module that records every process importing it (in the file named by ``CHARIOTS_TEST_IMPORTS``)."""
import os

from chariots.pipelines.ops import BaseOp

if os.environ.get("CHARIOTS_TEST_IMPORTS"):
    with open(os.environ["CHARIOTS_TEST_IMPORTS"], "a") as record:
        record.write(f"{os.getpid()}\n")


class Pid(BaseOp):
    """Returns the id of the process running it."""

    def execute(self, value):
        return os.getpid()
