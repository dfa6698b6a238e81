"""Checks of plain values: those read from a file's JSON before anything computes with them,
and the user's numbers. JSON's true is a Python bool, which is an int too: neither counts here."""

from __future__ import annotations

import math


def is_int(v, low: int | None = None, high: int | None = None) -> bool:
    """Whether ``v`` is an int (not a bool) within [``low``, ``high``] where they are given."""
    return isinstance(v, int) and not isinstance(v, bool) and (low is None or v >= low) and \
        (high is None or v <= high)


def is_number(v, finite: bool = True) -> bool:
    """Whether ``v`` is an int or a float (not a bool), and finite unless ``finite`` is False."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return not finite or isinstance(v, int) or math.isfinite(v)  # (an int past float's range is finite)
