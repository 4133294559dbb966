"""Fixtures of the robustness tests (their plain helper functions are in __init__.py)."""

from __future__ import annotations

import pytest

from . import c_binary


@pytest.fixture(scope="module")
def cbin():
    return c_binary()
