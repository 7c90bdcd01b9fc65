"""Fork-safe locks.

A child made by ``os.fork()`` has only the thread that forked.  A lock that
another thread held at that moment would stay held in the child for ever, and
the child's first Chime call would hang.  Every lock of chime_mock is made
here: before a fork, the forking thread takes them all (so no other thread is
half-way through changing the state), then releases them in the parent and
replaces them with fresh ones in the child.  The state the child inherits is
therefore whole, and its locks are free.
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, List

# How long a fork waits for a lock another thread holds; past that the child
# gets a fresh lock anyway (better a possibly half-changed state than a hang).
_FORK_WAIT_SECONDS = 2.0


class ForkSafeLock:
    """A (reentrant by default) lock that is free again in a forked child.

    ``with lock:``, ``acquire`` and ``release`` are the underlying ``threading``
    lock's own (C) methods, with no Python frame of this class in between:
    each is an instance slot holding the lock's bound method, which ``with``
    finds through the slot's descriptor on the class as it finds any special
    method.  ``_renew`` puts a fresh lock's methods in the slots."""

    __slots__ = ("_lock", "_reentrant", "acquire", "release", "__enter__", "__exit__", "__weakref__")

    if TYPE_CHECKING:   # what the slots hold (the underlying lock's methods)
        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool: ...

        def release(self) -> None: ...

        def __enter__(self) -> bool: ...

        def __exit__(self, *exc: Any) -> None: ...

    def __init__(self, reentrant: bool = True) -> None:
        self._reentrant = reentrant
        self._renew()
        _REGISTRY.append(weakref.ref(self))

    def _renew(self) -> None:
        lock: Any = threading.RLock() if self._reentrant else threading.Lock()
        self._lock = lock
        setattr_ = object.__setattr__    # the slots' names are the methods mypy sees
        setattr_(self, "acquire", lock.acquire)
        setattr_(self, "release", lock.release)
        setattr_(self, "__enter__", lock.__enter__)
        setattr_(self, "__exit__", lock.__exit__)


# Creation order is the order locks are taken before a fork (module-level
# locks first, then each service's), which is the order the code nests them.
_REGISTRY: List["weakref.ReferenceType[ForkSafeLock]"] = []
_held: List[ForkSafeLock] = []


def _live() -> List[ForkSafeLock]:
    alive = [lock for lock in (ref() for ref in _REGISTRY) if lock is not None]
    if len(alive) < len(_REGISTRY):
        _REGISTRY[:] = [weakref.ref(lock) for lock in alive]
    return alive


def _before_fork() -> None:
    _held.clear()
    for lock in _live():
        if lock.acquire(timeout=_FORK_WAIT_SECONDS):
            _held.append(lock)


def _after_fork_parent() -> None:
    for lock in reversed(_held):
        lock.release()
    _held.clear()


def _after_fork_child() -> None:
    _held.clear()
    for lock in _live():
        lock._renew()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                        after_in_child=_after_fork_child)
