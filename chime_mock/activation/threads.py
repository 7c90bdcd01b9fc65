"""Work started inside an activation belongs to it, in every thread.

A plain ``threading.Thread`` starts with an empty ``contextvars`` context,
and a ``concurrent.futures.ThreadPoolExecutor`` runs a submitted function in
whichever worker thread is free, so neither would know which activation
started it: while the mock is active such work is answered by the one active
service, but after the mock stops its Chime calls would go to AWS.

The same holds for ``multiprocessing.pool.ThreadPool``, whose worker
threads (made when the pool is) run whatever is queued, whenever.

So, once the first mock starts, ``Thread.start``,
``ThreadPoolExecutor.submit`` and ``ThreadPool``'s ``apply_async``, ``map``,
``map_async``, ``starmap``, ``starmap_async``, ``imap`` and
``imap_unordered`` (``apply`` calls ``apply_async``) carry the starting
context's activation entries (only chime_mock's, not the caller's other
context variables) into the work, and into a ``ThreadPool`` job's
``callback``/``error_callback``: it is answered while its activation is
live and refused after (``ChimeMockError``), never sent to AWS.  Outside any
activation they pass everything through unchanged.  Process pools
(``multiprocessing.Pool``) are left alone: their work runs in other
processes.
"""
from __future__ import annotations

import concurrent.futures
import functools
import inspect
import threading
from typing import Any, Callable, Dict, List

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


#: The ``ThreadPool`` methods that queue work; ``apply`` goes through ``apply_async``.
_POOL_METHODS = ("apply_async", "map", "map_async", "starmap", "starmap_async", "imap", "imap_unordered")
#: The arguments of those methods that run later in a pool thread.
_POOL_CALLABLES = ("func", "callback", "error_callback")
#: name -> the method installed on ``ThreadPool`` (to install it once).
_pool_methods: Dict[str, Callable[..., Any]] = {}


def _pool_method(original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` (a ``Pool`` method) with its callables carrying the
    caller's activation entries."""
    names = list(inspect.signature(original).parameters)[1:]          # after self
    at = [(index, name) for index, name in enumerate(names) if name in _POOL_CALLABLES]

    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        entries = registry.context_entries()
        if not entries:
            return original(self, *args, **kwargs)
        given: List[Any] = list(args)
        for index, name in at:
            if index < len(given):
                if given[index] is not None:
                    given[index] = _carried(given[index], entries)
            elif kwargs.get(name) is not None:
                kwargs[name] = _carried(kwargs[name], entries)
        return original(self, *given, **kwargs)
    return method


def _install_thread_pool() -> None:
    from multiprocessing.pool import ThreadPool   # only once a mock starts (it is a large import)

    for name in _POOL_METHODS:
        if name not in _pool_methods:
            _pool_methods[name] = _pool_method(getattr(ThreadPool, name))
        if vars(ThreadPool).get(name) is not _pool_methods[name]:
            # Set on ThreadPool itself, so Pool (processes) keeps its own methods.
            setattr(ThreadPool, name, _pool_methods[name])


def install() -> None:
    """Carry activations into threads, executor and thread-pool work (idempotent)."""
    if threading.Thread.start is not _start:
        threading.Thread.start = _start  # type: ignore[method-assign]
    if concurrent.futures.ThreadPoolExecutor.submit is not _submit:
        concurrent.futures.ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign,assignment]
    _install_thread_pool()


__all__ = ["install"]
