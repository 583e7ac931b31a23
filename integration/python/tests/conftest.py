"""Makes the package in integration/python importable when the suite runs from the source tree
(python3 -m pytest integration/python/tests); with LIFEHOOK_PYTHON_INSTALLED=1 it must be the installed
python3-lifehook (/usr/lib/python3/dist-packages)."""
import os
import sys

import pytest

if os.environ.get("LIFEHOOK_PYTHON_INSTALLED") != "1":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import lifehook  # noqa: E402

if os.environ.get("LIFEHOOK_PYTHON_INSTALLED") == "1" and not lifehook.__file__.startswith("/usr/lib/python3/"):
    raise ImportError("LIFEHOOK_PYTHON_INSTALLED=1 but lifehook comes from " + lifehook.__file__)


@pytest.fixture
def ctx():
    with lifehook.Context({"threads": 2}) as c:
        yield c
