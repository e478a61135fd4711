"""Every method and key of `post_deploy.Monitor`, and how it answers what it must refuse."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

import post_deploy
from post_deploy import Monitor

TICK_KEYS = {
    "repo", "work_item", "verdict", "action", "finished", "requeue_after_s", "reason",
    "probed", "ticks", "consecutive_failures", "window_requests", "window_errors_5xx",
    "recent_requests", "recent_errors_5xx", "rule", "deadline",
}
ARM_KEYS = {
    "armed", "already_armed", "applies", "reason", "deadline", "previous_image",
    "previous_image_source", "repo", "work_item",
}
STATUS_KEYS = {
    "repo", "work_item", "phase", "verdict", "action", "ticks", "armed_at", "deadline", "reason",
    "rule", "window_requests", "window_errors_5xx", "recent_requests", "recent_errors_5xx",
    "strip",
}


def env(**extra: str) -> dict[str, str]:
    """A host's variables: the repo `api` is covered, a window of 10 s ticked every second."""
    return {
        "ORCH_POST_DEPLOY_REPOS": "api",
        "ORCH_POST_DEPLOY_WINDOW_S": "10",
        "ORCH_POST_DEPLOY_INTERVAL_S": "1",
        "ORCH_POST_DEPLOY_FAIL_THRESHOLD": "2",
        "ORCH_POST_DEPLOY_HEALTH_TIMEOUT_S": "2",
        **{f"ORCH_POST_DEPLOY_{k}": v for k, v in extra.items()},
    }


def files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def test_version_is_the_workspace_version():
    cargo = (Path(__file__).resolve().parents[3] / "Cargo.toml").read_text()
    assert f'\nversion = "{post_deploy.__version__}"\n' in cargo
    assert post_deploy.Monitor is post_deploy._post_deploy.Monitor


def test_arm_tick_status_disarm(state, target):
    m = Monitor(env(), state_dir=state)
    armed = m.arm("api", "PR-1", target.url)
    assert set(armed) == ARM_KEYS
    assert armed["armed"] and armed["applies"] and not armed["already_armed"]
    assert armed["repo"] == "api" and armed["work_item"] == "PR-1"
    assert armed["deadline"].endswith("Z") and "watching for 10 s" in armed["reason"]
    assert (state / ".post-deploy-state-api" / "PR-1" / "target.json").is_file()

    again = m.arm("api", "PR-1", target.url)
    assert again["armed"] and again["already_armed"] and again["deadline"] == armed["deadline"]

    tick = m.tick("api", "PR-1")
    assert set(tick) == TICK_KEYS
    assert tick["verdict"] == "HEALTHY" and tick["action"] == "NONE"
    assert tick["finished"] is False and tick["probed"] is True and tick["ticks"] == 1
    assert isinstance(tick["requeue_after_s"], float) and 0 < tick["requeue_after_s"] <= 1.0
    assert tick["consecutive_failures"] == 0
    assert tick["window_requests"] == 0 and tick["window_errors_5xx"] == 0
    assert tick["deadline"] == armed["deadline"]

    # A duplicate job, sooner than half an interval: no probe, the time left until the next.
    dup = m.tick("api", "PR-1")
    assert dup["probed"] is False and dup["ticks"] == 1 and not dup["finished"]
    assert dup["requeue_after_s"] <= tick["requeue_after_s"]

    [row] = m.status()
    assert set(row) == STATUS_KEYS
    assert row["repo"] == "api" and row["work_item"] == "PR-1" and row["phase"] == "watching"
    assert row["verdict"] == "HEALTHY" and row["action"] == "NONE" and row["ticks"] == 1
    assert row["deadline"] == armed["deadline"] and row["armed_at"] < row["deadline"]

    m.arm("api", "PR-2", target.url)
    assert [r["work_item"] for r in m.status(work_item="PR-2")] == ["PR-2"]
    assert len(m.status(repo="api")) == 2 and m.status(repo="web") == []

    out = m.disarm("api", "PR-1")
    # A finished window says whether it was blind.
    assert set(out) == TICK_KEYS | {"disarmed", "blind"}
    assert out["blind"] is False
    assert out["disarmed"] is True and out["finished"] is True and out["requeue_after_s"] is None
    after = m.tick("api", "PR-1")
    assert after["finished"] and "disarmed" in after["reason"] and after["probed"] is False
    assert next(r for r in m.status() if r["work_item"] == "PR-1")["phase"] == "finished"


