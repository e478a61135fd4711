//! Deciding: what a verdict leads to, given what the window knows about its target.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::Classification;
use crate::config::{CommandLine, RollbackMode, Scope};
use crate::id::RepoName;
use crate::traits::ContainerInfo;
pub use crate::vocabulary::ActionKind;
use crate::vocabulary::Verdict;

/// How a rollback is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RollbackPlan {
    /// `ORCH_POST_DEPLOY_ROLLBACK_CMD`: that program owns the rollback target.
    Command {
        /// The program and its arguments.
        command: CommandLine,
    },
    /// The built-in docker rollback of `container` to `previous_image`.
    Docker {
        /// The target container.
        container: String,
        /// The image to go back to.
        previous_image: String,
        /// Its id on the engine.
        previous_image_id: String,
    },
    /// The built-in rollback of the Swarm service `service` to `previous_image`
    /// (`docker service update --rollback` or `--image`).
    Service {
        /// The target service.
        service: String,
        /// The image to go back to.
        previous_image: String,
        /// Its id on the engine.
        previous_image_id: String,
    },
}

/// Why a DEGRADED verdict only alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertOnlyReason {
    /// The target is the orchestrator's own repo, container or service, or a service whose
    /// tasks include its own container.
    SelfHosting {
        /// What matched: the repo, the container or the service.
        matched: String,
    },
    /// `ORCH_POST_DEPLOY_ROLLBACK=alert-only`.
    ShadowMode,
    /// This window already rolled back (or tried to).
    AlreadyRolledBack,
    /// The window's state was damaged: it cannot know what it already did.
    StateDamaged,
    /// No previous image, no rollback command.
    NothingToRollBackTo,
    /// No container is named, so the built-in rollback has no target.
    NoContainer,
    /// The previous image is not on the engine.
    PreviousImageMissing {
        /// The image.
        image: String,
    },
    /// The previous image of a Swarm service is neither on the engine nor in its registry.
    PreviousImageUnavailable {
        /// The image.
        image: String,
    },
    /// The container already runs the previous image.
    AlreadyOnPreviousImage {
        /// The image.
        image: String,
    },
    /// The engine could not be asked about the images (the monitor's own fault).
    ImagesUnknown {
        /// Why.
        detail: String,
    },
}

impl fmt::Display for AlertOnlyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SelfHosting { matched } => {
                write!(
                    f,
                    "{matched} is the orchestrator's own: it is never rolled back"
                )
            }
            Self::ShadowMode => {
                f.write_str("alert-only mode (ORCH_POST_DEPLOY_ROLLBACK=alert-only)")
            }
            Self::AlreadyRolledBack => f.write_str("this window already rolled back once"),
            Self::StateDamaged => {
                f.write_str("the window's state was damaged, so it takes no action")
            }
            Self::NothingToRollBackTo => {
                f.write_str("nothing to roll back to (no previous image, no rollback command)")
            }
            Self::NoContainer => {
                f.write_str("no container named, so there is nothing to roll back")
            }
            Self::PreviousImageMissing { image } => {
                write!(f, "previous image {image} is not on the engine")
            }
            Self::PreviousImageUnavailable { image } => write!(
                f,
                "previous image {image} is neither on the engine nor in its registry"
            ),
            Self::AlreadyOnPreviousImage { image } => {
                write!(f, "the container already runs the previous image {image}")
            }
            Self::ImagesUnknown { detail } => write!(f, "cannot check the images ({detail})"),
        }
    }
}

/// What to do about a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// HEALTHY: nothing to do.
    None,
    /// Roll back, this way.
    Rollback {
        /// How.
        plan: RollbackPlan,
    },
    /// Report only, for this reason.
    AlertOnly {
        /// Why no rollback.
        reason: AlertOnlyReason,
    },
}

impl Action {
    /// The contract's word for it.
    #[must_use]
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::None => ActionKind::None,
            Self::Rollback { .. } => ActionKind::Rollback,
            Self::AlertOnly { .. } => ActionKind::AlertOnly,
        }
    }
}

/// What the engine says about the previous image, for the built-in rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ImageCheck {
    /// Not asked (no previous image, or a rollback command owns the target).
    NotChecked,
    /// The previous image is on the engine with this id (for a service: or its registry
    /// answers for it, with the id of its image config); the target runs `current_id`.
    Present {
        /// The previous image's id.
        previous_id: String,
        /// The id of the image the container runs, when known.
        current_id: Option<String>,
    },
    /// The previous image is not on the engine (for a service: nor in its registry).
    Absent,
    /// The engine could not be asked.
    Unknown {
        /// Why.
        detail: String,
    },
}

