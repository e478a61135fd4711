//! post-deploy-adapters: the real effects behind `post-deploy-core`'s traits, for every host.
//!
//! The core decides and never touches the outside world; these adapters do, one module per
//! outside system, so a Rust host links them and writes no adapter of its own (the
//! `post-deploy` binary is one such host):
//!
//! - [`http`]: health probes over ureq ([`http::UreqProbe`], a [`post_deploy_core::HttpProbe`]).
//! - [`docker`]: container control over the docker CLI ([`docker::DockerCli`], a
//!   [`post_deploy_core::ContainerControl`]), with the built-in compose and plain-container
//!   rollback.
//! - [`webhook`]: alert delivery to stderr and a webhook ([`webhook::WebhookSink`], an
//!   [`post_deploy_core::AlertSink`]).
//! - [`process`]: child processes, argv only and bounded in time (the docker CLI and rollback
//!   commands run through it).
//! - [`clock`]: the system clock ([`clock::SystemClock`], a [`post_deploy_core::Clock`]), and
//!   the monotonic one.
//! - [`env`](mod@env): the process environment as a source of `ORCH_POST_DEPLOY_*` variables
//!   ([`env::ProcessEnv`], a [`post_deploy_core::config::VarSource`]).
//!
//! And the wiring of them:
//!
//! - [`switchboard`]: the operational switches as they are now ([`Switchboard`]), re-read at
//!   every tick and shared by the docker CLI (its programs) and the webhook sink (its URL).
//! - [`system`]: the whole set for a configuration ([`System`]), whose
//!   [`System::effects`] a [`post_deploy_core::Monitor`] takes.

pub mod clock;
pub mod docker;
pub mod env;
pub mod http;
pub mod process;
pub mod switchboard;
pub mod system;
pub mod webhook;

pub use env::ProcessEnv;
pub use switchboard::Switchboard;
pub use system::System;
