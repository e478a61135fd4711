//! The plain recreate plan: how a container is created again on the previous image from its
//! own inspected configuration (`docker create` and `docker network connect` argv), with
//! its ports, mounts and health check carried over.

use super::inspect::{
    ConfigJson, ContainerJson, EndpointJson, HealthJson, HostConfigJson, HostMountJson,
    ImageConfigJson, IpamJson,
};
use super::recreate::{LABEL_ROLLBACK_OF, PARKED_INFIX};

/// The docker calls that recreate a plain container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RecreatePlan {
    /// `create …` (without the program).
    pub(super) create: Vec<String>,
    /// `network connect … NETWORK` for each further network; the new id goes last.
    pub(super) connect: Vec<Vec<String>>,
}

/// How `c` is created again on `image`, from its own inspected configuration. Settings
/// equal to its current image's own defaults (`defaults`) are left to the previous image;
/// without them, everything is carried over.
pub(super) fn recreate_plan(
    c: &ContainerJson,
    defaults: Option<&ImageConfigJson>,
    image: &str,
) -> RecreatePlan {
    marked_plan(c, defaults, image, None)
}

/// What `marked_plan` reads a container's settings from.
struct Ctx<'a> {
    c: &'a ContainerJson,
    cfg: &'a ConfigJson,
    hc: &'a HostConfigJson,
    /// The current image's own settings, left to the previous image; `None`: carry all.
    defaults: Option<&'a ImageConfigJson>,
    /// The parked container whose replacement this is.
    parked: Option<&'a str>,
}

impl Ctx<'_> {
    /// Whether the image sets the value itself, as `same` says (then it is not carried over).
    fn image_sets(&self, same: impl FnOnce(&ImageConfigJson) -> bool) -> bool {
        self.defaults.is_some_and(same)
    }
}

/// How one row turns its field into `docker create` arguments.
enum How {
    /// `FLAG VALUE` for each value.
    Each(for<'a> fn(&Ctx<'a>) -> Vec<String>),
    /// `FLAG` alone, when set.
    Switch(for<'a> fn(&Ctx<'a>) -> bool),
    /// Arguments of its own: the health check's several flags.
    Args(for<'a> fn(&Ctx<'a>) -> Vec<String>),
}

