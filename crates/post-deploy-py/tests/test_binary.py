"""The module and the `post-deploy` binary share configuration, state folder and files: a
window armed by one is ticked by the other, and both answer with the same keys and values."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import post_deploy
from post_deploy import Monitor

VARS = {
    "ORCH_POST_DEPLOY_REPOS": "api",
    "ORCH_POST_DEPLOY_WINDOW_S": "20",
    "ORCH_POST_DEPLOY_INTERVAL_S": "1",
    "ORCH_POST_DEPLOY_FAIL_THRESHOLD": "2",
}


def run(binary: Path, state: Path, *args: str) -> dict | list:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_POST_DEPLOY_")}
    out = subprocess.run(
        [str(binary), "--state-dir", str(state), *args],
        env={**env, **VARS},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def pair(work_item: str) -> list[str]:
    return ["--repo", "api", "--work-item", work_item]


def test_the_version_is_the_binarys(binary):
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"post-deploy {post_deploy.__version__}"


def test_armed_by_the_binary_ticked_by_the_module(binary, state, target):
    m = Monitor(VARS, state_dir=state)
    armed = run(binary, state, "arm", *pair("PR-1"), "--health-url", target.url)
    assert armed["armed"]
    again = m.arm("api", "PR-1", target.url)
    assert again["already_armed"] and again["deadline"] == armed["deadline"]

    first = m.tick("api", "PR-1")
    assert first["probed"] and first["ticks"] == 1 and first["deadline"] == armed["deadline"]
    time.sleep(first["requeue_after_s"])
    target.set("bad")
    second = run(binary, state, "tick", *pair("PR-1"))
    assert second["ticks"] == 2 and second["consecutive_failures"] == 1
    time.sleep(second["requeue_after_s"])
    third = m.tick("api", "PR-1")
    # The failures counted by the binary and the module add up: one window, one state.
    assert third["ticks"] == 3 and third["consecutive_failures"] == 2
    assert third["verdict"] == "DEGRADED"


def test_armed_by_the_module_ticked_and_disarmed_by_the_binary(binary, state, target):
    m = Monitor(VARS, state_dir=state)
    armed = m.arm("api", "PR-2", target.url)
    tick = run(binary, state, "tick", *pair("PR-2"))
    assert tick["probed"] and tick["ticks"] == 1 and tick["deadline"] == armed["deadline"]
    assert isinstance(tick["requeue_after_s"], int)  # the binary rounds up to whole seconds
    out = run(binary, state, "disarm", *pair("PR-2"))
    assert out["disarmed"]
    assert "disarmed" in m.tick("api", "PR-2")["reason"]


def test_same_keys_and_values_as_the_binary(binary, state, target):
    m = Monitor(VARS, state_dir=state)
    by_binary = run(binary, state, "arm", *pair("B"), "--health-url", target.url)
    by_module = m.arm("api", "M", target.url)
    assert set(by_binary) == set(by_module)
    assert by_module["reason"] == by_binary["reason"]

    t_binary = run(binary, state, "tick", *pair("B"))
    t_module = m.tick("api", "M")
    assert set(t_binary) == set(t_module)
    for key in ("verdict", "action", "finished", "probed", "ticks", "reason",
                "consecutive_failures", "window_requests", "window_errors_5xx"):
        assert t_binary[key] == t_module[key], key
    # Whole seconds rounded up from the binary, the float itself from the module.
    assert abs(t_binary["requeue_after_s"] - t_module["requeue_after_s"]) < 1

    d_binary = run(binary, state, "disarm", *pair("B"))
    d_module = m.disarm("api", "M")
    assert set(d_binary) == set(d_module)

    # A finished window's result, and every window's status: identical, value for value.
    for item in ("B", "M"):
        assert run(binary, state, "tick", *pair(item)) == m.tick("api", item)
        assert run(binary, state, "disarm", *pair(item)) == m.disarm("api", item)
    assert run(binary, state, "status", "--json") == m.status()
    assert run(binary, state, "status", "--json", "--work-item", "M") == m.status(work_item="M")
    assert run(binary, state, "tick", *pair("none")) == m.tick("api", "none")
