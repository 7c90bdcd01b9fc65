"""Server-side constraint checks compiled from the botocore model.

botocore checks ``required``, types and *minimums* before sending; the real
service also checks maximum lengths, patterns, enums and ranges.  These
validators check all of it (raw-HTTP callers skip botocore's checks too) and
report violations in AWS's framework wording (docs/behaviour.md#d4)::

    1 validation error detected: Value at 'externalUserId' failed to satisfy
    constraint: Member must have length less than or equal to 64

Each shape is compiled once into a closure; a request costs one walk over the
parameters it actually carries.
"""
from __future__ import annotations

import functools
import operator
import re
from itertools import chain, repeat
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from botocore.model import Shape

from chime_mock.ground.errors import BadRequest

Check = Callable[[Any, str, List[str]], None]


def camel(name: str) -> str:
    """``ExternalUserId`` -> ``externalUserId`` (the service's field paths)."""
    return name[:1].lower() + name[1:]


NULL = object()  # a missing required value: "Value null at ..."


def violation(path: str, constraint: str, value: Any = None) -> str:
    """One violation in AWS's wording; ``value`` None leaves the value out."""
    if value is None:
        shown = "Value"
    elif value is NULL:
        shown = "Value null"
    else:
        text = str(value)
        shown = f"Value '{text[:256]}...'" if len(text) > 256 else f"Value '{text}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


# A str holding a surrogate code point (a lone ``\ud800`` from a JSON escape)
# has no UTF-8 form: nothing could store or echo it.
_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_CONSTRAINT = "Member must not contain unpaired surrogate characters (it must be valid Unicode text)"


def _fail(errors: List[str], value: Any, shape: Shape, path: str, constraint: str) -> None:
    # Sensitive members are never echoed back (AWS omits their value too).
    hidden = shape.metadata.get("sensitive") or isinstance(value, (dict, list))
    errors.append(violation(path, constraint, None if hidden else value))


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "boolean": "a boolean",
    "float": "a number",
    "double": "a number",
    "structure": "an object",
    "list": "a list",
    "map": "an object",
    "timestamp": "a timestamp",
    "blob": "binary data",
}


def _type_ok(type_name: str, value: Any) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name in ("structure", "map"):
        return isinstance(value, dict)
    if type_name == "list":
        return isinstance(value, list)
    return True  # timestamps and blobs are converted before validation


class ValidatorCompiler:
    def __init__(self) -> None:
        self._cache: Dict[str, Check] = {}

    def compile(self, shape: Shape) -> Check:
        cached = self._cache.get(shape.name)
        if cached is not None:
            return cached
        # Recursive shapes: install a trampoline before compiling the body.
        holder: List[Check] = []
        self._cache[shape.name] = lambda v, p, e: holder[0](v, p, e)
        check = self._compile(shape)
        holder.append(check)
        self._cache[shape.name] = check
        return check

    def _compile(self, shape: Shape) -> Check:
        """One shape's check: its own constraints (length, range, enum,
        pattern), then its members by shape type (``_nested_<type>``, as
        botocore's validator dispatches), inside a type check."""
        nested = getattr(self, f"_nested_{shape.type_name}", None)
        checks = _bounds(shape) + _text_rules(shape) + ((nested(shape),) if nested is not None else ())
        if shape.type_name == "string":
            return _string_check(shape, checks)
        return _typed_check(shape, checks)

    def _nested_structure(self, shape: Shape) -> Check:
        members = [(name, camel(name), self.compile(member)) for name, member in shape.members.items()]
        required = tuple((name, camel(name)) for name in shape.required_members)

        def structure(value: Any, path: str, errors: List[str]) -> None:
            prefix = path + "." if path else ""
            for name, field in required:
                if value.get(name) is None:
                    errors.append(violation(prefix + field, "Member must not be null", NULL))
            for name, field, check in members:
                item = value.get(name)
                if item is not None:
                    check(item, prefix + field, errors)
        return structure

    def _nested_list(self, shape: Shape) -> Check:
        member_check = self.compile(shape.member)

        def items(value: Any, path: str, errors: List[str]) -> None:
            for index, item in enumerate(value, 1):
                if item is None:
                    errors.append(violation(f"{path}.{index}.member", "Member must not be null", NULL))
                else:
                    member_check(item, f"{path}.{index}.member", errors)
        return items

    def _nested_map(self, shape: Shape) -> Check:
        key_check = self.compile(shape.key)
        value_check = self.compile(shape.value)

        def entries(value: Any, path: str, errors: List[str]) -> None:
            for key, item in value.items():
                seen = len(errors)
                key_check(key, f"{path}.key", errors)
                # A bad key is not repeated in the value's path.
                if item is not None and len(errors) == seen:
                    value_check(item, f"{path}.{key}", errors)
        return entries