def test_a_pair_without_a_window(state):
    m = Monitor(env(), state_dir=state)
    tick = m.tick("api", "nothing")
    assert tick["finished"] and tick["action"] == "NONE" and tick["requeue_after_s"] is None
    assert "not armed" in tick["reason"] and "error" not in tick
    assert m.disarm("api", "nothing")["disarmed"] is False
    assert m.status() == []
    assert files_under(state) == []


def test_not_applicable_writes_nothing(state, target):
    out = Monitor(env(), state_dir=state).arm("web", "PR-1", target.url)
    assert out["armed"] is False and out["applies"] is False and out["deadline"] is None
    assert "error" not in out
    off = Monitor(env(ENABLED="off"), state_dir=state).arm("api", "PR-1", target.url)
    assert off["armed"] is False and off["applies"] is False
    assert files_under(state) == []


def test_a_degraded_window_finishes_and_replays(state, target):
    m = Monitor(env(ROLLBACK="alert-only"), state_dir=state)
    m.arm("api", "PR-1", target.url)
    target.set("bad")
    out = m.tick("api", "PR-1")
    assert out["verdict"] == "HEALTHY" and out["consecutive_failures"] == 1
    time.sleep(out["requeue_after_s"])
    out = m.tick("api", "PR-1")
    assert out["verdict"] == "DEGRADED" and out["action"] == "ALERT_ONLY"
    assert "health" in out["reason"]
    # Disarmed after a degradation: the final result keeps the verdict, with `recovered`.
    final = m.disarm("api", "PR-1")
    assert final["finished"] and final["verdict"] == "DEGRADED" and "recovered" in final
    assert m.tick("api", "PR-1")["verdict"] == "DEGRADED"


def test_thresholds_are_recorded_at_arm_and_switches_read_at_every_tick(state, target):
    variables = env(FAIL_THRESHOLD="1", ROLLBACK="alert-only")
    m = Monitor(variables, state_dir=state)
    m.arm("api", "PR-1", target.url)
    m.arm("api", "PR-2", target.url)
    # The host's mapping changes after arm: the threshold does not govern the armed windows...
    variables["ORCH_POST_DEPLOY_FAIL_THRESHOLD"] = "50"
    target.set("bad")
    out = m.tick("api", "PR-1")
    assert out["verdict"] == "DEGRADED" and "threshold 1" in out["reason"]
    # ...but the kill switch does, at the next call.
    variables["ORCH_POST_DEPLOY_ENABLED"] = "false"
    out = m.tick("api", "PR-2")
    assert out["finished"] and out["action"] == "NONE" and "disabled" in out["reason"]
    assert out["probed"] is False


def test_the_log_keys_and_clf_unit_are_recorded_at_arm(state, target):
    variables = env(LOG_CLF_DURATION_UNIT="ms", LOG_DURATION_KEYS="duration:s")
    m = Monitor(variables, state_dir=state)
    assert m.arm("api", "PR-1", target.url)["armed"] is True
    recorded = json.loads((state / ".post-deploy-state-api" / "PR-1" / "target.json").read_text())
    keys = recorded["settings"]["log_keys"]
    assert keys["clf_unit"] == "ms" and keys["duration"] == ["duration:s"], keys


def test_os_environ_is_read_at_every_call(state, target, monkeypatch):
    for k in list(os.environ):
        if k.startswith("ORCH_POST_DEPLOY_"):
            monkeypatch.delenv(k)
    for k, v in env().items():
        monkeypatch.setenv(k, v)
    m = Monitor(state_dir=state)
    assert m.arm("api", "PR-1", target.url)["armed"]
    monkeypatch.setenv("ORCH_POST_DEPLOY_ENABLED", "no")
    assert "disabled" in m.tick("api", "PR-1")["reason"]
    monkeypatch.setenv("ORCH_POST_DEPLOY_INTERVAL_S", "0")
    out = m.tick("api", "PR-1")
    assert out["error"]["kind"] == "config" and "ORCH_POST_DEPLOY_INTERVAL_S" in out["reason"]


def test_state_dir_overrides_the_variable(tmp_path, state, target):
    elsewhere = tmp_path / "elsewhere"
    m = Monitor(env(STATE_DIR=str(elsewhere)), state_dir=state)
    assert m.arm("api", "PR-1", target.url)["armed"]
    assert (state / ".post-deploy-state-api" / "PR-1").is_dir() and not elsewhere.exists()
    from_variable = Monitor(env(STATE_DIR=str(state)))
    assert [r["work_item"] for r in from_variable.status()] == ["PR-1"]


