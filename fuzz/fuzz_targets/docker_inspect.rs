//! Fuzzes `docker inspect` output through everything the built-in rollback derives from it:
//! the inspect parsing, the self-container check, and the argv of the plain-container
//! recreate and of the compose rollback (`parse_inspect_for_fuzzing`).
//!
//! The checks are those of the `fuzz_corpus` test module at the end of
//! `crates/post-deploy-cli/src/adapters/docker.rs`, which replays
//! `fixtures/fuzz-corpus/docker_inspect/` through them: keep the two the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use post_deploy_cli::adapters::docker::parse_inspect_for_fuzzing;
use post_deploy_core::ControlError;
use serde_json::{Map, Value};

/// What `parse_inspect_for_fuzzing` names the orchestrator's container, the previous image
/// and the created container.
const SELF_CONTAINER: &str = "orchestrator";
const PREVIOUS_IMAGE: &str = "app:previous";
const CREATED_ID: &str = "created-id";

/// Flags of `docker create` that take the next word as their value.
const VALUED: &[&str] = &[
    "--add-host",
    "--cap-add",
    "--cap-drop",
    "--cpu-shares",
    "--cpus",
    "--device",
    "--dns",
    "--dns-option",
    "--dns-search",
    "--domainname",
    "--entrypoint",
    "--env",
    "--expose",
    "--group-add",
    "--health-cmd",
    "--health-interval",
    "--health-retries",
    "--health-start-period",
    "--health-timeout",
    "--hostname",
    "--ip",
    "--ip6",
    "--ipc",
    "--label",
    "--log-driver",
    "--log-opt",
    "--memory",
    "--mount",
    "--network",
    "--network-alias",
    "--pid",
    "--publish",
    "--restart",
    "--runtime",
    "--security-opt",
    "--shm-size",
    "--stop-signal",
    "--stop-timeout",
    "--sysctl",
    "--tmpfs",
    "--ulimit",
    "--user",
    "--uts",
    "--volume",
    "--volumes-from",
    "--workdir",
];
/// Flags of `docker create` that stand alone.
const BARE: &[&str] = &[
    "--init",
    "--interactive",
    "--no-healthcheck",
    "--privileged",
    "--publish-all",
    "--read-only",
    "--rm",
    "--tty",
];

/// Walks `argv` from `at`: known flags with their values, up to the word `end`; the index of
/// `end`.
fn walk(argv: &[String], mut at: usize, valued: &[&str], bare: &[&str], end: &str) -> usize {
    loop {
        let word = argv
            .get(at)
            .unwrap_or_else(|| panic!("no {end:?} in {argv:?}"));
        if word == end {
            return at;
        }
        if bare.contains(&word.as_str()) {
            at += 1;
        } else if valued.contains(&word.as_str()) && at + 1 < argv.len() {
            at += 2;
        } else {
            panic!("{word:?} stands where a flag belongs in {argv:?}");
        }
    }
}

fn field(o: &Map<String, Value>, k: &str) -> String {
    let v = o.get(k).and_then(Value::as_str).unwrap_or_default();
    v.strip_prefix('/').unwrap_or(v).to_owned()
}

fuzz_target!(|bytes: &[u8]| {
    let result = parse_inspect_for_fuzzing(bytes);
    let elements: Option<Vec<Value>> = serde_json::from_slice(bytes).ok();
    let target = elements
        .as_ref()
        .and_then(|e| e.first())
        .and_then(Value::as_object);
    let name = target.map(|t| field(t, "Name"));
    if result.is_ok()
        && let (Some(t), Some(elements)) = (target, &elements)
    {
        let own = elements.get(1).and_then(Value::as_object);
        let same =
            |k: &str| own.is_some_and(|o| !field(o, k).is_empty() && field(o, k) == field(t, k));
        assert!(
            field(t, "Name") != SELF_CONTAINER && !same("Name") && !same("Id"),
            "the orchestrator's own container was not refused: {result:?}"
        );
    }
    if let Err(e) = &result {
        assert!(!matches!(e, ControlError::ProgramMissing { .. }), "{e}");
    }
    let Ok(argvs) = result else { return };
    assert!(!argvs.is_empty());
    for argv in &argvs {
        match argv.first().map(String::as_str) {
            Some("create") => {
                assert_eq!(argv.get(1).map(String::as_str), Some("--name"), "{argv:?}");
                let created = argv.get(2).unwrap();
                assert!(!created.is_empty());
                if let Some(name) = &name {
                    assert_eq!(created, name);
                }
                let dashes = walk(argv, 3, VALUED, BARE, "--");
                assert_eq!(
                    argv.get(dashes + 1).map(String::as_str),
                    Some(PREVIOUS_IMAGE),
                    "{argv:?}"
                );
            }
            Some("network") => {
                assert_eq!(argv.get(1).map(String::as_str), Some("connect"), "{argv:?}");
                let dashes = walk(argv, 2, &["--alias", "--ip", "--ip6"], &[], "--");
                assert_eq!(argv.len(), dashes + 3, "{argv:?}");
                assert_eq!(argv.last().map(String::as_str), Some(CREATED_ID));
            }
            Some("-p") => {
                let up = walk(argv, 2, &["--project-directory", "-f"], &[], "up");
                // -p takes its value whatever it is, but a project that reads as an option
                // is refused all the same.
                assert!(!argv[1].starts_with('-'), "{argv:?}");
                assert_eq!(
                    argv[up..argv.len() - 1],
                    ["up", "-d", "--no-deps", "--force-recreate"],
                    "{argv:?}"
                );
                let service = argv.last().unwrap();
                assert!(
                    !service.is_empty() && !service.starts_with('-'),
                    "the service reads as an option: {argv:?}"
                );
            }
            _ => panic!("an unexpected argv: {argv:?}"),
        }
    }
});
