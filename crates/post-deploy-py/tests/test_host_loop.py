"""The module inside a job loop shaped like the host orchestrator's: a delayed queue, a deploy
stage that arms the window on its `deploy -> done` transition, and a reserved job that ticks
and requeues itself with `requeue_after_s`."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from post_deploy import Monitor

MONITOR_JOB = "post-deploy-monitor"


@dataclass(order=True)
class Job:
    available_at: float
    seq: int
    name: str = field(compare=False)
    payload: dict = field(compare=False, default_factory=dict)


class Queue:
    """The host's delayed job queue."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.seq = itertools.count()

    def enqueue_job(self, name: str, payload: dict, available_at_delay_s: float = 0.0) -> None:
        heapq.heappush(
            self.jobs, Job(time.monotonic() + available_at_delay_s, next(self.seq), name, payload)
        )

    def next_job(self) -> Job | None:
        if not self.jobs:
            return None
        job = heapq.heappop(self.jobs)
        time.sleep(max(0.0, job.available_at - time.monotonic()))
        return job


class Host:
    """The orchestrator's loop, cut down to what touches post-deploy."""

    def __init__(self, monitor: Monitor, queue: Queue, hooks: dict) -> None:
        self.monitor, self.queue, self.hooks = monitor, queue, hooks
        self.transitions: list[tuple[str, str, str]] = []
        self.spawned: list[str] = []
        self.ticks: list[dict] = []
        self.armed: list[dict] = []

    def run(self, deadline_s: float) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end and (job := self.queue.next_job()) is not None:
            if job.name == MONITOR_JOB:
                # Intercepted before anything is spawned: one tick, then requeue itself.
                self.monitor_tick(job)
                continue
            self.spawned.append(job.name)
            self.hooks[job.name](self, job)

    def transition(self, job: Job, old: str, new: str) -> None:
        self.transitions.append((job.payload["work_item"], old, new))
        if (old, new) == ("deploy", "done"):
            self.after_deploy_done(job)

    def after_deploy_done(self, job: Job) -> None:
        p = job.payload
        out = self.monitor.arm(p["repo"], p["work_item"], p["health_url"])
        self.armed.append(out)
        if out["armed"]:
            self.queue.enqueue_job(MONITOR_JOB, {"repo": p["repo"], "work_item": p["work_item"]})

    def monitor_tick(self, job: Job) -> None:
        out = self.monitor.tick(job.payload["repo"], job.payload["work_item"])
        self.ticks.append(out)
        if not out["finished"]:
            self.queue.enqueue_job(MONITOR_JOB, job.payload,
                                   available_at_delay_s=out["requeue_after_s"])


def test_a_window_rolls_back_a_bad_target_and_recovers(tmp_path: Path, state, target, heal_cmd):
    monitor = Monitor(
        {
            "ORCH_POST_DEPLOY_REPOS": "api",
            "ORCH_POST_DEPLOY_WINDOW_S": "6",
            "ORCH_POST_DEPLOY_INTERVAL_S": "1",
            "ORCH_POST_DEPLOY_FAIL_THRESHOLD": "2",
            "ORCH_POST_DEPLOY_HEALTH_TIMEOUT_S": "1",
            "ORCH_POST_DEPLOY_ROLLBACK_CMD": heal_cmd,
        },
        state_dir=state,
    )
    deploy = {"repo": "api", "work_item": "PR-7", "health_url": target.url}

    def deploy_job(host: Host, job: Job) -> None:
        host.transition(job, "build", "deploy")
        host.transition(job, "deploy", "done")
        # Later, something breaks production: the green deploy goes red.
        host.queue.enqueue_job("break-prod", {}, available_at_delay_s=1.2)

    hooks = {"deploy": deploy_job, "break-prod": lambda host, job: target.set("bad")}
    queue = Queue()
    queue.enqueue_job("deploy", deploy)
    host = Host(monitor, queue, hooks)
    host.run(deadline_s=30)

    assert host.transitions == [("PR-7", "build", "deploy"), ("PR-7", "deploy", "done")]
    assert host.armed[0]["armed"] and "error" not in host.armed[0]
    assert MONITOR_JOB not in host.spawned and host.spawned == ["deploy", "break-prod"]
    assert queue.jobs == [], "a finished window is not requeued"

    # Healthy ticks, the one that rolls back, verification ticks, then the window's result.
    *steps, final = host.ticks
    actions = [(t["verdict"], t["action"]) for t in steps]
    assert actions.count(("DEGRADED", "ROLLBACK")) == 1, actions
    rolled = actions.index(("DEGRADED", "ROLLBACK"))
    assert rolled >= 2 and set(actions) - {("DEGRADED", "ROLLBACK")} == {("HEALTHY", "NONE")}
    assert final["finished"] and final["verdict"] == "DEGRADED"
    assert final["action"] == "ROLLBACK" and final["recovered"] is True
    assert all(t["requeue_after_s"] is not None for t in host.ticks[:-1])
    assert target.mode() == "healthy"

    # The rollback command ran once, with the target in its environment.
    [given] = [json.loads(line) for line in (tmp_path / "rollbacks.jsonl").read_text().splitlines()]
    assert given["POST_DEPLOY_REPO"] == "api" and given["POST_DEPLOY_WORK_ITEM"] == "PR-7"

    log = (state / ".post-deploy-state-api" / "PR-7" / "16-post-deploy-log.md").read_text()
    assert "ROLLBACK" in log
    [row] = monitor.status()
    assert row["phase"] == "finished" and row["action"] == "ROLLBACK"


