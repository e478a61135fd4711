//! The recipes the README shows, run as written through the binary: the Kubernetes rollback
//! command, with a `kubectl` on `PATH` that records the words it was given and its
//! environment (there is no cluster here).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

#[path = "support/binary.rs"]
mod binary;
#[path = "support/loopback.rs"]
mod loopback;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use binary::{Env, health};

/// The README's Kubernetes recipe: the value it gives `ORCH_POST_DEPLOY_ROLLBACK_CMD`.
fn readme_recipe() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("export ORCH_POST_DEPLOY_ROLLBACK_CMD='kubectl "))
        .expect("the README shows the kubectl recipe");
    line.strip_prefix("export ORCH_POST_DEPLOY_ROLLBACK_CMD='")
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap()
        .to_owned()
}

#[test]
fn the_kubectl_rollout_undo_recipe_runs_kubectl_with_its_words_and_the_target_in_env() {
    let recipe = readme_recipe();
    assert_eq!(recipe, "kubectl rollout undo deployment/api -n prod");

    // A `kubectl` that records each argument on its own line, then the POST_DEPLOY_*
    // environment, and succeeds.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("record");
    let kubectl = bin.path().join("kubectl");
    std::fs::write(
        &kubectl,
        format!(
            "#!/bin/sh\n{{\n  for a in \"$@\"; do printf 'arg=%s\\n' \"$a\"; done\n  \
             env | grep '^POST_DEPLOY_' | sort\n}} > '{}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let target = health(503);
    let url = target.url("/health");
    let mut env = Env::new();
    env.set("ROLLBACK_CMD", &recipe)
        .set("FAIL_THRESHOLD", "1")
        .set("WINDOW_S", "60");
    let pair = ["--repo", "api", "--work-item", "PR-7"];
    let arm = [
        &["arm"][..],
        &pair,
        &["--health-url", &url, "--previous-image", "api:1.4"],
    ]
    .concat();
    let out = env.command(&arm).env("PATH", &path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tick = [&["tick"][..], &pair].concat();
    let out = env.command(&tick).env("PATH", &path).output().unwrap();
    let json = binary::one_json(&out, "tick");
    assert_eq!(
        (json["verdict"].as_str(), json["action"].as_str()),
        (Some("DEGRADED"), Some("ROLLBACK")),
        "{json}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let recorded = std::fs::read_to_string(&record).expect("kubectl ran");
    let lines: Vec<&str> = recorded.lines().collect();
    assert_eq!(
        lines,
        [
            "arg=rollout",
            "arg=undo",
            "arg=deployment/api",
            "arg=-n",
            "arg=prod",
            "POST_DEPLOY_CONTAINER=",
            "POST_DEPLOY_PREVIOUS_IMAGE=api:1.4",
            "POST_DEPLOY_REPO=api",
            "POST_DEPLOY_WORK_ITEM=PR-7",
        ],
        "the words as the README says, the target in the environment"
    );
}
