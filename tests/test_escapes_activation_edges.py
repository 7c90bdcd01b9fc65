"""Escapes at the edges of an activation: work a test registers that runs
just before or just after the activation it believed covered it.

* unittest class cleanups (``addClassCleanup``, ``enterClassContext``) run
  after ``tearDownClass`` (``doClassCleanups``); test cleanups (``addCleanup``,
  ``enterContext``) after ``tearDown``: a decorated class runs them mocked
  under unittest's own runner as under pytest.
* the ``chime_meetings`` fixture asked for after another function-scoped
  fixture: that fixture's set-up and tear-down run mocked too.

The network layer is patched to record and raise, so a call that was not
answered shows as a send (and as an "other" outcome), never as a pass."""
from __future__ import annotations

import contextlib
import io
import textwrap
import unittest

import pytest

from chime_mock import mock_chime_meetings
from tests.escapes import get_meeting

pytest_plugins = ["pytester"]

def run_plainly(case, method="run"):
    """Run a TestCase class as ``unittest.main`` would (suite, class fixtures,
    class cleanups), not through pytest."""
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    if method == "debug":
        suite.debug()
        return None
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    assert result.wasSuccessful(), result.errors + result.failures
    return result


@contextlib.contextmanager
def recorded(outcomes, label):
    yield
    outcomes.append((label, get_meeting()))


# -- unittest: class cleanups -----------------------------------------------------