/// The mapping from a container's inspected configuration to `docker create`: (the field
/// of `docker inspect`, the flag it becomes, how), in the order the flags are written. The
/// networks beyond the primary one, and the entrypoint's arguments and the command after the
/// image, are not flags: [`network_connects`] and [`marked_plan`] write them.
const TABLE: &[(&str, &str, How)] = &[
    // Environment and labels: what the image does not set itself.
    ("Config.Env", "--env", How::Each(env)),
    ("Config.Labels", "--label", How::Each(labels)),
    ("(the parked container)", "--label", How::Each(rollback_of)),
    // Ports: a dynamic binding keeps the host port it got, so URLs keep working.
    ("HostConfig.PortBindings", "--publish", How::Each(publish)),
    (
        "HostConfig.PublishAllPorts",
        "--publish-all",
        How::Switch(|x| x.hc.publish_all_ports),
    ),
    ("Config.ExposedPorts", "--expose", How::Each(expose)),
    // Mounts: binds and named volumes as given, `--mount`s rebuilt, anonymous volumes reused.
    (
        "HostConfig.Binds",
        "--volume",
        How::Each(|x| x.hc.binds.clone()),
    ),
    (
        "HostConfig.Mounts",
        "--mount",
        How::Each(|x| x.hc.mounts.iter().map(mount_spec).collect()),
    ),
    ("HostConfig.Tmpfs", "--tmpfs", How::Each(tmpfs)),
    ("Mounts (volumes)", "--volume", How::Each(anonymous_volumes)),
    (
        "HostConfig.VolumesFrom",
        "--volumes-from",
        How::Each(|x| x.hc.volumes_from.clone()),
    ),
    ("HostConfig.RestartPolicy", "--restart", How::Each(restart)),
    // Networks: the primary one at create, the others connected before start.
    ("HostConfig.NetworkMode", "--network", How::Each(network)),
    (
        "NetworkSettings.Networks (primary) .Aliases",
        "--network-alias",
        How::Each(primary_aliases),
    ),
    (
        "NetworkSettings.Networks (primary) .IPAMConfig.IPv4Address",
        "--ip",
        How::Each(|x| primary_ipam(x, |i| &i.ipv4_address)),
    ),
    (
        "NetworkSettings.Networks (primary) .IPAMConfig.IPv6Address",
        "--ip6",
        How::Each(|x| primary_ipam(x, |i| &i.ipv6_address)),
    ),
    // Identity and process settings.
    ("Config.Hostname", "--hostname", How::Each(hostname)),
    (
        "Config.Domainname",
        "--domainname",
        How::Each(|x| set(&x.cfg.domainname)),
    ),
    (
        "Config.User",
        "--user",
        How::Each(|x| own(x, &x.cfg.user, |d| d.user == x.cfg.user)),
    ),
    (
        "Config.WorkingDir",
        "--workdir",
        How::Each(|x| {
            own(x, &x.cfg.working_dir, |d| {
                d.working_dir == x.cfg.working_dir
            })
        }),
    ),
    ("Config.StopSignal", "--stop-signal", How::Each(stop_signal)),
    (
        "Config.StopTimeout",
        "--stop-timeout",
        How::Each(|x| x.cfg.stop_timeout.iter().map(ToString::to_string).collect()),
    ),
    ("Config.Tty", "--tty", How::Switch(|x| x.cfg.tty)),
    (
        "Config.OpenStdin",
        "--interactive",
        How::Switch(|x| x.cfg.open_stdin),
    ),
    ("Config.Healthcheck", "--health-*", How::Args(healthcheck)),
    // Host settings.
    (
        "HostConfig.CapAdd",
        "--cap-add",
        How::Each(|x| x.hc.cap_add.clone()),
    ),
    (
        "HostConfig.CapDrop",
        "--cap-drop",
        How::Each(|x| x.hc.cap_drop.clone()),
    ),
    ("HostConfig.Dns", "--dns", How::Each(|x| x.hc.dns.clone())),
    (
        "HostConfig.DnsOptions",
        "--dns-option",
        How::Each(|x| x.hc.dns_options.clone()),
    ),
    (
        "HostConfig.DnsSearch",
        "--dns-search",
        How::Each(|x| x.hc.dns_search.clone()),
    ),
    (
        "HostConfig.ExtraHosts",
        "--add-host",
        How::Each(|x| x.hc.extra_hosts.clone()),
    ),
    (
        "HostConfig.SecurityOpt",
        "--security-opt",
        How::Each(|x| x.hc.security_opt.clone()),
    ),
    (
        "HostConfig.GroupAdd",
        "--group-add",
        How::Each(|x| x.hc.group_add.clone()),
    ),
    (
        "HostConfig.Privileged",
        "--privileged",
        How::Switch(|x| x.hc.privileged),
    ),
    (
        "HostConfig.ReadonlyRootfs",
        "--read-only",
        How::Switch(|x| x.hc.readonly_rootfs),
    ),
    (
        "HostConfig.Init",
        "--init",
        How::Switch(|x| x.hc.init == Some(true)),
    ),
    (
        "HostConfig.AutoRemove",
        "--rm",
        How::Switch(|x| x.hc.auto_remove),
    ),
    (
        "HostConfig.LogConfig.Type",
        "--log-driver",
        How::Each(|x| set(&x.hc.log_config.kind)),
    ),
    (
        "HostConfig.LogConfig.Config",
        "--log-opt",
        How::Each(log_opts),
    ),
    (
        "HostConfig.PidMode",
        "--pid",
        How::Each(|x| shared(&x.hc.pid_mode)),
    ),
    (
        "HostConfig.IpcMode",
        "--ipc",
        How::Each(|x| shared(&x.hc.ipc_mode)),
    ),
    (
        "HostConfig.UTSMode",
        "--uts",
        How::Each(|x| shared(&x.hc.uts_mode)),
    ),
    (
        "HostConfig.Memory",
        "--memory",
        How::Each(|x| positive(x.hc.memory)),
    ),
    ("HostConfig.NanoCpus", "--cpus", How::Each(cpus)),
    (
        "HostConfig.CpuShares",
        "--cpu-shares",
        How::Each(|x| positive(x.hc.cpu_shares)),
    ),
    ("HostConfig.ShmSize", "--shm-size", How::Each(shm_size)),
    (
        "HostConfig.Sysctls",
        "--sysctl",
        How::Each(|x| pairs(&x.hc.sysctls)),
    ),
    ("HostConfig.Devices", "--device", How::Each(devices)),
    ("HostConfig.Ulimits", "--ulimit", How::Each(ulimits)),
    ("HostConfig.Runtime", "--runtime", How::Each(runtime)),
    // Entrypoint: carried over when it is not the image's own; its arguments follow the image.
    ("Config.Entrypoint", "--entrypoint", How::Each(entrypoint)),
];

