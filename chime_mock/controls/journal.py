"""Test-author controls: the call journal and fault injection."""
from __future__ import annotations

import copy
import difflib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union, overload

from botocore import xform_name

from chime_mock.ground.ids import uuid_text
from chime_mock.ground.locks import ForkSafeLock
from chime_mock.ground.model import error_shapes, service_model
from chime_mock.ground.errors import ChimeMockError, ServiceError


class UserCallbackError(ChimeMockError):
    """Carries an exception raised by a test's own callback (a ``when=``
    predicate) out of the pipeline, so it reaches the test as itself."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


def operation_name(name: Any, argument: str = "operation") -> str:
    """``name`` if it is an operation of the installed model; otherwise a
    ValueError that suggests the right spelling (``create_meeting`` ->
    ``CreateMeeting``)."""
    names = service_model().operation_names
    if isinstance(name, str) and name in names:
        return name
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be an operation name such as 'CreateMeeting', got {name!r}")
    close = [n for n in names if xform_name(n) == name or n.lower() == name.lower()]
    close = close or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; choose one of {', '.join(names)}"
    raise ValueError(f"{argument} {name!r} is not an operation of chime-sdk-meetings{hint}")


class Call:
    """One call the mock answered, as the service saw it.

    ``operation``, ``params``, ``region``, ``account``, ``request_id``,
    ``status``, ``error`` (the exception shape name, e.g.
    ``"NotFoundException"``), ``error_message``, ``injected`` (the error came
    from a Fault), ``at`` (the service's clock when the call arrived, in
    seconds) and ``answer`` (the answer as the backend gave it; it may share
    objects with the live state, so it is only handed out as a copy:
    ``result``).  Slotted and compact: a journal keeps one per call.
    """

    __slots__ = ("operation", "params", "region", "account", "_request_id", "status", "error", "error_message",
                 "injected", "at", "answer")
    _FIELDS = ("operation", "params", "region", "account", "request_id", "status", "error", "error_message",
               "injected", "at", "answer")

    def __init__(self, operation: str, params: Dict[str, Any], region: str, account: str,
                 request_id: Union[str, int], status: int = 0, error: Optional[str] = None,
                 error_message: Optional[str] = None, injected: bool = False, at: float = 0.0,
                 answer: Optional[Dict[str, Any]] = None) -> None:
        self.operation = operation
        self.params = params
        self.region = region
        self.account = account
        self._request_id = request_id      # the text, or its 128-bit number (written on reading)
        self.status = status
        self.error = error
        self.error_message = error_message
        self.injected = injected
        self.at = at
        self.answer = answer

    @property
    def request_id(self) -> str:
        value = self._request_id
        return value if isinstance(value, str) else uuid_text(value)

    @request_id.setter
    def request_id(self, value: str) -> None:
        self._request_id = value

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def result(self) -> Optional[Dict[str, Any]]:
        """The operation's output members (a copy), or None for an error."""
        return copy.deepcopy(self.answer)

    def _values(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Call)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS if name != "answer")
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> Any:
        return (Call, tuple(getattr(self, name) for name in self._FIELDS))


