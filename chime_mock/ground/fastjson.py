"""Compact JSON text, exactly as ``json.JSONEncoder(separators=(",", ":"),
ensure_ascii=False).encode`` writes it, without building an encoder per call.

``JSONEncoder.encode`` makes a new C encoder object (and a circular-reference
table) for every value it writes; the service writes a few small objects per
call, so that setup cost more than the writing.  ``dumps`` keeps one C
encoder (made with the same settings) and calls it.  It does not look for
circular references (the service only writes trees it built from JSON); a
cycle ends in ``RecursionError`` instead of ``ValueError``.
"""
from __future__ import annotations

import json
import json.encoder
from typing import Any, Callable

_REFERENCE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

#: One JSON string literal (quotes included), as ``dumps`` writes strings.
encode_string: Callable[[str], str] = json.encoder.encode_basestring

_make = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = None
if _make is not None:   # CPython: the C accelerator (the reference encoder uses it too)
    _C_ENCODER = _make(None, _REFERENCE.default, encode_string, None, _REFERENCE.key_separator,
                       _REFERENCE.item_separator, False, False, True)


_JOIN = "".join

if _C_ENCODER is not None:
    def dumps(value: Any) -> str:
        """``value`` as compact JSON (see the module docstring)."""
        if type(value) is str:
            return encode_string(value)
        return _JOIN(_C_ENCODER(value, 0))
else:   # pragma: no cover - a Python without the C accelerator
    def dumps(value: Any) -> str:
        """``value`` as compact JSON (see the module docstring)."""
        if type(value) is str:
            return encode_string(value)
        return _REFERENCE.encode(value)


__all__ = ["dumps", "encode_string"]
