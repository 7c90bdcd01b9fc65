"""Work started inside an activation belongs to it, in every thread.

A plain ``threading.Thread`` starts with an empty ``contextvars`` context,
and a ``concurrent.futures.ThreadPoolExecutor`` runs a submitted function in
whichever worker thread is free, so neither would know which activation
started it: while the mock is active such work is answered by the one active
service, but after the mock stops its Chime calls would go to AWS.

So, once the first mock starts, ``Thread.start`` and
``ThreadPoolExecutor.submit`` carry the starting context's activation
entries (only chime_mock's, not the caller's other context variables) into
the work: it is answered while its activation is live and refused after
(``ChimeMockError``), never sent to AWS.  Outside any activation they pass
everything through unchanged.
"""
from __future__ import annotations

import concurrent.futures
import functools
import threading
from typing import Any, Callable

from chime_mock.service import registry

_original_start = threading.Thread.start
_original_submit = concurrent.futures.ThreadPoolExecutor.submit


def _carried(fn: Callable[..., Any], entries: Any) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = registry.adopt(entries)
        try:
            return fn(*args, **kwargs)
        finally:
            registry.forget(token)
    return run


def _start(self: threading.Thread) -> None:
    entries = registry.context_entries()
    if entries:
        self.run = _carried(self.run, entries)  # type: ignore[method-assign]
    _original_start(self)


def _submit(self: concurrent.futures.ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any,
            **kwargs: Any) -> "concurrent.futures.Future[Any]":
    entries = registry.context_entries()
    if not entries:
        return _original_submit(self, fn, *args, **kwargs)
    # The function carries the activation; the worker thread the pool may
    # start now must not (it outlives this call and serves later work).
    token = registry.adopt(())
    try:
        return _original_submit(self, _carried(fn, entries), *args, **kwargs)
    finally:
        registry.forget(token)


def install() -> None:
    """Carry activations into threads and executor work (idempotent)."""
    if threading.Thread.start is not _start:
        threading.Thread.start = _start  # type: ignore[method-assign]
    if concurrent.futures.ThreadPoolExecutor.submit is not _submit:
        concurrent.futures.ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign,assignment]


__all__ = ["install"]