/// [`recreate_plan`], the replacement labelled as the one of `parked` when given. The
/// label a container got as an earlier rollback's replacement is not carried over.
pub(super) fn marked_plan(
    c: &ContainerJson,
    defaults: Option<&ImageConfigJson>,
    image: &str,
    parked: Option<&str>,
) -> RecreatePlan {
    let x = Ctx {
        c,
        cfg: &c.config,
        hc: &c.host_config,
        defaults,
        parked,
    };
    let mut a: Vec<String> = vec![
        "create".to_owned(),
        "--name".to_owned(),
        c.short_name().to_owned(),
    ];
    for (_field, name, how) in TABLE {
        match how {
            How::Each(values) => {
                for v in values(&x) {
                    flag(&mut a, name, &v);
                }
            }
            How::Switch(on) if on(&x) => a.push((*name).to_owned()),
            How::Switch(_) => {}
            How::Args(args) => a.extend(args(&x)),
        }
    }
    a.push("--".to_owned());
    a.push(image.to_owned());
    a.extend(command_tail(&x));
    RecreatePlan {
        create: a,
        connect: network_connects(&x),
    }
}

/// `value`, when it is set.
fn set(value: &str) -> Vec<String> {
    Some(value)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .into_iter()
        .collect()
}

/// `value`, when it is set and the image does not set it the same (`same`).
fn own(x: &Ctx<'_>, value: &str, same: impl FnOnce(&ImageConfigJson) -> bool) -> Vec<String> {
    if x.image_sets(same) {
        return Vec::new();
    }
    set(value)
}

/// A number, when above 0.
fn positive(n: i64) -> Vec<String> {
    if n > 0 {
        vec![n.to_string()]
    } else {
        Vec::new()
    }
}

/// A namespace mode shared with the host or another container (the others are the default).
fn shared(mode: &str) -> Vec<String> {
    if mode == "host" || mode.starts_with("container:") {
        vec![mode.to_owned()]
    } else {
        Vec::new()
    }
}

