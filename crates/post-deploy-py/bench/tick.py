"""One tick in-process through `post_deploy` against one `post-deploy tick` subprocess per
tick: same loopback target, same configuration, side by side.

Each measured tick is the first of a freshly armed window (arming is not measured), so every
tick probes the target and writes the window's state and log, as a real tick does; the two
ways alternate, so a busy moment of the machine hits both.

    python crates/post-deploy-py/bench/tick.py --bin target/release/post-deploy [--ticks 200]
        [--state-parent /dev/shm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from post_deploy import Monitor


class Healthy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, type=Path, help="the post-deploy binary")
    parser.add_argument("--ticks", type=int, default=200, help="ticks per way")
    parser.add_argument("--state-parent", type=Path, default=None,
                        help="where the state folder is made (default: the temporary folder)")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    state = Path(tempfile.mkdtemp(prefix="post-deploy-bench-", dir=args.state_parent))
    variables = {"ORCH_POST_DEPLOY_REPOS": "api", "ORCH_POST_DEPLOY_STATE_DIR": str(state)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_POST_DEPLOY_")}
    env.update(variables)
    monitor = Monitor(variables)

    def in_process(item: str) -> dict:
        return monitor.tick("api", item)

    def subprocess_tick(item: str) -> dict:
        out = subprocess.run(
            [str(args.bin), "tick", "--repo", "api", "--work-item", item],
            env=env, capture_output=True, text=True, check=True,
        )
        return json.loads(out.stdout)

    ways = {"in-process (post_deploy)": in_process, "subprocess (post-deploy tick)": subprocess_tick}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for i in range(args.ticks + 5):
        for n, (name, tick) in enumerate(ways.items()):
            item = f"t{i}-{n}"
            assert monitor.arm("api", item, url)["armed"]
            started = time.perf_counter()
            out = tick(item)
            took = time.perf_counter() - started
            assert out["probed"] and out["verdict"] == "HEALTHY", out
            if i >= 5:  # warm-up
                times[name].append(took)
    server.shutdown()
    shutil.rmtree(state)

    print(f"{args.ticks} ticks each, one loopback GET per tick, state under {state}\n")
    print("| way | mean (ms) | median (ms) | min (ms) | p95 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, t in times.items():
        ms = sorted(x * 1000 for x in t)
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(f"| {name} | {statistics.mean(ms):.2f} | {statistics.median(ms):.2f} "
              f"| {ms[0]:.2f} | {p95:.2f} |")
    a, b = (statistics.median(t) for t in times.values())
    print(f"\nmedian ratio: the subprocess tick takes {b / a:.1f}x the in-process tick")


if __name__ == "__main__":
    main()
