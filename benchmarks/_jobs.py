"""The function the bare RQ jobs of ``serving.py`` run (a light module, cheap to import)."""


def is_odd(number: int) -> bool:
    """The is-odd pipeline's computation, without Chariots."""
    return (number + 1) % 2 == 1
