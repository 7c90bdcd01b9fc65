"""pytest plugin (registered through the ``pytest11`` entry point).

    def test_join(chime_meetings):                 # an active mock, empty state
        ...

    @pytest.mark.chime_meetings(seed=7, account_id="111122223333")
    def test_configured():                        # the marker alone activates it too
        handle = chime_mock.active_mock()
        ...

The marker works on functions, methods, classes and modules (``pytestmark``).
Loading the plugin costs nearly nothing: chime_mock and botocore are imported
only when a test uses the fixture or the marker.
"""
from __future__ import annotations

import difflib
import sys
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from chime_mock.activation.handle import ChimeMeetingsMock

MARKER = "chime_meetings"
_OPTIONS = ("account_id", "default_region", "seed", "quotas", "auto_end", "clock", "event_limit", "retry_delays",
            "assert_all_faults_fired")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): run the test with chime_mock active (the chime_meetings fixture), "
        f"configured with these keyword arguments: {', '.join(_OPTIONS)}",
    )


def _near_miss(name: str) -> bool:
    folded = name.lower().replace("_", "").replace("-", "")
    return name != MARKER and (
        folded in ("chimemeeting", "chimemeetings", "chime", "chimemock", "mockchimemeetings")
        or difflib.SequenceMatcher(None, name, MARKER).ratio() >= 0.8)


def _marker_options(item: pytest.Item) -> Dict[str, Any]:
    """The merged keyword arguments of every chime_meetings marker on the
    item, closest first (a method's marker overrides its class's)."""
    options: Dict[str, Any] = {}
    for marker in item.iter_markers(MARKER):
        if marker.args:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.{MARKER} takes keyword arguments only "
                f"({', '.join(_OPTIONS)}), got positional {marker.args!r}")
        for key, value in marker.kwargs.items():
            if key not in _OPTIONS:
                from chime_mock.ground.hints import closest

                guess = closest(key, _OPTIONS)
                hint = f"; did you mean {guess!r}?" if guess else f"; it takes {', '.join(_OPTIONS)}"
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{MARKER} got an unknown option {key!r}{hint}")
            options.setdefault(key, value)
    return options


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    """Refuse, at collection, what would silently run a test unmocked: a
    misspelt marker name, and marker options the mock does not take."""
    problems: List[str] = []
    for item in items:
        for marker in item.iter_markers():
            if _near_miss(marker.name):
                problems.append(f"{item.nodeid}: unknown marker @pytest.mark.{marker.name}; "
                                f"did you mean @pytest.mark.{MARKER}? (the test would run without the mock)")
        try:
            _marker_options(item)
        except pytest.UsageError as exc:
            problems.append(str(exc))
    if problems:
        raise pytest.UsageError("chime_mock:\n  " + "\n  ".join(dict.fromkeys(problems)))


@pytest.fixture
def chime_meetings(request: pytest.FixtureRequest) -> Iterator["ChimeMeetingsMock"]:
    """An active ``ChimeMeetingsMock`` with empty state, stopped after the test.
    Options come from the test's ``chime_meetings`` marker; with the marker (or
    a decorated class) it is the activation that already spans the test."""
    from chime_mock.activation.handle import ChimeMeetingsMock

    options = _marker_options(request.node) if isinstance(request.node, pytest.Item) else {}
    mock = ChimeMeetingsMock(**options)
    mock._origin = "fixture"
    with mock:
        yield mock


# The marker, and @mock_chime_meetings on a test class, activate the mock for
# the whole of each test: from before its first fixture is set up until after
# its last fixture is torn down, so fixtures of any order (and autouse fixture
# methods of the class) run mocked.
_ACTIVATION = "_chime_mock_activation"


def _mock_first(item: pytest.Item) -> None:
    """A test that takes the ``chime_meetings`` fixture (itself or through
    another fixture) has it set up before its other function-scoped fixtures,
    autouse ones included, and so torn down after them: their Chime calls are
    answered too.  pytest sets a test's fixtures up in the order of
    ``item.fixturenames`` (broader scopes first, then the order they were
    asked for; ``TopRequest._fillfixtures`` in ``_pytest/fixtures.py``), so the
    fixture moves to the front of the function-scoped ones; broader-scoped
    fixtures keep their place.  Where pytest's internals differ, the order is
    left as it is: never a broken run."""
    try:
        names = getattr(item, "fixturenames", None)
        if not isinstance(names, list) or MARKER not in names:
            return
        definitions = item._fixtureinfo.name2fixturedefs  # type: ignore[attr-defined]

        def function_scoped(name: str) -> bool:
            chain = definitions.get(name)
            return not chain or chain[-1].scope == "function"

        if not function_scoped(MARKER):
            return
        first = next(index for index, name in enumerate(names) if function_scoped(name))
        if names.index(MARKER) > first:
            # A new list: items of one parametrized function share the old one.
            item.fixturenames = names[:first] + [MARKER] + [name for name in names[first:] if name != MARKER]  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - another pytest's internals: keep its order
        return


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    registry = sys.modules.get("chime_mock.service.registry")
    if registry is not None:
        # An earlier test whose mock another thread stopped left this context
        # refusing Chime calls (service/registry.py): that test is over.
        registry.drop_ended()
    _mock_first(item)
    handle = getattr(getattr(item, "cls", None), "_chime_mock_handle", None)
    if handle is not None:
        setattr(item, _ACTIVATION, handle._run_activation())
    elif item.get_closest_marker(MARKER) is not None:
        from chime_mock.activation.handle import ChimeMeetingsMock

        handle = ChimeMeetingsMock(**_marker_options(item))
        handle._origin = "marker"
        setattr(item, _ACTIVATION, handle.start())
    yield


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    outcome = yield
    activation = item.__dict__.pop(_ACTIVATION, None)
    if activation is not None:
        try:
            activation.stop()          # with assert_all_faults_fired: AssertionError for an unfired fault
        except AssertionError as exc:
            force = getattr(outcome, "force_exception", None)
            if force is None:          # pragma: no cover - pluggy < 1.1
                raise
            force(exc)


@pytest.fixture(scope="session")
def chime_meetings_server_process() -> Iterator[Any]:
    """One ``chime-mock serve`` subprocess on a free loopback port for the
    whole session (one per pytest-xdist worker); stopped with SIGTERM at the end."""
    from chime_mock.doors.server.client import ServerProcess

    server = ServerProcess()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chime_meetings_server(chime_meetings_server_process: Any) -> Any:
    """The session's server, reset before the test (empty state, journal and
    faults): ``.url``, ``.client`` (a ``chime_mock.client.ChimeMockClient``) and
    ``.env`` (an environment for subprocesses: ``subprocess.run(..., env=server.env)``
    points the AWS CLI or any AWS SDK at it with fake credentials)."""
    chime_meetings_server_process.client.reset()
    return chime_meetings_server_process


__all__ = ["chime_meetings", "chime_meetings_server", "chime_meetings_server_process", "MARKER"]
