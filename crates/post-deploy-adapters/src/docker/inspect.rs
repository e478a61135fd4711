//! The `docker inspect`, `docker image inspect` and `docker ps` JSON, the parts read here,
//! as serde types: `null` reads as empty wherever it stands (a field, a map's value, a
//! list's item), unknown fields are ignored.
//!
//! Docker writes `null` in more places than its documentation says: an exposed port that is
//! not published is `"8080/tcp": null` under `NetworkSettings.Ports`, empty lists and maps
//! are often `null`, and other engines speaking the same API (podman) differ again. A
//! `null` anywhere must never make a container unreadable: fencing, the self guard and the
//! rollback all depend on reading it.

use std::collections::BTreeMap;

use post_deploy_core::ControlError;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

/// `null` reads as the default: docker writes `null` for empty lists and maps.
pub(super) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list: `null` reads as empty, and its `null` items are left out (they carry nothing).
pub(super) fn nullable_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Option::<Vec<Option<T>>>::deserialize(d)?.unwrap_or_default();
    Ok(items.into_iter().flatten().collect())
}

/// A list that may be absent (`null` is absent, as docker writes an unset `Cmd`); its `null`
/// items are left out.
pub(super) fn optional_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Option::<Vec<Option<T>>>::deserialize(d)?;
    Ok(items.map(|items| items.into_iter().flatten().collect()))
}

/// A map: `null` reads as empty, and a `null` value as the value's default (the key still
/// says something, e.g. that a port is exposed).
pub(super) fn nullable_map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Default + Deserialize<'de>,
{
    let map = Option::<BTreeMap<String, Option<V>>>::deserialize(d)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A map of lists (`Ports`, `PortBindings`): `null` reads as empty, a `null` value as an
/// empty list (`"8080/tcp": null` is an exposed port that is not published), `null` items
/// are left out.
pub(super) fn nullable_map_of_lists<'de, D, T>(d: D) -> Result<BTreeMap<String, Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let map =
        Option::<BTreeMap<String, Option<Vec<Option<T>>>>>::deserialize(d)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default().into_iter().flatten().collect()))
        .collect())
}

/// `docker inspect --type container`, the parts read here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ContainerJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) id: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) name: String,
    /// The image id.
    #[serde(deserialize_with = "nullable")]
    pub(super) image: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) state: StateJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) config: ConfigJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) host_config: HostConfigJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) network_settings: NetworkSettingsJson,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) mounts: Vec<MountJson>,
}

impl ContainerJson {
    pub(super) fn short_name(&self) -> &str {
        self.name.strip_prefix('/').unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct StateJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) status: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) running: bool,
    #[serde(deserialize_with = "nullable")]
    pub(super) restarting: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ConfigJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) hostname: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) domainname: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) user: String,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) env: Vec<String>,
    #[serde(deserialize_with = "optional_list")]
    pub(super) cmd: Option<Vec<String>>,
    #[serde(deserialize_with = "optional_list")]
    pub(super) entrypoint: Option<Vec<String>>,
    /// The image reference the container was created from.
    #[serde(deserialize_with = "nullable")]
    pub(super) image: String,
    #[serde(deserialize_with = "nullable_map")]
    pub(super) labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub(super) working_dir: String,
    pub(super) healthcheck: Option<HealthJson>,
    #[serde(deserialize_with = "nullable")]
    pub(super) exposed_ports: BTreeMap<String, IgnoredAny>,
    pub(super) stop_signal: Option<String>,
    pub(super) stop_timeout: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    pub(super) tty: bool,
    #[serde(deserialize_with = "nullable")]
    pub(super) open_stdin: bool,
}

