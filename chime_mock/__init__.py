"""chime_mock: an in-memory AWS Chime SDK Meetings service for tests.

    from chime_mock import mock_chime_meetings

    @mock_chime_meetings
    def test_join():
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
        ...

Importing the package is cheap: botocore is loaded, and the handlers
installed, when a name below is first used and at the first activation.
See README.md for every entry point.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict

__version__ = "0.2.0"

# Public name -> the module that defines it (imported on first use).
_EXPORTS: Dict[str, str] = {
    "mock_chime_meetings": "core", "ChimeMeetingsMock": "core", "current": "core", "active_mock": "core",
    "ChimeService": "service",
    "Meeting": "backend", "Attendee": "backend", "Quotas": "backend",
    "Call": "controls", "Fault": "controls", "Journal": "controls",
    "ServiceError": "errors", "ChimeMockError": "errors", "ChimeMockInternalError": "errors",
    "UnsupportedOperationError": "errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from .backend import Attendee, Meeting, Quotas
    from .controls import Call, Fault, Journal
    from .core import ChimeMeetingsMock, active_mock, current, mock_chime_meetings
    from .errors import ChimeMockError, ChimeMockInternalError, ServiceError, UnsupportedOperationError
    from .service import ChimeService


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chime_mock' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
