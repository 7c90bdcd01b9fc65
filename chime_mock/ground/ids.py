"""Identifier and token generation (docs/behaviour.md#d8), optionally seeded."""
from __future__ import annotations

import base64
import binascii
import random
from typing import Optional, Sequence, Tuple, TypeVar

T = TypeVar("T")


_MASK128 = (1 << 128) - 1


def _layout(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IdGenerator:
    """Random IDs in the service's observed formats.

    With a ``seed`` every ID, token and request ID is reproducible (given the
    same sequence of calls); without one the generator is seeded from
    ``os.urandom``.
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        self.reseed(seed)

    def reseed(self, seed: Optional[int] = None) -> None:
        # ``Random()`` without a seed draws its seed from the OS.
        self._rng = random.Random(seed) if seed is not None else random.Random()
        # getrandbits is one C call, atomic under the GIL: no lock needed.
        self.bits = self._rng.getrandbits

    def uuid4(self) -> str:
        """Lowercase RFC-4122 version-4 UUID (MeetingId, RequestId)."""
        value = self.bits(128)
        value = (value & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
        value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC-4122 variant
        return _layout(f"{value:032x}")

    def attendee_id(self) -> str:
        """128 random bits in 8-4-4-4-12 lowercase hex (not RFC-4122)."""
        return _layout(f"{self.bits(128):032x}")

    def join_token(self, attendee_id: str) -> str:
        """Unpadded base64 of ``<AttendeeId>:<uuid4>``: always 98 characters."""
        raw = f"{attendee_id}:{self.uuid4()}".encode("ascii")
        return base64.b64encode(raw).rstrip(b"=").decode("ascii")

    def attendee_credentials(self) -> Tuple[str, str]:
        """``(AttendeeId, JoinToken)`` from one draw: the same values as
        ``attendee_id()`` followed by ``join_token()`` (``getrandbits(256)``
        is two 128-bit draws, the first in the low bits), at half the cost."""
        value = self.bits(256)
        token = (value >> 128 & ~(0xF000 << 64)) | (0x4000 << 64)   # uuid4: version 4
        token = (token & ~(0xC000 << 48)) | (0x8000 << 48)          # RFC-4122 variant
        h = f"{token:032x}{value & _MASK128:032x}"
        attendee_id = f"{h[32:40]}-{h[40:44]}-{h[44:48]}-{h[48:52]}-{h[52:]}"
        raw = f"{attendee_id}:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}".encode("ascii")
        # 73 bytes: the base64 always ends in "==" (stripped, as join_token does).
        return attendee_id, binascii.b2a_base64(raw, newline=False)[:-2].decode("ascii")

    def hex(self, digits: int) -> str:
        return f"{self.bits(digits * 4):0{digits}x}"

    def choice(self, items: Sequence[T]) -> T:
        return items[self.bits(16) % len(items)]
