"""Identifier and token generation (docs/behaviour.md#d8), optionally seeded."""
from __future__ import annotations

import base64
import binascii
import random
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

T = TypeVar("T")

_MT_WORDS = 624          # the Mersenne Twister's state: 624 32-bit words and a position


def check_state(state: Any) -> Tuple[int, Tuple[int, ...], Optional[float]]:
    """``state`` (as ``random.Random.getstate()`` gives it, lists accepted for
    tuples) if it is a usable generator state, else ValueError saying why:
    version 3, 624 words each in [0, 2**32), a position in [0, 624], a gauss
    of None or a float, and not the degenerate all-zero state (which would
    repeat one value for ever, so every new ID would be the same)."""
    if not (isinstance(state, (list, tuple)) and len(state) == 3):
        raise ValueError("must be [version, [624 words and a position], gauss]")
    version, internal, gauss = state
    if version != 3 or isinstance(version, bool):
        raise ValueError(f"version must be 3, got {version!r}")
    if not (isinstance(internal, (list, tuple)) and len(internal) == _MT_WORDS + 1):
        raise ValueError(f"must hold {_MT_WORDS} words and a position")
    for index, word in enumerate(internal):
        if isinstance(word, bool) or not isinstance(word, int):
            raise ValueError(f"word {index} must be an integer, got {word!r}")
    words, position = internal[:_MT_WORDS], internal[_MT_WORDS]
    bad = next((i for i, w in enumerate(words) if not 0 <= w < 2 ** 32), None)
    if bad is not None:
        raise ValueError(f"word {bad} must be in [0, 2**32), got {words[bad]!r}")
    if not 0 <= position <= _MT_WORDS:
        raise ValueError(f"the position must be in [0, {_MT_WORDS}], got {position!r}")
    if not (words[0] & 0x80000000) and not any(words[1:]):
        raise ValueError("the generator state is all zero, so it would repeat one value for ever")
    if gauss is not None and (isinstance(gauss, bool) or not isinstance(gauss, (int, float))):
        raise ValueError(f"gauss must be null or a number, got {gauss!r}")
    return 3, tuple(internal), (float(gauss) if gauss is not None else None)


_MASK128 = (1 << 128) - 1


def _layout(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)      # version 4, RFC-4122 variant

_UUID4_KEEP_HIGH = _UUID4_KEEP << 128 & ((1 << 256) - 1) | _MASK128   # the same, on the high half of 256 bits
_UUID4_SET_HIGH = _UUID4_SET << 128


def uuid_text(value: int) -> str:
    """128 bits as lowercase 8-4-4-4-12 hex (``uuid4_bits`` -> ``uuid4``'s text)."""
    h = "%032x" % value
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# attendee_credentials_many: below this many, one draw each costs less.
_MANY_FROM = 16
_CREDENTIAL_WIDTH = 75
_CREDENTIAL_TEMPLATE = b"00000000-0000-0000-0000-000000000000:00000000-0000-4000-0000-000000000000\0\0"


def _credential_columns() -> List[Tuple[int, int]]:
    """(byte of the 75, hex digit of the draw's 64) for every digit copied:
    the AttendeeId is digits 32-63, the uuid4 digits 0-31 but 12 (its version, "4")."""
    groups = [(0, 8), (9, 4), (14, 4), (19, 4), (24, 12)]
    columns = []
    for base, first in ((0, 32), (37, 0)):
        digit = first
        for start, length in groups:
            for k in range(length):
                if not (first == 0 and digit == 12):
                    columns.append((base + start + k, digit))
                digit += 1
    return columns