def test_artefacts_dir_takes_a_path(tmp_path, state, target):
    logs = tmp_path / "artefacts" / "PR-1"
    assert Monitor(env(), state_dir=state).arm("api", "PR-1", target.url, artefacts_dir=logs)[
        "armed"
    ]
    assert "PR-1" in (logs / "16-post-deploy-log.md").read_text()


HOSTILE_IDS = ["", ".", "..", "-rf", "a/b", "../../etc", "a b", "a\x00b", "é", "x" * 129, "\udcff"]


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_hostile_identifiers_are_errors_and_write_nothing(tmp_path, state, target, bad):
    m = Monitor(env(), state_dir=state)
    answers = [
        m.arm(bad, "PR-1", target.url),
        m.arm("api", bad, target.url),
        m.tick(bad, "PR-1"),
        m.tick("api", bad),
        m.disarm(bad, "PR-1"),
        m.disarm("api", bad),
        *m.status(repo=bad),
        *m.status(work_item=bad),
    ]
    for out in answers:
        assert out["error"]["kind"] == "identifier", out
        assert out["reason"] == out["error"]["message"]
    for out in answers[:2]:
        assert out["armed"] is False
    for out in answers[2:6]:
        assert out["finished"] is True and out["requeue_after_s"] is None
    assert files_under(state) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state", "target-mode"]


HOSTILE_VARS = {
    "INTERVAL_S": "0",
    "WINDOW_S": "ten",
    "5XX_THRESHOLD": "1.5",
    "FAIL_THRESHOLD": "-1",
    "ROLLBACK": "sometimes",
    "WEBHOOK_URL": "ftp://hooks.example/x",
    "ENABLED": "perhaps",
    "REPOS": "api,../etc",
    "ROLLBACK_CMD": "'unclosed",
    "LOG_CLF_DURATION_UNIT": "minutes",
}


@pytest.mark.parametrize(("name", "value"), HOSTILE_VARS.items())
def test_hostile_variables_are_errors_and_write_nothing(state, target, name, value):
    m = Monitor(env(**{name: value}), state_dir=state)
    arm = m.arm("api", "PR-1", target.url)
    tick = m.tick("api", "PR-1")
    [row] = m.status()
    for out in (arm, tick, m.disarm("api", "PR-1"), row):
        assert out["error"]["kind"] == "config", out
        assert f"ORCH_POST_DEPLOY_{name}" in out["error"]["message"]
    assert arm["armed"] is False and tick["finished"] is True
    assert files_under(state) == []


def test_a_variable_that_is_not_a_str_is_refused_by_name(state, target):
    out = Monitor({"ORCH_POST_DEPLOY_INTERVAL_S": 30}, state_dir=state).arm(
        "api", "PR-1", target.url
    )
    assert out["error"]["kind"] == "config" and "ORCH_POST_DEPLOY_INTERVAL_S" in out["reason"]
    # Other names and non-str keys are not the monitor's business.
    ok = Monitor({**env(), 1: 2, "PATH": 3}, state_dir=state).arm("api", "PR-1", target.url)
    assert ok["armed"]


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"health_url": "ftp://127.0.0.1/health"}, "argument"),
        ({"health_url": " http://127.0.0.1/health"}, "argument"),
        ({"health_url": "http://127.0.0.1:70000/health"}, "argument"),
        ({"container": "-v"}, "argument"),
        ({"container": "a;rm -rf /"}, "argument"),
        ({"previous_image": "app:1 --privileged"}, "argument"),
        ({"service": "-v"}, "argument"),
        ({"container": "api", "service": "api"}, "argument"),
    ],
)
def test_bad_arguments_are_errors_and_write_nothing(state, target, kwargs, kind):
    out = Monitor(env(), state_dir=state).arm(**{"repo": "api", "work_item": "PR-1",
                                                  "health_url": target.url, **kwargs})
    assert out["armed"] is False and out["error"]["kind"] == kind, out
    assert files_under(state) == []


def test_user_info_never_shows(state):
    out = Monitor(env(), state_dir=state).arm("api", "PR-1", "http://user:secret@ho st/")
    assert out["error"]["kind"] == "argument" and "secret" not in str(out)


