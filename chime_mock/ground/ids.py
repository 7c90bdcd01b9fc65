"""Identifier and token generation (docs/behaviour.md#d8), optionally seeded."""
from __future__ import annotations

import base64
import binascii
import operator
import random
import struct
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

_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)      # version 4, RFC-4122 variant

_UUID4_KEEP_HIGH = _UUID4_KEEP << 128 & ((1 << 256) - 1) | _MASK128   # the same, on the high half of 256 bits
_UUID4_SET_HIGH = _UUID4_SET << 128

# 8-4-4-4-12 from 128 bits in one pass: their hex in groups of 4 digits
# ("xxxx-xxxx-...-xxxx", ``bytes.hex("-", 2)``) with the dashes after the
# first, sixth and seventh groups left out.
_UUID_PIECES = operator.itemgetter(slice(0, 4), slice(5, 29), slice(30, 34), slice(35, None))


def uuid_text(value: int) -> str:
    """128 bits as lowercase 8-4-4-4-12 hex (``uuid4_bits`` -> ``uuid4``'s text)."""
    return "".join(_UUID_PIECES(value.to_bytes(16, "big").hex("-", 2)))


# attendee_credentials: one 256-bit draw's hex in groups of 4 digits (its
# high half, the token's uuid4, first) and a ":" after them (at 79): the
# AttendeeId's pieces (as ``_UUID_PIECES``, 40 further on), the ":", the uuid4's.
_CREDENTIAL_PIECES = operator.itemgetter(slice(40, 44), slice(45, 69), slice(70, 74), slice(75, 79), slice(79, 80),
                                         slice(0, 4), slice(5, 29), slice(30, 34), slice(35, 39))

# attendee_credential_lists: each draw becomes 26 units of 4 bytes, its 16
# groups of 4 hex digits (copied a unit at a time for all draws at once) and
# separator units padded with zero bytes, which are then deleted:
# "<AttendeeId>:<uuid4>" (73 bytes) and the 2 bytes 0F FF.  75 bytes are 25
# base64 groups: the token's 98 characters (its last group's first two
# characters do not depend on those bytes), then "//", which no token holds
# (the base64 of hex digits, "-" and ":" never reaches the values 62 and 63).
_DRAW_UNITS = ("g8", "g9", "-", "g10", "-", "g11", "-", "g12", "-", "g13", "g14", "g15", ":",
               "g0", "g1", "-", "g2", "-", "g3", "-", "g4", "-", "g5", "g6", "g7", "end")
_DRAW_TEMPLATE = b"".join(b"\0\0\0\0" if unit[0] == "g" else b"\x0f\xff\0\0" if unit == "end"
                          else unit.encode("ascii") + b"\0\0\0" for unit in _DRAW_UNITS)
#: (the draw's unit, its group of 4 hex digits) for each group copied
_UNIT_COPIES = tuple((at, int(unit[1:])) for at, unit in enumerate(_DRAW_UNITS) if unit[0] == "g")
_UNITS_PER_DRAW = len(_DRAW_UNITS)
_DRAW_BYTES = 75
_VERSION_AT = 37 + 14          # the uuid4's digit 12, its version
_VARIANT_AT = 37 + 19          # the uuid4's digit 16: its RFC-4122 variant, 8-b
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")
_ID_FORMAT = "36s39x"          # a draw's AttendeeId, in its 75 bytes
# attendee_credential_lists: below this many, one draw each costs less.
_MANY_FROM = 6
# A unit is 4 bytes: memoryview format "I", C's unsigned int, 32 bits wherever CPython runs.


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
        return "".join(_UUID_PIECES((self.bits(128) & _UUID4_KEEP | _UUID4_SET).to_bytes(16, "big").hex("-", 2)))

    def uuid4_bits(self) -> int:
        """The next ``uuid4()`` as its 128-bit number (``uuid_text`` writes it;
        a journal keeps request IDs so, in 44 bytes rather than 85)."""
        return self.bits(128) & _UUID4_KEEP | _UUID4_SET

    def attendee_id(self) -> str:
        """128 random bits in 8-4-4-4-12 lowercase hex (not RFC-4122)."""
        return "".join(_UUID_PIECES(self.bits(128).to_bytes(16, "big").hex("-", 2)))

    def join_token(self, attendee_id: str) -> str:
        """Unpadded base64 of ``<AttendeeId>:<uuid4>``: always 98 characters."""
        raw = f"{attendee_id}:{self.uuid4()}".encode("ascii")
        return base64.b64encode(raw).rstrip(b"=").decode("ascii")

    def attendee_credentials(self) -> Tuple[str, str]:
        """``(AttendeeId, JoinToken)`` from one draw: the same values as
        ``attendee_id()`` followed by ``join_token()`` (``getrandbits(256)``
        is two 128-bit draws, the first in the low bits), at a fraction of the cost."""
        # The high 128 bits become the token's uuid4 (version 4, RFC-4122 variant).
        raw = b"".join(_CREDENTIAL_PIECES(binascii.hexlify(
            (self.bits(256) & _UUID4_KEEP_HIGH | _UUID4_SET_HIGH).to_bytes(32, "big"), b"-", 2) + b":"))
        # 73 bytes: the base64 always ends in "==" and a newline (stripped, as join_token does).
        return raw[:36].decode(), binascii.b2a_base64(raw)[:-3].decode()

    def attendee_credentials_many(self, count: int) -> List[Tuple[str, str]]:
        """``count`` ``attendee_credentials()`` from one draw: the same values,
        in order (``getrandbits(256 * count)`` is ``count`` 256-bit draws, the
        first in the low bits), written for all of them at once."""
        return list(zip(*self.attendee_credential_lists(count))) if count else []

    def attendee_credential_lists(self, count: int) -> Tuple[List[str], List[str]]:
        """``attendee_credentials_many(count)`` as two lists: the AttendeeIds, the JoinTokens."""
        if count < _MANY_FROM:
            ids: List[str] = []
            tokens: List[str] = []
            for _ in range(count):
                attendee_id, join_token = self.attendee_credentials()
                ids.append(attendee_id)
                tokens.append(join_token)
            return ids, tokens
        # The hex digits of every draw, the last draw first: draw i is the 16
        # units (groups of 4 digits) at 16 * (count - 1 - i), its uuid4's then its AttendeeId's.
        digits = memoryview(binascii.hexlify(self.bits(256 * count).to_bytes(32 * count, "big")))
        source = digits.cast("I")
        units = bytearray(_DRAW_TEMPLATE * count)
        target = memoryview(units).cast("I")
        last = 16 * (count - 1)
        for at, group in _UNIT_COPIES:     # one unit of every draw (a strided slice)
            target[at::_UNITS_PER_DRAW] = source[last + group::-16]
        target.release()
        source.release()
        digits.release()
        raw = units.translate(None, b"\0")    # "<AttendeeId>:<uuid4>" and 0F FF, per draw
        # The uuid4s' version ("4") and variant (8-b) digits.
        raw[_VERSION_AT::_DRAW_BYTES] = b"4" * count
        raw[_VARIANT_AT::_DRAW_BYTES] = raw[_VARIANT_AT::_DRAW_BYTES].translate(_VARIANT)
        tokens = binascii.b2a_base64(raw).decode().split("//")
        tokens.pop()                           # the newline
        return list(map(bytes.decode, struct.unpack(_ID_FORMAT * count, raw))), tokens

    def hex(self, digits: int) -> str:
        return f"{self.bits(digits * 4):0{digits}x}"

    def choice(self, items: Sequence[T]) -> T:
        return items[self.bits(16) % len(items)]
