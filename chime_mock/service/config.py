"""The service's configuration checks: each turns a value a user gave into
what the service keeps, or raises TypeError/ValueError naming the argument
at the moment it is given."""
from __future__ import annotations

import copy
import functools
import math
import os
import re
import sys
from typing import Any, Callable, Optional, cast

from chime_mock.backend.rules import Quotas

_REGION_NAME = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)+-\d+")


def configured_region() -> str:
    """The region a boto3 client made with no ``region_name`` would use here:
    ``AWS_REGION``/``AWS_DEFAULT_REGION``, boto3's default session, the
    profile's ``region`` in the AWS config file; else ``us-east-1``."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(name)
        if value:
            return value
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None) if boto3 is not None else None
    try:
        session_region = session.region_name if session is not None else None
    except Exception:  # e.g. its profile no longer exists: not ours to report
        session_region = None
    if session_region:
        return str(session_region)
    path = os.path.expanduser(os.environ.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config"))
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return "us-east-1"
    return _region_in_config(path, mtime, profile) or "us-east-1"


@functools.lru_cache(maxsize=16)
def _region_in_config(path: str, mtime: float, profile: str) -> Optional[str]:
    from botocore.configloader import raw_config_parse

    try:
        sections = raw_config_parse(path)
    except Exception:  # a broken config file is not ours to report
        return None
    section = sections.get(profile if profile == "default" else f"profile {profile}") or sections.get(profile) or {}
    region = section.get("region")
    return str(region) if region else None


LATEST = 253402300800.0   # 10000-01-01: beyond it no date can be written


def finite_number(value: Any) -> Optional[float]:
    """``value`` as a finite float when it is a number (not a bool) that has one, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def finite_seconds(value: Any, argument: str, what: str) -> float:
    """``value`` as a finite float (before year 10000), else TypeError/ValueError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{argument} must be {what}, got {value!r}")
    number = finite_number(value)
    if number is None or abs(number) >= LATEST:
        raise ValueError(f"{argument} must be {what}, got {value!r}")
    return number


def check_region(value: Any, argument: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a region name such as 'us-east-1', got {value!r}")
    if not _REGION_NAME.fullmatch(value):
        raise ValueError(f"{argument} must be a region name such as 'us-east-1', got {value!r}")
    return value


def check_quotas(quotas: Any) -> Quotas:
    if quotas is None:
        return Quotas()
    if isinstance(quotas, Quotas):
        return copy.copy(quotas)
    if quotas == "aws":
        return Quotas.aws_defaults()
    raise TypeError(f"quotas must be a chime_mock.Quotas (e.g. Quotas(active_meetings=5) or "
                    f"Quotas.aws_defaults()) or 'aws', got {type(quotas).__name__} {quotas!r}")


def check_clock(clock: Any) -> Optional[Callable[[], float]]:
    if clock is None:
        return None
    if not callable(clock):
        raise TypeError(f"clock must be a function returning the time in seconds (like time.time), "
                        f"got {clock!r}")
    sample = clock()
    if isinstance(sample, bool) or not isinstance(sample, (int, float)):
        raise TypeError(f"clock must return the time in seconds as a number (like time.time()), "
                        f"but it returned {type(sample).__name__} {sample!r}")
    return cast("Callable[[], float]", clock)


__all__ = ["configured_region", "finite_number", "finite_seconds", "check_region", "check_quotas", "check_clock", "LATEST"]
