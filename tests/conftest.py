from __future__ import annotations

import os
import sys
import textwrap

import pytest

from tests.doors import DOORS, HAVE_AIOBOTOCORE, make_door
from tests.escapes import record_sends

DOORS_MARKER = "doors"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{DOORS_MARKER}(*names): run a test that uses the client/make_client fixtures through these doors only "
        f"(of {', '.join(DOORS)}); @pytest.mark.{DOORS_MARKER}('botocore') takes a door-specific test out of the "
        f"door matrix")


def pytest_generate_tests(metafunc):
    """Every test whose fixtures include ``door`` (``client``, ``make_client``)
    runs once per door, or through the doors its ``doors`` marker names."""
    if "door" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker(DOORS_MARKER)
    names = tuple(marker.args) if marker is not None else DOORS
    unknown = [name for name in names if name not in DOORS]
    if unknown or not names:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: @pytest.mark.{DOORS_MARKER} takes door names "
                                f"({', '.join(DOORS)}), got {names!r}")
    chosen = _chosen_doors()
    metafunc.parametrize("door", [name for name in names if name in chosen] or names[:1], indirect=True)


def _chosen_doors():
    """CHIME_MOCK_TEST_DOORS=botocore,server runs the door matrix through those doors only."""
    text = os.environ.get("CHIME_MOCK_TEST_DOORS", "").strip()
    if not text:
        return DOORS
    chosen = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in chosen if name not in DOORS]
    if unknown:
        raise pytest.UsageError(f"CHIME_MOCK_TEST_DOORS names unknown doors {unknown}; the doors are {', '.join(DOORS)}")
    return chosen


@pytest.fixture(scope="session")
def door_server():
    """The in-thread server of the ``server`` door: one per session (per xdist worker)."""
    from chime_mock import ThreadedChimeServer

    with ThreadedChimeServer() as server:
        yield server


@pytest.fixture(scope="session")
def _doors(request):
    """The session's doors, made on first use, closed at the end."""
    made = {}
    yield made, lambda: request.getfixturevalue("door_server")
    for one in made.values():
        one.close()


@pytest.fixture
def door(request, chime_meetings, _doors):
    """The front door this run of the test goes through (see tests/doors.py)."""
    name = getattr(request, "param", "botocore")
    if name == "aiobotocore" and not HAVE_AIOBOTOCORE:
        pytest.skip("aiobotocore is not installed")
    made, server = _doors
    if name not in made:
        made[name] = make_door(name, server=server)
    one = made[name]
    one.begin(chime_meetings)
    yield one
    one.end()


@pytest.fixture
def make_client(door):
    """Build chime-sdk-meetings clients through the test's door; retries off so errors surface at once."""
    return door.client


@pytest.fixture
def client(chime_meetings, make_client):
    return make_client()


@pytest.fixture
def meeting(client):
    return client.create_meeting(
        ClientRequestToken="fixture-token", MediaRegion="us-east-1", ExternalMeetingId="fixture-meeting"
    )["Meeting"]


@pytest.fixture
def broken_profile(tmp_path, monkeypatch):
    """AWS_PROFILE names a profile whose credential_process fails (and leaves a mark if run)."""
    marker = tmp_path / "ran"
    config = tmp_path / "config"
    config.write_text(textwrap.dedent(f"""\
        [profile broken]
        credential_process = {sys.executable} -c "open({str(marker)!r}, 'w').write('x'); raise SystemExit(3)"
        region = eu-central-1

        [profile chained]
        role_arn = arn:aws:iam::111122223333:role/test
        source_profile = broken
        region = eu-central-1

        [profile sso]
        sso_start_url = https://example.awsapps.com/start
        sso_region = us-east-1
        sso_account_id = 111122223333
        sso_role_name = Test
        region = eu-central-1
    """))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("HOME", str(tmp_path))   # no real SSO cache
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return marker


@pytest.fixture
def sent(monkeypatch):
    """The URLs that reached botocore's (or aiobotocore's) HTTP layer, which
    refuses each with ``tests.escapes.Sent``: a request that would have left."""
    return record_sends(monkeypatch)
