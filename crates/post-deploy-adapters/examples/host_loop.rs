//! A host's job loop with the real adapters: arm a window after a deploy, then tick it until it
//! finishes, sleeping `requeue_after` between ticks, the way an orchestrator links
//! `post-deploy-core` and `post-deploy-adapters`. The host writes no adapter of its own.
//!
//! The target is a small HTTP server on loopback that answers `/health` with 200, so the example
//! runs anywhere: a window of 4 s, a tick every second, HEALTHY at the end.
//!
//! Run: `cargo run -p post-deploy-adapters --example host_loop`

#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::time::Duration;

use post_deploy_adapters::System;
use post_deploy_core::{ArmRequest, Config, Monitor, RepoName, WorkItem};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = serve_healthy()?;
    let state = std::env::temp_dir().join(format!("post-deploy-host-loop-{}", std::process::id()));
    let config = Config::from_vars([
        ("ORCH_POST_DEPLOY_REPOS", "api"),
        ("ORCH_POST_DEPLOY_WINDOW_S", "4"),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "1"),
        ("ORCH_POST_DEPLOY_STATE_DIR", &state.display().to_string()),
    ])?;
    // The real adapters; the driver reads the switches from the process environment afresh at
    // every tick, and the adapters (docker, compose, webhook URL) see what it read.
    let system = System::new(&config);
    let monitor = Monitor::new(config, system.effects()).with_switches_from(system.switchboard());

    let (repo, item) = (RepoName::new("api")?, WorkItem::new("PR-7")?);
    let armed = monitor.arm(&ArmRequest {
        repo: repo.clone(),
        work_item: item.clone(),
        health_url: format!("http://127.0.0.1:{port}/health"),
        container: None,
        service: None,
        previous_image: None,
        artefacts_dir: None,
    })?;
    println!("armed {repo} {item}: {}", armed.reason);

    loop {
        let out = monitor.tick(&repo, &item)?;
        println!(
            "{repo} {item}: {} {} | {}",
            out.verdict, out.action, out.reason
        );
        match out.requeue_after {
            Some(delay) => std::thread::sleep(delay),
            None => {
                println!("finished: verdict {}, action {}", out.verdict, out.action);
                break;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}

/// A loopback target whose `/health` answers 200; returns its port.
fn serve_healthy() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let Ok(read) = stream.try_clone() else {
                continue;
            };
            // Read the request up to its blank line, then answer.
            let mut line = String::new();
            let mut reader = BufReader::new(read);
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
            );
        }
    });
    Ok(port)
}
