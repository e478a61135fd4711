"""Shared parts of the module's tests: a loopback target, a state folder, the binary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


class Target:
    """A loopback HTTP target whose `/health` answers as its mode file says: `healthy` (200),
    `bad` (503), or `slow <seconds>` (200 after that long). A rollback command heals it by
    writing `healthy` into the file, from another process."""

    def __init__(self, folder: Path) -> None:
        self.mode_file = folder / "target-mode"
        self.set("healthy")
        self.probes = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                target.probes += 1
                mode = target.mode_file.read_text().split()
                if mode[0] == "slow":
                    time.sleep(float(mode[1]))
                status = 503 if mode[0] == "bad" else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def set(self, mode: str) -> None:
        self.mode_file.write_text(mode)

    def mode(self) -> str:
        return self.mode_file.read_text()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target(tmp_path: Path):
    t = Target(tmp_path)
    yield t
    t.close()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def heal_cmd(tmp_path: Path, target: Target) -> str:
    """A rollback command that flips the target back to healthy and records what it was
    given (the target, in its environment)."""
    script = tmp_path / "heal.py"
    script.write_text(
        "import json, os, sys\n"
        "open(sys.argv[1], 'w').write('healthy')\n"
        "given = {k: v for k, v in os.environ.items() if k.startswith('POST_DEPLOY_')}\n"
        "open(sys.argv[2], 'a').write(json.dumps(given) + '\\n')\n"
    )
    return f"{sys.executable} {script} {target.mode_file} {tmp_path / 'rollbacks.jsonl'}"


@pytest.fixture(scope="session")
def binary() -> Path:
    """The `post-deploy` binary of this checkout: `POST_DEPLOY_BIN`, or built by cargo."""
    given = os.environ.get("POST_DEPLOY_BIN")
    if given:
        return Path(given)
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo is needed to build the post-deploy binary (or set POST_DEPLOY_BIN)")
    subprocess.run(
        [cargo, "build", "--quiet", "--locked", "-p", "post-deploy-cli", "--bin", "post-deploy"],
        cwd=ROOT,
        check=True,
    )
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "post-deploy"