def test_an_unusable_state_folder_is_an_error(tmp_path, target):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    m = Monitor(env(), state_dir=blocker)
    out = m.arm("api", "PR-1", target.url)
    assert out["armed"] is False and out["error"]["kind"] == "state"
    [row] = m.status()
    assert row["error"]["kind"] == "state"
    # A planted symlink where the window's folder belongs.
    state = tmp_path / "state"
    (state / ".post-deploy-state-api").mkdir(parents=True)
    (state / ".post-deploy-state-api" / "PR-1").symlink_to(tmp_path)
    out = Monitor(env(), state_dir=state).arm("api", "PR-1", target.url)
    assert out["armed"] is False and out["error"]["kind"] == "state"
    assert "symbolic link" in out["reason"]


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda m: m.arm(1, "PR-1", "http://127.0.0.1/"), "repo must be a str, not int"),
        (lambda m: m.arm("api", b"PR-1", "http://127.0.0.1/"), "work_item must be a str, not bytes"),
        (lambda m: m.arm("api", "PR-1", None), "health_url must be a str, not NoneType"),
        (
            lambda m: m.arm("api", "PR-1", "http://127.0.0.1/", container=3),
            "container must be a str or None, not int",
        ),
        (
            lambda m: m.arm("api", "PR-1", "http://127.0.0.1/", artefacts_dir=3.5),
            "artefacts_dir must be a str, an os.PathLike or None, not float",
        ),
        (lambda m: m.tick("api", None), "work_item must be a str, not NoneType"),
        (lambda m: m.disarm(["api"], "PR-1"), "repo must be a str, not list"),
        (lambda m: m.status(repo=7), "repo must be a str or None, not int"),
        (lambda m: m.tick("api"), "work_item"),
        (lambda m: Monitor(env=["ORCH_POST_DEPLOY_REPOS=api"]), "env must be a Mapping or None"),
        (lambda m: Monitor(state_dir=5), "state_dir must be a str, an os.PathLike or None, not int"),
    ],
)
def test_only_wrong_python_types_raise_and_name_the_argument(state, call, named):
    with pytest.raises(TypeError, match=re.escape(named)):
        call(Monitor(env(), state_dir=state))
    assert files_under(state) == []


def test_repr_shows_the_state_folder(state):
    assert str(state) in repr(Monitor(env(), state_dir=state))
    assert repr(Monitor()) == "Monitor(env=None, state_dir=None)"


def test_a_huge_identifier_or_value_is_quoted_never_echoed_whole(state, target):
    huge = "w" * (10 * 1024 * 1024)
    m = Monitor(env(), state_dir=state)
    answers = [
        m.arm("api", huge, target.url),
        m.arm(huge + "/", "PR-1", target.url),
        m.tick("api", huge),
        m.disarm(huge, "PR-1"),
        m.promote("api", huge),
        m.arm("api", "PR-1", "http://h/" + huge),
        Monitor(env(WINDOW_S=huge), state_dir=state).tick("api", "PR-1"),
    ]
    for out in answers:
        assert "error" in out, out["reason"][:200]
        assert len(out["reason"]) <= 1000, len(out["reason"])
        assert len(repr(out)) < 4000, len(repr(out))
        assert "…[cut]" in out["reason"]
    assert files_under(state) == []


class RaisingMapping(Mapping):
    """A host's env mapping that raises `exc` whenever it is read."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __getitem__(self, key: str) -> str:
        raise self.exc

    def __iter__(self):
        raise self.exc

    def __len__(self) -> int:
        return 1

    def items(self):
        raise self.exc


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_a_hosts_own_base_exceptions_propagate(state, target, exc):
    m = Monitor(RaisingMapping(exc()), state_dir=state)
    calls = [
        lambda: m.arm("api", "PR-1", target.url),
        lambda: m.tick("api", "PR-1"),
        lambda: m.disarm("api", "PR-1"),
        lambda: m.status(),
        lambda: m.promote("api", "PR-1"),
    ]
    for call in calls:
        with pytest.raises(exc):
            call()
    assert files_under(state) == []


def test_an_exception_of_the_env_mapping_is_an_error_in_the_answer(state, target):
    out = Monitor(RaisingMapping(RuntimeError("no variables today")), state_dir=state).arm(
        "api", "PR-1", target.url
    )
    assert out["armed"] is False and "no variables today" in out["error"]["message"], out
    assert files_under(state) == []


def test_an_artefacts_dir_that_cannot_be_a_folder_writes_nothing(tmp_path, state, target):
    m = Monitor(env(), state_dir=state)
    for bad in [tmp_path / ("a" * 300) / "logs", f"{tmp_path}/x\x00y"]:
        out = m.arm("api", "PR-1", target.url, artefacts_dir=bad)
        assert out["armed"] is False and out["error"]["kind"] == "argument", out
        assert "--artefacts-dir" in out["error"]["message"], out
        assert files_under(state) == []
        assert m.status() == []
        assert m.tick("api", "PR-1")["finished"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state", "target-mode"]
