"""The pytest plugin's stable entry point (``pytest11``: ``chime_mock``).

The plugin lives in :mod:`chime_mock.activation.pytest_plugin`; pytest loads
this module by its old name (so ``-p chime_mock.pytest_plugin`` and
``-p no:chime_mock`` keep working) and registers the hooks and fixtures
re-exported here, once.
"""
from chime_mock.activation.pytest_plugin import (  # noqa: F401
    MARKER, chime_meetings, chime_meetings_server, chime_meetings_server_process, pytest_collection_modifyitems,
    pytest_configure, pytest_runtest_setup, pytest_runtest_teardown)

__all__ = ["chime_meetings", "chime_meetings_server", "chime_meetings_server_process", "MARKER"]
