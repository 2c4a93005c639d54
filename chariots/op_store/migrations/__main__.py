"""Runs :func:`chariots.op_store.migrations.main`."""

from chariots.op_store.migrations import main

main()