def _bounds(shape: Shape) -> Tuple[Check, ...]:
    """The ``min``/``max`` of a shape: a length for strings, lists, maps and
    blobs, a value range for numbers."""
    type_name, meta = shape.type_name, shape.metadata
    lo, hi = meta.get("min"), meta.get("max")
    if lo is None and hi is None:
        return ()
    if type_name in ("string", "list", "map", "blob"):
        def length(value: Any, path: str, errors: List[str]) -> None:
            n = len(value)
            if lo is not None and n < lo:
                _fail(errors, value, shape, path, f"Member must have length greater than or equal to {lo}")
            if hi is not None and n > hi:
                _fail(errors, value, shape, path, f"Member must have length less than or equal to {hi}")
        return (length,)
    if type_name in ("integer", "long", "float", "double"):
        def value_range(value: Any, path: str, errors: List[str]) -> None:
            if lo is not None and value < lo:
                _fail(errors, value, shape, path, f"Member must have value greater than or equal to {lo}")
            if hi is not None and value > hi:
                _fail(errors, value, shape, path, f"Member must have value less than or equal to {hi}")
        return (value_range,)
    return ()


def _text_rules(shape: Shape) -> Tuple[Check, ...]:
    """A string's enum and pattern (Java's, Coral's, semantics: ASCII
    classes, the whole value must match)."""
    if shape.type_name != "string":
        return ()
    checks: List[Check] = []
    enum = shape.enum
    if enum:
        allowed = frozenset(enum)
        text = "[" + ", ".join(enum) + "]"

        def in_enum(value: Any, path: str, errors: List[str]) -> None:
            if value not in allowed:
                _fail(errors, value, shape, path, f"Member must satisfy enum value set: {text}")
        checks.append(in_enum)
    pattern = shape.metadata.get("pattern")
    if pattern:
        regex = re.compile(pattern, re.ASCII)

        def matches(value: Any, path: str, errors: List[str]) -> None:
            if regex.fullmatch(value) is None:
                _fail(errors, value, shape, path, f"Member must satisfy regular expression pattern: {pattern}")
        checks.append(matches)
    return tuple(checks)


def _string_check(shape: Shape, checks: Tuple[Check, ...]) -> Check:
    """Every string of every request passes here, whatever its location
    (path, query, header, body): the one place that refuses text with no
    UTF-8 form, before any other check could echo it."""
    def string_check(value: Any, path: str, errors: List[str]) -> None:
        if not isinstance(value, str):
            _fail(errors, value, shape, path, "Member must be a string")
            return
        if not value.isascii() and _SURROGATE.search(value) is not None:
            errors.append(violation(path, SURROGATE_CONSTRAINT))
            return
        for one in checks:
            one(value, path, errors)
    return string_check


def _typed_check(shape: Shape, checks: Tuple[Check, ...]) -> Check:
    type_name = shape.type_name
    type_text = _TYPE_NAMES.get(type_name, type_name)

    def check(value: Any, path: str, errors: List[str]) -> None:
        if not _type_ok(type_name, value):
            _fail(errors, value, shape, path, f"Member must be {type_text}")
            return
        for one in checks:
            one(value, path, errors)
    return check

Valid = Callable[[Any], bool]


