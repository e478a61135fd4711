//! Identifiers that name a window: the repo and the work item.
//!
//! They become folder names under the state directory, so this module is a security boundary:
//! a [`RepoName`] or [`WorkItem`] cannot hold a value that could escape that folder.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest identifier accepted, in characters (all accepted characters are one byte).
pub(crate) const MAX_ID_LEN: usize = 128;

/// Which identifier a value was meant to be; names it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdKind {
    /// A repository name.
    Repo,
    /// A work item (a deploy's ticket, run or change id).
    WorkItem,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Repo => "repo",
            Self::WorkItem => "work item",
        })
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The value was empty. (Every variant's `value` is the refused value quoted, as
    /// [`crate::text::clip`] cuts it.)
    #[error("invalid {kind} {value:?}: it is empty (1 to 128 characters of A-Z a-z 0-9 . _ -)")]
    Empty {
        /// Which identifier.
        kind: IdKind,
        /// The refused value.
        value: String,
    },
    /// The value was longer than 128 characters.
    #[error("invalid {kind} {value:?}: it is {len} characters long, the limit is 128")]
    TooLong {
        /// Which identifier.
        kind: IdKind,
        /// The refused value.
        value: String,
        /// Its length in characters.
        len: usize,
    },
    /// The value held a character outside `A-Z a-z 0-9 . _ -`.
    #[error(
        "invalid {kind} {value:?}: character {found:?} is not allowed (only A-Z a-z 0-9 . _ -)"
    )]
    BadChar {
        /// Which identifier.
        kind: IdKind,
        /// The refused value.
        value: String,
        /// The first character that is not allowed.
        found: char,
    },
    /// The value was `.` or `..`.
    #[error("invalid {kind} {value:?}: `.` and `..` are not allowed")]
    DotName {
        /// Which identifier.
        kind: IdKind,
        /// The refused value.
        value: String,
    },
    /// The value started with `-`, which a command line would read as an option.
    #[error("invalid {kind} {value:?}: it must not start with `-`")]
    LeadingDash {
        /// Which identifier.
        kind: IdKind,
        /// The refused value.
        value: String,
    },
}

