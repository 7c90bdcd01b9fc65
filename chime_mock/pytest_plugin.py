"""pytest plugin (registered through the ``pytest11`` entry point).

Loading it imports chime_mock before any test module, so module-level
clients built by the code under test are caught too.

    def test_join(chime_meetings):                 # an active mock, empty state
        ...

    @pytest.mark.chime_meetings(seed=7, account_id="111122223333")
    def test_configured(chime_meetings):          # keyword arguments of ChimeMeetingsMock
        ...
"""
from __future__ import annotations

from typing import Iterator

import pytest

from .core import ChimeMeetingsMock


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chime_meetings(**options): configure the chime_meetings fixture with ChimeMeetingsMock's "
        "keyword arguments (seed, account_id, default_region, quotas, auto_end, clock)",
    )


@pytest.fixture
def chime_meetings(request: pytest.FixtureRequest) -> Iterator[ChimeMeetingsMock]:
    """An active ``ChimeMeetingsMock`` with empty state, stopped after the test."""
    marker = request.node.get_closest_marker("chime_meetings")
    options = dict(marker.kwargs) if marker is not None else {}
    with ChimeMeetingsMock(**options) as mock:
        yield mock
