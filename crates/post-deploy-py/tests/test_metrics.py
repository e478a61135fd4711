"""The metrics file, written by the module as the binary writes it: the same driver, the same
records, so windows armed by one and ticked by the other count once."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from post_deploy import Monitor
from test_monitor import env

FAMILIES = [
    "post_deploy_window_watching",
    "post_deploy_window_requests",
    "post_deploy_window_errors_5xx",
    "post_deploy_window_degraded",
    "post_deploy_window_deadline_timestamp_seconds",
    "post_deploy_windows_finished_total",
    "post_deploy_rollbacks_total",
    "post_deploy_blind_windows_total",
    "post_deploy_last_tick_timestamp_seconds",
]


def sample(text: str, series: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_the_module_writes_the_metrics_file_and_the_binary_counts_on(state, target, binary, tmp_path):
    metrics = tmp_path / "post-deploy.prom"
    variables = env(METRICS_FILE=str(metrics), WINDOW_S="2")
    m = Monitor(variables, state_dir=state)
    assert m.arm("api", "PR-1", target.url)["armed"] is True
    text = metrics.read_text()
    for family in FAMILIES:
        assert f"# HELP {family} " in text and f"# TYPE {family} " in text
    assert sample(text, 'post_deploy_window_watching{repo="api",work_item="PR-1"}') == 1
    assert m.tick("api", "PR-1")["finished"] is False
    # The binary finishes the window the module armed; it counts once.
    time.sleep(2.1)
    out = subprocess.run(
        [str(binary), "--state-dir", str(state), "tick", "--repo", "api", "--work-item", "PR-1"],
        env={**variables, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["finished"] is True
    assert m.tick("api", "PR-1")["finished"] is True
    text = metrics.read_text()
    series = 'post_deploy_windows_finished_total{repo="api",verdict="HEALTHY",action="NONE"}'
    assert sample(text, series) == 1
    assert "post_deploy_window_watching{" not in text
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith("prom") or ".tmp" in p.name) == [
        "post-deploy.prom"
    ]


def test_a_metrics_file_that_cannot_be_written_is_said_once_and_never_fails(state, target, capfd, tmp_path):
    missing = tmp_path / "no-such-folder" / "m.prom"
    m = Monitor(env(METRICS_FILE=str(missing)), state_dir=state)
    armed = m.arm("api", "PR-1", target.url)
    assert armed["armed"] is True and "error" not in armed
    tick = m.tick("api", "PR-1")
    assert "error" not in tick
    err = capfd.readouterr().err
    assert err.count("metrics file") == 2, err  # once for arm, once for the tick
    assert not (tmp_path / "no-such-folder").exists()
