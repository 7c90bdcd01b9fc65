"""Which service answers a Chime call now: the registry of active activations.

The doors (botocore events, ``requests``, aiobotocore) ask this module, below
them, "which service answers this call?"; the activation layer above pushes
and pops :class:`Activation` records.  Nothing here knows a door or a handle
class.

Rules:

* The innermost activation of the caller's own context answers (a
  ``ContextVar``: each thread and each asyncio task has its own).
* A thread with no context of its own is answered by the one service active
  in the process; with several separate services active, the call is refused
  (``ChimeMockError``), never guessed.
* Work that outlives its activation (a leaked task, a ``copy_context()``
  thread, a plain ``Thread`` or executor started inside it) holds a stale
  entry, and its calls are refused rather than answered by a later test's
  mock or sent to AWS.  A new activation entered there answers while it
  lasts; when it ends, the stale entry is on top again and refuses again.

``push``/``pop`` take an ``opening``/``closing`` callable that the activation
layer hands in (it opens and closes the doors); they run under the registry's
lock together with the change of the stack, so "a mock is active" and "every
door is intercepting" are one state.
"""
from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple, cast

from chime_mock.ground.errors import ChimeMockError
from chime_mock.ground.locks import ForkSafeLock

if TYPE_CHECKING:  # pragma: no cover
    from chime_mock.service.pipeline import ChimeService


class Activation:
    """One activation: who started it (``handle``, for ``chime_mock.current()``),
    the service answering for it, whether a later activation in the same
    context may join it, and whether it is still live."""

    __slots__ = ("handle", "service", "joinable", "live")

    def __init__(self, handle: Any, service: "ChimeService", joinable: bool = True) -> None:
        self.handle = handle
        self.service = service
        self.joinable = joinable
        self.live = True


#: Live activations of the whole process, in activation order.  Read without
#: the lock (a list read is atomic: the doors' "is anything active?" check);
#: changed only under ``_lock``.
ACTIVE: List[Activation] = []
_lock = ForkSafeLock()
#: The activations entered in this context, innermost last.  An entry that
#: other work inherited (a task, a copied context, a thread or executor job
#: started inside it), or that stayed behind because the activation was
#: stopped from another context, outlives its activation: it is stale, and
#: Chime calls made with it on top are refused.  A new activation entered in
#: this context goes on top of it and answers while it lasts; when it is left,
#: the stale entry is on top again (the code there still believes it is inside
#: the activation that ended).  Nothing else removes a stale entry (only a
#: test runner, between tests: ``drop_ended``): a caller that believed it was
#: mocked is never sent to AWS.
_Entry = Activation
_CONTEXT: "contextvars.ContextVar[Tuple[_Entry, ...]]" = contextvars.ContextVar(
    "chime_mock_activations", default=())
#: What a stale entry becomes when its context enters a new activation: an
#: ended activation that refuses just the same but holds no handle or service
#: (the context no longer keeps their state reachable).  Adjacent stale entries
#: become one: a stale entry is never left (``leave_context`` is given a live
#: activation's record), so one refuses as well as several.
_ENDED = Activation(None, cast("ChimeService", None), joinable=False)
_ENDED.live = False


def push(activation: Activation, opening: Callable[[], None]) -> None:
    """Add ``activation``; ``opening()`` runs first when it is the first."""
    with _lock:
        if not ACTIVE:
            opening()
        ACTIVE.append(activation)


def pop(activation: Activation, closing: Callable[[], None]) -> None:
    """End ``activation`` (stops need not be LIFO); ``closing()`` runs when
    none is left."""
    with _lock:
        activation.live = False
        for index in range(len(ACTIVE) - 1, -1, -1):
            if ACTIVE[index] is activation:
                del ACTIVE[index]
                break
        if not ACTIVE:
            closing()


def enter_context(activation: Activation) -> None:
    """Enter ``activation`` in this context, on top of what is there.  Stale
    entries stay (as ``_ENDED``), so when ``activation`` is left a context
    that had outlived its activation is refused again, not sent to AWS."""
    stack = _CONTEXT.get()
    for entry in stack:
        if not entry.live:
            stack = _without_dead_weight(stack)
            break
    _CONTEXT.set(stack + (activation,))