_CREDENTIAL_COLUMNS = _credential_columns()
_VARIANT_TARGET = 37 + 19          # the uuid4's digit 16: its RFC-4122 variant, 8-b
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")


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

    def getstate(self) -> Tuple[Any, ...]:
        return self._rng.getstate()

    def setstate(self, state: Any) -> None:
        """Restore a ``getstate()`` (checked: ValueError if unusable, see ``check_state``)."""
        self._rng.setstate(check_state(state))

    def unused(self, make: Callable[[], str], in_use: Callable[[str], bool]) -> str:
        """``make()``, drawn again while ``in_use`` says the value is taken.
        A generator that keeps repeating itself is reseeded from the OS, so an
        identifier already in use is never handed out."""
        for attempt in range(64):
            value = make()
            if not in_use(value):
                return value
            if attempt >= 2:
                self.reseed(None)
        raise RuntimeError("could not draw an unused identifier")  # pragma: no cover

    def uuid4(self) -> str:
        """Lowercase RFC-4122 version-4 UUID (MeetingId, RequestId)."""
        value = self.bits(128)
        value = (value & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
        value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC-4122 variant
        return _layout(f"{value:032x}")

    def uuid4_bits(self) -> int:
        """The next ``uuid4()`` as its 128-bit number (``uuid_text`` writes it;
        a journal keeps request IDs so, in 44 bytes rather than 85)."""
        return self.bits(128) & _UUID4_KEEP | _UUID4_SET

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
        # The high 128 bits become the token's uuid4 (version 4, RFC-4122 variant).
        h = (self.bits(256) & _UUID4_KEEP_HIGH | _UUID4_SET_HIGH).to_bytes(32, "big").hex()
        attendee_id = f"{h[32:40]}-{h[40:44]}-{h[44:48]}-{h[48:52]}-{h[52:]}"
        raw = f"{attendee_id}:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}".encode("ascii")
        # 73 bytes: the base64 always ends in "==" (stripped, as join_token does).
        return attendee_id, binascii.b2a_base64(raw, newline=False)[:-2].decode("ascii")

    def attendee_credentials_many(self, count: int) -> List[Tuple[str, str]]:
        """``count`` ``attendee_credentials()`` from one draw: the same values,
        in order (``getrandbits(256 * count)`` is ``count`` 256-bit draws, the
        first in the low bits), written for all of them at once."""
        return list(zip(*self.attendee_credential_lists(count))) if count else []

    def attendee_credential_lists(self, count: int) -> Tuple[List[str], List[str]]:
        """``attendee_credentials_many(count)`` as two lists: the AttendeeIds, the JoinTokens."""
        if count < _MANY_FROM:
            ids: List[str] = []
            joins: List[str] = []
            for _ in range(count):
                attendee_id, join_token = self.attendee_credentials()
                ids.append(attendee_id)
                joins.append(join_token)
            return ids, joins
        # The hex digits of every draw, the last draw first: draw i is the
        # 64 digits at 64 * (count - 1 - i), its uuid4 (the token's) then its AttendeeId.
        digits = binascii.hexlify(self.bits(256 * count).to_bytes(32 * count, "big"))
        # Each draw becomes 75 bytes, "<AttendeeId>:<uuid4>" and two zero
        # bytes, copied one column at a time for all draws (a strided slice).
        out = bytearray(_CREDENTIAL_TEMPLATE * count)
        last = 64 * (count - 1)
        for target, column in _CREDENTIAL_COLUMNS:
            out[target::_CREDENTIAL_WIDTH] = digits[last + column::-64]
        out[_VARIANT_TARGET::_CREDENTIAL_WIDTH] = out[_VARIANT_TARGET::_CREDENTIAL_WIDTH].translate(_VARIANT)
        text = out.decode("ascii")
        # 75 bytes are 25 base64 groups: each draw's text is 100 characters,
        # its 73 bytes' unpadded base64 (98) and "AA" from the zero bytes.
        tokens = binascii.b2a_base64(out, newline=False).decode("ascii")
        return ([text[at:at + 36] for at in range(0, _CREDENTIAL_WIDTH * count, _CREDENTIAL_WIDTH)],
                [tokens[at:at + 98] for at in range(0, 100 * count, 100)])

    def hex(self, digits: int) -> str:
        return f"{self.bits(digits * 4):0{digits}x}"

    def choice(self, items: Sequence[T]) -> T:
        return items[self.bits(16) % len(items)]
