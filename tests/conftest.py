from __future__ import annotations

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