/// `docker image inspect`, the parts read here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ImageJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) id: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) config: ImageConfigJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ImageConfigJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) user: String,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) env: Vec<String>,
    #[serde(deserialize_with = "optional_list")]
    pub(super) cmd: Option<Vec<String>>,
    #[serde(deserialize_with = "optional_list")]
    pub(super) entrypoint: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable_map")]
    pub(super) labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub(super) working_dir: String,
    pub(super) healthcheck: Option<HealthJson>,
    #[serde(deserialize_with = "nullable")]
    pub(super) exposed_ports: BTreeMap<String, IgnoredAny>,
    pub(super) stop_signal: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct HealthJson {
    #[serde(deserialize_with = "nullable_list")]
    pub(super) test: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub(super) interval: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) timeout: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) start_period: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) retries: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct HostConfigJson {
    #[serde(deserialize_with = "nullable_list")]
    pub(super) binds: Vec<String>,
    #[serde(deserialize_with = "nullable_map_of_lists")]
    pub(super) port_bindings: BTreeMap<String, Vec<PortBindingJson>>,
    #[serde(deserialize_with = "nullable")]
    pub(super) restart_policy: RestartPolicyJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) network_mode: String,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) volumes_from: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) cap_add: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) cap_drop: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) dns: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) dns_options: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) dns_search: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) extra_hosts: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) group_add: Vec<String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) security_opt: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub(super) privileged: bool,
    #[serde(deserialize_with = "nullable")]
    pub(super) publish_all_ports: bool,
    #[serde(deserialize_with = "nullable")]
    pub(super) readonly_rootfs: bool,
    #[serde(deserialize_with = "nullable")]
    pub(super) auto_remove: bool,
    pub(super) init: Option<bool>,
    #[serde(deserialize_with = "nullable_map")]
    pub(super) tmpfs: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) mounts: Vec<HostMountJson>,
    #[serde(deserialize_with = "nullable")]
    pub(super) log_config: LogConfigJson,
    #[serde(deserialize_with = "nullable")]
    pub(super) pid_mode: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) ipc_mode: String,
    #[serde(rename = "UTSMode", deserialize_with = "nullable")]
    pub(super) uts_mode: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) memory: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) nano_cpus: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) cpu_shares: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) shm_size: i64,
    #[serde(deserialize_with = "nullable_map")]
    pub(super) sysctls: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) devices: Vec<DeviceJson>,
    #[serde(deserialize_with = "nullable_list")]
    pub(super) ulimits: Vec<UlimitJson>,
    #[serde(deserialize_with = "nullable")]
    pub(super) runtime: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct PortBindingJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) host_ip: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) host_port: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct RestartPolicyJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct HostMountJson {
    #[serde(rename = "Type", deserialize_with = "nullable")]
    pub(super) kind: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) source: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) target: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) read_only: bool,
    pub(super) bind_options: Option<BindOptionsJson>,
    pub(super) volume_options: Option<VolumeOptionsJson>,
    pub(super) tmpfs_options: Option<TmpfsOptionsJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct BindOptionsJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) propagation: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct VolumeOptionsJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) no_copy: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct TmpfsOptionsJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) size_bytes: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) mode: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct LogConfigJson {
    #[serde(rename = "Type", deserialize_with = "nullable")]
    pub(super) kind: String,
    #[serde(deserialize_with = "nullable_map")]
    pub(super) config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct DeviceJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) path_on_host: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) path_in_container: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) cgroup_permissions: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct UlimitJson {
    #[serde(deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) soft: i64,
    #[serde(deserialize_with = "nullable")]
    pub(super) hard: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct NetworkSettingsJson {
    #[serde(deserialize_with = "nullable_map_of_lists")]
    pub(super) ports: BTreeMap<String, Vec<PortBindingJson>>,
    #[serde(deserialize_with = "nullable_map")]
    pub(super) networks: BTreeMap<String, EndpointJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct EndpointJson {
    #[serde(deserialize_with = "nullable_list")]
    pub(super) aliases: Vec<String>,
    #[serde(rename = "IPAMConfig")]
    pub(super) ipam_config: Option<IpamJson>,
    #[serde(rename = "NetworkID", deserialize_with = "nullable")]
    pub(super) network_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct IpamJson {
    #[serde(rename = "IPv4Address", deserialize_with = "nullable")]
    pub(super) ipv4_address: String,
    #[serde(rename = "IPv6Address", deserialize_with = "nullable")]
    pub(super) ipv6_address: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct MountJson {
    #[serde(rename = "Type", deserialize_with = "nullable")]
    pub(super) kind: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(deserialize_with = "nullable")]
    pub(super) destination: String,
    #[serde(rename = "RW", deserialize_with = "nullable")]
    pub(super) rw: bool,
}

/// One line of `docker ps --format '{{json .}}'`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct PsRow {
    #[serde(rename = "ID", deserialize_with = "nullable")]
    pub(super) id: String,
    #[serde(rename = "Names", deserialize_with = "nullable")]
    pub(super) names: String,
}

/// The rows of `docker ps --format '{{json .}}'`: one JSON object a line, blank lines
/// skipped; a line that is not a row is `what`'s unreadable output.
pub(super) fn ps_rows(what: &str, stdout: &[u8]) -> Result<Vec<PsRow>, ControlError> {
    stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|line| {
            serde_json::from_slice(line).map_err(|e| ControlError::BadOutput {
                what: what.to_owned(),
                detail: e.to_string(),
            })
        })
        .collect()
}
