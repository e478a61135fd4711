"""Type stubs of the extension module; ``post_deploy`` re-exports it."""

import os
from collections.abc import Mapping
from typing import Literal

from typing_extensions import NotRequired, TypedDict, final

__all__ = ["Monitor", "__version__", "binomial_tail"]

__version__: str
"""The version ``post-deploy --version`` prints for the same checkout."""

def binomial_tail(n: int, k: int, t: float) -> float:
    """``P[Binomial(n, t) >= k]``, as ``CONFIDENCE`` judges a ratio rule by (to within 1e-9
    for any ``n`` up to 10^9)."""

Verdict = Literal["HEALTHY", "DEGRADED"]
Action = Literal["NONE", "ROLLBACK", "ALERT_ONLY"]
Rule = Literal["health", "5xx", "5xx_recent", "latency", "latency_recent"]
ErrorKind = Literal["identifier", "config", "argument", "unsupported", "state", "busy", "internal"]

class Error(TypedDict):
    """Why a call could not run; nothing was written."""

    kind: ErrorKind
    """``identifier`` (repo, work item), ``config`` (a variable), ``argument`` (health URL,
    container, previous image, artefacts folder), ``unsupported``, ``state`` (the state
    folder cannot be used), ``busy`` (the window stayed locked), ``internal``."""
    message: str
    """What the binary would print, naming the value."""

class ArmResult(TypedDict):
    """``post-deploy arm``'s JSON."""

    armed: bool
    already_armed: bool
    applies: bool
    reason: str
    deadline: str | None
    """RFC 3339, or None when not armed."""
    previous_image: str | None
    """The image a rollback goes to, as recorded (for example ``app:1.4``)."""
    previous_image_source: Literal["flag", "known_good"] | None
    """Where it came from: ``previous_image=``, or the newest known-good image."""
    repo: str
    work_item: str
    error: NotRequired[Error]
    """Present only when the call could not run (then ``armed`` is False)."""

class TickResult(TypedDict):
    """``post-deploy tick``'s JSON, ``requeue_after_s`` in seconds as a float."""

    repo: str
    work_item: str
    verdict: Verdict
    action: Action
    finished: bool
    requeue_after_s: float | None
    """Run the next tick this much later; None when finished."""
    reason: str
    recovered: NotRequired[bool]
    """After a degradation, once finished: whether health came back."""
    blind: NotRequired[bool]
    """Once finished: whether the window was blind (a signal it was armed to read missing in
    more than half of its probing ticks)."""
    probed: bool
    ticks: int
    consecutive_failures: int
    window_requests: int
    window_errors_5xx: int
    recent_requests: int
    """Requests in the recent span (the window's when the recent rules are off)."""
    recent_errors_5xx: int
    rule: Rule | None
    """The rule that fired at this tick (a finished window: at its first DEGRADED tick)."""
    window_timed_requests: NotRequired[int]
    """With the latency rule on: requests with a known duration in the window."""
    window_slow_requests: NotRequired[int | None]
    """With the latency rule on: of those, slower than ``LATENCY_MS`` (None from Prometheus)."""
    window_latency_ms: NotRequired[float | None]
    """With a Prometheus latency histogram: the window's quantile, milliseconds."""
    recent_timed_requests: NotRequired[int]
    recent_slow_requests: NotRequired[int | None]
    deadline: str | None
    error: NotRequired[Error]
    """Present only when the call could not run (then ``finished`` is True)."""

class DisarmResult(TickResult):
    """``post-deploy disarm``'s JSON: the window's result, and whether the pair had a window
    that is now finished."""

    disarmed: bool