/// Everything `decide_action` needs to know about the target and the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The target repo.
    pub repo: RepoName,
    /// The target container, if one was named (a name, an id or an id prefix).
    pub container: Option<String>,
    /// The target Swarm service, if one was named instead (a name or an id).
    pub service: Option<String>,
    /// What the engine reported about the target (at arm, at this tick): the container's id
    /// and name, or the service's and those of its task containers, for the self-hosting
    /// guard. Empty when it could not be inspected.
    pub inspected: Vec<ContainerInfo>,
    /// The previous image, if one was named.
    pub previous_image: Option<String>,
    /// The engine's word on it.
    pub image_check: ImageCheck,
    /// The monitor's scope (for the self-hosting guard).
    pub scope: Scope,
    /// `auto` or `alert-only`, as read at this tick.
    pub mode: RollbackMode,
    /// The rollback command, as read at this tick.
    pub rollback_cmd: Option<CommandLine>,
    /// This window already rolled back, or tried to.
    pub rolled_back: bool,
    /// This window's state was damaged.
    pub state_damaged: bool,
}

impl Facts {
    /// Whether the target is the orchestrator itself, and what matched.
    ///
    /// The self container may be configured by name, id or id prefix, and the target named
    /// by any of those too (docker takes all three): the target is the self container when
    /// the configured names are the same container, or when the self container is the name,
    /// the id or an id prefix of the target as the engine reported it.
    #[must_use]
    pub fn self_hosting(&self) -> Option<String> {
        let me = self.scope.self_container.as_str();
        if self.repo == self.scope.self_repo {
            return Some(format!("repo {}", self.repo));
        }
        if let Some(service) = &self.service {
            let me = self.scope.self_service.as_str();
            let named = same_container(service, me);
            let inspected = self.inspected.iter().any(|info| {
                (!info.name.is_empty() && info.name == me)
                    || (!info.id.is_empty() && is_id_prefix(me, &info.id))
            });
            if named || inspected {
                return Some(format!("service {me}"));
            }
        }
        let named = self
            .container
            .as_deref()
            .is_some_and(|c| same_container(c, me));
        let inspected = self.inspected.iter().any(|info| {
            (!info.name.is_empty() && same_container(&info.name, me))
                || (!info.id.is_empty() && is_id_prefix(me, &info.id))
        });
        (named || inspected).then(|| format!("container {me}"))
    }
}

/// Whether two ways of naming a container can name the same one, without asking the engine:
/// the same name (docker's leading `/` aside), or two ids of which one is a prefix of the
/// other. Leaning to "the same" is the safe side: it only keeps a rollback from running.
fn same_container(a: &str, b: &str) -> bool {
    let (a, b) = (
        a.strip_prefix('/').unwrap_or(a),
        b.strip_prefix('/').unwrap_or(b),
    );
    a == b || is_id_prefix(a, b) || is_id_prefix(b, a)
}

/// Whether `prefix` is a container id or a prefix of the id `id` (docker resolves both).
fn is_id_prefix(prefix: &str, id: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id.starts_with(prefix)
}

/// A decision: the action and when it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What to do.
    pub action: Action,
    /// When it was decided.
    pub at: DateTime<Utc>,
}