/// `KEY=VALUE` of each pair.
fn pairs(map: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    map.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn env(x: &Ctx<'_>) -> Vec<String> {
    x.cfg
        .env
        .iter()
        .filter(|e| e.contains('=') && !x.image_sets(|d| d.env.contains(e)))
        .cloned()
        .collect()
}

fn labels(x: &Ctx<'_>) -> Vec<String> {
    x.cfg
        .labels
        .iter()
        .filter(|(k, v)| *k != LABEL_ROLLBACK_OF && !x.image_sets(|d| d.labels.get(*k) == Some(v)))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

fn rollback_of(x: &Ctx<'_>) -> Vec<String> {
    x.parked
        .map(|parked| format!("{LABEL_ROLLBACK_OF}={parked}"))
        .into_iter()
        .collect()
}

fn publish(x: &Ctx<'_>) -> Vec<String> {
    let mut specs = Vec::new();
    for (port, bindings) in &x.hc.port_bindings {
        let bound =
            x.c.network_settings
                .ports
                .get(port)
                .map(Vec::as_slice)
                .unwrap_or_default();
        let mut used = vec![false; bound.len()];
        for b in bindings {
            let mut host_port = b.host_port.clone();
            if host_port.is_empty() || host_port == "0" {
                let found = bound.iter().enumerate().find(|(i, got)| {
                    !used.get(*i).copied().unwrap_or(true) && same_host_ip(&b.host_ip, &got.host_ip)
                });
                if let Some((i, got)) = found {
                    if let Some(u) = used.get_mut(i) {
                        *u = true;
                    }
                    host_port.clone_from(&got.host_port);
                }
            }
            specs.push(port_spec(&b.host_ip, &host_port, port));
        }
    }
    specs
}

fn expose(x: &Ctx<'_>) -> Vec<String> {
    x.cfg
        .exposed_ports
        .keys()
        .filter(|port| {
            !x.image_sets(|d| d.exposed_ports.contains_key(*port))
                // a port whose bindings are `null` or empty is exposed, not published
                && x.hc.port_bindings.get(*port).is_none_or(Vec::is_empty)
        })
        .cloned()
        .collect()
}

fn tmpfs(x: &Ctx<'_>) -> Vec<String> {
    x.hc.tmpfs
        .iter()
        .map(|(path, opts)| {
            if opts.is_empty() {
                path.clone()
            } else {
                format!("{path}:{opts}")
            }
        })
        .collect()
}

/// Named volumes mounted where no bind, `--mount` or tmpfs already is: reused by name.
fn anonymous_volumes(x: &Ctx<'_>) -> Vec<String> {
    let hc = x.hc;
    let covered: Vec<&str> = hc
        .binds
        .iter()
        .filter_map(|b| b.split(':').nth(1))
        .chain(hc.mounts.iter().map(|m| m.target.as_str()))
        .chain(hc.tmpfs.keys().map(String::as_str))
        .collect();
    x.c.mounts
        .iter()
        .filter(|m| {
            m.kind == "volume" && !m.name.is_empty() && !covered.contains(&m.destination.as_str())
        })
        .map(|m| {
            let ro = if m.rw { "" } else { ":ro" };
            format!("{}:{}{ro}", m.name, m.destination)
        })
        .collect()
}

fn restart(x: &Ctx<'_>) -> Vec<String> {
    let policy = &x.hc.restart_policy;
    match policy.name.as_str() {
        "" | "no" => Vec::new(),
        "on-failure" if policy.maximum_retry_count > 0 => {
            vec![format!("on-failure:{}", policy.maximum_retry_count)]
        }
        other => vec![other.to_owned()],
    }
}

/// The network mode: the primary network's name, and whether the container has no
/// networks of its own (host, none, another container's).
fn primary<'a>(x: &Ctx<'a>) -> (&'a str, bool) {
    let mode = x.hc.network_mode.as_str();
    match mode {
        "" | "default" | "bridge" => ("bridge", false),
        "host" | "none" => (mode, true),
        m if m.starts_with("container:") => (m, true),
        m => (m, false),
    }
}

fn network(x: &Ctx<'_>) -> Vec<String> {
    match x.hc.network_mode.as_str() {
        "" | "default" | "bridge" => Vec::new(),
        mode => vec![mode.to_owned()],
    }
}

/// The endpoints of the container's networks, with whether each is the primary one.
fn endpoints<'x>(x: &'x Ctx<'_>) -> Vec<(&'x String, &'x EndpointJson, bool)> {
    let (primary, isolated) = primary(x);
    if isolated {
        return Vec::new();
    }
    x.c.network_settings
        .networks
        .iter()
        .map(|(key, ep)| {
            let is_primary =
                key == primary || (!primary.is_empty() && ep.network_id.starts_with(primary));
            (key, ep, is_primary)
        })
        .collect()
}

/// An endpoint's aliases that are the container's own: not its id, not its hostname, not a
/// name it had while parked.
fn aliases(x: &Ctx<'_>, ep: &EndpointJson) -> Vec<String> {
    let c = x.c;
    let short_id = c.id.get(..12).unwrap_or(&c.id);
    let parked = format!("{}{PARKED_INFIX}", c.short_name());
    ep.aliases
        .iter()
        .filter(|al| al.as_str() != short_id && **al != c.id && **al != x.cfg.hostname)
        .filter(|al| !al.starts_with(&parked))
        .cloned()
        .collect()
}

fn primary_aliases(x: &Ctx<'_>) -> Vec<String> {
    if primary(x).0 == "bridge" {
        return Vec::new();
    }
    endpoints(x)
        .into_iter()
        .filter(|(_, _, is_primary)| *is_primary)
        .flat_map(|(_, ep, _)| aliases(x, ep))
        .collect()
}

