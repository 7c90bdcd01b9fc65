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
import re
from typing import Any, Callable, Optional, Tuple, Union

#: The deepest nesting the control API and snapshots accept (a real snapshot
#: is under 10 levels deep; the API's own limit is the protocol's).
MAX_DEPTH = 64


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_SCAN: Any = getattr(_DECODER, "scan_once")

#: ``scan(text, 0)`` -> ``(value, end)``: the reader's own scanner (the C
#: one on CPython), for callers that decode the bytes themselves.  When the
#: text has no byte-order mark and no leading whitespace and ``end`` is the
#: text's length, ``value`` is what :func:`loads` returns for the same text;
#: otherwise (``StopIteration``, a shorter ``end``) :func:`loads` decides.
#: Any other exception it raises is the one ``loads`` raises.
scan: Callable[[str, int], Tuple[Any, int]] = _SCAN
_SPACE: Any = re.compile(r"[ \t\n\r]*", re.VERBOSE | re.MULTILINE | re.DOTALL).match   # json.decoder.WHITESPACE
_BOM = b"\xef\xbb\xbf"


def loads(data: Union[bytes, str]) -> Any:
    """Parse ``data`` strictly.  Raises UnicodeDecodeError, ValueError, or
    RecursionError (nesting deeper than the parser's stack)."""
    # The common document (bytes or text starting with its value, nothing
    # after it) in one scan.  Any other input takes the full path below; an
    # error inside the scan is the full path's own (it would make the same call).
    kind = type(data)
    if kind is bytes or kind is str:
        try:
            text = data.decode() if kind is bytes else data   # type: ignore[union-attr]
            value, end = _SCAN(text, 0)
        except (UnicodeDecodeError, StopIteration):
            pass
        else:
            if end == len(text):
                return value
    return _loads(data)


def _loads(data: Union[bytes, str]) -> Any:
    # What ``JSONDecoder.decode(data.decode("utf-8-sig"))`` does, with the
    # codec's C fast path and the scanner called directly (a request is small).
    if isinstance(data, bytes):
        text = (data[3:] if data[:3] == _BOM else data).decode("utf-8")
    else:
        text = data
    try:
        value, end = _SCAN(text, _SPACE(text, 0).end())
    except StopIteration as err:
        raise json.JSONDecodeError("Expecting value", text, err.value) from None
    end = _SPACE(text, end).end()
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


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


__all__ = ["MAX_DEPTH", "loads", "scan", "depth_problem"]
