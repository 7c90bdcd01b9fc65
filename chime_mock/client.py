"""Deprecated alias of :mod:`chime_mock.doors.server.client` (kept for one release).

Import ``ChimeMockClient``, ``ServerProcess`` and ``client_env`` from
``chime_mock`` instead.
"""
import warnings

from chime_mock.doors.server.client import *  # noqa: F401,F403
from chime_mock.doors.server.client import __all__  # noqa: F401

warnings.warn("chime_mock.client is deprecated: import ChimeMockClient, ServerProcess and client_env "
              "from chime_mock", DeprecationWarning, stacklevel=2)
