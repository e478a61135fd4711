//! Compose: the service a container's labels name, its config files, and the compose
//! rollback (re-tag the previous image as the service's image reference, recreate the service
//! alone).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use post_deploy_core::ControlError;
use post_deploy_core::config::ComposeProgram;

use super::DockerCli;
use super::exec::{MUTATE_TIMEOUT, READ_TIMEOUT};
use super::inspect::{ContainerJson, ps_rows};
use super::self_guard::SelfIdentity;
use crate::process::Invocation;

/// `compose up` of one service.
pub(super) const COMPOSE_TIMEOUT: Duration = Duration::from_secs(300);

/// The labels compose puts on the containers it manages.
pub(super) const LABEL_PROJECT: &str = "com.docker.compose.project";
pub(super) const LABEL_SERVICE: &str = "com.docker.compose.service";
pub(super) const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub(super) const LABEL_CONFIG_FILES: &str = "com.docker.compose.project.config_files";

impl DockerCli {
    pub(super) fn compose_prefix(&self) -> Vec<String> {
        if let ComposeProgram::Command(cmd) = self.board.compose() {
            return std::iter::once(cmd.program().to_owned())
                .chain(cmd.args().iter().cloned())
                .collect();
        }
        let plugin = self
            .capture(
                "docker compose version",
                &self.docker_call(["compose", "version"], READ_TIMEOUT),
            )
            .is_ok_and(|c| c.status.success());
        if plugin {
            vec![self.board.docker(), "compose".to_owned()]
        } else {
            vec!["docker-compose".to_owned()]
        }
    }

    /// Compose: tag the previous image as the service's image reference, then recreate the
    /// service alone.
    pub(super) fn compose_rollback(
        &self,
        me: &SelfIdentity,
        target: &ContainerJson,
        service: &ComposeService,
        previous_image: &str,
        previous_id: &str,
    ) -> Result<(), ControlError> {
        let what = format!(
            "compose rollback of service {} in project {}",
            service.service, service.project
        );
        if let Some(detail) = service.refusal() {
            return Err(ControlError::Failed { what, detail });
        }
        // `up --force-recreate SERVICE` recreates every container of the service.
        let members = self.service_members(service)?;
        if let Some(hit) = members.iter().find(|m| me.names(m)) {
            return Err(ControlError::SelfContainer(hit.clone()));
        }
        let image_ref = target.config.image.as_str();
        if image_ref.is_empty() || image_ref.starts_with("sha256:") || image_ref.starts_with('-') {
            return Err(ControlError::Failed {
                what,
                detail: format!("the service's image reference {image_ref:?} cannot be re-tagged"),
            });
        }
        let files = resolve_config_files(service, |p| p.is_file()).map_err(|detail| {
            ControlError::Failed {
                what: what.clone(),
                detail,
            }
        })?;
        let prefix = self.compose_prefix();
        let (program, lead) = prefix
            .split_first()
            .map_or(("docker-compose", &[][..]), |(p, l)| (p.as_str(), l));
        // Compose must answer before the image reference moves.
        let version = Invocation::new(program, READ_TIMEOUT)
            .args(lead.iter().cloned())
            .args(["version"]);
        self.succeed(&format!("`{}`", version.display()), &version)?;
        let tag = |image: &str| {
            self.mutate(
                me,
                &[],
                &format!("docker tag {image} {image_ref}"),
                &self.docker_call(["tag", "--", image, image_ref], MUTATE_TIMEOUT),
            )
        };
        tag(previous_image)?;
        let mut inv = Invocation::new(program, COMPOSE_TIMEOUT)
            .args(lead.iter().cloned())
            .args(compose_up_args(service, &files));
        inv.cwd = service
            .working_dir
            .as_ref()
            .map(PathBuf::from)
            .filter(|d| d.is_dir());
        let mut touches: Vec<&str> = members.iter().map(String::as_str).collect();
        touches.push(target.short_name());
        if let Err(e) = self.mutate(me, &touches, &format!("`{}`", inv.display()), &inv) {
            // The reference goes back to the image it named, as before the rollback.
            let note = match tag(&target.image) {
                Ok(_) => format!("{image_ref} names {} again", target.image),
                Err(t) => format!("putting {image_ref} back failed too: {t}"),
            };
            return Err(ControlError::Failed {
                what,
                detail: format!("{e}; {note}"),
            });
        }
        // Compose keeps the container's name; look it up again by the service otherwise.
        let now = match self.inspect_json(target.short_name()) {
            Ok(c) if c.config.labels.get(LABEL_SERVICE) == Some(&service.service) => c,
            _ => {
                let members = self.service_members(service)?;
                let first = members.first().ok_or_else(|| ControlError::Failed {
                    what: what.clone(),
                    detail: "compose left no container for the service".to_owned(),
                })?;
                self.inspect_json(first)?
            }
        };
        if now.image != previous_id {
            return Err(ControlError::Failed {
                what,
                detail: format!(
                    "compose recreated {} on {} ({}), not on the previous image {previous_image} ({previous_id}); \
                     does the compose file's image reference depend on variables not set here?",
                    now.short_name(),
                    now.config.image,
                    now.image
                ),
            });
        }
        if !now.state.running {
            return Err(ControlError::Failed {
                what,
                detail: format!("{} is not running after compose up", now.short_name()),
            });
        }
        Ok(())
    }

