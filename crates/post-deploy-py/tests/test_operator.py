"""The operator's commands and the known-good list, through the module, against the binary."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from post_deploy import Monitor
from test_monitor import env, files_under

OPERATOR_KEYS = {"repo", "work_item", "done", "reason", "finished", "deadline"}


def when(rfc3339: str) -> datetime:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))


def test_extend_moves_the_deadline_and_status_shows_it(state, target):
    m = Monitor(env(), state_dir=state)
    armed = m.arm("api", "PR-1", target.url)
    out = m.extend("api", "PR-1", 600)
    assert set(out) == OPERATOR_KEYS
    assert out["done"] is True and out["finished"] is False
    assert (when(out["deadline"]) - when(armed["deadline"])).total_seconds() == 600
    [row] = m.status("api", "PR-1")
    assert row["deadline"] == out["deadline"]
    assert "extend" in (state / ".post-deploy-state-api" / "PR-1" / "16-post-deploy-log.md").read_text()


@pytest.mark.parametrize("by", [0, -5, 2_592_001, 2**70])
def test_a_bad_extension_is_an_error_and_changes_nothing(state, target, by):
    m = Monitor(env(), state_dir=state)
    armed = m.arm("api", "PR-1", target.url)
    before = {p: p.read_bytes() for p in files_under(state) if p.is_file()}
    out = m.extend("api", "PR-1", by)
    assert out["done"] is False and out["error"]["kind"] == "argument"
    assert "by_s" in out["reason"] and "2592000" in out["reason"]
    assert {p: p.read_bytes() for p in files_under(state) if p.is_file()} == before
    assert m.status("api", "PR-1")[0]["deadline"] == armed["deadline"]


def test_promote_ends_the_window_as_good(state, target):
    m = Monitor(env(), state_dir=state)
    m.arm("api", "PR-1", target.url)
    out = m.promote("api", "PR-1")
    assert out["done"] is True and out["finished"] is True
    tick = m.tick("api", "PR-1")
    assert tick["finished"] and tick["verdict"] == "HEALTHY" and tick["action"] == "NONE"
    # A finished window refuses another command, as the binary does (exit 4 there).
    again = m.promote("api", "PR-1")
    assert again["done"] is False and "error" not in again


def test_an_operator_rollback_runs_once_through_the_guards(state, target, heal_cmd, tmp_path):
    target.set("bad")
    m = Monitor(env(ROLLBACK_CMD=heal_cmd), state_dir=state)
    m.arm("api", "PR-1", target.url, previous_image="app:1")
    out = m.rollback("api", "PR-1")
    assert out["done"] is True, out
    assert "operator" in out["reason"]
    assert target.mode() == "healthy"
    target_keys = {
        "POST_DEPLOY_REPO", "POST_DEPLOY_WORK_ITEM", "POST_DEPLOY_CONTAINER",
        "POST_DEPLOY_PREVIOUS_IMAGE",
    }
    given = [
        {k: v for k, v in json.loads(line).items() if k in target_keys}
        for line in (tmp_path / "rollbacks.jsonl").read_text().splitlines()
    ]
    assert given == [
        {
            "POST_DEPLOY_REPO": "api",
            "POST_DEPLOY_WORK_ITEM": "PR-1",
            "POST_DEPLOY_CONTAINER": "",
            "POST_DEPLOY_PREVIOUS_IMAGE": "app:1",
        }
    ]
    # Never twice: a second request is refused and runs nothing.
    again = m.rollback("api", "PR-1")
    assert again["done"] is False
    assert len((tmp_path / "rollbacks.jsonl").read_text().splitlines()) == 1
    # The self-hosting repo is never rolled back.
    own = Monitor(env(REPOS="orchestrator", ROLLBACK_CMD=heal_cmd), state_dir=state)
    own.arm("orchestrator", "PR-2", target.url, previous_image="app:1")
    refused = own.rollback("orchestrator", "PR-2")
    assert refused["done"] is False and "error" not in refused
    assert len((tmp_path / "rollbacks.jsonl").read_text().splitlines()) == 1


def test_commands_on_a_pair_without_a_window(state):
    m = Monitor(env(), state_dir=state)
    for out in (m.extend("api", "none", 60), m.rollback("api", "none"), m.promote("api", "none")):
        assert out["done"] is False and "error" not in out and out["deadline"] is None
    assert files_under(state) == []


@pytest.mark.parametrize("bad", ["../x", "", "a b", "-x"])
def test_hostile_identifiers_in_commands_are_errors(state, bad):
    m = Monitor(env(), state_dir=state)
    for out in (m.extend(bad, "PR-1", 60), m.rollback("api", bad), m.promote(bad, bad)):
        assert out["done"] is False and out["error"]["kind"] == "identifier"
    [row] = m.known_good(bad)
    assert row["error"]["kind"] == "identifier"
    assert files_under(state) == []


def test_known_good_lists_what_the_binary_lists(state, binary):
    entries = [
        {
            "target": "web",
            "image": "app:2",
            "image_id": "sha256:" + "2" * 64,
            "work_item": "PR-2",
            "at": "2026-01-02T00:00:00Z",
        },
        {
            "target": "worker",
            "image": "job:1",
            "image_id": "sha256:" + "1" * 64,
            "work_item": "PR-1",
            "at": "2026-01-01T00:00:00Z",
        },
    ]
    (state / ".post-deploy-known-good-api.json").write_text(json.dumps({"entries": entries}))
    m = Monitor(env(), state_dir=state)
    assert m.known_good("api") == entries
    assert m.known_good("api", container="web") == entries[:1]
    assert m.known_good("api", service="worker") == entries[1:]
    assert m.known_good("other") == []
    cli = subprocess.run(
        [binary, "known-good", "--repo", "api", "--json", "--state-dir", state],
        capture_output=True,
        check=True,
        env={k: v for k, v in env().items()},
    )
    assert json.loads(cli.stdout) == m.known_good("api")
    [row] = m.known_good("api", container="web", service="worker")
    assert row["error"]["kind"] == "argument"


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda m: m.extend("api", "PR-1", "60"), "by_s must be an int, not str"),
        (lambda m: m.extend("api", "PR-1", 60.0), "by_s must be an int, not float"),
        (lambda m: m.extend("api", "PR-1"), "by_s"),
        (lambda m: m.rollback("api", 1), "work_item must be a str, not int"),
        (lambda m: m.promote(None, "PR-1"), "repo must be a str, not NoneType"),
        (lambda m: m.known_good(3), "repo must be a str, not int"),
        (lambda m: m.known_good("api", container=b"web"), "container must be a str or None"),
    ],
)
def test_only_wrong_python_types_raise_and_name_the_argument(state, call, named):
    with pytest.raises(TypeError, match=re.escape(named)):
        call(Monitor(env(), state_dir=state))
    assert files_under(state) == []