fn validate(kind: IdKind, value: &str) -> Result<(), IdError> {
    // A refused value is quoted, never whole: it may be megabytes.
    let owned = || crate::text::clip(value);
    if value.is_empty() {
        return Err(IdError::Empty {
            kind,
            value: owned(),
        });
    }
    if let Some(found) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(IdError::BadChar {
            kind,
            value: owned(),
            found,
        });
    }
    // Only ASCII is left, so bytes are characters.
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            value: owned(),
            len: value.len(),
        });
    }
    if value == "." || value == ".." {
        return Err(IdError::DotName {
            kind,
            value: owned(),
        });
    }
    if value.starts_with('-') {
        return Err(IdError::LeadingDash {
            kind,
            value: owned(),
        });
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses `value`, refusing anything the contract refuses.
            ///
            /// # Errors
            /// [`IdError`] naming the value and what is wrong with it.
            pub fn new(value: &str) -> Result<Self, IdError> {
                validate($kind, value)?;
                Ok(Self(value.to_owned()))
            }

            /// The identifier as text; safe to use as one path component.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::new(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

identifier!(
    /// A repository name: 1 to 128 characters of `A-Z a-z 0-9 . _ -`, not `.` or `..`, not
    /// starting with `-`.
    RepoName,
    IdKind::Repo
);

identifier!(
    /// A work item: the same alphabet and limits as [`RepoName`].
    WorkItem,
    IdKind::WorkItem
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_huge_refused_value_is_quoted_not_echoed() {
        let ten_mb = "w".repeat(10 * 1024 * 1024);
        let bad_char = format!("{ten_mb}/");
        for value in [&ten_mb, &bad_char] {
            let err = WorkItem::new(value).unwrap_err().to_string();
            assert!(err.len() < 500, "{} bytes", err.len());
            assert!(err.contains(crate::text::CUT_MARK), "{err}");
        }
        let err = WorkItem::new(&ten_mb).unwrap_err().to_string();
        assert!(
            err.ends_with("it is 10485760 characters long, the limit is 128"),
            "{err}"
        );
    }

    #[test]
    fn accepts_the_contract_alphabet() {
        for ok in [
            "a",
            "orchestrator",
            "My.Repo_1-x",
            "..a",
            "a..",
            &"x".repeat(128),
        ] {
            assert!(RepoName::new(ok).is_ok(), "{ok:?}");
            assert!(WorkItem::new(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn error_messages() {
        let long = "x".repeat(129);
        let cases = [
            RepoName::new("").unwrap_err(),
            RepoName::new("../etc").unwrap_err(),
            RepoName::new("..").unwrap_err(),
            RepoName::new(".").unwrap_err(),
            RepoName::new("-rf").unwrap_err(),
            RepoName::new("a b").unwrap_err(),
            WorkItem::new("wi/1").unwrap_err(),
            WorkItem::new("été").unwrap_err(),
            WorkItem::new(&long).unwrap_err(),
            WorkItem::new("a\0b").unwrap_err(),
        ];
        let text: Vec<String> = cases.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    /// The contract's rule, written out again without the module's code: 1 to 128 characters
    /// of `A-Z a-z 0-9 . _ -`, not `.` or `..`, not starting with `-`.
    fn contract_allows(s: &str) -> bool {
        (1..=128).contains(&s.chars().count())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && s != "."
            && s != ".."
            && !s.starts_with('-')
    }

    /// Strings near the boundary: the id alphabet (dots and hyphens often, lengths up to
    /// 130), `.`, `..`, a leading `-`, and valid ids with a hostile piece put in.
    fn candidates() -> impl Strategy<Value = String> {
        let alphabet = "[A-Za-z0-9._-]";
        let hostile = prop::sample::select(vec![
            "/", "\\", "\0", "\n", " ", "..", "../", "/..", "é", "\u{202e}", "\u{ff0e}", "%2e",
            "*", "$", "~", ":", "\u{7f}",
        ]);
        prop_oneof![
            prop::sample::select(vec![".", "..", "...", "-", "--", "-.", ".-", "_", "a"])
                .prop_map(str::to_owned),
            proptest::string::string_regex(&format!("{alphabet}{{0,130}}")).unwrap(),
            proptest::string::string_regex("[.-]{1,4}").unwrap(),
            // lengths at the limit
            (
                126usize..=130,
                proptest::string::string_regex("[.a-]").unwrap()
            )
                .prop_map(|(n, c)| c.repeat(n)),
            (
                "-|\\.|\\.\\.|",
                proptest::string::string_regex(&format!("{alphabet}{{0,8}}")).unwrap()
            )
                .prop_map(|(a, b)| a + &b),
            (
                proptest::string::string_regex(&format!("{alphabet}{{0,6}}")).unwrap(),
                hostile,
                proptest::string::string_regex(&format!("{alphabet}{{0,6}}")).unwrap(),
            )
                .prop_map(|(a, h, b)| format!("{a}{h}{b}")),
        ]
    }

    #[test]
    fn the_hostile_edges_are_refused_and_their_neighbours_accepted() {
        for bad in [
            ".", "..", "-", "-a", "--help", "../a", "a/b", "", " a", "a\0",
        ] {
            assert!(RepoName::new(bad).is_err(), "{bad:?}");
            assert!(WorkItem::new(bad).is_err(), "{bad:?}");
        }
        for ok in ["...", ".a", "a.", "a-", "_", "._", "..."] {
            assert!(RepoName::new(ok).is_ok(), "{ok:?}");
            assert!(WorkItem::new(ok).is_ok(), "{ok:?}");
        }
        assert!(RepoName::new(&"x".repeat(128)).is_ok());
        assert!(RepoName::new(&"x".repeat(129)).is_err());
    }

    proptest! {
        /// Checked against dropping the `..` check, the leading `-` check and a limit of 129.
        #[test]
        fn exactly_the_contracts_identifiers_are_accepted(s in candidates()) {
            let expected = contract_allows(&s);
            prop_assert_eq!(RepoName::new(&s).is_ok(), expected, "{:?}", s);
            prop_assert_eq!(WorkItem::new(&s).is_ok(), expected, "{:?}", s);
            if let Ok(id) = WorkItem::new(&s) {
                let path = std::path::Path::new(id.as_str());
                let mut parts = path.components();
                prop_assert!(matches!(parts.next(), Some(std::path::Component::Normal(_))), "{:?}", s);
                prop_assert!(parts.next().is_none(), "{:?}", s);
                prop_assert_eq!(id.as_str(), s.as_str());
            }
        }

        #[test]
        fn no_input_panics_or_is_accepted_outside_the_rule(s in "\\PC{0,140}") {
            prop_assert_eq!(RepoName::new(&s).is_ok(), contract_allows(&s), "{:?}", s);
        }
    }
}