class WindowStatus(TypedDict, total=False):
    """One row of ``post-deploy status --json``; on a fault, the only row, holding ``error``
    and ``reason``."""

    repo: str
    work_item: str
    phase: Literal["watching", "finished"]
    verdict: Verdict
    action: Action
    ticks: int
    armed_at: str | None
    deadline: str | None
    reason: str
    rule: Rule | None
    """The rule of the window's first DEGRADED tick."""
    window_requests: int
    """Requests counted in the window so far, as the tick prints it."""
    window_errors_5xx: int
    """5xx answers among them."""
    recent_requests: int
    """Requests in the recent span at the latest tick (the window's when it is off)."""
    recent_errors_5xx: int
    """5xx answers among them."""
    window_timed_requests: int
    """With the latency rule on: requests with a known duration in the window."""
    window_slow_requests: int | None
    """With the latency rule on: of those, slower than ``LATENCY_MS`` (None from Prometheus)."""
    recent_timed_requests: int
    """With the latency rule on: timed requests in the recent span."""
    recent_slow_requests: int | None
    """With the latency rule on: of those, slower than ``LATENCY_MS``."""
    strip: str
    """The latest ticks at a glance, oldest first, one character each: ``x`` a failed health
    probe, ``?`` a missing one, ``.`` a missing 5xx signal, else a bar as high as the 5xx
    ratio against its threshold (full at or above it)."""
    error: Error

class OperatorResult(TypedDict):
    """The JSON of ``post-deploy extend``, ``rollback`` and ``promote``."""

    repo: str
    work_item: str
    done: bool
    """Carried out; False: refused (a finished window, a guard) or a rollback that failed."""
    reason: str
    finished: bool
    deadline: str | None
    """The window's deadline after the command (RFC 3339); None without a window."""
    error: NotRequired[Error]
    """Present only when the call could not run (then ``done`` is False)."""

class KnownGood(TypedDict, total=False):
    """One row of ``post-deploy known-good --json``, newest first; on a fault, the only row,
    holding ``error`` and ``reason``."""

    target: str
    """The container or service the window watched."""
    image: str
    image_id: str
    work_item: str
    """The work item whose window proved it."""
    at: str
    """When that window finished (RFC 3339)."""
    reason: str
    error: Error

@final
class Monitor:
    """Arms, ticks, disarms and lists observation windows, as the ``post-deploy`` binary does.

    ``env``: the ``ORCH_POST_DEPLOY_*`` variables (default: ``os.environ``), read afresh at
    every call, so the switches are the ones in force at each tick; a window's thresholds,
    length and interval are recorded when it is armed. ``state_dir`` overrides
    ``ORCH_POST_DEPLOY_STATE_DIR``, like the binary's ``--state-dir``.
    """

    def __new__(
        cls,
        env: Mapping[str, str] | None = None,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> Monitor: ...
    def arm(
        self,
        repo: str,
        work_item: str,
        health_url: str,
        container: str | None = None,
        service: str | None = None,
        previous_image: str | None = None,
        artefacts_dir: str | os.PathLike[str] | None = None,
    ) -> ArmResult:
        """Starts a window; idempotent. Never raises but ``TypeError``."""
    def tick(self, repo: str, work_item: str) -> TickResult:
        """One step of the window; releases the GIL while it probes and acts."""
    def disarm(self, repo: str, work_item: str) -> DisarmResult:
        """Ends a window early; later ticks report it finished, disarmed."""
    def status(self, repo: str | None = None, work_item: str | None = None) -> list[WindowStatus]:
        """Every window under the state folder, optionally one repo's or work item's."""
    def extend(self, repo: str, work_item: str, by_s: int) -> OperatorResult:
        """Moves a watching window's deadline ``by_s`` seconds later (1 to 2592000; at most
        30 days from arm in all)."""
    def rollback(self, repo: str, work_item: str) -> OperatorResult:
        """An operator's rollback now: the same guards and at-most-once path as an automatic
        one; the window then verifies recovery."""
    def promote(self, repo: str, work_item: str) -> OperatorResult:
        """Ends a watching window now as good (known good when it never degraded)."""
    def known_good(
        self, repo: str, container: str | None = None, service: str | None = None
    ) -> list[KnownGood]:
        """The repo's known-good images, newest first, optionally one container's or
        service's."""
