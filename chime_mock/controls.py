"""Test-author controls: the call journal and fault injection."""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from ._model import error_shapes, service_model
from .errors import ServiceError


@dataclass
class Call:
    """One call the mock answered, as the service saw it."""

    operation: str
    params: Dict[str, Any]
    region: str
    account: str
    request_id: str
    status: int = 0
    error: Optional[str] = None          # exception shape name, e.g. "NotFoundException"
    error_message: Optional[str] = None
    injected: bool = False               # the error came from a Fault
    # The answer as the backend gave it; may share objects with the live
    # state, so it is only handed out as a copy (``result``).
    answer: Optional[Dict[str, Any]] = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def result(self) -> Optional[Dict[str, Any]]:
        """The operation's output members (a copy), or None for an error."""
        return copy.deepcopy(self.answer)


class Journal:
    """Every call answered, in order.  Thread-safe; iterable; indexable."""

    def __init__(self) -> None:
        self._calls: List[Call] = []
        self._lock = threading.Lock()

    def append(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def __iter__(self):
        with self._lock:
            return iter(list(self._calls))

    def __len__(self) -> int:
        return len(self._calls)

    def __getitem__(self, index):
        with self._lock:
            return self._calls[index]

    def calls(self, operation: Optional[str] = None, *, ok: Optional[bool] = None) -> List[Call]:
        """Calls, optionally only of one operation and/or only (un)successful."""
        with self._lock:
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
            self._calls.clear()


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

    def __post_init__(self) -> None:
        names = error_shapes()
        if self.error not in names:
            raise ValueError(f"{self.error!r} is not a modeled error of chime-sdk-meetings; "
                             f"choose one of {sorted(names)}")
        if self.operation is not None and self.operation not in service_model().operation_names:
            raise ValueError(f"{self.operation!r} is not an operation of chime-sdk-meetings")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for 'until removed')")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, operation: str, params: Dict[str, Any]) -> bool:
        if self.exhausted or (self.operation is not None and self.operation != operation):
            return False
        return self.when is None or bool(self.when(params))

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
        self._lock = threading.Lock()

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
