"""Suggestions for misspelt names in errors raised to Python callers.

``externalMeetingId`` -> ``external_meeting_id`` (an API member name in any
casing maps to the snake_case keyword), ``time`` -> ``times``, ``sed`` ->
``seed``.  Used by every public entry point that takes keyword arguments.
"""
from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any, Callable, Iterable, List, Optional, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _folded(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def closest(name: str, choices: Iterable[str]) -> Optional[str]:
    """The choice ``name`` most likely meant: the same name in another casing
    or with other underscores first, else the nearest spelling; None when
    nothing is close."""
    options: List[str] = list(dict.fromkeys(choices))
    folded = _folded(name)
    for choice in options:
        if _folded(choice) == folded:
            return choice
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:
        by_fold = {_folded(c): c for c in options}
        close = [by_fold[c] for c in difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)]
    return close[0] if close else None


def unexpected_keyword(function: str, name: str, choices: Iterable[str], otherwise: str = "") -> TypeError:
    """Python's "unexpected keyword argument" TypeError, with the keyword it
    most likely meant (or ``otherwise``, or the list of keywords)."""
    options = list(choices)
    guess = closest(name, options)
    if guess is not None:
        hint = f"; did you mean {guess!r}?"
    elif otherwise:
        hint = f"; {otherwise}"
    else:
        hint = f"; it takes {', '.join(options)}"
    return TypeError(f"{function}() got an unexpected keyword argument {name!r}{hint}")


def checked_keywords(function: str) -> Callable[[F], F]:
    """Decorate a function whose keywords are all named (no ``**kwargs``): a
    misspelt keyword raises a TypeError that suggests the right one, instead
    of Python's bare one.  The signature mypy sees is unchanged."""
    def decorate(fn: F) -> F:
        parameters = inspect.signature(fn).parameters.values()
        names = [p.name for p in parameters
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]
        allowed = frozenset(names)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for key in kwargs:
                if key not in allowed:
                    raise unexpected_keyword(function, key, names)
            return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


__all__ = ["closest", "unexpected_keyword", "checked_keywords"]