class FastValidatorCompiler:
    """The same constraints as ``ValidatorCompiler``, as predicates that build
    no field paths and stop at the first violation: ``valid(value)`` is False
    exactly when the checking validator would report at least one violation.
    A request is checked with the predicate first; only a refused one walks
    the checking validator, for the messages (so a valid 100-item list costs
    no path strings)."""

    def __init__(self) -> None:
        self._cache: Dict[str, Valid] = {}

    def compile(self, shape: Shape) -> Valid:
        cached = self._cache.get(shape.name)
        if cached is not None:
            return cached
        holder: List[Valid] = []
        self._cache[shape.name] = lambda v: holder[0](v)
        valid = self._compile(shape)
        holder.append(valid)
        self._cache[shape.name] = valid
        return valid

    def _compile(self, shape: Shape) -> Valid:
        """Dispatch on the shape's type (``_valid_<type>``); timestamps are
        converted before validation and pass."""
        compile_type = getattr(self, f"_valid_{shape.type_name}", None)
        return compile_type(shape) if compile_type is not None else (lambda v: True)

    @staticmethod
    def _valid_string(shape: Shape) -> Valid:
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        allowed = frozenset(shape.enum) if shape.enum else None
        pattern = shape.metadata.get("pattern")
        fullmatch = re.compile(pattern, re.ASCII).fullmatch if pattern else None
        surrogate = _SURROGATE.search

        def string(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            if not v.isascii() and surrogate(v) is not None:
                return False
            if lo is not None and len(v) < lo:
                return False
            if hi is not None and len(v) > hi:
                return False
            if allowed is not None and v not in allowed:
                return False
            return fullmatch is None or fullmatch(v) is not None
        return string

    def _valid_structure(self, shape: Shape) -> Valid:
        members = {name: self.compile(member) for name, member in shape.members.items()}
        required = tuple(shape.required_members)

        def structure(v: Any) -> bool:
            if not isinstance(v, dict):
                return False
            for name in required:
                if v.get(name) is None:
                    return False
            for name, item in v.items():
                check = members.get(name)
                if check is not None and item is not None and not check(item):
                    return False
            return True
        return structure

    def _valid_list(self, shape: Shape) -> Valid:
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        member = self.compile(shape.member)

        def items(v: Any) -> bool:
            if not isinstance(v, list):
                return False
            n = len(v)
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                return False
            for item in v:
                if item is None or not member(item):
                    return False
            return True
        return items

    def _valid_map(self, shape: Shape) -> Valid:
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        key_valid = self.compile(shape.key)
        value_valid = self.compile(shape.value)

        def entries(v: Any) -> bool:
            if not isinstance(v, dict):
                return False
            n = len(v)
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                return False
            for key, item in v.items():
                if not key_valid(key) or (item is not None and not value_valid(item)):
                    return False
            return True
        return entries

    @staticmethod
    def _valid_number(shape: Shape) -> Valid:
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        kinds = int if shape.type_name in ("integer", "long") else (int, float)

        def number(v: Any) -> bool:
            if not isinstance(v, kinds) or isinstance(v, bool):
                return False
            return not ((lo is not None and v < lo) or (hi is not None and v > hi))
        return number

    _valid_integer = _valid_long = _valid_float = _valid_double = _valid_number

    @staticmethod
    def _valid_boolean(shape: Shape) -> Valid:
        return lambda v: isinstance(v, bool)

    @staticmethod
    def _valid_blob(shape: Shape) -> Valid:
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if lo is None and hi is None:
            return lambda v: True   # converted before validation
        return lambda v: not ((lo is not None and len(v) < lo) or (hi is not None and len(v) > hi))

class Unsupported(Exception):
    """A shape ``InlineChecks`` does not write checks for (maps, timestamps,
    blobs, recursive shapes): the operation keeps the general path only."""


# -- whole lists at once -----------------------------------------------------------
# A list of structures (100 attendees of a batch) is checked column by column,
# each column in C (``map``, ``set``, ``min``/``max``, ``str.join``): a
# sufficient test.  When it holds, every item passes the per-item statements
# ``InlineChecks`` writes; when it does not (a violation, or only something it
# does not look into: a number, a list, a string with non-ASCII characters), the
# per-item statements decide as before.
_DICT_ONLY = frozenset({dict})
_STR_ONLY = frozenset({str})
_PRESENT = functools.partial(operator.is_not, None)
Column = Callable[[List[Any]], bool]


def _never(column: List[Any]) -> bool:
    return False


def string_rules(shape: Shape) -> Tuple[Optional[int], Optional[int], Optional[Callable[[str], Any]],
                                        Optional[FrozenSet[str]]]:
    """A string shape's rules as ``InlineChecks`` and ``column_check`` test them:
    (min length, max length, the pattern's ``fullmatch``, and for an enum the
    values that pass every other rule, so that being one of them is being valid)."""
    meta = shape.metadata
    lo, hi, pattern = meta.get("min"), meta.get("max"), meta.get("pattern")
    lo, hi = (None if lo is None else int(lo)), (None if hi is None else int(hi))
    fullmatch = re.compile(pattern, re.ASCII).fullmatch if pattern else None
    enum_ok = None
    if shape.enum:
        enum_ok = frozenset(e for e in shape.enum
                            if _SURROGATE.search(e) is None and (lo is None or len(e) >= lo)
                            and (hi is None or len(e) <= hi) and (fullmatch is None or fullmatch(e) is not None))
    return lo, hi, fullmatch, enum_ok


def strings_valid(lo: Optional[int], hi: Optional[int], fullmatch: Optional[Callable[[str], Any]],
                  enum_ok: Optional[FrozenSet[str]], column: List[Any]) -> bool:
    """True when every value of ``column`` is a ``str`` that ``string_bad`` passes
    (False is no verdict: look at each value)."""
    if set(map(type, column)) != _STR_ONLY:
        return False
    if enum_ok is not None:
        return enum_ok.issuperset(column)
    if (lo is not None and min(map(len, column)) < lo) or (hi is not None and max(map(len, column)) > hi):
        return False
    if not "".join(column).isascii():
        return False
    return fullmatch is None or None not in map(fullmatch, column)


def structures_valid(known: FrozenSet[str], members: Tuple[Tuple[str, bool, Column], ...], items: List[Any]) -> bool:
    """True when every item of ``items`` is a dict of ``known`` members only,
    each column valid (False is no verdict)."""
    if set(map(type, items)) != _DICT_ONLY or not known.issuperset(chain.from_iterable(items)):
        return False
    for name, required, valid in members:
        column = list(map(dict.get, items, repeat(name)))
        if not required:
            column = list(filter(_PRESENT, column))
            if not column:
                continue
        if not valid(column):
            return False
    return True


def column_check(shape: Shape, stack: Tuple[str, ...] = ()) -> Column:
    """The whole-column test of values of ``shape`` (``_never`` where there is none)."""
    if shape.name in stack:
        return _never
    if shape.type_name == "string":
        return functools.partial(strings_valid, *string_rules(shape))
    if shape.type_name == "structure":
        required = set(shape.required_members)
        members = tuple((name, name in required, column_check(member, stack + (shape.name,)))
                        for name, member in shape.members.items())
        return functools.partial(structures_valid, frozenset(shape.members), members)
    return _never


class InlineChecks:
    """The same constraints once more, as Python statements written from the
    model into one function per operation (``restjson.Operation``'s fast
    parse): a value's checks run in line, with no call per member, and the
    first violation (or anything unusual: a ``str`` subclass, an undeclared
    member of a nested object, which the general path would drop) makes the
    function run ``fail`` (a statement handing the request to the general
    path: converters, the predicates above, the messages), from the start.
    The statements accept a value only where ``FastValidatorCompiler``'s
    predicate does, and never change it."""

    def __init__(self, namespace: Dict[str, Any], fail: str = "return None", *, catches_type_error: bool = False) -> None:
        self.namespace = namespace
        self.fail = fail
        # The caller runs the statements inside ``except TypeError: <fail>``:
        # an enum's membership test then needs no type test first (a JSON
        # list or object is unhashable and raises; no other JSON value
        # equals one of the enum's strings).
        self.catches_type_error = catches_type_error
        self._count = 0
        namespace.setdefault("_surrogate", _SURROGATE.search)

    def name(self, prefix: str, value: Any = None, *, bind: bool = True) -> str:
        """A fresh name in the function (a local, or a global bound to ``value``)."""
        self._count += 1
        name = f"{prefix}{self._count}"
        if bind:
            self.namespace[name] = value
        return name

    def string_bad(self, shape: Shape, var: str, known_str: bool = False) -> str:
        """An expression true when the string ``var`` breaks ``shape``'s rules."""
        lo, hi, fullmatch, ok = string_rules(shape)
        terms = [] if known_str else [f"type({var}) is not str"]
        if ok is not None:
            # Being one of the enum values that pass every other rule is being
            # valid (and a str, so unhashable values never reach ``in``).
            if self.catches_type_error:
                terms = []
            # A literal set of str literals: the compiler makes it one frozenset constant.
            literal = "{" + ", ".join(repr(e) for e in sorted(ok)) + "}" if ok else "()"
            terms.append(f"{var} not in {literal}")
            return " or ".join(terms)
        if lo is not None and hi is not None:
            terms.append(f"not {int(lo)} <= len({var}) <= {int(hi)}")
        elif lo is not None:
            terms.append(f"len({var}) < {int(lo)}")
        elif hi is not None:
            terms.append(f"len({var}) > {int(hi)}")
        terms.append(f"(not {var}.isascii() and _surrogate({var}) is not None)")
        if fullmatch is not None:
            terms.append(f"{self.name('_pattern', fullmatch)}({var}) is None")
        return " or ".join(terms)

    def emit(self, shape: Shape, var: str, lines: List[str], indent: str,
             stack: Tuple[str, ...] = (), nested: bool = True) -> None:
        """Statements running ``fail`` unless ``var`` (not None) is valid for
        ``shape``.  ``nested``: a structure below the top level, whose
        undeclared members the general path would drop."""
        if shape.name in stack:
            raise Unsupported(shape.name)
        stack = stack + (shape.name,)
        type_name, meta = shape.type_name, shape.metadata
        lo, hi = meta.get("min"), meta.get("max")
        if type_name == "string":
            lines.append(f"{indent}if {self.string_bad(shape, var)}: {self.fail}")
        elif type_name in ("integer", "long", "float", "double"):
            bad = [f"type({var}) is not int"]
            if type_name in ("float", "double"):
                bad = [f"(type({var}) is not int and type({var}) is not float)"]
            if lo is not None:
                bad.append(f"{var} < {self.name('_min', lo)}")
            if hi is not None:
                bad.append(f"{var} > {self.name('_max', hi)}")
            lines.append(f"{indent}if {' or '.join(bad)}: {self.fail}")
        elif type_name == "boolean":
            lines.append(f"{indent}if type({var}) is not bool: {self.fail}")
        elif type_name == "list":
            bad = [f"type({var}) is not list"]
            if lo is not None:
                bad.append(f"len({var}) < {int(lo)}")
            if hi is not None:
                bad.append(f"len({var}) > {int(hi)}")
            lines.append(f"{indent}if {' or '.join(bad)}: {self.fail}")
            item = self.name("i", bind=False)
            if shape.member.type_name == "structure":   # the whole list at once, else each item
                lines.append(f"{indent}if not {self.name('_columns', column_check(shape.member, stack))}({var}):")
                indent += " "
            lines.append(f"{indent}for {item} in {var}:")
            self.emit(shape.member, item, lines, indent + " ", stack)   # None fails the item's type test
        elif type_name == "structure":
            bad = [f"type({var}) is not dict"]
            if nested:
                bad.append(f"not {self.name('_known', frozenset(shape.members))}.issuperset({var})")
            lines.append(f"{indent}if {' or '.join(bad)}: {self.fail}")
            required = set(shape.required_members)
            for member_name, member in shape.members.items():
                item = self.name("m", bind=False)
                lines.append(f"{indent}{item} = {var}.get({member_name!r})")
                if member_name in required:   # None fails the member's type test
                    self.emit(member, item, lines, indent, stack)
                else:
                    lines.append(f"{indent}if {item} is not None:")
                    self.emit(member, item, lines, indent + " ", stack)
        else:
            raise Unsupported(f"{shape.name} ({type_name})")


def bad_request(errors: List[str]) -> BadRequest:
    """The ``BadRequestException`` for one or more violations (docs/behaviour.md#d4)."""
    n = len(errors)
    noun = "error" if n == 1 else "errors"
    return BadRequest(f"{n} validation {noun} detected: " + "; ".join(errors))


def raise_for(errors: List[str]) -> None:
    if errors:
        raise bad_request(errors)
