//! The configuration's variables as the project lists them for people: `.env.example` and the
//! README's table, each checked both ways against `config::VARIABLES`, the core's own list,
//! and that list against the variable names `config.rs` defines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests"
)]

use std::collections::BTreeMap;

use post_deploy_core::config::{PREFIX, VARIABLES};

const ENV_EXAMPLE: &str = include_str!("../../../.env.example");
const README: &str = include_str!("../../../README.md");
const CONFIG_RS: &str = include_str!("../src/config/mod.rs");

/// The core's list: name to default, in its order.
fn known() -> Vec<(String, String)> {
    VARIABLES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `NAME=value` lines of `.env.example`, in order; comments and blank lines skipped.
fn env_example() -> Vec<(String, String)> {
    ENV_EXAMPLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!(".env.example: not NAME=value: {l:?}"));
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect()
}

/// The README's configuration table: variable to default (`unset` and `empty` are "").
fn readme_table() -> BTreeMap<String, String> {
    README
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            name.starts_with(PREFIX).then_some(())?;
            let default = match *cells.get(2)? {
                "unset" | "empty" => String::new(),
                quoted => quoted.trim_matches('`').to_owned(),
            };
            Some((name.to_owned(), default))
        })
        .collect()
}

/// Checked against a line dropped from .env.example, a variable added to `VARIABLES` only,
/// and a default changed on one side.
#[test]
fn env_example_lists_exactly_the_cores_variables_with_their_defaults() {
    let listed = env_example();
    let known = known();
    let names = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    for (k, _) in &listed {
        assert!(
            known.iter().any(|(n, _)| n == k),
            ".env.example lists {k}, which the core does not know"
        );
    }
    for (k, _) in &known {
        assert!(
            listed.iter().any(|(n, _)| n == k),
            ".env.example does not list {k}"
        );
    }
    assert_eq!(listed, known, "names and defaults, in the same order");
    assert_eq!(names(&listed).len(), names(&known).len(), "each once");
}

#[test]
fn the_readme_table_lists_exactly_the_cores_variables_with_their_defaults() {
    let table = readme_table();
    let known: BTreeMap<String, String> = known().into_iter().collect();
    for k in table.keys() {
        assert!(
            known.contains_key(k),
            "README lists {k}, which the core does not know"
        );
    }
    for k in known.keys() {
        assert!(table.contains_key(k), "README does not list {k}");
    }
    assert_eq!(table, known);
}

/// Every `ORCH_POST_DEPLOY_*` name `config.rs` spells out is in `VARIABLES`, and each entry
/// of `VARIABLES` is one of them.
#[test]
fn variables_is_every_name_config_rs_defines() {
    let mut defined: Vec<String> = CONFIG_RS
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (_, value) = rest.split_once("&str = \"")?;
            let name = value.strip_suffix("\";")?;
            (name.starts_with(PREFIX) && name.len() > PREFIX.len()).then(|| name.to_owned())
        })
        .collect();
    defined.sort();
    let mut known: Vec<String> = VARIABLES.iter().map(|(k, _)| (*k).to_owned()).collect();
    known.sort();
    assert!(!defined.is_empty());
    assert_eq!(defined, known);
}
