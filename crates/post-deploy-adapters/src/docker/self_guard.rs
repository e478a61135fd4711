//! The self guard: who the orchestrator's own container is, by the names and ids docker
//! would resolve to it, so that no mutating call reaches it.

use post_deploy_core::ContainerInfo;

use super::DockerCli;
use super::inspect::ContainerJson;

/// The orchestrator's own container, as names and ids a reference may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SelfIdentity {
    pub(super) names: Vec<String>,
    pub(super) ids: Vec<String>,
}

impl SelfIdentity {
    /// Whether docker could resolve `reference` to the orchestrator's own container: its
    /// name, its id, or a prefix of its id.
    pub(super) fn names(&self, reference: &str) -> bool {
        let r = reference.strip_prefix('/').unwrap_or(reference);
        !r.is_empty()
            && (self.names.iter().any(|n| n == r)
                || self.ids.iter().any(|id| {
                    id == r || (r.bytes().all(|b| b.is_ascii_hexdigit()) && id.starts_with(r))
                }))
    }

    /// Whether the task container `task` (of any node: this engine may not have it) is the
    /// orchestrator's own: its id is the self container's id as this engine knows it, or the
    /// configured self container is its id, a prefix of its id, or its name.
    pub(super) fn is_task(&self, task: &ContainerInfo) -> bool {
        let id = task.id.as_str();
        let name = task.name.strip_prefix('/').unwrap_or(&task.name);
        let configured = self
            .names
            .iter()
            .map(|me| me.strip_prefix('/').unwrap_or(me));
        let by_name_or_prefix = configured.clone().any(|me| {
            !me.is_empty()
                && (me == name
                    || (!id.is_empty()
                        && me.bytes().all(|b| b.is_ascii_hexdigit())
                        && id.starts_with(&me.to_ascii_lowercase())))
        });
        let by_id = !id.is_empty() && self.ids.iter().any(|me| me == id);
        by_id || by_name_or_prefix || self.names(name) || self.names(id)
    }

    pub(super) fn is(&self, c: &ContainerJson) -> bool {
        self.ids.contains(&c.id) || self.names(c.short_name()) || self.names(&c.id)
    }
}

impl DockerCli {
    /// Who the orchestrator's own container is: its configured name, and its id and name
    /// on the engine when it is there.
    pub(super) fn identity(&self) -> SelfIdentity {
        let mut me = SelfIdentity {
            names: vec![self.self_container.clone()],
            ids: Vec::new(),
        };
        if let Ok(c) = self.inspect_json(&self.self_container) {
            me.names.push(c.short_name().to_owned());
            me.ids.push(c.id);
        }
        me
    }
}
