"""A tick releases the GIL while it probes: the host's other threads keep running."""

from __future__ import annotations

import threading
import time

from post_deploy import Monitor


def test_other_threads_run_while_a_tick_waits_on_a_slow_target(state, target):
    monitor = Monitor(
        {"ORCH_POST_DEPLOY_REPOS": "api", "ORCH_POST_DEPLOY_HEALTH_TIMEOUT_S": "5"},
        state_dir=state,
    )
    assert monitor.arm("api", "PR-1", target.url)["armed"]
    target.set("slow 1.0")

    count = 0
    stop = threading.Event()

    def counter() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1

    thread = threading.Thread(target=counter, daemon=True)
    thread.start()
    try:
        time.sleep(0.05)
        before = count
        started = time.monotonic()
        out = monitor.tick("api", "PR-1")
        took = time.monotonic() - started
        during = count - before
    finally:
        stop.set()
        thread.join()

    # The probe passed: the target's own Python thread answered while the tick waited.
    assert out["probed"] and out["consecutive_failures"] == 0, out
    assert took >= 0.9
    # Held for the whole second, the GIL would have let the counter advance a handful of
    # times at most (one switch interval); released, it runs freely.
    assert during > 10_000, during
