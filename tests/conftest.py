from __future__ import annotations

import sys
import textwrap

import boto3
import pytest
from botocore.config import Config

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})


@pytest.fixture
def make_client():
    """Build chime-sdk-meetings clients; retries off so errors surface at once."""
    def make(region: str = "us-east-1", **kwargs):
        kwargs.setdefault("config", NO_RETRY)
        return boto3.client("chime-sdk-meetings", region_name=region, **kwargs)
    return make


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
