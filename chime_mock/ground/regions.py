"""Regions: which media regions exist, their short codes, MediaPlacement URLs.

Media regions are the documented MediaRegion values; partitions come from
botocore's endpoint data (``endpoints``).  Codes marked *observed* were
seen in real responses; the others follow the same scheme (first letters of
the region's words plus its number) and are our inference.
"""
from __future__ import annotations

import functools
from typing import Dict

from chime_mock.ground import endpoints

# Documented MediaRegion values (CreateMeeting docs in the model).
COMMERCIAL_MEDIA_REGIONS = (
    "af-south-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1",
    "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2",
    "us-west-1", "us-west-2",
)
GOVCLOUD_MEDIA_REGIONS = ("us-gov-east-1", "us-gov-west-1")
MEDIA_REGIONS = frozenset(COMMERCIAL_MEDIA_REGIONS + GOVCLOUD_MEDIA_REGIONS)

# Regions with a real meetings control endpoint (AWS General Reference).
CONTROL_REGIONS = frozenset((
    "us-east-1", "us-west-2", "af-south-1", "ap-south-1", "ap-northeast-2", "ap-southeast-1",
    "ap-southeast-2", "ap-northeast-1", "ca-central-1", "eu-central-1", "eu-west-2",
    "il-central-1", "us-gov-east-1", "us-gov-west-1",
))

SHORT_CODES: Dict[str, str] = {
    # observed
    "us-east-1": "ue1", "us-east-2": "ue2", "us-west-2": "uw2", "eu-west-1": "ew1",
    "eu-west-2": "ew2", "eu-central-1": "ec1", "ap-southeast-1": "as1",
    "ap-northeast-1": "an1", "ap-northeast-2": "an2",
    # inferred (as2 seen in third-party code; the rest follow the scheme)
    "ap-southeast-2": "as2", "us-west-1": "uw1", "eu-west-3": "ew3", "eu-north-1": "en1",
    "eu-south-1": "es1", "ap-south-1": "aps1", "af-south-1": "afs1", "ca-central-1": "cc1",
    "sa-east-1": "se1", "il-central-1": "ilc1", "us-gov-east-1": "uge1", "us-gov-west-1": "ugw1",
}


def short_code(region: str) -> str:
    """The media-region code used in host names; unknown regions fall back to
    the region name without dashes (still a valid DNS label)."""
    return SHORT_CODES.get(region) or region.replace("-", "")


def partition(region: str) -> str:
    """The partition of ``region`` as botocore's endpoint data places it."""
    return endpoints.partition_of(region)


@functools.lru_cache(maxsize=256)
def is_media_region(media_region: str, control_region: str) -> bool:
    """Can a meeting created through ``control_region`` run its media in
    ``media_region``?  The documented media regions; and, in a partition where
    AWS documents none (aws-cn, the ISO partitions, EU sovereign...), the
    regions botocore lists for that partition, so that a client there has a
    media region of its own partition to use (our inference)."""
    if media_region in MEDIA_REGIONS:
        return True
    home = partition(control_region)
    if any(partition(r) == home for r in MEDIA_REGIONS):
        return False
    return media_region in endpoints.partitions().get(home, ())


def media_placement(meeting_id: str, media_region: str, control_region: str, audio_host: str, cluster: str) -> Dict[str, str]:
    """Every MediaPlacement URL in its observed format (docs/behaviour.md#mediaplacement-urls)."""
    rc = short_code(media_region)
    base = f"{cluster}.{rc}.app.chime.aws"
    screen = f"wss://bitpw.{base}:443/v2/screen/{meeting_id}"
    return {
        "AudioHostUrl": f"{audio_host}.k.{base}:3478",
        "AudioFallbackUrl": f"wss://wss.k.{base}:443/calls/{meeting_id}",
        "SignalingUrl": f"wss://signal.{base}/control/{meeting_id}",
        "TurnControlUrl": f"https://{meeting_id[-4:]}.cell.{control_region}.meetings.chime.aws/v2/turn_sessions",
        "ScreenDataUrl": screen,
        "ScreenViewingUrl": f"wss://bitpw.{base}:443/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id={meeting_id}",
        "ScreenSharingUrl": screen,
        "EventIngestionUrl": f"https://data.svc.{short_code(control_region)}.ingest.chime.aws/v1/client-events",
    }
