"""Hosts, regions and partitions, read from botocore's own endpoint data.

Nothing here is hand-written: the partitions (their DNS suffixes, region
lists and region patterns) come from botocore's ``partitions.json`` (or, in
a botocore without it, the partitions of ``endpoints.json``), and the host
names Chime SDK Meetings answers on come from the service's endpoint rule
set: every ``https://<prefix>.{Region}.{PartitionResult#<suffix>}`` template
it can produce (plain, FIPS, dual-stack, FIPS + dual-stack).  So every
partition botocore ships is recognised, and a new one arrives with botocore.

Lookups are cached: a host costs one dict hit after its first request.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Any, Dict, List, Optional, Pattern, Tuple

from chime_mock.ground.model import SERVICE_NAME, service_model

_DEFAULT_PARTITION = "aws"   # botocore's answer for a region no partition claims
_TEMPLATE = re.compile(r"^https://([a-z0-9.-]*)\{Region\}\.\{PartitionResult#(\w+)\}$")

_lock = threading.Lock()
_data: Optional["_EndpointData"] = None


class Partition:
    __slots__ = ("id", "regions", "region_regex", "suffixes")

    def __init__(self, pid: str, regions: List[str], region_regex: str, suffixes: Dict[str, str],
                 implicit_region: Optional[str] = None) -> None:
        self.id = pid
        # Older botocore lists no regions for its newest partitions; their
        # implicit global region is then the one region we know by name.
        self.regions = frozenset(regions or ([implicit_region] if implicit_region else []))
        self.region_regex = re.compile(region_regex)
        self.suffixes = suffixes           # outputs name -> DNS suffix

    def claims(self, region: str) -> bool:
        return region in self.regions or self.region_regex.match(region) is not None


class _EndpointData:
    def __init__(self) -> None:
        from botocore.loaders import create_loader

        loader = create_loader()
        self.partitions = _load_partitions(loader)
        self.host_regex = _host_regex(loader, self.partitions)


def _load_partitions(loader: Any) -> List[Partition]:
    try:
        raw = loader.load_data("partitions")["partitions"]
    except Exception:  # pragma: no cover - botocore without partitions.json
        raw = None
    partitions: List[Partition] = []
    if raw:
        for entry in raw:
            outputs = entry["outputs"]
            suffixes = {k: v for k, v in outputs.items() if k.lower().endswith("dnssuffix")}
            partitions.append(Partition(entry["id"], list(entry.get("regions", {})),
                                        entry["regionRegex"], suffixes, outputs.get("implicitGlobalRegion")))
        return partitions
    for entry in loader.load_data("endpoints")["partitions"]:  # pragma: no cover
        suffixes = {"dnsSuffix": entry["dnsSuffix"]}
        for variant in entry.get("defaults", {}).get("variants", []):
            if "dualstack" in variant.get("tags", ()) and "fips" not in variant.get("tags", ()):
                suffixes["dualStackDnsSuffix"] = variant["dnsSuffix"]
        partitions.append(Partition(entry["partition"], list(entry.get("regions", {})),
                                    entry["regionRegex"], suffixes))
    return partitions


def _rule_urls(node: Any, found: List[str]) -> None:
    if isinstance(node, dict):
        endpoint = node.get("endpoint")
        if isinstance(endpoint, dict) and isinstance(endpoint.get("url"), str):
            found.append(endpoint["url"])
        for value in node.values():
            _rule_urls(value, found)
    elif isinstance(node, list):
        for value in node:
            _rule_urls(value, found)


def _host_regex(loader: Any, partitions: List[Partition]) -> Pattern[str]:
    """One regex for every host the rule set can produce, region captured."""
    model = service_model()
    rules = loader.load_service_model(SERVICE_NAME, "endpoint-rule-set-1", model.api_version)
    urls: List[str] = []
    _rule_urls(rules, urls)
    alternatives = set()
    for url in urls:
        match = _TEMPLATE.match(url)
        if match is None:
            continue   # the custom-endpoint rule ({Endpoint}), answered by region
        prefix, output = match.groups()
        for part in partitions:
            suffix = part.suffixes.get(output)
            if suffix:
                alternatives.add(re.escape(prefix) + r"([a-z0-9-]+)\." + re.escape(suffix))
    if not alternatives:  # pragma: no cover - a rule set this module cannot read
        raise RuntimeError("chime_mock: no Chime SDK Meetings host templates in botocore's endpoint rule set")
    # One group per alternative; the region is whichever group matched.
    return re.compile("|".join(f"(?:{a})" for a in sorted(alternatives, key=len, reverse=True)))


def _get() -> _EndpointData:
    global _data
    if _data is None:
        with _lock:
            if _data is None:
                _data = _EndpointData()
    return _data


@functools.lru_cache(maxsize=512)
def region_from_host(host: str) -> Optional[str]:
    """The control region a Chime host serves (any partition, FIPS, dual-stack,
    a trailing dot), or None when the host is not a Chime SDK Meetings host."""
    host = host.lower().rstrip(".")
    match = _get().host_regex.fullmatch(host)
    if match is None:
        return None
    return match.group(match.lastindex or 0)


#: authority, path and query (no fragment) of what follows a URL's "://".
_URL_PARTS = re.compile(r"([^/?#]*)([^?#]*)(?:\?([^#]*))?")


@functools.lru_cache(maxsize=1024)
def split_url(url: str) -> Tuple[str, str, str]:
    """``(host, path, raw query)`` of an absolute URL: the host without
    user-info, port or brackets, in lower case; the path ("/" when empty);
    the query still percent-encoded; no fragment.  The one URL splitter of
    the package (cheaper than ``urlsplit``; the answers of recent URLs are
    kept: every call of every door asks)."""
    start = url.find("://")
    match = _URL_PARTS.match(url, start + 3 if start >= 0 else 0)
    assert match is not None   # every part may be empty: it always matches
    authority, path, raw_query = match.groups()
    if "@" in authority:
        authority = authority.rpartition("@")[2]
    if authority.startswith("["):
        host = authority[1:authority.find("]")]
    else:
        host = authority.partition(":")[0]
    return host.lower(), path or "/", raw_query or ""


def host_of(url: str) -> str:
    """The host of an absolute URL (``split_url``'s first part)."""
    return split_url(url)[0]


@functools.lru_cache(maxsize=512)
def _scheme_ok(scheme: str) -> bool:
    return scheme.lower() in ("http", "https")


def is_chime_url(url: str) -> bool:
    """Does this absolute http(s) URL address a Chime SDK Meetings endpoint?"""
    scheme, sep, _ = url.partition("://")
    if not sep or not _scheme_ok(scheme):
        return False
    return region_from_host(host_of(url)) is not None


@functools.lru_cache(maxsize=512)
def partition_of(region: str) -> str:
    """The partition botocore places ``region`` in (its region list first,
    then its region pattern; ``aws`` when none claims it)."""
    partitions = _get().partitions
    for part in partitions:
        if region in part.regions:
            return part.id
    for part in partitions:
        if part.region_regex.match(region):
            return part.id
    return _DEFAULT_PARTITION


def partitions() -> Dict[str, Tuple[str, ...]]:
    """Every partition botocore ships -> its named regions (pseudo-regions such
    as ``aws-global`` left out)."""
    return {part.id: tuple(sorted(r for r in part.regions if part.region_regex.match(r)))
            for part in _get().partitions}


def dns_suffixes(partition: str) -> Dict[str, str]:
    """A partition's DNS suffixes by kind (``dnsSuffix``, ``dualStackDnsSuffix``)."""
    for part in _get().partitions:
        if part.id == partition:
            return dict(part.suffixes)
    raise KeyError(partition)
