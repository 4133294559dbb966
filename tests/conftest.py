"""Session fixtures shared by every test folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def c_reference_binary():
    """Our C reference, built once per session through nbparity's build cache (sources + flags + compiler)."""
    from nbparity.cbuild import build

    return build().binary
