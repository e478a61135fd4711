//! The rollback's derivations from `docker inspect` output, without running anything: for the
//! fuzz target and the replay of its corpus.

use post_deploy_core::ControlError;

use super::compose::{ComposeService, compose_up_args, resolve_config_files};
use super::exec::first_of;
use super::inspect::{ContainerJson, ImageJson};
use super::plan::recreate_plan;
use super::self_guard::SelfIdentity;
use crate::process::{Captured, Status};

/// The orchestrator's own container in [`parse_inspect_for_fuzzing`].
#[doc(hidden)]
pub const FUZZ_SELF_CONTAINER: &str = "orchestrator";
/// The previous image in [`parse_inspect_for_fuzzing`].
#[doc(hidden)]
pub const FUZZ_PREVIOUS_IMAGE: &str = "app:previous";
/// The id `docker create` answers in [`parse_inspect_for_fuzzing`].
#[doc(hidden)]
pub const FUZZ_CREATED_ID: &str = "created-id";

/// Runs `docker inspect` output, however hostile, through everything the built-in rollback
/// derives from it, without running anything: for the fuzz target
/// `fuzz/fuzz_targets/docker_inspect.rs` and the replay of its corpus
/// (`fixtures/fuzz-corpus/docker_inspect/`). Not for anything else.
///
/// `bytes` is read as `docker inspect --type container` output, as [`DockerCli`] reads it:
/// the first element is the rollback's target; a second one, if any, is what inspecting the
/// orchestrator's own container (configured as `orchestrator`) returned. The target is refused
/// as the rollback refuses it. Otherwise the result is every argv, without the program, the
/// rollback would run from it onto the previous image `app:previous`: the plain-container
/// `create …` without the image's defaults, then with the same bytes read as `docker image
/// inspect` output for those defaults, the `network connect … -- NETWORK created-id` calls of
/// each, and, when its labels name a compose service, the `-p PROJECT … up … SERVICE` of the
/// compose rollback.
///
/// # Errors
/// [`ControlError::BadOutput`] for output the adapter refuses (not a JSON array of at least
/// one container, or a container without a name); [`ControlError::SelfContainer`] for the
/// orchestrator's own container; [`ControlError::Failed`] for compose labels the compose
/// rollback refuses.
#[doc(hidden)]
pub fn parse_inspect_for_fuzzing(bytes: &[u8]) -> Result<Vec<Vec<String>>, ControlError> {
    let what = "docker inspect (fuzzing)";
    let output = Captured {
        status: Status::Code(0),
        stdout: bytes.to_vec(),
        stdout_truncated: false,
        stderr_tail: String::new(),
    };
    let target: ContainerJson = first_of(what, &output)?;
    // As `DockerCli::identity` finds the orchestrator's own container.
    let mut me = SelfIdentity {
        names: vec![FUZZ_SELF_CONTAINER.to_owned()],
        ids: Vec::new(),
    };
    if let Some(own) = serde_json::from_slice::<Vec<ContainerJson>>(bytes)
        .ok()
        .and_then(|all| all.into_iter().nth(1))
    {
        me.names.push(own.short_name().to_owned());
        me.ids.push(own.id);
    }
    let name = target.short_name();
    if me.names(name) || me.is(&target) {
        return Err(ControlError::SelfContainer(name.to_owned()));
    }
    if name.is_empty() {
        return Err(ControlError::BadOutput {
            what: what.to_owned(),
            detail: "no name".to_owned(),
        });
    }
    let defaults = first_of::<ImageJson>(what, &output).ok().map(|i| i.config);
    let mut argvs = Vec::new();
    for defaults in [None, defaults.as_ref()] {
        let plan = recreate_plan(&target, defaults, FUZZ_PREVIOUS_IMAGE);
        argvs.push(plan.create);
        argvs.extend(plan.connect.into_iter().map(|mut connect| {
            connect.push(FUZZ_CREATED_ID.to_owned());
            connect
        }));
    }
    if let Some(service) = ComposeService::from_labels(&target.config.labels) {
        if let Some(detail) = service.refusal() {
            return Err(ControlError::Failed {
                what: what.to_owned(),
                detail,
            });
        }
        if let Ok(files) = resolve_config_files(&service, |_| true) {
            argvs.push(compose_up_args(&service, &files));
        }
    }
    Ok(argvs)
}
