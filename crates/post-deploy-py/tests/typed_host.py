"""A host's use of every method and key, checked by ``mypy --strict`` against the stubs (not
run by pytest): what a typed orchestrator can write without a cast or an ignore."""

from __future__ import annotations

from pathlib import Path

import post_deploy
from post_deploy import Monitor


def host_loop(state: Path) -> list[str]:
    monitor = Monitor({"ORCH_POST_DEPLOY_REPOS": "api"}, state_dir=state)
    seen: list[str] = [post_deploy.__version__]
    armed = monitor.arm("api", "PR-1", "http://127.0.0.1:9/health", container="web")
    if armed["armed"] and not armed["already_armed"] and armed["applies"]:
        seen.append(armed["deadline"] or "")
        seen.append(armed["previous_image"] or "")
        seen.append(armed["previous_image_source"] or "")
    if "error" in armed:
        seen.append(armed["error"]["kind"] + armed["error"]["message"])
    tick = monitor.tick("api", "PR-1")
    delay: float | None = tick["requeue_after_s"]
    if not tick["finished"] and delay is not None:
        seen.append(f"{tick['verdict']} {tick['action']} {delay:.1f} {tick['reason']}")
    seen.append(str(tick["window_requests"] + tick["window_errors_5xx"] + tick["ticks"]))
    seen.append(str(tick["recent_requests"] + tick["recent_errors_5xx"]))
    rule: str | None = tick["rule"]
    seen.append(rule or "-")
    slow = tick.get("recent_slow_requests")
    seen.append(str(tick.get("recent_timed_requests", 0)) + str(slow))
    if tick.get("blind") or tick.get("recovered"):
        seen.append("ended")
    out = monitor.extend("api", "PR-1", 600)
    if out["done"]:
        seen.append(out["deadline"] or "")
    for op in (monitor.rollback, monitor.promote):
        result = op("api", "PR-1")
        seen.append(f"{result['done']} {result['finished']} {result['reason']}")
    for row in monitor.status(repo="api"):
        seen.append(f"{row.get('phase')} {row.get('verdict')} {row.get('armed_at')}")
        seen.append(row.get("rule") or "-")
    for image in monitor.known_good("api", container="web"):
        seen.append(f"{image.get('image')} {image.get('image_id')} {image.get('work_item')}")
    disarmed = monitor.disarm("api", "PR-1")
    seen.append(str(disarmed["disarmed"]))
    return seen
