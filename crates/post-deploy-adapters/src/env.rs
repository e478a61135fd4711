//! The process environment, as a source of `ORCH_POST_DEPLOY_*` variables.

use post_deploy_core::config::{PREFIX, VarSource};

/// The process's own environment, read at every call: the `ORCH_POST_DEPLOY_*` variables
/// only. A name that is not UTF-8 is skipped; a value that is not UTF-8 is passed on with its
/// bad bytes replaced, so that a switch given so is refused by name, or fails visibly, rather
/// than falling back to its default unseen.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok().filter(|k| k.starts_with(PREFIX))?;
                Some((k, v.to_string_lossy().into_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_prefixed_variables_are_read() {
        // The test binary's own environment: whatever it holds, nothing else comes through.
        assert!(ProcessEnv.vars().iter().all(|(k, _)| k.starts_with(PREFIX)));
    }
}