class Journal(Sequence[Call]):
    """Every call answered, in order: a ``collections.abc.Sequence`` of
    ``Call`` (``len``, indexing and slicing, iteration, ``in``, ``index``,
    ``count``-by-operation below).  Thread-safe.

    ``limit`` (None: unbounded, the default in-process) keeps only the newest
    ``limit`` calls; older ones are dropped as new ones arrive (a long-running
    server bounds its memory so).  Every call ever appended has a position
    (``0, 1, 2...``, never reused, also not after ``clear``) that ``page``
    pages by.
    """

    def __init__(self, limit: Optional[int] = None) -> None:
        # With a limit, ``append`` lets up to ``_slack`` calls beyond it stay
        # and drops them together (dropping one call from the front of a
        # list moves all the others); every reader drops them first (``_trim``).
        self._calls: List[Call] = []
        self._first = 0          # the position of _calls[0]
        self._lock = ForkSafeLock(reentrant=False)
        self._limit: Optional[int] = None
        self._slack = 0
        self.limit = limit

    @property
    def limit(self) -> Optional[int]:
        """The most calls kept (None: all)."""
        return self._limit

    @limit.setter
    def limit(self, value: Optional[int]) -> None:
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"journal_limit must be a whole number of calls or None, got {value!r}")
            if value < 1:
                raise ValueError(f"journal_limit must be at least 1 (or None for no limit), got {value!r}")
        with self._lock:
            self._limit = value
            self._slack = 0 if value is None else min(value // 8, 4096)
            self._trim()

    def _trim(self) -> None:
        """Drop what is over the limit (caller holds the lock)."""
        if self._limit is not None and len(self._calls) > self._limit:
            drop = len(self._calls) - self._limit
            del self._calls[:drop]
            self._first += drop

    @property
    def dropped(self) -> int:
        """How many calls were dropped (over ``limit``) or cleared so far."""
        with self._lock:
            self._trim()
            return self._first

    def append(self, call: Call) -> None:
        with self._lock:
            calls = self._calls
            calls.append(call)
            if self._limit is not None and len(calls) > self._limit + self._slack:
                self._trim()

    def page(self, start: int = 0, size: int = 100, operation: Optional[str] = None, *,
             ok: Optional[bool] = None) -> Tuple[List[Tuple[int, Call]], Optional[int]]:
        """Up to ``size`` matching calls from position ``start`` on, oldest
        first, as (position, call); and the position to go on from (None when
        no matching call follows)."""
        if operation is not None:
            operation_name(operation)
        out: List[Tuple[int, Call]] = []
        with self._lock:
            self._trim()
            index = max(0, start - self._first)
            while index < len(self._calls):
                call = self._calls[index]
                if (operation is None or call.operation == operation) and (ok is None or call.ok == ok):
                    if len(out) == size:
                        return out, self._first + index
                    out.append((self._first + index, call))
                index += 1
        return out, None

    def newest(self, size: int, operation: Optional[str] = None, *,
               ok: Optional[bool] = None) -> List[Tuple[int, Call]]:
        """The newest ``size`` matching calls, oldest first, as (position, call)."""
        if operation is not None:
            operation_name(operation)
        out: List[Tuple[int, Call]] = []
        with self._lock:
            self._trim()
            index = len(self._calls) - 1
            while index >= 0 and len(out) < size:
                call = self._calls[index]
                if (operation is None or call.operation == operation) and (ok is None or call.ok == ok):
                    out.append((self._first + index, call))
                index -= 1
        out.reverse()
        return out

    def __iter__(self) -> Iterator[Call]:
        with self._lock:
            self._trim()
            return iter(list(self._calls))

    def __len__(self) -> int:
        with self._lock:
            self._trim()
            return len(self._calls)

    @overload
    def __getitem__(self, index: int) -> Call: ...

    @overload
    def __getitem__(self, index: slice) -> List[Call]: ...

    def __getitem__(self, index: Any) -> Any:
        with self._lock:
            self._trim()
            return self._calls[index]

    def calls(self, operation: Optional[str] = None, *, ok: Optional[bool] = None) -> List[Call]:
        """Calls, optionally only of one operation (its API name, e.g.
        ``"CreateMeeting"``) and/or only (un)successful."""
        if operation is not None:
            operation_name(operation)
        if ok is not None and not isinstance(ok, bool):
            raise TypeError(f"ok must be True, False or None (any outcome), got {ok!r}")
        with self._lock:
            self._trim()
            calls = list(self._calls)
        if operation is not None:
            calls = [c for c in calls if c.operation == operation]
        if ok is not None:
            calls = [c for c in calls if c.ok == ok]
        return calls

    def count(self, operation: Optional[str] = None, *, ok: Optional[bool] = None) -> int:
        return len(self.calls(operation, ok=ok))

    def clear(self) -> None:
        with self._lock:
            self._first += len(self._calls)
            self._calls.clear()


_FAULT_IDS = itertools.count(1)

_DEFAULT_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "ServiceUnavailableException": "Service is currently unavailable",
    "ServiceFailureException": "Service has experienced an unexpected failure",
}