/// Decides what a classification leads to. HEALTHY: nothing. DEGRADED: ROLLBACK, unless
/// the target is the orchestrator's own, the mode is alert-only, the window already rolled
/// back or its state is damaged, or there is nothing (valid) to roll back to: then
/// ALERT_ONLY, with the reason.
///
/// Pure: a decision is data, carried out only by the orchestration step.
#[must_use]
pub fn decide_action(
    classification: &Classification,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Decision {
    let action = match classification.verdict {
        Verdict::Healthy => Action::None,
        Verdict::Degraded => match degraded(facts) {
            Ok(plan) => Action::Rollback { plan },
            Err(reason) => Action::AlertOnly { reason },
        },
    };
    Decision { action, at: now }
}

/// The rollback the guards allow for these facts, or why none: the one path of both an
/// automatic rollback and an operator's.
pub(crate) fn plan_rollback(facts: &Facts) -> Result<RollbackPlan, AlertOnlyReason> {
    degraded(facts)
}

fn degraded(facts: &Facts) -> Result<RollbackPlan, AlertOnlyReason> {
    if let Some(matched) = facts.self_hosting() {
        return Err(AlertOnlyReason::SelfHosting { matched });
    }
    if facts.state_damaged {
        return Err(AlertOnlyReason::StateDamaged);
    }
    if facts.mode == RollbackMode::AlertOnly {
        return Err(AlertOnlyReason::ShadowMode);
    }
    if facts.rolled_back {
        return Err(AlertOnlyReason::AlreadyRolledBack);
    }
    if let Some(command) = &facts.rollback_cmd {
        return Ok(RollbackPlan::Command {
            command: command.clone(),
        });
    }
    let Some(previous_image) = facts.previous_image.clone() else {
        return Err(AlertOnlyReason::NothingToRollBackTo);
    };
    let target = match (&facts.container, &facts.service) {
        (Some(container), _) => Target::Container(container.clone()),
        (None, Some(service)) => Target::Service(service.clone()),
        (None, None) => return Err(AlertOnlyReason::NoContainer),
    };
    match &facts.image_check {
        ImageCheck::Present {
            previous_id,
            current_id,
        } => {
            if current_id.as_deref() == Some(previous_id.as_str()) {
                Err(AlertOnlyReason::AlreadyOnPreviousImage {
                    image: previous_image,
                })
            } else {
                let previous_image_id = previous_id.clone();
                Ok(match target {
                    Target::Container(container) => RollbackPlan::Docker {
                        container,
                        previous_image,
                        previous_image_id,
                    },
                    Target::Service(service) => RollbackPlan::Service {
                        service,
                        previous_image,
                        previous_image_id,
                    },
                })
            }
        }
        ImageCheck::Absent => Err(match target {
            Target::Container(_) => AlertOnlyReason::PreviousImageMissing {
                image: previous_image,
            },
            Target::Service(_) => AlertOnlyReason::PreviousImageUnavailable {
                image: previous_image,
            },
        }),
        ImageCheck::Unknown { detail } => Err(AlertOnlyReason::ImagesUnknown {
            detail: detail.clone(),
        }),
        ImageCheck::NotChecked => Err(AlertOnlyReason::ImagesUnknown {
            detail: "the previous image was not checked".to_owned(),
        }),
    }
}

/// What the built-in rollback acts on.
enum Target {
    Container(String),
    Service(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{Rule, classify};
    use crate::config::{Config, WindowSettings};
    use crate::signals::Observations;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn degraded_now() -> Classification {
        let obs = Observations {
            consecutive_failures: 3,
            ..Observations::default()
        };
        classify(&obs, &WindowSettings::default(), now())
    }

    fn scope() -> Scope {
        Config::from_vars([("ORCH_POST_DEPLOY_REPOS", "api,orchestrator")])
            .unwrap()
            .scope
    }

    fn base() -> Facts {
        Facts {
            repo: RepoName::new("api").unwrap(),
            container: Some("api-1".to_owned()),
            service: None,
            inspected: Vec::new(),
            previous_image: Some("api:1.0".to_owned()),
            image_check: ImageCheck::Present {
                previous_id: "sha256:old".into(),
                current_id: Some("sha256:new".into()),
            },
            scope: scope(),
            mode: RollbackMode::Auto,
            rollback_cmd: None,
            rolled_back: false,
            state_damaged: false,
        }
    }

    #[test]
    fn rolls_back_a_degraded_target_with_a_previous_image() {
        let d = decide_action(&degraded_now(), &base(), now());
        assert_eq!(d.action.kind(), ActionKind::Rollback);
    }

    #[test]
    fn healthy_is_none() {
        let healthy = classify(&Observations::default(), &WindowSettings::default(), now());
        assert!(matches!(healthy.rule, Rule::WithinLimits { .. }));
        assert_eq!(decide_action(&healthy, &base(), now()).action, Action::None);
    }

    #[test]
    fn alert_only_reasons() {
        let cases: Vec<Facts> = vec![
            Facts {
                repo: RepoName::new("orchestrator").unwrap(),
                ..base()
            },
            Facts {
                container: Some("orchestrator".into()),
                ..base()
            },
            Facts {
                mode: RollbackMode::AlertOnly,
                ..base()
            },
            Facts {
                rolled_back: true,
                ..base()
            },
            Facts {
                state_damaged: true,
                ..base()
            },
            Facts {
                previous_image: None,
                ..base()
            },
            Facts {
                container: None,
                ..base()
            },
            Facts {
                image_check: ImageCheck::Absent,
                ..base()
            },
            Facts {
                container: None,
                service: Some("api".into()),
                image_check: ImageCheck::Absent,
                ..base()
            },
            Facts {
                image_check: ImageCheck::Present {
                    previous_id: "sha256:old".into(),
                    current_id: Some("sha256:old".into()),
                },
                ..base()
            },
            Facts {
                image_check: ImageCheck::Unknown {
                    detail: "docker not found".into(),
                },
                ..base()
            },
        ];
        let text: Vec<String> = cases
            .iter()
            .map(|f| match decide_action(&degraded_now(), f, now()).action {
                Action::AlertOnly { reason } => reason.to_string(),
                other => format!("unexpected {other:?}"),
            })
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    const SELF_ID: &str = "3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";

    fn engine_says(id: &str, name: &str) -> ContainerInfo {
        ContainerInfo {
            id: id.to_owned(),
            name: name.to_owned(),
            image_id: "sha256:new".to_owned(),
            image_ref: "api:1.1".to_owned(),
            running: true,
        }
    }

    fn self_container(value: &str) -> Scope {
        Config::from_vars([
            ("ORCH_POST_DEPLOY_REPOS", "api"),
            ("ORCH_POST_DEPLOY_SELF_CONTAINER", value),
        ])
        .unwrap()
        .scope
    }

    /// The self container and the target may each be named by name, id or id prefix: the
    /// guard knows them for the same container from what the engine reported.
    #[test]
    fn the_self_container_is_known_by_name_id_or_id_prefix() {
        let orchestrator = engine_says(SELF_ID, "orchestrator");
        let cases = [
            // (SELF_CONTAINER, --container, what the engine reported about the target)
            ("orchestrator", "3f2a1b9c8d7e", vec![orchestrator.clone()]),
            ("orchestrator", SELF_ID, vec![orchestrator.clone()]),
            (
                "orchestrator",
                "3f2a",
                vec![engine_says(SELF_ID, "/orchestrator")],
            ),
            ("3f2a1b9c8d7e", "orchestrator", vec![orchestrator.clone()]),
            (SELF_ID, "orchestrator", vec![orchestrator.clone()]),
            ("3f2a1b9c8d7e", "3f2a1b", vec![]),
            ("3f2a1b", "3f2a1b9c8d7e", vec![]),
            // the tick's inspect knows it, though arm's did not (e.g. docker was down)
            (
                "orchestrator",
                "3f2a1b9c8d7e",
                vec![engine_says("", ""), orchestrator.clone()],
            ),
        ];
        for (me, target, inspected) in cases {
            let facts = Facts {
                container: Some(target.to_owned()),
                inspected,
                scope: self_container(me),
                ..base()
            };
            let d = decide_action(&degraded_now(), &facts, now());
            assert!(
                matches!(
                    d.action,
                    Action::AlertOnly {
                        reason: AlertOnlyReason::SelfHosting { .. }
                    }
                ),
                "{me} / {target}: {:?}",
                d.action
            );
        }
        // Another container is still rolled back, whichever way either is named.
        for (me, target, inspected) in [
            (
                "orchestrator",
                "api-1",
                vec![engine_says("9999aaaa", "api-1")],
            ),
            (
                "3f2a1b9c8d7e",
                "api-1",
                vec![engine_says("9999aaaa", "api-1")],
            ),
            (
                "orchestrator",
                "9999aa",
                vec![engine_says("9999aaaa", "api-1")],
            ),
            (
                "3f2a1b9c8d7e",
                "9999aa",
                vec![engine_says("9999aaaa", "api-1")],
            ),
            ("orchestrator", "api-1", vec![engine_says("", "")]),
        ] {
            let facts = Facts {
                container: Some(target.to_owned()),
                inspected,
                scope: self_container(me),
                ..base()
            };
            let d = decide_action(&degraded_now(), &facts, now());
            assert_eq!(d.action.kind(), ActionKind::Rollback, "{me} / {target}");
        }
    }

    fn service_facts(service: &str, tasks: Vec<ContainerInfo>) -> Facts {
        let mut inspected = vec![engine_says("svc0123456789", service)];
        inspected.extend(tasks);
        Facts {
            container: None,
            service: Some(service.to_owned()),
            inspected,
            ..base()
        }
    }

    #[test]
    fn a_degraded_service_is_rolled_back_by_a_service_plan() {
        let d = decide_action(&degraded_now(), &service_facts("api", vec![]), now());
        assert_eq!(
            d.action,
            Action::Rollback {
                plan: RollbackPlan::Service {
                    service: "api".into(),
                    previous_image: "api:1.0".into(),
                    previous_image_id: "sha256:old".into(),
                }
            }
        );
    }

    /// The self service by name (as named or as the engine reported it), and any service
    /// whose tasks include the self container, only alert.
    #[test]
    fn the_self_service_and_a_service_running_the_self_container_only_alert() {
        let self_task = engine_says(SELF_ID, "orch.1.abc");
        let other_task = engine_says("9999aaaa", "api.1.xyz");
        let by_id = Facts {
            // named by its id; the engine says it is the self service
            inspected: vec![engine_says("svc0123456789", "orchestrator")],
            ..service_facts("svc0123", vec![])
        };
        let cases = [
            (
                "self service by name",
                service_facts("orchestrator", vec![]),
            ),
            ("self service by id", by_id),
            (
                "a task is the self container",
                Facts {
                    scope: self_container(&SELF_ID[..12]),
                    ..service_facts("api", vec![other_task.clone(), self_task])
                },
            ),
        ];
        for (what, facts) in cases {
            let d = decide_action(&degraded_now(), &facts, now());
            assert!(
                matches!(
                    d.action,
                    Action::AlertOnly {
                        reason: AlertOnlyReason::SelfHosting { .. }
                    }
                ),
                "{what}: {:?}",
                d.action
            );
        }
        let mut scope = scope();
        scope.self_service = "stack_orchestrator".into();
        let facts = Facts {
            scope,
            ..service_facts("stack_orchestrator", vec![])
        };
        assert!(facts.self_hosting().is_some());
        let d = decide_action(
            &degraded_now(),
            &service_facts("api", vec![other_task]),
            now(),
        );
        assert_eq!(d.action.kind(), ActionKind::Rollback);
    }

    #[test]
    fn a_rollback_command_owns_the_target_without_an_image_check() {
        let f = Facts {
            previous_image: None,
            container: None,
            image_check: ImageCheck::NotChecked,
            rollback_cmd: CommandLine::parse("./rollback.sh --now"),
            ..base()
        };
        assert_eq!(
            decide_action(&degraded_now(), &f, now()).action.kind(),
            ActionKind::Rollback
        );
    }

    fn any_facts() -> impl Strategy<Value = Facts> {
        (
            prop::sample::select(vec!["api", "orchestrator", "web"]),
            prop::option::of(prop::sample::select(vec!["api-1", "orchestrator", "web-1"])),
            prop::option::of(prop::sample::select(vec!["api:1.0", "sha256:old"])),
            prop_oneof![
                Just(ImageCheck::NotChecked),
                Just(ImageCheck::Absent),
                Just(ImageCheck::Unknown { detail: "x".into() }),
                prop::option::of(prop::sample::select(vec!["sha256:old", "sha256:new"])).prop_map(
                    |current| {
                        ImageCheck::Present {
                            previous_id: "sha256:old".into(),
                            current_id: current.map(Into::into),
                        }
                    }
                ),
            ],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(repo, container, previous, check, shadow, cmd, rolled_back, damaged)| Facts {
                    repo: RepoName::new(repo).unwrap(),
                    container: container.map(Into::into),
                    service: None,
                    inspected: Vec::new(),
                    previous_image: previous.map(Into::into),
                    image_check: check,
                    scope: scope(),
                    mode: if shadow {
                        RollbackMode::AlertOnly
                    } else {
                        RollbackMode::Auto
                    },
                    rollback_cmd: cmd.then(|| CommandLine::parse("undo").unwrap()),
                    rolled_back,
                    state_damaged: damaged,
                },
            )
    }

    proptest! {
        #[test]
        fn never_rolls_back_where_the_contract_forbids(facts in any_facts(), failures in 0u32..6) {
            let obs = Observations { consecutive_failures: failures, ..Observations::default() };
            let c = classify(&obs, &WindowSettings::default(), now());
            let d = decide_action(&c, &facts, now());
            if d.action.kind() == ActionKind::Rollback {
                prop_assert_eq!(c.verdict, Verdict::Degraded);
                prop_assert!(facts.self_hosting().is_none());
                prop_assert!(facts.repo.as_str() != "orchestrator");
                prop_assert!(facts.container.as_deref() != Some("orchestrator"));
                prop_assert_eq!(facts.mode, RollbackMode::Auto);
                prop_assert!(!facts.rolled_back);
                prop_assert!(!facts.state_damaged);
                prop_assert!(facts.rollback_cmd.is_some() || facts.previous_image.is_some());
            }
            if let Action::Rollback { plan: RollbackPlan::Docker { container, .. } } = &d.action {
                prop_assert_ne!(container.as_str(), "orchestrator");
                prop_assert!(facts.rollback_cmd.is_none());
                let is_current = matches!(
                    &facts.image_check,
                    ImageCheck::Present { previous_id, current_id } if current_id.as_deref() == Some(previous_id.as_str())
                );
                prop_assert!(!is_current);
            }
            if c.verdict == Verdict::Healthy {
                prop_assert_eq!(d.action, Action::None);
            } else {
                prop_assert_ne!(d.action.kind(), ActionKind::None);
            }
        }
    }
}