/// An address of the primary network's IPAM configuration, when set.
fn primary_ipam(x: &Ctx<'_>, address: fn(&IpamJson) -> &String) -> Vec<String> {
    endpoints(x)
        .into_iter()
        .filter(|(_, _, is_primary)| *is_primary)
        .filter_map(|(_, ep, _)| {
            let ipam = ep.ipam_config.clone().unwrap_or_default();
            Some(address(&ipam).clone()).filter(|a| !a.is_empty())
        })
        .collect()
}

/// `network connect … NETWORK` for each network but the primary one.
fn network_connects(x: &Ctx<'_>) -> Vec<Vec<String>> {
    let mut connect = Vec::new();
    for (key, ep, is_primary) in endpoints(x) {
        if is_primary {
            continue;
        }
        let ipam = ep.ipam_config.clone().unwrap_or_default();
        let mut n = vec!["network".to_owned(), "connect".to_owned()];
        for al in aliases(x, ep) {
            n.extend(["--alias".to_owned(), al]);
        }
        if !ipam.ipv4_address.is_empty() {
            n.extend(["--ip".to_owned(), ipam.ipv4_address.clone()]);
        }
        if !ipam.ipv6_address.is_empty() {
            n.extend(["--ip6".to_owned(), ipam.ipv6_address.clone()]);
        }
        n.extend(["--".to_owned(), key.clone()]);
        connect.push(n);
    }
    connect
}

/// The hostname, unless it is the one docker made from the container's id.
fn hostname(x: &Ctx<'_>) -> Vec<String> {
    let name = &x.cfg.hostname;
    if name.is_empty() || x.c.id.starts_with(name.as_str()) {
        return Vec::new();
    }
    vec![name.clone()]
}

fn stop_signal(x: &Ctx<'_>) -> Vec<String> {
    let sig = x.cfg.stop_signal.as_deref().unwrap_or_default();
    own(x, sig, |d| d.stop_signal.as_deref() == Some(sig))
}

fn healthcheck(x: &Ctx<'_>) -> Vec<String> {
    match &x.cfg.healthcheck {
        Some(h) if !x.image_sets(|d| d.healthcheck.as_ref() == Some(h)) => health_flags(h),
        _ => Vec::new(),
    }
}

fn log_opts(x: &Ctx<'_>) -> Vec<String> {
    if x.hc.log_config.kind.is_empty() {
        return Vec::new();
    }
    pairs(&x.hc.log_config.config)
}

fn cpus(x: &Ctx<'_>) -> Vec<String> {
    let n = x.hc.nano_cpus;
    if n <= 0 {
        return Vec::new();
    }
    vec![format!(
        "{}.{:09}",
        n.checked_div(1_000_000_000).unwrap_or_default(),
        n.checked_rem(1_000_000_000).unwrap_or_default()
    )]
}

/// The size of `/dev/shm`, unless it is docker's default of 64 MiB.
fn shm_size(x: &Ctx<'_>) -> Vec<String> {
    match x.hc.shm_size {
        67_108_864 => Vec::new(),
        n => positive(n),
    }
}

fn devices(x: &Ctx<'_>) -> Vec<String> {
    x.hc.devices
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d.path_on_host, d.path_in_container, d.cgroup_permissions
            )
        })
        .collect()
}

fn ulimits(x: &Ctx<'_>) -> Vec<String> {
    x.hc.ulimits
        .iter()
        .map(|u| format!("{}={}:{}", u.name, u.soft, u.hard))
        .collect()
}

/// The runtime, unless it is docker's default, `runc`.
fn runtime(x: &Ctx<'_>) -> Vec<String> {
    match x.hc.runtime.as_str() {
        "" | "runc" => Vec::new(),
        other => vec![other.to_owned()],
    }
}

/// Whether the entrypoint is not the image's own, so it is carried over.
fn entrypoint_overridden(x: &Ctx<'_>) -> bool {
    let ep = x.cfg.entrypoint.clone().unwrap_or_default();
    !x.image_sets(|d| d.entrypoint.clone().unwrap_or_default() == ep)
}