@dataclass(eq=False)
class Fault:
    """Make matching calls fail with a modeled error.

    ``operation`` None matches every operation; ``times`` None means until
    removed; ``when`` is a predicate on the parsed parameters.
    """

    error: str
    operation: Optional[str] = None
    times: Optional[int] = 1
    when: Optional[Callable[[Dict[str, Any]], bool]] = None
    message: Optional[str] = None
    retry_after: Optional[int] = None
    members: Dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    #: Unique in the process (``"fault-1"``...): names the rule in the HTTP control API.
    id: str = field(default_factory=lambda: f"fault-{next(_FAULT_IDS)}", init=False)

    def __post_init__(self) -> None:
        names = error_shapes()
        if self.error not in names:
            close = difflib.get_close_matches(str(self.error), list(names), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"error {self.error!r} is not a modeled error of chime-sdk-meetings{hint}; "
                             f"choose one of {sorted(names)}")
        if self.operation is not None:
            operation_name(self.operation)
        if self.times is not None:
            if isinstance(self.times, bool) or not isinstance(self.times, int):
                raise TypeError(f"times must be a whole number of calls or None (until removed), got {self.times!r}")
            if self.times < 1:
                raise ValueError(f"times must be at least 1 (or None for 'until removed'), got {self.times!r}")
        if self.when is not None and not callable(self.when):
            raise TypeError(f"when must be a function of the call's parameters returning True or False, "
                            f"got {self.when!r}")
        if self.message is not None and not isinstance(self.message, str):
            raise TypeError(f"message must be a string, got {self.message!r}")
        shape = names[self.error]
        if self.retry_after is not None:
            if "RetryAfterSeconds" not in shape.members:
                carriers = sorted(n for n, s in names.items() if "RetryAfterSeconds" in s.members)
                raise ValueError(f"retry_after: {self.error} carries no Retry-After; only {', '.join(carriers)} does")
            if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, int) or self.retry_after < 0:
                raise TypeError(f"retry_after must be a whole number of seconds (0 or more), got {self.retry_after!r}")
        extra = [m for m in shape.members if m not in ("Code", "Message", "RequestId")]
        for name in self.members:
            if name not in extra:
                close = difflib.get_close_matches(name, extra, n=1, cutoff=0.6)
                hint = (f"did you mean {close[0]!r}?" if close else
                        f"its members are {', '.join(extra)}" if extra else "it has no other members")
                raise TypeError(f"inject() got an unexpected keyword argument {name!r}: {self.error} "
                                f"has no member {name!r}; {hint}")
            if shape.members[name].type_name == "string" and not isinstance(self.members[name], str):
                raise TypeError(f"{name} must be a string, got {self.members[name]!r}")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, operation: str, params: Dict[str, Any]) -> bool:
        if self.exhausted or (self.operation is not None and self.operation != operation):
            return False
        if self.when is None:
            return True
        try:
            return bool(self.when(params))
        except Exception as exc:  # the test's own predicate failed: surface it as the test's error
            raise UserCallbackError(exc) from exc

    def build(self, operation: str) -> ServiceError:
        message = self.message or _DEFAULT_MESSAGES.get(self.error) or f"Injected {self.error} for {operation}"
        members = dict(self.members)
        if self.retry_after is not None:
            members["RetryAfterSeconds"] = str(self.retry_after)
        elif self.error == "ServiceUnavailableException":
            members.setdefault("RetryAfterSeconds", "1")
        error = ServiceError(message, shape=self.error, **members)
        error.injected = True
        return error


class Faults:
    """The active fault rules of one mock, first match wins."""

    def __init__(self) -> None:
        self._rules: List[Fault] = []
        self._lock = ForkSafeLock(reentrant=False)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._rules:
                self._rules.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def __len__(self) -> int:
        return len(self._rules)

    def rules(self) -> List[Fault]:
        """The active rules, first match first (a copy of the list)."""
        with self._lock:
            return list(self._rules)

    def take(self, operation: str, params: Dict[str, Any]) -> Optional[ServiceError]:
        """The error for this call if a rule matches (and count it), else None."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(operation, params):
                    rule.fired += 1
                    if rule.exhausted:
                        self._rules.remove(rule)
                    return rule.build(operation)
        return None
