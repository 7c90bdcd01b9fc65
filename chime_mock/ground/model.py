"""The installed botocore service model: loaded once, shared by every layer.

Everything the protocol engine knows about ``chime-sdk-meetings`` (operations,
URIs, member locations, status codes, error shapes) comes from here, so a new
botocore field or operation needs no new code in chime_mock.
"""
from __future__ import annotations

import functools
from typing import Any, Dict

from botocore.loaders import Loader
from botocore.model import ServiceModel

SERVICE_NAME = "chime-sdk-meetings"


@functools.lru_cache(maxsize=None)
def service_model() -> ServiceModel:
    """Return the ``ServiceModel`` of the installed botocore (cached)."""
    loader = Loader()
    data = loader.load_service_model(SERVICE_NAME, "service-2")
    return ServiceModel(data, service_name=SERVICE_NAME)


@functools.lru_cache(maxsize=None)
def error_shapes() -> Dict[str, Any]:
    """Map every modeled exception name to its shape."""
    return {shape.name: shape for shape in service_model().error_shapes}