def _without_dead_weight(stack: Tuple[_Entry, ...]) -> Tuple[_Entry, ...]:
    """``stack`` with each run of stale entries made one ``_ENDED``."""
    kept: List[_Entry] = []
    for entry in stack:
        if entry.live:
            kept.append(entry)
        elif not kept or kept[-1] is not _ENDED:
            kept.append(_ENDED)
    return tuple(kept)


def leave_context(activation: Activation) -> None:
    """Forget the latest entry of ``activation`` in this context (if it was
    started here; a stop from another context leaves a stale entry behind)."""
    stack = _CONTEXT.get()
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is activation:
            _CONTEXT.set(stack[:index] + stack[index + 1:])
            return


def drop_ended() -> None:
    """Forget this context's stale entries: for a test runner, between tests
    (the code that believed it was inside an ended activation has returned;
    the next test does not believe it is).  Work still running keeps its own."""
    stack = _CONTEXT.get()
    if any(not entry.live for entry in stack):
        _CONTEXT.set(tuple(entry for entry in stack if entry.live))


def context_activation(joinable: bool = False) -> Optional[Activation]:
    """The innermost activation live in this context (with ``joinable``, the
    innermost one another activation may join), or None."""
    for activation in reversed(_CONTEXT.get()):
        if activation.live and (activation.joinable or not joinable):
            return activation
    return None


def stale_here() -> bool:
    """True when this context's innermost activation has ended: the work
    running here outlived the activation it belongs to."""
    stack = _CONTEXT.get()
    return bool(stack) and not stack[-1].live


def refuse_if_stale() -> None:
    """Raise when this context outlived its activation (the call must not
    reach AWS, nor be answered by another activation)."""
    if stale_here():
        raise ChimeMockError(
            "this thread or task was started inside a chime_mock activation that has ended, so its "
            "Chime calls are refused (not sent to AWS, nor answered by another test's mock); finish "
            "background work before the mock stops")


def current() -> Optional[Activation]:
    """The activation answering Chime calls here: this context's innermost
    live one, else the process's one active service; several -> ChimeMockError."""
    stack = _CONTEXT.get()
    if stack:
        if stack[-1].live:
            return stack[-1]
        refuse_if_stale()
    active = list(ACTIVE)
    if not active:
        return None
    if all(a.service is active[-1].service for a in active):
        return active[-1]
    raise ChimeMockError(
        f"{len(active)} separate chime_mock services are active in other threads or tasks and this "
        f"thread has none of its own, so chime_mock cannot tell which should answer this Chime call "
        f"(it was not sent to AWS). Start the thread's work inside the activation it belongs to "
        f"(`with handle:`), or run it with contextvars.copy_context().run(...)")


def answering() -> "ChimeService":
    """The service that answers a Chime call made here now; ChimeMockError
    when none does (the call must then not be sent anywhere)."""
    stack = _CONTEXT.get()
    if stack and stack[-1].live:     # current()'s usual answer, one call sooner
        return stack[-1].service
    activation = current()
    if activation is None:
        raise ChimeMockError("chime_mock stopped while a Chime call was being made; it was not sent to AWS")
    return activation.service




def context_entries() -> Tuple[_Entry, ...]:
    """This context's activation entries, to carry into work it starts."""
    return _CONTEXT.get()


def adopt(entries: Tuple[_Entry, ...]) -> "contextvars.Token[Tuple[_Entry, ...]]":
    """Make ``entries`` (carried from the code that started this work) this
    context's, so the work is answered while they are live and refused after."""
    return _CONTEXT.set(entries)


def forget(token: "contextvars.Token[Tuple[_Entry, ...]]") -> None:
    _CONTEXT.reset(token)


__all__ = ["Activation", "ACTIVE", "push", "pop", "enter_context", "leave_context", "drop_ended",
           "context_activation", "stale_here", "refuse_if_stale", "current", "answering", "context_entries",
           "adopt", "forget"]
