"""Fault injection: latency, error responses, dropped connections, hangs, down periods and forbidden users.

Faults are rules matched per request by verb and resource (`None` matches all). Error rules fire for a share of the
matching requests (from a seeded random generator, so runs repeat) or for the next N of them.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterable
from typing import Any

ERROR_REASONS = {
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def _names(value: str | Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


@dataclasses.dataclass
class Rule:
    """One fault: what it does and which requests it applies to."""

    action: str  # "error" | "close" | "hang" | "latency"
    verbs: frozenset[str] | None = None
    resources: frozenset[str] | None = None
    share: float = 1.0
    remaining: int | None = None  # next N matching requests; None = unlimited
    status: int = 500
    retry_after: int | None = None
    seconds: float = 0.0
    jitter: float = 0.0
    hits: int = 0

    def matches(self, verb: str, resource: str) -> bool:
        return (self.verbs is None or verb in self.verbs) and (self.resources is None or resource in self.resources)


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to do with one request."""

    latency: float = 0.0
    error: Rule | None = None
    close: bool = False
    hang: bool = False


class Faults:
    """The fault controls of one server (`api.faults`)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._random = random.Random(seed)
        self.latency = 0.0
        self.jitter = 0.0
        self.release_hangs = threading.Event()
        # user -> list of (verbs, resources) the user may NOT do
        self._forbidden: dict[str, list[tuple[frozenset[str] | None, frozenset[str] | None]]] = {}

    # --- configuration -------------------------------------------------------------------------------------------

    def set_latency(self, seconds: float, jitter: float = 0.0) -> None:
        """Delay every request by `seconds` plus a uniform random share of `jitter`."""
        self.latency, self.jitter = seconds, jitter

    def add_error(
        self,
        status: int = 500,
        *,
        share: float = 1.0,
        count: int | None = None,
        verbs: str | Iterable[str] | None = None,
        resources: str | Iterable[str] | None = None,
        retry_after: int | None = None,
    ) -> Rule:
        """Answer `status` for a share of the matching requests, or for the next `count` of them."""
        if status not in ERROR_REASONS:
            raise ValueError(f"unsupported fault status {status}; one of {sorted(ERROR_REASONS)}")
        if status == 429 and retry_after is None:
            retry_after = 1
        rule = Rule("error", _names(verbs), _names(resources), share, count, status, retry_after)
        return self._add(rule)

    def delay(
        self,
        seconds: float,
        *,
        count: int | None = None,
        verbs: str | Iterable[str] | None = None,
        resources: str | Iterable[str] | None = None,
    ) -> Rule:
        """Delay the matching requests by `seconds` (on top of `set_latency`), all of them or the next `count`."""
        return self._add(Rule("latency", _names(verbs), _names(resources), 1.0, count, seconds=seconds))

    def close_connections(
        self,
        *,
        share: float = 1.0,
        count: int | None = None,
        verbs: str | Iterable[str] | None = None,
        resources: str | Iterable[str] | None = None,
    ) -> Rule:
        """Process the request, then close the connection half-way through the response."""
        return self._add(Rule("close", _names(verbs), _names(resources), share, count))

    def hang(
        self,
        *,
        count: int | None = None,
        verbs: str | Iterable[str] | None = None,
        resources: str | Iterable[str] | None = None,
    ) -> Rule:
        """Never answer the matching requests, until the client gives up or `release()` is called."""
        self.release_hangs.clear()
        return self._add(Rule("hang", _names(verbs), _names(resources), 1.0, count))

    def release(self) -> None:
        """Let hanging requests go (they are answered normally) and drop hang rules."""
        with self._lock:
            self._rules = [r for r in self._rules if r.action != "hang"]
        self.release_hangs.set()

    def forbid(
        self, user: str, verbs: str | Iterable[str] | None = None, resources: str | Iterable[str] | None = None
    ) -> None:
        """The user may not do these verbs on these resources (403 Forbidden)."""
        with self._lock:
            self._forbidden.setdefault(user, []).append((_names(verbs), _names(resources)))

    def clear(self) -> None:
        """Remove every fault (latency, rules, forbidden verbs) and release hanging requests."""
        with self._lock:
            self._rules.clear()
            self._forbidden.clear()
        self.latency = self.jitter = 0.0
        self.release_hangs.set()

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def configure(self, spec: dict[str, Any]) -> None:
        """Admin endpoint form: {"latency": s, "jitter": s, "errors": [{...add_error kwargs}], "close": [...],
        "delay": [...], "hang": [...], "forbid": [{"user":..,"verbs":..,"resources":..}], "clear": true}."""
        if spec.get("clear"):
            self.clear()
        if "latency" in spec:
            self.set_latency(float(spec["latency"]), float(spec.get("jitter", 0.0)))
        for item in spec.get("errors", ()):
            self.add_error(**item)
        for item in spec.get("delay", ()):
            self.delay(**item)
        for item in spec.get("close", ()):
            self.close_connections(**item)
        for item in spec.get("hang", ()):
            self.hang(**item)
        for item in spec.get("forbid", ()):
            self.forbid(**item)

    # --- evaluation ----------------------------------------------------------------------------------------------

    def is_forbidden(self, user: str, verb: str, resource: str) -> bool:
        with self._lock:
            for verbs, resources in self._forbidden.get(user, ()):
                if (verbs is None or verb in verbs) and (resources is None or resource in resources):
                    return True
        return False

    def decide(self, verb: str, resource: str) -> Decision:
        with self._lock:
            latency = self.latency + (self._random.uniform(0, self.jitter) if self.jitter else 0.0)
            error: Rule | None = None
            close = hang = False
            for rule in list(self._rules):
                if not rule.matches(verb, resource):
                    continue
                if rule.share < 1.0 and self._random.random() >= rule.share:
                    continue
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    rule.remaining -= 1
                rule.hits += 1
                if rule.action == "latency":
                    latency += rule.seconds
                elif rule.action == "error" and error is None:
                    error = rule
                elif rule.action == "close":
                    close = True
                elif rule.action == "hang":
                    hang = True
            self._rules = [r for r in self._rules if r.remaining is None or r.remaining > 0]
        return Decision(latency, error, close, hang)