@pytest.mark.parametrize(
    "case",
    [
        "bad health URL",
        "state folder is a file",
        "docker missing",
        "bad variable",
        "hostile work item",
        "kill switch",
        "webhook unreachable",
    ],
)
def test_the_deploy_always_reaches_done_whatever_arm_meets(tmp_path, target, case):
    """Whatever `arm` meets inside the host's `deploy -> done` transition, the transition
    completes: arm answers, it never raises."""
    variables = {"ORCH_POST_DEPLOY_REPOS": "api"}
    state = tmp_path / "state"
    payload = {"repo": "api", "work_item": "PR-9", "health_url": target.url}
    if case == "bad health URL":
        payload["health_url"] = "gopher://127.0.0.1/"
    elif case == "state folder is a file":
        state.write_text("in the way")
    elif case == "docker missing":
        variables["ORCH_POST_DEPLOY_DOCKER"] = str(tmp_path / "no-such-docker")
    elif case == "bad variable":
        variables["ORCH_POST_DEPLOY_MIN_REQUESTS"] = "many"
    elif case == "hostile work item":
        payload["work_item"] = "../../root"
    elif case == "kill switch":
        variables["ORCH_POST_DEPLOY_ENABLED"] = "0"
    elif case == "webhook unreachable":
        variables["ORCH_POST_DEPLOY_WEBHOOK_URL"] = "http://127.0.0.1:9/hook"

    monitor = Monitor(variables, state_dir=state)
    host = Host(monitor, Queue(), {})

    def arm_with_container(job: Job) -> None:
        p = job.payload
        host.armed.append(monitor.arm(p["repo"], p["work_item"], p["health_url"], container="api"))

    host.after_deploy_done = arm_with_container  # the deploy stage names its container
    host.transition(Job(0, 0, "deploy", payload), "deploy", "done")

    assert host.transitions == [(payload["work_item"], "deploy", "done")]
    [out] = host.armed
    assert isinstance(out["armed"], bool) and isinstance(out["reason"], str)
    if case in ("docker missing", "webhook unreachable"):
        # The monitor's own faults: armed all the same, without fencing.
        assert out["armed"] and "image not recorded" in out["reason"]
    elif case == "kill switch":
        assert not out["armed"] and not out["applies"] and "error" not in out
    else:
        assert not out["armed"] and out["error"]["kind"] in ("argument", "state", "config",
                                                             "identifier")


def test_two_host_threads_ticking_one_window_probe_once(state, target):
    """Two workers of the host pick the same monitor job: one probes, the other is a
    duplicate or finds the window busy; neither raises."""
    monitor = Monitor({"ORCH_POST_DEPLOY_REPOS": "api", "ORCH_POST_DEPLOY_INTERVAL_S": "5"},
                      state_dir=state)
    monitor.arm("api", "PR-1", target.url)
    target.set("slow 0.3")
    answers: list[dict] = []
    workers = [threading.Thread(target=lambda: answers.append(monitor.tick("api", "PR-1")))
               for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(a["probed"] for a in answers) == [False, True]
    assert target.probes == 1
    assert all(not a["finished"] and a["requeue_after_s"] > 0 for a in answers)
