//! The build-context rule: every Dockerfile in the repository builds from a clean checkout.
//!
//! A `COPY` or `ADD` of a path that git does not track (or ignores) works in the worktree
//! where the file happens to exist and fails everywhere else. So every source of every
//! `COPY`/`ADD` must be tracked by git and not ignored. The one exception is a file the build
//! command itself puts into the context, and a Dockerfile says so in a comment the test checks:
//! `# build-context: NAME is copied in by ./SCRIPT` (the script must be tracked and name it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs git in the repository; its exit status and stdout.
fn git(args: &[&str]) -> (bool, String) {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("git {args:?} could not run: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn is_dockerfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "Dockerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
        || name == "Containerfile"
}

/// The Dockerfile's instructions, one per entry, continuation lines joined, comments and
/// blank lines left out.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The sources of a `COPY` or `ADD` instruction (not `COPY --from`, which copies from another
/// stage or image), in the shell or the JSON form.
fn sources(instruction: &str) -> Option<Vec<String>> {
    let (keyword, rest) = instruction.split_once(char::is_whitespace)?;
    if !keyword.eq_ignore_ascii_case("COPY") && !keyword.eq_ignore_ascii_case("ADD") {
        return None;
    }
    let mut words: Vec<String> = Vec::new();
    let mut rest = rest.trim();
    while let Some(flag) = rest.strip_prefix("--") {
        let (flag, after) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        if flag.starts_with("from=") {
            return None;
        }
        rest = after.trim_start();
    }
    if rest.starts_with('[') {
        words = serde_json::from_str(rest).unwrap_or_else(|e| panic!("{instruction}: {e}"));
    } else {
        words.extend(rest.split_whitespace().map(str::to_owned));
    }
    words.pop(); // the destination
    Some(words)
}

/// `# build-context: NAME is copied in by ./SCRIPT` comments: (NAME, SCRIPT).
fn supplied(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("# build-context: "))
        .filter_map(|l| {
            let (name, script) = l.split_once(" is copied in by ./")?;
            Some((name.trim().to_owned(), script.trim().to_owned()))
        })
        .collect()
}

#[test]
fn every_copy_and_add_source_is_tracked_and_not_ignored() {
    let (ok, files) = git(&["ls-files", "-z"]);
    assert!(
        ok,
        "git ls-files failed: the build-context rule needs a git checkout"
    );
    let dockerfiles: Vec<&str> = files.split('\0').filter(|p| is_dockerfile(p)).collect();
    assert!(
        dockerfiles.contains(&"fixtures/images/Dockerfile"),
        "the test images' Dockerfile is found: {dockerfiles:?}"
    );
    let mut problems = Vec::new();
    for dockerfile in &dockerfiles {
        let text = std::fs::read_to_string(root().join(dockerfile)).unwrap();
        let context = Path::new(dockerfile).parent().unwrap_or(Path::new(""));
        let supplied = supplied(&text);
        for (name, script) in &supplied {
            let script = context.join(script);
            let script_text = std::fs::read_to_string(root().join(&script)).unwrap_or_default();
            let tracked = git(&["ls-files", "--error-unmatch", &script.to_string_lossy()]).0;
            if !tracked || !script_text.contains(&format!("/{name}")) {
                problems.push(format!(
                    "{dockerfile}: {name} is said to be copied in by {}, which is not a \
                     tracked script that names it",
                    script.display()
                ));
            }
        }
        for instruction in instructions(&text) {
            let Some(sources) = sources(&instruction) else {
                continue;
            };
            for source in sources {
                let clean = source.trim_end_matches('/');
                if supplied.iter().any(|(name, _)| name == clean) {
                    continue;
                }
                if clean.contains("://") {
                    problems.push(format!("{dockerfile}: `{instruction}` fetches {source}"));
                    continue;
                }
                let path = context.join(clean);
                let path = path.to_string_lossy();
                if !git(&["ls-files", "--error-unmatch", "--", &path]).0 {
                    problems.push(format!(
                        "{dockerfile}: `{instruction}` copies {path}, which git does not track"
                    ));
                } else if git(&["check-ignore", "-q", "--no-index", "--", &path]).0 {
                    problems.push(format!(
                        "{dockerfile}: `{instruction}` copies {path}, which git ignores"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a clean checkout cannot build these:\n{}",
        problems.join("\n")
    );
}

/// The checks themselves: what they find in Dockerfiles that break the rule.
#[test]
fn the_parser_finds_every_source() {
    let text = "FROM scratch\n# a comment\nCOPY --chown=1:1 a b/ /dst/\nADD [\"c d\", \"/x\"]\n\
                COPY --from=build /bin/x /x\nRUN echo hi \\\n  there\ncopy e \\\n  /f\n";
    let found: Vec<Vec<String>> = instructions(text)
        .iter()
        .filter_map(|i| sources(i))
        .collect();
    assert_eq!(
        found,
        [
            vec!["a".to_owned(), "b/".to_owned()],
            vec!["c d".to_owned()],
            vec!["e".to_owned()]
        ]
    );
    assert_eq!(
        supplied("# build-context: busybox is copied in by ./build\n"),
        [("busybox".to_owned(), "build".to_owned())]
    );
    // An untracked and an ignored path are found as such.
    assert!(
        !git(&[
            "ls-files",
            "--error-unmatch",
            "--",
            "fixtures/images/busybox"
        ])
        .0
    );
    assert!(git(&["check-ignore", "-q", "--no-index", "--", "target/x"]).0);
}
