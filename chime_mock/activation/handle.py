"""The in-process switch: ``mock_chime_meetings`` / ``ChimeMeetingsMock``.

A handle activates a ``ChimeService`` for the in-process doors (botocore
events, aiobotocore, ``requests``; see ``switch``) as a decorator, a context manager
(``with``/``async with``) or with ``start()``/``stop()``.  The state, the
journal and every control belong to the service; the handle passes them
through, so ``handle.meetings()``, ``handle.inject(...)`` and the rest work
the same on both.

Which service answers a call (see README, "Nesting and concurrency"):

* the innermost active handle of the caller's own context (thread, or
  asyncio task), so concurrent runs of one decorated test never see each
  other's state;
* for a thread started without a context of its own, the one service that is
  active in the process; with several, the call is refused (never guessed);
* a handle started while another is active in the same context joins it
  (same service, same journal) unless it was made with ``separate=True`` or
  with its own ``service=``; a handle that would lose configuration or
  seeded state by joining refuses instead;
* work that outlives its activation (a leaked task, a copied-context thread)
  is refused, never answered by a later mock.
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import sys
import unittest
import warnings
from typing import (TYPE_CHECKING, Any, AsyncGenerator, Callable, Dict, Generator, List,
                    Optional, TypeVar, Union, cast, overload)

from chime_mock.activation import switch
from chime_mock.deliveries import attach as _attach_deliveries
from chime_mock.ground.locks import ForkSafeLock
from chime_mock.backend.rules import DEFAULT_ACCOUNT, Quotas
from chime_mock.controls.journal import Faults, Journal
from chime_mock.events.log import DEFAULT_LIMIT, DeliveryRecord, EventLog, MeetingEvent
from chime_mock.ground.errors import ChimeMockError
from chime_mock.ground.hints import checked_keywords, unexpected_keyword
from chime_mock.ground.ids import IdGenerator
from chime_mock.service import registry
from chime_mock.protocol.restjson import protocol
from chime_mock.service.pipeline import ChimeService

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Concatenate, ParamSpec

    from chime_mock.backend.rules import ChimeBackend

    P = ParamSpec("P")

R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)

log = logging.getLogger("chime_mock")


def _passes(fn: "Callable[Concatenate[ChimeService, P], R]") -> "Callable[Concatenate[ChimeMeetingsMock, P], R]":
    """A handle method that reads the service (same signature and docs)."""
    name = fn.__name__

    def method(self: "ChimeMeetingsMock", *args: Any, **kwargs: Any) -> Any:
        return getattr(self.service, name)(*args, **kwargs)
    return cast("Callable[Concatenate[ChimeMeetingsMock, P], R]", functools.wraps(fn)(method))


def _seeds(fn: "Callable[Concatenate[ChimeService, P], R]") -> "Callable[Concatenate[ChimeMeetingsMock, P], R]":
    """A handle method that changes the service: on an inactive handle it sets
    up the state its next activation starts with."""
    name = fn.__name__

    def method(self: "ChimeMeetingsMock", *args: Any, **kwargs: Any) -> Any:
        service = self._service_to_change()
        result = getattr(service, name)(*args, **kwargs)
        if not self.active:
            self._prepared = name != "reset"
        return result
    return cast("Callable[Concatenate[ChimeMeetingsMock, P], R]", functools.wraps(fn)(method))


class ChimeMeetingsMock:
    """Activates an in-memory Chime SDK Meetings service for botocore calls.

    Use it as a decorator, a context manager (``with``/``async with``) or with
    ``start()``/``stop()``.  Every activation after the first starts from
    empty state; the first starts with whatever was seeded on the handle
    before it (``add_meeting``, ``inject``...).  The configuration keywords
    are those of ``ChimeService``.

    What a handle offers, by group (each passes through to its service):

    * activation: ``start``/``stop``, ``with``, decorating, ``active``;
    * configuration: ``account_id``, ``default_region``, ``seed``, ``quotas``,
      ``auto_end``, ``retry_delays``;
    * state reads: ``meetings``, ``meeting``, ``attendees``, ``tags``,
      ``transcription``, ``connected``, ``snapshot``;
    * seeding: ``add_meeting``, ``add_attendee``, ``end_meeting``, ``restore``,
      ``reset``;
    * the journal: ``journal``;
    * faults: ``inject``, ``remove_fault``, ``faults``, ``assert_all_faults_fired``;
    * the clock: ``now``, ``advance``, ``set_time``, ``end_due_meetings``;
    * what clients do: ``join``, ``leave``, ``drop``, ``start_video``,
      ``stop_video``, ``start_content_share``, ``stop_content_share``,
      ``drop_content_share`` (``set_connected`` is the older spelling);
    * meeting events: ``events``, ``wait_for_event``, ``subscribe``,
      ``deliveries``;
    * the service itself: ``service``.

    :param service: activate this existing service instead of a new one (its
        state is never reset by the handle; share one service between several
        handles or with a server).
    :param separate: inside another active mock, start a separate service
        instead of joining the active one.
    :param as_kwarg: when decorating, pass each run's activation to the
        decorated function as this keyword argument (the function must
        declare it; pytest does not see it as a fixture).
    :param retry_delays: keep botocore's (and aiobotocore's) retry delays for
        Chime calls answered by this mock.  By default a retried call is
        retried at once: every attempt still reaches the mock and its journal,
        and the client's retry mode and ``max_attempts`` decide how many there
        are, but the backoff sleeps (and the adaptive mode's rate-limit waits)
        are skipped, so a test with a persistent fault takes no time.
    :param assert_all_faults_fired: at ``stop()`` (the end of the ``with``
        block, the decorated function or the test), raise ``AssertionError``
        naming every fault rule that never fired (see ``assert_all_faults_fired()``).
    """

    @checked_keywords("ChimeMeetingsMock")
    def __init__(self, *, account_id: str = DEFAULT_ACCOUNT, default_region: Optional[str] = None,
                 seed: Optional[int] = None, quotas: Union[Quotas, str, None] = None, auto_end: bool = False,
                 clock: Optional[Callable[[], float]] = None, service: Optional[ChimeService] = None,
                 separate: bool = False, as_kwarg: Optional[str] = None, event_limit: int = DEFAULT_LIMIT,
                 retry_delays: bool = False, assert_all_faults_fired: bool = False) -> None:
        for name, flag in (("separate", separate), ("retry_delays", retry_delays),
                           ("assert_all_faults_fired", assert_all_faults_fired)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        #: Keep the clients' retry delays for Chime calls (default: retried at once).
        self.retry_delays = retry_delays
        self._check_faults = assert_all_faults_fired
        #: Who started this handle: "fixture"/"marker" for the pytest plugin's (named in errors).
        self._origin: Optional[str] = None
        if as_kwarg is not None and not (isinstance(as_kwarg, str) and as_kwarg.isidentifier()):
            raise ValueError(f"as_kwarg must be a parameter name, got {as_kwarg!r}")
        self.as_kwarg = as_kwarg
        #: The configuration given explicitly (a handle with any cannot silently join another).
        self._given: Dict[str, Any] = {name: value for name, value, default in (
            ("account_id", account_id, DEFAULT_ACCOUNT), ("default_region", default_region, None),
            ("seed", seed, None), ("quotas", quotas, None), ("auto_end", auto_end, False),
            ("clock", clock, None), ("event_limit", event_limit, DEFAULT_LIMIT)) if value != default}
        if service is not None:
            if not isinstance(service, ChimeService):
                raise TypeError(f"service must be a chime_mock.ChimeService, got {service!r}")
            given = list(self._given)
            if given:
                raise TypeError(f"give either service= or configuration ({', '.join(given)}), not both: "
                                f"the service carries its own configuration")
            self._own = service
        else:
            self._own = ChimeService(account_id=account_id, default_region=default_region, seed=seed,
                                     quotas=quotas, auto_end=auto_end, clock=clock, event_limit=event_limit)
        self._shared = service is not None
        self.separate = separate
        #: The service this handle answers with: its own, or while joined, the outer one's.
        self.service: ChimeService = self._own
        self._depth = 0
        self._lock = ForkSafeLock()
        self._reset_pending = False
        self._prepared = False       # state or faults set up while inactive, for the next activation
        #: The registry's record of the current activation (None while inactive).
        self._activation: Optional[registry.Activation] = None
        #: False for a generator's activation: a mock started while one is
        #: suspended runs separately rather than joining it.
        self._joinable = True

    # -- configuration and state, passed through to the service ----------------------
    @property
    def account_id(self) -> str:
        return self.service.account_id

    @property
    def default_region(self) -> str:
        return self.service.default_region

    @property
    def seed(self) -> Optional[int]:
        return self.service.seed

    @property
    def quotas(self) -> Quotas:
        return self.service.quotas

    @property
    def auto_end(self) -> bool:
        return self.service.auto_end

    @property
    def backend(self) -> "ChimeBackend":
        """Deprecated (kept for one release): the service's internals; use ``service.backend``."""
        warnings.warn("ChimeMeetingsMock.backend is deprecated: read state with meetings(), meeting(), "
                      "attendees()..., or use service.backend", DeprecationWarning, stacklevel=2)
        return self.service.backend

    @property
    def journal(self) -> Journal:
        """Every call the service answered, in order."""
        return self.service.journal

    @property
    def faults(self) -> Faults:
        return self.service.faults

    @property
    def ids(self) -> IdGenerator:
        """Deprecated (kept for one release): the ID generator; use ``service.ids``."""
        warnings.warn("ChimeMeetingsMock.ids is deprecated: use service.ids", DeprecationWarning, stacklevel=2)
        return self.service.ids

    # -- meeting events (docs/events.md) ---------------------------------------------
    @property
    def events(self) -> EventLog:
        """The meeting events the service emitted, oldest first: filter, wait, subscribe."""
        return self.service.events

    @property
    def deliveries(self) -> List[DeliveryRecord]:
        """Where the events were delivered (EventBridge, SQS, SNS, Lambda), oldest first."""
        return self.service.events.deliveries

    def wait_for_event(self, type: Optional[str] = None, meeting_id: Optional[str] = None,
                       attendee_id: Optional[str] = None, *, timeout: float = 5.0, after: int = 0) -> MeetingEvent:
        """``events.wait_for``: the first matching event with ``seq > after`` (one
        already emitted counts), waiting up to ``timeout`` seconds; ``EventTimeout`` else."""
        return self.service.events.wait_for(type, meeting_id, attendee_id, timeout=timeout, after=after)

    def subscribe(self, callback: Callable[[MeetingEvent], None]) -> Callable[[], None]:
        """``events.subscribe``: call ``callback(event)`` with each event from now on; returns unsubscribe."""
        return self.service.events.subscribe(callback)

    meetings = _passes(ChimeService.meetings)
    meeting = _passes(ChimeService.meeting)
    attendees = _passes(ChimeService.attendees)
    tags = _passes(ChimeService.tags)
    transcription = _passes(ChimeService.transcription)
    now = _passes(ChimeService.now)
    end_due_meetings = _passes(ChimeService.end_due_meetings)
    snapshot = _passes(ChimeService.snapshot)
    add_meeting = _seeds(ChimeService.add_meeting)
    add_attendee = _seeds(ChimeService.add_attendee)
    inject = _seeds(ChimeService.inject)
    remove_fault = _seeds(ChimeService.remove_fault)
    end_meeting = _seeds(ChimeService.end_meeting)
    set_connected = _seeds(ChimeService.set_connected)
    join = _seeds(ChimeService.join)
    leave = _seeds(ChimeService.leave)
    drop = _seeds(ChimeService.drop)
    start_video = _seeds(ChimeService.start_video)
    stop_video = _seeds(ChimeService.stop_video)
    start_content_share = _seeds(ChimeService.start_content_share)
    stop_content_share = _seeds(ChimeService.stop_content_share)
    drop_content_share = _seeds(ChimeService.drop_content_share)
    connected = _passes(ChimeService.connected)
    advance = _seeds(ChimeService.advance)
    set_time = _seeds(ChimeService.set_time)
    reset = _seeds(ChimeService.reset)
    restore = _seeds(ChimeService.restore)

    def _service_to_change(self) -> ChimeService:
        with self._lock:
            if self._depth == 0:
                # Inactive: changes prepare the next activation, on the handle's own service.
                self.service = self._own
                if self._reset_pending:
                    self._own.reset()
                    self._reset_pending = False
            return self.service

    # -- activation --------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._depth > 0

    def start(self, *, reset: Optional[bool] = None) -> "ChimeMeetingsMock":
        """Activate.  ``reset`` None: a fresh state unless this is the handle's
        first activation (which keeps what was seeded before it); True: always
        fresh; False: keep the state of the last activation.  A handle made
        with ``service=`` never resets it.  Starting a handle that is already
        active nests (same state)."""
        if reset is not None and not isinstance(reset, bool):
            raise TypeError(f"reset must be True, False or None, got {reset!r}")
        with self._lock:
            if self._depth == 0:
                outer = None if (self.separate or self._shared) else registry.context_activation(joinable=True)
                if outer is not None and outer.handle is not self:
                    self._check_can_join(outer.handle)
                    self.service = outer.service          # join: same state, same journal
                else:
                    self.service = self._own
                    if not self._shared and (reset or (reset is None and self._reset_pending)):
                        self._own.reset()
                self._reset_pending = False
                self._prepared = False
                _attach_deliveries(self.service)   # events reach moto's EventBridge/SQS/SNS while it is active
                protocol()
                self._activation = registry.Activation(self, self.service, self._joinable)
                registry.push(self._activation, switch.open_doors)
                if log.isEnabledFor(logging.INFO):
                    log.info("chime_mock active (%s)", "joined the active mock" if self.service is not self._own
                             else f"account {self.account_id}, default region {self.default_region}")
            self._depth += 1
            assert self._activation is not None
            registry.enter_context(self._activation)
        return self

    def _check_can_join(self, outer: "ChimeMeetingsMock") -> None:
        """Joining drops this handle's own configuration and prepared state:
        refuse rather than lose them silently."""
        target = outer.service
        theirs = dict(target.config(), default_region=target.default_region)
        differs = [name for name, value in self._given.items()
                   if theirs[name] != (_quotas_value(value) if name == "quotas" else value)]
        if differs and outer._origin is not None:
            given = ", ".join(f"{name}={self._given[name]!r}" for name in differs)
            raise ValueError(
                f"this test both uses the chime_meetings {outer._origin} and is decorated with "
                f"mock_chime_meetings({given}); the decorator would join the {outer._origin}'s mock, "
                f"which is configured differently. Configure the {outer._origin}'s mock with the marker "
                f"instead and drop the decorator: @pytest.mark.chime_meetings({given})")
        if differs:
            raise ValueError(
                f"this mock's configuration ({', '.join(differs)}) differs from the mock already active "
                f"here, which it would join (same state, same journal); pass separate=True to run it as "
                f"a separate service, or leave those arguments out to join")
        if self._prepared:
            raise ValueError(
                "this mock has state or faults set up for its next activation, but another mock is "
                "active here, which it would join; pass separate=True to run it with that state, or "
                "set it up on the active mock")

    def stop(self) -> None:
        """Deactivate.  The state stays readable until the next activation.
        With ``assert_all_faults_fired=True``, then raises ``AssertionError``
        when a fault rule never fired."""
        self._stop()
        if self._depth == 0 and self._check_faults:
            self.assert_all_faults_fired()

    def _stop(self) -> None:
        with self._lock:
            if self._depth == 0:
                raise RuntimeError("chime_mock: stop() called on a mock that is not started")
            self._depth -= 1
            assert self._activation is not None
            registry.leave_context(self._activation)
            if self._depth == 0:
                registry.pop(self._activation, switch.close_doors)
                self._reset_pending = not self._shared
                log.info("chime_mock stopped")

    def assert_all_faults_fired(self) -> None:
        """Raise ``AssertionError`` naming every fault rule (``inject``) that
        has not fired yet: a fault the code under test never met usually means
        the test does not test what it says.  (Rules that fired their
        ``times`` are gone; a rule with ``times=None`` passes once it fired.)"""
        unfired = [rule for rule in self.service.faults.rules() if rule.fired == 0]
        if unfired:
            listed = "; ".join(
                f"{rule.error} on {rule.operation or 'any operation'}"
                f"{' (with a when= predicate)' if rule.when is not None else ''} [{rule.id}]" for rule in unfired)
            raise AssertionError(f"chime_mock: {len(unfired)} injected fault(s) never fired: {listed}")

    def __enter__(self) -> "ChimeMeetingsMock":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self._exit(exc[0] is not None)

    async def __aenter__(self) -> "ChimeMeetingsMock":
        return self.start()

    async def __aexit__(self, *exc: Any) -> None:
        self._exit(exc[0] is not None)

    def _finish(self) -> None:
        """Stop at the end of a decorated run (in its ``finally``): the
        unfired-fault check does not hide the run's own error."""
        self._exit(sys.exc_info()[1] is not None)

    def _exit(self, failing: bool) -> None:
        """Stop; the unfired-fault check does not hide an error already on its way."""
        if failing:
            self._stop()
        else:
            self.stop()

    def dispatch(self, method: str, url: str, headers: Any, body: bytes, operation: Optional[str] = None,
                 region: Optional[str] = None) -> Any:
        """Deprecated (kept for one release): answer one raw HTTP request.  The
        doors now call ``chime_mock.doors.request.answer`` on the service."""
        from chime_mock.doors.request import answer

        warnings.warn("ChimeMeetingsMock.dispatch is deprecated; the doors answer through "
                      "chime_mock.doors.request.answer(service, ...)", DeprecationWarning, stacklevel=2)
        return answer(self.service, method, url, headers, body, scope_region=region, operation=operation)

    # -- decorating ----------------------------------------------------------------
    def _run_activation(self, joinable: bool = True) -> "ChimeMeetingsMock":
        """The activation for one run of a decorated callable: this handle if it
        is free, else a new one configured alike (concurrent runs never share
        an activation; a run inside an active mock joins it either way)."""
        with self._lock:
            if self._depth == 0:
                self._joinable = joinable
                return self.start()
        twin = ChimeMeetingsMock(service=self._own, separate=self.separate) if self._shared \
            else ChimeMeetingsMock(separate=self.separate, **self._own.config())
        twin._given = self._given
        twin.as_kwarg = self.as_kwarg
        twin.retry_delays = self.retry_delays
        twin._check_faults = self._check_faults
        twin._joinable = joinable
        return twin.start()

    @overload
    def __call__(self, target: C) -> C: ...

    @overload
    def __call__(self, target: F) -> F: ...

    def __call__(self, target: Any) -> Any:
        """Decorate a function, coroutine function, (async) generator function or class."""
        return self._decorate(target, self.as_kwarg)

    def _decorate(self, target: Any, as_kwarg: Optional[str]) -> Any:
        if inspect.isclass(target):
            if as_kwarg is not None:
                raise TypeError("as_kwarg applies to functions, not classes; in a test method "
                                "use chime_mock.active_mock()")
            return self._decorate_class(target)
        if isinstance(target, (staticmethod, classmethod)):
            return type(target)(self._decorate(target.__func__, as_kwarg))
        if not callable(target):
            raise TypeError(f"mock_chime_meetings cannot decorate {target!r}: "
                            f"expected a function, coroutine function, generator function or class")
        if inspect.isasyncgenfunction(target):
            wrapper = _wrap_async_generator(self, target, as_kwarg)
        elif inspect.iscoroutinefunction(target):
            wrapper = _wrap_coroutine(self, target, as_kwarg)
        elif inspect.isgeneratorfunction(target):
            wrapper = _wrap_generator(self, target, as_kwarg)
        else:
            wrapper = _wrap_function(self, target, as_kwarg)
        functools.update_wrapper(wrapper, target)
        if as_kwarg is not None:  # pytest must not look for a fixture of that name
            signature = inspect.signature(target)
            setattr(wrapper, "__signature__", signature.replace(
                parameters=[p for name, p in signature.parameters.items() if name != as_kwarg]))
        return wrapper

    def _decorate_class(self, cls: C) -> C:
        if issubclass(cls, unittest.TestCase):
            # setUp, the test, tearDown and cleanups (addCleanup, enterContext) all
            # run inside one activation per test: through run() (unittest's runner
            # and pytest) and debug() (TestSuite.debug).  Class cleanups
            # (addClassCleanup, enterClassContext), which unittest runs after
            # tearDownClass, are wrapped with the class hooks below.
            setattr(cls, "run", self._case_method(cls.run))
            setattr(cls, "debug", self._case_method(cls.debug))
        elif callable(getattr(cls, "setup_method", None)):
            # pytest-style class: the activation spans setup_method, the test and teardown_method.
            self._wrap_setup_teardown(cls)
        # Under pytest, the plugin activates this handle for the whole of each
        # test of the class and its subclasses: every fixture (autouse fixture
        # methods included), setup and teardown.  (Read through the MRO.)
        setattr(cls, "_chime_mock_handle", self)
        # Every test method (inherited, static and class methods too) and the
        # class-level set-up also run inside an activation, for runners other
        # than pytest; where one is already active they join it.
        for name in dir(cls):
            if not (name.startswith("test") or name in _CLASS_HOOKS):
                continue
            raw = inspect.getattr_static(cls, name)
            func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
            if inspect.isfunction(func) and not getattr(func, "_chime_mock_wrapped", False):
                wrapped = self._class_hook(raw) if name in _CLASS_HOOKS else self._decorate(raw, None)
                setattr(_function_of(wrapped), "_chime_mock_wrapped", True)
                setattr(cls, name, wrapped)
        # Nested test classes, which pytest collects too.
        for name, value in list(vars(cls).items()):
            if inspect.isclass(value) and name.startswith("Test") and "_chime_mock_handle" not in vars(value):
                self._decorate_class(value)
        return cls

    def _case_method(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """``TestCase.run``/``debug`` in one activation per run of the test."""
        handle = self

        @functools.wraps(original)
        def method(test_self: unittest.TestCase, *args: Any, **kwargs: Any) -> Any:
            activation = handle._run_activation()
            if hasattr(test_self, "_asyncioTestContext"):
                # IsolatedAsyncioTestCase (3.11+) runs asyncSetUp, the test and
                # asyncTearDown in a context copied when the case was built,
                # before this activation: give it one that carries it.
                setattr(test_self, "_asyncioTestContext", contextvars.copy_context())
            try:
                return original(test_self, *args, **kwargs)
            finally:
                activation._finish()
        return method

    def _class_hook(self, raw: Any) -> Any:
        """``setUpClass``/``setup_class`` & co. in an activation, with the
        parameters they were written with (pytest passes the class or not by
        the function's own argument count)."""
        func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        handle = self

        def run(*args: Any) -> Any:
            activation = handle._run_activation()
            try:
                return func(*args)
            finally:
                activation.stop()

        hook: Callable[..., Any]
        if func.__code__.co_argcount >= 1:
            def hook(first: Any) -> Any:
                return run(first)
        else:
            def hook() -> Any:
                return run()
        functools.update_wrapper(hook, func)
        return type(raw)(hook) if isinstance(raw, (staticmethod, classmethod)) else hook  # type: ignore[arg-type]

    def _wrap_setup_teardown(self, cls: type) -> None:
        setup = inspect.getattr_static(cls, "setup_method")
        teardown = inspect.getattr_static(cls, "teardown_method", None)
        handle = self

        def setup_method(test_self: Any, method: Any = None) -> None:
            activation = handle._run_activation()
            test_self.__dict__.setdefault("_chime_mock_activations", []).append(activation)
            try:
                _call_optional_arg(setup, test_self, cls, method)
            except BaseException:
                test_self.__dict__["_chime_mock_activations"].pop().stop()  # pytest skips teardown
                raise

        def teardown_method(test_self: Any, method: Any = None) -> None:
            try:
                if teardown is not None:
                    _call_optional_arg(teardown, test_self, cls, method)
            finally:
                activations = test_self.__dict__.get("_chime_mock_activations")
                if activations:
                    activations.pop().stop()

        functools.update_wrapper(setup_method, _function_of(setup))
        if teardown is not None:
            functools.update_wrapper(teardown_method, _function_of(teardown))
        cls.setup_method = setup_method  # type: ignore[attr-defined]
        cls.teardown_method = teardown_method  # type: ignore[attr-defined]


# Class-level set-up and tear-down that unittest and pytest call on the class.
# -- one wrapper per kind of callable: each run of it is one activation -------------------
def _bind(kwargs: Dict[str, Any], as_kwarg: Optional[str], activation: ChimeMeetingsMock) -> Dict[str, Any]:
    if as_kwarg is not None:
        kwargs[as_kwarg] = activation
    return kwargs


def _wrap_function(handle: ChimeMeetingsMock, target: Any, as_kwarg: Optional[str]) -> Callable[..., Any]:
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        activation = handle._run_activation()
        try:
            result = target(*args, **_bind(kwargs, as_kwarg, activation))
        finally:
            activation._finish()
        _refuse_lazy_result(target, result)
        return result
    return sync_wrapper


def _wrap_coroutine(handle: ChimeMeetingsMock, target: Any, as_kwarg: Optional[str]) -> Callable[..., Any]:
    async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
        activation = handle._run_activation()
        try:
            return await target(*args, **_bind(kwargs, as_kwarg, activation))
        finally:
            activation._finish()
    return async_wrapper


def _wrap_generator(handle: ChimeMeetingsMock, target: Any, as_kwarg: Optional[str]) -> Callable[..., Any]:
    def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        # Active from the first next() until the generator finishes or is closed.
        activation = handle._run_activation(joinable=False)
        try:
            return (yield from target(*args, **_bind(kwargs, as_kwarg, activation)))
        finally:
            activation._finish()
    return gen_wrapper


def _wrap_async_generator(handle: ChimeMeetingsMock, target: Any, as_kwarg: Optional[str]) -> Callable[..., Any]:
    async def async_gen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        activation = handle._run_activation(joinable=False)
        try:
            agen = target(*args, **_bind(kwargs, as_kwarg, activation))
            try:
                item = await agen.__anext__()
            except StopAsyncIteration:
                return
            while True:
                try:
                    sent = yield item
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as exc:  # thrown in: pass it on to the generator
                    try:
                        item = await agen.athrow(exc)
                    except StopAsyncIteration:
                        return
                else:
                    try:
                        item = await agen.asend(sent)
                    except StopAsyncIteration:
                        return
        finally:
            activation._finish()
    return async_gen_wrapper


# ``doClassCleanups`` (unittest, 3.8+) runs what ``addClassCleanup`` and
# ``enterClassContext`` registered, after ``tearDownClass`` (or after a failed
# ``setUpClass``): outside the class hooks' activations, so it gets its own.
_CLASS_HOOKS = ("setUpClass", "tearDownClass", "setup_class", "teardown_class", "doClassCleanups")


def _function_of(attr: Any) -> Any:
    return attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr


def _call_optional_arg(attr: Any, test_self: Any, cls: type, method: Any) -> None:
    """Call ``setup_method``/``teardown_method`` in the form it was written:
    with the test method when it takes an argument, as pytest does."""
    bound = attr.__get__(test_self, cls)
    try:
        parameters = inspect.signature(bound).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a builtin; pass the argument
        bound(method)
        return
    takes_arg = any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)
    if takes_arg:
        bound(method)
    else:
        bound()
    return None


def _refuse_lazy_result(target: Any, result: Any) -> None:
    """A plain function that returns a generator or coroutine would run its body
    after the mock stopped: refuse loudly rather than let it reach AWS."""
    if inspect.isgenerator(result) or inspect.iscoroutine(result) or inspect.isasyncgen(result):
        if inspect.iscoroutine(result):
            result.close()
        raise ChimeMockError(
            f"{getattr(target, '__qualname__', target)!r} returned a {type(result).__name__} that would run "
            f"after the mock stopped; decorate the generator or coroutine function itself")


@overload
def mock_chime_meetings(target: F) -> F: ...


@overload
def mock_chime_meetings(target: None = None, *, account_id: str = ..., default_region: Optional[str] = ...,
                        seed: Optional[int] = ..., quotas: Union[Quotas, str, None] = ..., auto_end: bool = ...,
                        clock: Optional[Callable[[], float]] = ..., service: Optional[ChimeService] = ...,
                        separate: bool = ..., as_kwarg: Optional[str] = ..., event_limit: int = ...,
                        retry_delays: bool = ..., assert_all_faults_fired: bool = ...) -> ChimeMeetingsMock: ...


def mock_chime_meetings(target: Any = None, **config: Any) -> Any:
    """``@mock_chime_meetings``, ``@mock_chime_meetings(seed=1)`` or
    ``with mock_chime_meetings() as m:``; see ``ChimeMeetingsMock``."""
    for name in config:
        if name not in _HANDLE_OPTIONS:
            raise unexpected_keyword("mock_chime_meetings", name, _HANDLE_OPTIONS)
    if target is not None:
        return ChimeMeetingsMock(**config)(target)
    return ChimeMeetingsMock(**config)


def current() -> Optional[ChimeMeetingsMock]:
    """The mock answering Chime calls here (this thread or task), or None
    (also where the activation this work belonged to has ended: its Chime
    calls are refused)."""
    if registry.stale_here():
        return None
    activation = registry.current()
    return None if activation is None else cast(ChimeMeetingsMock, activation.handle)


def active_mock() -> ChimeMeetingsMock:
    """Like ``current()``, but raises ``ChimeMockError`` when no mock is active."""
    handle = current()
    if handle is None:
        raise ChimeMockError(
            "no chime_mock is active here (this thread or task). Start one: decorate the test with "
            "@chime_mock.mock_chime_meetings, use `with chime_mock.mock_chime_meetings() as mock:`, take "
            "the chime_meetings pytest fixture, or mark the test @pytest.mark.chime_meetings")
    return handle


__all__ = ["ChimeMeetingsMock", "mock_chime_meetings", "current", "active_mock"]


#: The keyword arguments ``ChimeMeetingsMock`` takes.
_HANDLE_OPTIONS = ("account_id", "default_region", "seed", "quotas", "auto_end", "clock", "service",
                   "separate", "as_kwarg", "event_limit", "retry_delays", "assert_all_faults_fired")


def _quotas_value(value: Any) -> Any:
    return Quotas.aws_defaults() if value == "aws" else value
