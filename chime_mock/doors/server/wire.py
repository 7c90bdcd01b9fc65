"""What the HTTP server's parts share: the answer type and refusals in AWS's
error envelope (built by ``chime_mock.protocol.envelope``, the one builder)."""
from __future__ import annotations

from typing import List, Optional, Tuple

from chime_mock.protocol.envelope import error_envelope

#: (status, header pairs, body) as WSGI hands them on.
Answer = Tuple[int, List[Tuple[str, str]], bytes]


def error_answer(status: int, error_type: str, message: str, request_id: Optional[str] = None) -> Answer:
    """An answer in AWS's JSON error envelope (``x-amzn-ErrorType`` header;
    ``Code``/``Message`` body) for what the server itself refuses."""
    wire = error_envelope(status, error_type, message, request_id)
    return wire.status, list(wire.headers.items()), wire.body


__all__ = ["Answer", "error_answer"]