/// The entrypoint's program, when it is carried over (its arguments follow the image).
fn entrypoint(x: &Ctx<'_>) -> Vec<String> {
    if !entrypoint_overridden(x) {
        return Vec::new();
    }
    let ep = x.cfg.entrypoint.clone().unwrap_or_default();
    vec![ep.first().cloned().unwrap_or_default()]
}

/// What follows the image: the entrypoint's arguments and the command, when they are not the
/// image's own (a new entrypoint takes the command with it).
fn command_tail(x: &Ctx<'_>) -> Vec<String> {
    let ep = x.cfg.entrypoint.clone().unwrap_or_default();
    let cmd = x.cfg.cmd.clone().unwrap_or_default();
    let ep_overridden = entrypoint_overridden(x);
    let cmd_overridden =
        ep_overridden || !x.image_sets(|d| d.cmd.clone().unwrap_or_default() == cmd);
    let mut tail: Vec<String> = Vec::new();
    if ep_overridden {
        tail.extend(ep.iter().skip(1).cloned());
    }
    if cmd_overridden {
        tail.extend(cmd);
    }
    tail
}

pub(super) fn flag(a: &mut Vec<String>, name: &str, value: &str) {
    a.push(name.to_owned());
    a.push(value.to_owned());
}

pub(super) fn same_host_ip(wanted: &str, got: &str) -> bool {
    let any = |ip: &str| matches!(ip, "" | "0.0.0.0" | "::");
    wanted == got || (any(wanted) && any(got))
}

/// `IP:HOSTPORT:PORT/PROTO` as `--publish` takes it.
pub(super) fn port_spec(host_ip: &str, host_port: &str, port: &str) -> String {
    let ip = if host_ip.contains(':') {
        format!("[{host_ip}]")
    } else {
        host_ip.to_owned()
    };
    match (ip.is_empty(), host_port.is_empty()) {
        (false, _) => format!("{ip}:{host_port}:{port}"),
        (true, false) => format!("{host_port}:{port}"),
        (true, true) => port.to_owned(),
    }
}

/// A `--mount` value: CSV fields, quoted when they hold a comma or a quote.
pub(super) fn mount_spec(m: &HostMountJson) -> String {
    let mut fields = vec![format!("type={}", m.kind)];
    if !m.source.is_empty() {
        fields.push(format!("source={}", m.source));
    }
    fields.push(format!("target={}", m.target));
    if m.read_only {
        fields.push("readonly".to_owned());
    }
    if let Some(p) = m
        .bind_options
        .as_ref()
        .map(|b| b.propagation.as_str())
        .filter(|p| !p.is_empty())
    {
        fields.push(format!("bind-propagation={p}"));
    }
    if m.volume_options.as_ref().is_some_and(|v| v.no_copy) {
        fields.push("volume-nocopy".to_owned());
    }
    if let Some(t) = &m.tmpfs_options {
        if t.size_bytes > 0 {
            fields.push(format!("tmpfs-size={}", t.size_bytes));
        }
        if t.mode > 0 {
            fields.push(format!("tmpfs-mode={:o}", t.mode));
        }
    }
    fields
        .into_iter()
        .map(|f| {
            if f.contains([',', '"']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn health_flags(h: &HealthJson) -> Vec<String> {
    let mut a = Vec::new();
    match h.test.split_first() {
        Some((kind, _)) if kind == "NONE" => return vec!["--no-healthcheck".to_owned()],
        Some((kind, rest)) if kind == "CMD-SHELL" => {
            a.extend(["--health-cmd".to_owned(), rest.join(" ")])
        }
        // The CLI only takes a shell form: quote each word for it.
        Some((kind, rest)) if kind == "CMD" => a.extend(["--health-cmd".to_owned(), sh_join(rest)]),
        _ => {}
    }
    for (name, ns) in [
        ("--health-interval", h.interval),
        ("--health-timeout", h.timeout),
        ("--health-start-period", h.start_period),
    ] {
        if ns > 0 {
            a.extend([name.to_owned(), format!("{ns}ns")]);
        }
    }
    if h.retries > 0 {
        a.extend(["--health-retries".to_owned(), h.retries.to_string()]);
    }
    a
}

pub(super) fn sh_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}