def test_a_class_cleanup_registered_in_set_up_class_is_answered_under_unittest(sent):
    outcomes = []

    @mock_chime_meetings
    class Case(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.addClassCleanup(lambda: outcomes.append(("class cleanup", get_meeting())))

        def test_a(self):
            pass

    run_plainly(Case)
    assert outcomes == [("class cleanup", "answered")]
    assert sent == []


def test_class_cleanups_run_after_a_failed_set_up_class_are_answered(sent):
    outcomes = []

    @mock_chime_meetings
    class Case(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.addClassCleanup(lambda: outcomes.append(("class cleanup", get_meeting())))
            raise RuntimeError("set-up failed")

        def test_a(self):
            pass

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    assert len(result.errors) == 1 and "set-up failed" in result.errors[0][1]
    assert outcomes == [("class cleanup", "answered")]
    assert sent == []


@pytest.mark.skipif(not hasattr(unittest.TestCase, "enterClassContext"), reason="enterClassContext is new in 3.11")
def test_a_class_context_is_exited_mocked_under_unittest(sent):
    outcomes = []

    @mock_chime_meetings
    class Case(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.enterClassContext(recorded(outcomes, "class context exit"))

        def test_a(self):
            pass

    run_plainly(Case)
    assert outcomes == [("class context exit", "answered")]
    assert sent == []


def test_a_subclass_of_a_decorated_case_runs_its_class_cleanups_mocked(sent):
    outcomes = []

    @mock_chime_meetings
    class Base(unittest.TestCase):
        pass

    class Case(Base):
        @classmethod
        def setUpClass(cls):
            cls.addClassCleanup(lambda: outcomes.append(("class cleanup", get_meeting())))

        def test_a(self):
            pass

    run_plainly(Case)
    assert outcomes == [("class cleanup", "answered")]
    assert sent == []


# -- unittest: test cleanups ------------------------------------------------------

def _cleanup_case(outcomes, base=unittest.TestCase):
    @mock_chime_meetings
    class Case(base):
        def setUp(self):
            self.addCleanup(lambda: outcomes.append(("setUp cleanup", get_meeting())))
            if hasattr(self, "enterContext"):          # 3.11+
                self.enterContext(recorded(outcomes, "context exit"))

        def test_a(self):
            self.addCleanup(lambda: outcomes.append(("test cleanup", get_meeting())))
    return Case


def _expected():
    labels = ["test cleanup", "context exit", "setUp cleanup"]
    if not hasattr(unittest.TestCase, "enterContext"):
        labels.remove("context exit")
    return [(label, "answered") for label in labels]


@pytest.mark.parametrize("method", ["run", "debug"])
def test_cleanups_added_in_set_up_and_the_test_are_answered_under_unittest(sent, method):
    outcomes = []
    run_plainly(_cleanup_case(outcomes), method)
    assert outcomes == _expected()
    assert sent == []


def test_cleanups_of_an_isolated_async_case_are_answered_under_unittest(sent):
    outcomes = []

    @mock_chime_meetings
    class Case(unittest.IsolatedAsyncioTestCase):
        @classmethod
        def setUpClass(cls):
            cls.addClassCleanup(lambda: outcomes.append(("class cleanup", get_meeting())))

        async def asyncSetUp(self):
            self.addCleanup(lambda: outcomes.append(("setUp cleanup", get_meeting())))
            self.addAsyncCleanup(self._async_cleanup)

        async def _async_cleanup(self):
            outcomes.append(("async cleanup", get_meeting()))

        async def test_a(self):
            pass

    run_plainly(Case)
    assert sorted(outcomes) == [("async cleanup", "answered"), ("class cleanup", "answered"),
                                ("setUp cleanup", "answered")]
    assert outcomes[-1] == ("class cleanup", "answered")
    assert sent == []


# -- inner pytest sessions (pytester, in this process: the patched network layer holds) --

INNER_HELPERS = """
    import boto3
    import pytest
    from botocore.config import Config

    import chime_mock

    def call(where):
        \"\"\"One Chime call (at ``where``), which must be answered by the mock: one
        that is not reaches the patched network layer, which raises.\"\"\"
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1",
                              config=Config(retries={"max_attempts": 1}),
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        try:
            client.get_meeting(MeetingId="11111111-1111-4111-8111-111111111111")
        except client.exceptions.NotFoundException:
            pass
"""


def run_inner(pytester, body, passed=1):
    pytester.makepyfile(test_inner=textwrap.dedent(INNER_HELPERS) + textwrap.dedent(body))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:benchmark", "-q")
    result.assert_outcomes(passed=passed)
    return result


# -- unittest cases under pytest (an inner session) ----------------------------------

UNITTEST_UNDER_PYTEST = """
    import unittest

    from chime_mock import mock_chime_meetings

    class Calls:
        def __enter__(self):
            call("context enter")

        def __exit__(self, *exc):
            call("context exit")

    @mock_chime_meetings
    class Case(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.addClassCleanup(call, "class cleanup")
            if hasattr(cls, "enterClassContext"):
                cls.enterClassContext(Calls())

        def setUp(self):
            self.addCleanup(call, "setUp cleanup")
            if hasattr(self, "enterContext"):
                self.enterContext(Calls())

        def test_a(self):
            self.addCleanup(call, "test cleanup")
"""


def test_the_same_cleanups_are_answered_under_pytest(pytester, sent):
    run_inner(pytester, UNITTEST_UNDER_PYTEST)
    assert sent == []


# -- pytest: the chime_meetings fixture and the test's other fixtures ----------------

def test_a_fixture_asked_for_before_chime_meetings_runs_mocked(pytester, sent):
    run_inner(pytester, """
        @pytest.fixture
        def meeting():
            call("meeting set-up")
            yield
            call("meeting tear-down")

        def test_it(meeting, chime_meetings):
            call("test")
    """)
    assert sent == []


def test_a_fixture_beside_one_that_depends_on_chime_meetings_runs_mocked(pytester, sent):
    run_inner(pytester, """
        @pytest.fixture
        def room(chime_meetings):
            return chime_meetings

        @pytest.fixture
        def meeting():
            call("meeting set-up")
            yield
            call("meeting tear-down")

        @pytest.mark.parametrize("n", [1, 2])
        def test_it(meeting, n, room):
            call("test")
    """, passed=2)
    assert sent == []


def test_an_autouse_fixture_of_a_test_that_asks_for_chime_meetings_runs_mocked(pytester, sent):
    run_inner(pytester, """
        @pytest.fixture(autouse=True)
        def around():
            call("autouse set-up")
            yield
            call("autouse tear-down")

        def test_it(chime_meetings):
            call("test")

        class TestInClass:
            @pytest.fixture(autouse=True)
            def method_fixture(self):
                call("autouse method set-up")
                yield
                call("autouse method tear-down")

            def test_it(self, chime_meetings):
                call("test")
    """, passed=2)
    assert sent == []


def test_broader_scoped_fixtures_keep_their_order(pytester, sent):
    run_inner(pytester, """
        ORDER = []

        @pytest.fixture(scope="module")
        def module_wide():
            ORDER.append(("module", chime_mock.current() is None))
            yield

        @pytest.fixture
        def meeting(module_wide):
            ORDER.append(("meeting", chime_mock.current() is None))

        def test_it(meeting, chime_meetings):
            # the module-scoped fixture came first, outside the mock; the function one inside
            assert ORDER == [("module", True), ("meeting", False)]
    """)
    assert sent == []


def test_the_marker_covers_fixtures_asked_for_before_chime_meetings(pytester, sent):
    run_inner(pytester, """
        @pytest.fixture
        def meeting():
            call("meeting set-up")
            yield
            call("meeting tear-down")

        @pytest.mark.chime_meetings(seed=3)
        def test_it(meeting, chime_meetings):
            assert chime_meetings.seed == 3
            call("test")
    """)
    assert sent == []


def test_a_test_without_chime_meetings_keeps_its_fixture_order(pytester, sent):
    run_inner(pytester, """
        @pytest.fixture
        def first():
            assert chime_mock.current() is None

        @pytest.fixture
        def second():
            pass

        def test_it(first, second, request):
            assert request.fixturenames[:3] == ["first", "second", "request"]
    """)
    assert sent == []
