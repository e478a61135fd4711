//! Whether a Swarm service's previous image can be pulled: on this engine, or its registry
//! answers for it. On a swarm of several nodes the nodes pull the image of a service's spec
//! from its registry, so a rollback to a registry image need not find it on this engine.
//!
//! The registry is asked through the docker CLI (`docker manifest inspect --verbose`): it
//! uses the CLI's own logins and credential helpers, so no credential passes through this
//! process, and it speaks every registry's token dance. The CLI does not read the engine's
//! insecure registries, so `--insecure` is passed exactly when the engine trusts the image's
//! registry as insecure (`docker info`'s `RegistryConfig`): the check then reaches the
//! registry the way the nodes do. The answer's id is that of the image's config, which is
//! the id the image has on an engine once pulled; for a manifest list, that of the entry of
//! this engine's platform.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use post_deploy_core::ControlError;
use serde::Deserialize;

use super::DockerCli;
use super::exec::{OUTPUT_LIMIT, READ_TIMEOUT, failed};
use super::inspect::nullable;

/// How long the registry may take to answer for one image.
pub(super) const REGISTRY_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest image reference asked about (docker's own limit on a name is 255 bytes; a tag
/// and a digest add theirs).
const MAX_REFERENCE: usize = 512;

/// `docker info`'s `RegistryConfig`, the parts read here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct RegistryConfigJson {
    #[serde(rename = "InsecureRegistryCIDRs", deserialize_with = "nullable")]
    pub(super) insecure_cidrs: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub(super) index_configs: BTreeMap<String, IndexConfigJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct IndexConfigJson {
    pub(super) secure: bool,
}

/// What this engine says about registries and its platform.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct EngineJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) registry: RegistryConfigJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) os: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) arch: String,
}

/// One entry of `docker manifest inspect --verbose`: an image manifest, or one platform's of
/// a manifest list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ManifestEntryJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) descriptor: DescriptorJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) schema_v2_manifest: Option<ImageManifestJson>,
    #[serde(rename = "OCIManifest", deserialize_with = "nullable")]
    pub(super) oci_manifest: Option<ImageManifestJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct DescriptorJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) digest: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) platform: Option<PlatformJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct PlatformJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) os: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) architecture: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ImageManifestJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) config: ConfigDescriptorJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ConfigDescriptorJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) digest: String,
}

/// `docker manifest inspect --verbose` prints one entry for an image, a list for a manifest
/// list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum ManifestJson {
    // First: a struct would take a JSON array too, as its fields in order.
    List(Vec<ManifestEntryJson>),
    One(ManifestEntryJson),
}

impl ManifestEntryJson {
    /// The id of the image's config; `None` when the entry carries no image manifest.
    fn config_digest(&self) -> Option<&str> {
        self.schema_v2_manifest
            .as_ref()
            .or(self.oci_manifest.as_ref())
            .map(|m| m.config.digest.as_str())
            .filter(|d| is_digest(d))
    }

    fn runs_on(&self, os: &str, arch: &str) -> bool {
        self.descriptor
            .platform
            .as_ref()
            .is_some_and(|p| p.os == os && p.architecture == arch)
    }
}

/// The id an image answered for by its registry has on an engine of platform `os`/`arch`
/// once pulled: its config's digest (`None` when the answer carries none).
pub(super) fn answered_id(manifest: &ManifestJson, os: &str, arch: &str) -> Option<String> {
    let entry = match manifest {
        ManifestJson::One(entry) => entry,
        ManifestJson::List(entries) => entries
            .iter()
            .find(|e| e.runs_on(os, arch))
            .or_else(|| entries.first())?,
    };
    entry.config_digest().map(str::to_owned)
}

