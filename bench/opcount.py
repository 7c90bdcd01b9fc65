"""Python opcodes executed per function (``sys.settrace`` opcode events): the
benchmarks' measure of work, which other load on the machine does not move.
Used by ``bench.py --opcodes`` and ``bench_server.py --opcodes``."""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Iterable, Tuple

#: (code object's filename, "name:first line") -> opcodes executed.
Counts = Dict[Tuple[str, str], int]


def count_opcodes(calls: Iterable[Callable[[], object]], counts: Counts) -> None:
    """Make each of ``calls`` in turn, adding the opcodes every function they
    run executes to ``counts`` (this function's own loop is not counted)."""
    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            key = (code.co_filename, f"{code.co_name}:{code.co_firstlineno}")
            counts[key] = counts.get(key, 0) + 1
        return trace
    sys.settrace(trace)
    try:
        for call in calls:
            call()
    finally:
        sys.settrace(None)
