"""The one strict JSON reader: what the service, the control API and
snapshots accept as JSON.

* UTF-8 (a leading byte-order mark is skipped);
* numbers as JSON has them: ``NaN``, ``Infinity`` and ``-Infinity`` (which
  Python's parser takes and JavaScript's does not) are refused;
* nesting: Python's parser recurses, so a document deeper than its stack
  raises ``RecursionError``; callers that must not recurse over what they
  read afterwards check :func:`depth_problem` too.
"""
from __future__ import annotations

import json
from typing import Any, Optional, Union

#: The deepest nesting the control API and snapshots accept (a real snapshot
#: is under 10 levels deep; the API's own limit is the protocol's).
MAX_DEPTH = 64


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODE = json.JSONDecoder(parse_constant=_no_constant).decode


def loads(data: Union[bytes, str]) -> Any:
    """Parse ``data`` strictly.  Raises UnicodeDecodeError, ValueError, or
    RecursionError (nesting deeper than the parser's stack)."""
    return _DECODE(data.decode("utf-8-sig") if isinstance(data, bytes) else data)


def depth_problem(value: Any, limit: int = MAX_DEPTH) -> Optional[str]:
    """None if ``value`` (parsed JSON) nests at most ``limit`` objects/lists
    deep, else a sentence saying it does not (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return f"it nests deeper than {limit} levels"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return None


__all__ = ["MAX_DEPTH", "loads", "depth_problem"]
