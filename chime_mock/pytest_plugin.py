"""pytest plugin (registered through the ``pytest11`` entry point).

Loading it imports chime_mock before any test module, so module-level
clients built by the code under test are caught too.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from .core import ChimeMeetingsMock


@pytest.fixture
def chime_meetings() -> Iterator[ChimeMeetingsMock]:
    """An active ``ChimeMeetingsMock`` with empty state, stopped after the test."""
    with ChimeMeetingsMock() as mock:
        yield mock
