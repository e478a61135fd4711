//! The operational switches as they are now, shared by the adapters that depend on them.
//!
//! The contract reads the switches (`ENABLED`, `ROLLBACK`, `ROLLBACK_CMD`, `WEBHOOK_URL`,
//! `DOCKER`, `COMPOSE`) afresh at every tick. A [`Switchboard`] wraps a host's [`VarSource`]
//! and is one itself: each time the driver asks it for the variables, it also parses the
//! switches from them and, when they parse, keeps them. The docker CLI adapter (its `docker`
//! and `compose` programs) and the webhook sink (its URL) read them from it at every call, so a
//! switch flipped between two ticks is seen by the next one.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use post_deploy_core::RollbackMode;
use post_deploy_core::config::{ComposeProgram, SecretUrl, VarSource};
use post_deploy_core::{Config, ConfigError, Switches};

use crate::env::ProcessEnv;

/// The current switches, and where they are read from. Cheap to clone: clones share them.
#[derive(Clone)]
pub struct Switchboard {
    current: Arc<RwLock<Switches>>,
    /// `None`: switches fixed at construction (an adapter built on its own).
    source: Option<Arc<dyn VarSource + Send + Sync>>,
}

impl fmt::Debug for Switchboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Switchboard")
            .field("current", &self.switches())
            .field("fixed", &self.source.is_none())
            .finish()
    }
}

impl Switchboard {
    /// Starts from `switches` (those of the host's [`Config`]) and re-reads them from `source`
    /// whenever [`VarSource::vars`] or [`Switchboard::refresh`] is called.
    pub fn new(switches: Switches, source: impl VarSource + Send + Sync + 'static) -> Self {
        Self {
            current: Arc::new(RwLock::new(switches)),
            source: Some(Arc::new(source)),
        }
    }

    /// Starts from `switches` and re-reads them from the process environment ([`ProcessEnv`]).
    #[must_use]
    pub fn from_env(switches: Switches) -> Self {
        Self::new(switches, ProcessEnv)
    }

    /// `switches`, never re-read: for an adapter built on its own. Its [`VarSource::vars`] is
    /// empty, so it is not one to give a driver.
    pub(crate) fn fixed(switches: Switches) -> Self {
        Self {
            current: Arc::new(RwLock::new(switches)),
            source: None,
        }
    }

    /// A fixed board with the defaults but for `docker`, `compose` and `webhook_url`.
    pub(crate) fn fixed_parts(
        docker: String,
        compose: ComposeProgram,
        webhook_url: Option<SecretUrl>,
    ) -> Self {
        Self::fixed(Switches {
            enabled: true,
            rollback: RollbackMode::Auto,
            rollback_cmd: None,
            webhook_url,
            docker,
            compose,
            metrics_file: None,
        })
    }

    /// The switches as last read.
    #[must_use]
    pub fn switches(&self) -> Switches {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the source now and keeps the switches when they parse.
    ///
    /// # Errors
    /// The [`ConfigError`] of a switch the source gives a bad value; the switches as last
    /// read stay.
    pub fn refresh(&self) -> Result<Switches, ConfigError> {
        let vars = self.source.as_ref().map(|s| s.vars()).unwrap_or_default();
        self.take(&vars)
    }

    /// Parses `vars` and keeps the switches when they parse; a fixed board keeps its own.
    fn take(&self, vars: &[(String, String)]) -> Result<Switches, ConfigError> {
        if self.source.is_none() {
            return Ok(self.switches());
        }
        let switches = Config::switches_from_vars(vars.iter().map(|(k, v)| (k, v)))?;
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        current.clone_from(&switches);
        Ok(switches)
    }

    /// The docker CLI program.
    pub(crate) fn docker(&self) -> String {
        self.read(|s| s.docker.clone())
    }

    /// The compose program.
    pub(crate) fn compose(&self) -> ComposeProgram {
        self.read(|s| s.compose.clone())
    }

    /// Where alerts are POSTed.
    pub(crate) fn webhook_url(&self) -> Option<SecretUrl> {
        self.read(|s| s.webhook_url.clone())
    }

    fn read<T>(&self, f: impl FnOnce(&Switches) -> T) -> T {
        f(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl VarSource for Switchboard {
    /// The source's variables, as they are now; the switches they give are kept when they
    /// parse (a bad value leaves the switches as last read, and the driver, parsing the same
    /// variables, reports it).
    fn vars(&self) -> Vec<(String, String)> {
        let vars = self.source.as_ref().map(|s| s.vars()).unwrap_or_default();
        let _ = self.take(&vars);
        vars
    }
}