fn is_digest(d: &str) -> bool {
    d.split_once(':').is_some_and(|(algo, hex)| {
        !algo.is_empty()
            && !hex.is_empty()
            && algo.bytes().all(|b| b.is_ascii_alphanumeric())
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The registry of an image reference, as docker reads it: the first part of the name when it
/// has a `.` or a `:` or is `localhost`, else Docker Hub (`docker.io`).
pub(super) fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// The host of a registry address (`host`, `host:port`, `[v6]:port`) as an IP address, when
/// it is one.
fn registry_ip(registry: &str) -> Option<IpAddr> {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let host = registry.rsplit_once(':').map_or(registry, |(host, _)| host);
    host.parse().ok()
}

/// Whether `ip` is in `cidr` (`10.0.0.0/8`, `fd00::/8`); a malformed range holds nothing.
pub(super) fn cidr_holds(cidr: &str, ip: IpAddr) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    let prefix = |a: u128, b: u128, width: u32| {
        if bits > width {
            return false;
        }
        let shift = width.saturating_sub(bits);
        a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            prefix(u128::from(n.to_bits()), u128::from(i.to_bits()), 32)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => prefix(n.to_bits(), i.to_bits(), 128),
        _ => false,
    }
}

/// Whether the engine trusts `registry` as an insecure registry (plain HTTP or an unverified
/// certificate): named so in its configuration, or an IP address in one of its insecure
/// ranges. A host name is not resolved here: the engine lists an insecure registry named by
/// its host name among its index configurations.
pub(super) fn insecure(config: &RegistryConfigJson, registry: &str) -> bool {
    if let Some(index) = config.index_configs.get(registry) {
        return !index.secure;
    }
    registry_ip(registry).is_some_and(|ip| config.insecure_cidrs.iter().any(|c| cidr_holds(c, ip)))
}

/// What `docker manifest inspect` says when the registry answered that it has no such image.
fn no_such_manifest(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such manifest") || s.contains("manifest unknown")
}

/// The Go name of a machine's architecture, as image platforms name it.
pub(super) fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" | "armv6l" => "arm",
        "i386" | "i686" => "386",
        other => other,
    }
}

impl DockerCli {
    /// [`ContainerControl::service_image_id`](post_deploy_core::ContainerControl::service_image_id):
    /// the image's id on this engine, or the one its registry answers for.
    pub(super) fn pullable_image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        if registry_of(image).contains('@') {
            // Credentials in the reference: never passed on, never shown.
            return Err(ControlError::Failed {
                what: "the registry of the previous image".to_owned(),
                detail: "a user or password before its host is not an image reference (the \
                         docker CLI's own login is used)"
                    .to_owned(),
            });
        }
        if let Some(found) = self.image_json(image)? {
            return Ok(Some(found.id));
        }
        self.registry_image_id(image)
    }

    /// The id the registry of `image` answers for it; `None` when the registry says it has
    /// no such image; an error naming the registry when it cannot be asked.
    fn registry_image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        let registry = registry_of(image);
        let what = format!("the registry {registry} (asked for {image})");
        if image.is_empty() || image.starts_with('-') || image.len() > MAX_REFERENCE {
            return Err(ControlError::Failed {
                what,
                detail: "not an image reference".to_owned(),
            });
        }
        let engine = self.engine_json()?;
        let mut args = vec!["manifest", "inspect", "--verbose"];
        if insecure(&engine.registry, registry) {
            args.push("--insecure");
        }
        args.extend(["--", image]);
        let c = self.capture(&what, &self.docker_call(args, REGISTRY_TIMEOUT))?;
        let bad = |detail: String| ControlError::BadOutput {
            what: what.clone(),
            detail,
        };
        if !c.status.success() {
            if no_such_manifest(&c.stderr_tail) {
                return Ok(None);
            }
            return Err(failed(&what, &c));
        }
        if c.stdout_truncated {
            return Err(bad(format!("more than {OUTPUT_LIMIT} bytes")));
        }
        let manifest: ManifestJson =
            serde_json::from_slice(&c.stdout).map_err(|e| bad(e.to_string()))?;
        answered_id(&manifest, &engine.os, go_arch(&engine.arch))
            .map(Some)
            .ok_or_else(|| bad("no image digest in the answer".to_owned()))
    }

    /// `docker info`: the engine's registry configuration and its platform.
    fn engine_json(&self) -> Result<EngineJson, ControlError> {
        let what = "docker info".to_owned();
        let c = self.succeed(
            &what,
            &self.docker_call(
                [
                    "info",
                    "--format",
                    r#"{"registry":{{json .RegistryConfig}},"os":{{json .OSType}},"arch":{{json .Architecture}}}"#,
                ],
                READ_TIMEOUT,
            ),
        )?;
        serde_json::from_slice(&c.stdout).map_err(|e| ControlError::BadOutput {
            what,
            detail: e.to_string(),
        })
    }
}