    /// Every container (ids and names) of a compose service.
    pub(super) fn service_members(
        &self,
        service: &ComposeService,
    ) -> Result<Vec<String>, ControlError> {
        let what = format!(
            "listing the containers of compose service {}",
            service.service
        );
        let c = self.succeed(
            &what,
            &self.docker_call(
                [
                    "ps".to_owned(),
                    "--all".to_owned(),
                    "--no-trunc".to_owned(),
                    "--filter".to_owned(),
                    format!("label={LABEL_PROJECT}={}", service.project),
                    "--filter".to_owned(),
                    format!("label={LABEL_SERVICE}={}", service.service),
                    "--format".to_owned(),
                    "{{json .}}".to_owned(),
                ],
                READ_TIMEOUT,
            ),
        )?;
        let mut members = Vec::new();
        for row in ps_rows(&what, &c.stdout)? {
            members.push(row.id);
            members.extend(
                row.names
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(members)
    }
}

/// What the compose labels say about a container's service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ComposeService {
    pub(super) project: String,
    pub(super) service: String,
    pub(super) working_dir: Option<String>,
    pub(super) config_files: Vec<String>,
}

impl ComposeService {
    pub(super) fn from_labels(labels: &BTreeMap<String, String>) -> Option<Self> {
        let nonempty = |k: &str| {
            labels
                .get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Some(Self {
            project: nonempty(LABEL_PROJECT)?,
            service: nonempty(LABEL_SERVICE)?,
            working_dir: nonempty(LABEL_WORKING_DIR),
            config_files: nonempty(LABEL_CONFIG_FILES)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Why compose cannot be given these labels: a project or service that reads as an
    /// option (a service `--remove-orphans`) would change what `compose up` does. Compose
    /// itself names neither so; only a container labelled by hand can.
    pub(super) fn refusal(&self) -> Option<String> {
        [("project", &self.project), ("service", &self.service)]
            .into_iter()
            .find(|(_, name)| name.starts_with('-'))
            .map(|(kind, name)| format!("the compose {kind} {name:?} reads as an option"))
    }
}

/// The config files as paths compose can open from anywhere. Compose v2 records absolute
/// paths; v1 records them as given, relative to where it ran, and records as working
/// directory the first file's folder, from which that place can be worked out.
pub(super) fn resolve_config_files(
    service: &ComposeService,
    exists: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, String> {
    let wd = service.working_dir.as_deref().map(Path::new);
    let invoked_from = match (wd, service.config_files.first().map(Path::new)) {
        (Some(wd), Some(first)) if first.is_relative() => {
            let parts: Option<Vec<&std::ffi::OsStr>> = first
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .components()
                .filter(|c| *c != Component::CurDir)
                .map(|c| {
                    if let Component::Normal(p) = c {
                        Some(p)
                    } else {
                        None
                    }
                })
                .collect();
            parts.and_then(|parts| {
                let folder: PathBuf = parts.iter().collect();
                wd.ends_with(&folder)
                    .then(|| wd.ancestors().nth(parts.len()))
                    .flatten()
                    .map(Path::to_path_buf)
            })
        }
        _ => None,
    };
    service
        .config_files
        .iter()
        .map(|f| {
            let f = Path::new(f);
            if f.is_absolute() {
                return Ok(f.to_path_buf());
            }
            let candidates: Vec<PathBuf> = invoked_from
                .iter()
                .map(|base| base.join(f))
                .chain(wd.map(|wd| wd.join(f)))
                .collect();
            candidates
                .iter()
                .find(|p| exists(p))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "compose file {} not found (looked at {})",
                        f.display(),
                        candidates
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect()
}

/// `-p P --project-directory D -f F… up -d --no-deps --force-recreate SERVICE`.
pub(super) fn compose_up_args(service: &ComposeService, files: &[PathBuf]) -> Vec<String> {
    let mut args = vec!["-p".to_owned(), service.project.clone()];
    if let Some(wd) = &service.working_dir {
        args.extend(["--project-directory".to_owned(), wd.clone()]);
    }
    for f in files {
        args.extend(["-f".to_owned(), f.display().to_string()]);
    }
    args.extend(
        [
            "up",
            "-d",
            "--no-deps",
            "--force-recreate",
            service.service.as_str(),
        ]
        .into_iter()
        .map(str::to_owned),
    );
    args
}
