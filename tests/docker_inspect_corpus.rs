//! The checks of the `docker inspect` fuzz target, and the replay of its regression corpus
//! (`fixtures/fuzz-corpus/docker_inspect/`) through them.
//!
//! `fuzz/fuzz_targets/docker_inspect.rs` includes this file and calls [`check`] on every
//! input, so an input the fuzzer once crashed on, added to the corpus, stays fixed under the
//! normal `cargo test`, without cargo-fuzz.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    dead_code,
    unused_imports,
    unreachable_pub,
    reason = "fuzz checks and tests: a panic is the finding"
)]

use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

use serde_json::Value;

#[path = "support/corpus.rs"]
mod corpus;

use post_deploy_adapters::docker::{
    FUZZ_CREATED_ID, FUZZ_PREVIOUS_IMAGE, FUZZ_SELF_CONTAINER, parse_inspect_for_fuzzing,
};
use post_deploy_core::ControlError;

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

/// Walks `argv` from `at`: known flags with their values, up to the word `end`; the index
/// of `end`.
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

/// The fuzz target's checks: no panic; the orchestrator's own container is refused; every
/// argv keeps each value in a value's place, so no inspected string becomes a flag, the
/// image, the network or the service.
pub fn check(bytes: &[u8]) {
    let result = parse_inspect_for_fuzzing(bytes);
    let elements: Option<Vec<Value>> = serde_json::from_slice(bytes).ok();
    let target = elements
        .as_ref()
        .and_then(|e| e.first())
        .and_then(Value::as_object);
    let field = |o: &serde_json::Map<String, Value>, k: &str| -> String {
        let v = o.get(k).and_then(Value::as_str).unwrap_or_default();
        v.strip_prefix('/').unwrap_or(v).to_owned()
    };
    let name = target.map(|t| field(t, "Name"));
    if result.is_ok()
        && let (Some(t), Some(elements)) = (target, &elements)
    {
        let own = elements.get(1).and_then(Value::as_object);
        let same =
            |k: &str| own.is_some_and(|o| !field(o, k).is_empty() && field(o, k) == field(t, k));
        assert!(
            field(t, "Name") != FUZZ_SELF_CONTAINER && !same("Name") && !same("Id"),
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
                    Some(FUZZ_PREVIOUS_IMAGE),
                    "{argv:?}"
                );
            }
            Some("network") => {
                assert_eq!(argv.get(1).map(String::as_str), Some("connect"), "{argv:?}");
                let dashes = walk(argv, 2, &["--alias", "--ip", "--ip6"], &[], "--");
                assert_eq!(argv.len(), dashes + 3, "{argv:?}");
                assert_eq!(argv.last().map(String::as_str), Some(FUZZ_CREATED_ID));
            }
            Some("-p") => {
                let up = walk(argv, 2, &["--project-directory", "-f"], &[], "up");
                // -p takes its value whatever it is, but a project that reads as an
                // option is refused all the same.
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
}

#[test]
fn docker_inspect_corpus_replays() {
    corpus::replay("docker_inspect", &check, 24);
}

/// The corpus's recorded containers (`recorded-inspect-*`) and its containers with `null` in
/// a map's value or a list's item (`null-*`), such as an exposed port that is not published
/// (`"8080/tcp": null`), are read and rebuilt, never refused as unreadable output.
#[test]
fn containers_with_nulls_anywhere_are_read() {
    let dir = corpus::corpus("docker_inspect");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("null-") || name.starts_with("recorded-inspect-")) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let argvs = parse_inspect_for_fuzzing(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(argvs.iter().any(|a| a[0] == "create"), "{name}: {argvs:?}");
        read += 1;
    }
    assert!(read >= 5, "only {read} such files in {}", dir.display());
}

/// The recorded containers reach the argv building; the checks refuse what they must.
#[test]
fn the_recorded_inspect_output_is_rebuilt_and_checked() {
    let plain = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/docker/inspect-plain.json"),
    )
    .unwrap();
    let argvs = parse_inspect_for_fuzzing(&plain).unwrap();
    assert_eq!(argvs.iter().filter(|a| a[0] == "create").count(), 2);
    assert!(argvs.iter().any(|a| a[..2] == ["network", "connect"]));
    check(&plain);
    assert!(matches!(
        parse_inspect_for_fuzzing(br#"[{"Name": "/orchestrator"}]"#),
        Err(ControlError::SelfContainer(_))
    ));
    assert!(matches!(
        parse_inspect_for_fuzzing(
            br#"[{"Name": "/web", "Id": "ab12"}, {"Name": "/x", "Id": "ab12"}]"#
        ),
        Err(ControlError::SelfContainer(_))
    ));
    assert!(matches!(
        parse_inspect_for_fuzzing(b"[]"),
        Err(ControlError::BadOutput { .. })
    ));
    // Found by the fuzzer: compose labels whose service or project reads as an option.
    let labelled = br#"[{"Name": "/web", "Config": {"Labels": {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "--remove-orphans"}}}]"#;
    assert!(matches!(
        parse_inspect_for_fuzzing(labelled),
        Err(ControlError::Failed { detail, .. }) if detail.contains("reads as an option")
    ));
    let bad = vec![
        "create".to_owned(),
        "--name".to_owned(),
        "web".to_owned(),
        "-it".to_owned(),
    ];
    assert!(catch_unwind(|| walk(&bad, 3, VALUED, BARE, "--")).is_err());
}
