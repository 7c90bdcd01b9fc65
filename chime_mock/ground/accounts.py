"""The one account rule: an AWS account id is exactly 12 ASCII digits.

Used wherever an account is read (a SigV4 access key id that names one, as
LocalStack reads it; configuration; control requests; snapshots).
``str.isdigit`` is not enough: it accepts superscripts and other Unicode
digits (``'²' * 12``), which would then appear in ARNs.
"""
from __future__ import annotations

import re
from typing import Any, Optional

DEFAULT_ACCOUNT = "123456789012"
_ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)


def is_account_id(value: Any) -> bool:
    """Is ``value`` a string of exactly 12 ASCII digits?"""
    return isinstance(value, str) and _ACCOUNT_ID.fullmatch(value) is not None


def account_from_key(access_key: Optional[str]) -> Optional[str]:
    """The account an access key id names (itself, when it is 12 ASCII digits), else None."""
    return access_key if is_account_id(access_key) else None


def check_account(value: Any, argument: str) -> str:
    """``value`` if it is an account id, else TypeError/ValueError naming ``argument``."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a 12-digit AWS account id such as {DEFAULT_ACCOUNT!r}, got {value!r}")
    if not is_account_id(value):
        raise ValueError(f"{argument} must be 12 ASCII digits, got {value!r}")
    return value


__all__ = ["DEFAULT_ACCOUNT", "is_account_id", "account_from_key", "check_account"]
