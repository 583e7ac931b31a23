"""Makes the package in integration/python importable when the suite runs from the source tree
(python3 -m pytest integration/python/tests); the installed python3-lifehook is used otherwise
(LIFEHOOK_PYTHON_INSTALLED=1)."""
import os
import sys

import pytest

if os.environ.get("LIFEHOOK_PYTHON_INSTALLED") != "1":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import lifehook  # noqa: E402


@pytest.fixture
def ctx():
    with lifehook.Context({"threads": 2}) as c:
        yield c
