//! The plain recreate plan: how a container is created again on the previous image from its
//! own inspected configuration (`docker create` and `docker network connect` argv), with
//! its ports, mounts and health check carried over.

use super::inspect::{ContainerJson, EndpointJson, HealthJson, HostMountJson, ImageConfigJson};
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

/// [`recreate_plan`], the replacement labelled as the one of `parked` when given. The
/// label a container got as an earlier rollback's replacement is not carried over.
pub(super) fn marked_plan(
    c: &ContainerJson,
    defaults: Option<&ImageConfigJson>,
    image: &str,
    parked: Option<&str>,
) -> RecreatePlan {
    let cfg = &c.config;
    let hc = &c.host_config;
    let mut a: Vec<String> = vec![
        "create".to_owned(),
        "--name".to_owned(),
        c.short_name().to_owned(),
    ];

    // Environment and labels: what the image does not set itself.
    for e in cfg.env.iter().filter(|e| e.contains('=')) {
        if defaults.is_none_or(|d| !d.env.contains(e)) {
            flag(&mut a, "--env", e);
        }
    }
    for (k, v) in &cfg.labels {
        if k != LABEL_ROLLBACK_OF && defaults.is_none_or(|d| d.labels.get(k) != Some(v)) {
            flag(&mut a, "--label", &format!("{k}={v}"));
        }
    }
    if let Some(parked) = parked {
        flag(&mut a, "--label", &format!("{LABEL_ROLLBACK_OF}={parked}"));
    }

    // Ports: a dynamic binding keeps the host port it got, so URLs keep working.
    for (port, bindings) in &hc.port_bindings {
        let bound = c
            .network_settings
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
            flag(
                &mut a,
                "--publish",
                &port_spec(&b.host_ip, &host_port, port),
            );
        }
    }
    if hc.publish_all_ports {
        a.push("--publish-all".to_owned());
    }
    for port in cfg.exposed_ports.keys() {
        if !defaults.is_some_and(|d| d.exposed_ports.contains_key(port))
            // a port whose bindings are `null` or empty is exposed, not published
            && hc.port_bindings.get(port).is_none_or(Vec::is_empty)
        {
            flag(&mut a, "--expose", port);
        }
    }

    // Mounts: binds and named volumes as given, `--mount`s rebuilt, anonymous volumes reused.
    let mut covered: Vec<&str> = Vec::new();
    for b in &hc.binds {
        flag(&mut a, "--volume", b);
        covered.extend(b.split(':').nth(1));
    }
    for m in &hc.mounts {
        flag(&mut a, "--mount", &mount_spec(m));
        covered.push(&m.target);
    }
    for (path, opts) in &hc.tmpfs {
        flag(
            &mut a,
            "--tmpfs",
            &if opts.is_empty() {
                path.clone()
            } else {
                format!("{path}:{opts}")
            },
        );
        covered.push(path);
    }
    for m in &c.mounts {
        if m.kind == "volume" && !m.name.is_empty() && !covered.contains(&m.destination.as_str()) {
            let ro = if m.rw { "" } else { ":ro" };
            flag(
                &mut a,
                "--volume",
                &format!("{}:{}{ro}", m.name, m.destination),
            );
        }
    }
    for v in &hc.volumes_from {
        flag(&mut a, "--volumes-from", v);
    }

    // Restart policy.
    match hc.restart_policy.name.as_str() {
        "" | "no" => {}
        "on-failure" if hc.restart_policy.maximum_retry_count > 0 => {
            flag(
                &mut a,
                "--restart",
                &format!("on-failure:{}", hc.restart_policy.maximum_retry_count),
            );
        }
        other => flag(&mut a, "--restart", other),
    }

    // Networks: the primary one at create, the others connected before start.
    let short_id = c.id.get(..12).unwrap_or(&c.id);
    let aliases = |ep: &EndpointJson| -> Vec<String> {
        ep.aliases
            .iter()
            .filter(|al| al.as_str() != short_id && **al != c.id && **al != cfg.hostname)
            // a name the container had while parked is not the replacement's
            .filter(|al| !al.starts_with(&format!("{}{PARKED_INFIX}", c.short_name())))
            .cloned()
            .collect()
    };
    let mode = hc.network_mode.as_str();
    let (primary, isolated) = match mode {
        "" | "default" | "bridge" => ("bridge", false),
        "host" | "none" => (mode, true),
        m if m.starts_with("container:") => (m, true),
        m => (m, false),
    };
    if !matches!(mode, "" | "default" | "bridge") {
        flag(&mut a, "--network", mode);
    }
    let is_primary = |key: &str, ep: &EndpointJson| {
        key == primary || (!primary.is_empty() && ep.network_id.starts_with(primary))
    };
    let mut connect = Vec::new();
    if !isolated {
        for (key, ep) in &c.network_settings.networks {
            let ipam = ep.ipam_config.clone().unwrap_or_default();
            if is_primary(key, ep) {
                if primary != "bridge" {
                    for al in aliases(ep) {
                        flag(&mut a, "--network-alias", &al);
                    }
                }
                if !ipam.ipv4_address.is_empty() {
                    flag(&mut a, "--ip", &ipam.ipv4_address);
                }
                if !ipam.ipv6_address.is_empty() {
                    flag(&mut a, "--ip6", &ipam.ipv6_address);
                }
                continue;
            }
            let mut n = vec!["network".to_owned(), "connect".to_owned()];
            for al in aliases(ep) {
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
    }

    // Identity and process settings.
    if !cfg.hostname.is_empty() && !c.id.starts_with(&cfg.hostname) {
        flag(&mut a, "--hostname", &cfg.hostname);
    }
    if !cfg.domainname.is_empty() {
        flag(&mut a, "--domainname", &cfg.domainname);
    }
    if !cfg.user.is_empty() && defaults.is_none_or(|d| d.user != cfg.user) {
        flag(&mut a, "--user", &cfg.user);
    }
    if !cfg.working_dir.is_empty() && defaults.is_none_or(|d| d.working_dir != cfg.working_dir) {
        flag(&mut a, "--workdir", &cfg.working_dir);
    }
    if let Some(sig) = cfg.stop_signal.as_deref().filter(|s| !s.is_empty())
        && defaults.is_none_or(|d| d.stop_signal.as_deref() != Some(sig))
    {
        flag(&mut a, "--stop-signal", sig);
    }
    if let Some(t) = cfg.stop_timeout {
        flag(&mut a, "--stop-timeout", &t.to_string());
    }
    if cfg.tty {
        a.push("--tty".to_owned());
    }
    if cfg.open_stdin {
        a.push("--interactive".to_owned());
    }
    if let Some(h) = &cfg.healthcheck
        && defaults.is_none_or(|d| d.healthcheck.as_ref() != Some(h))
    {
        a.extend(health_flags(h));
    }

    // Host settings.
    for (name, values) in [
        ("--cap-add", &hc.cap_add),
        ("--cap-drop", &hc.cap_drop),
        ("--dns", &hc.dns),
        ("--dns-option", &hc.dns_options),
        ("--dns-search", &hc.dns_search),
        ("--add-host", &hc.extra_hosts),
        ("--security-opt", &hc.security_opt),
        ("--group-add", &hc.group_add),
    ] {
        for v in values {
            flag(&mut a, name, v);
        }
    }
    for (on, name) in [
        (hc.privileged, "--privileged"),
        (hc.readonly_rootfs, "--read-only"),
        (hc.init == Some(true), "--init"),
        (hc.auto_remove, "--rm"),
    ] {
        if on {
            a.push(name.to_owned());
        }
    }
    if !hc.log_config.kind.is_empty() {
        flag(&mut a, "--log-driver", &hc.log_config.kind);
        for (k, v) in &hc.log_config.config {
            flag(&mut a, "--log-opt", &format!("{k}={v}"));
        }
    }
    for (name, mode) in [
        ("--pid", &hc.pid_mode),
        ("--ipc", &hc.ipc_mode),
        ("--uts", &hc.uts_mode),
    ] {
        if mode == "host" || mode.starts_with("container:") {
            flag(&mut a, name, mode);
        }
    }
    if hc.memory > 0 {
        flag(&mut a, "--memory", &hc.memory.to_string());
    }
    if hc.nano_cpus > 0 {
        flag(
            &mut a,
            "--cpus",
            &format!(
                "{}.{:09}",
                hc.nano_cpus.checked_div(1_000_000_000).unwrap_or_default(),
                hc.nano_cpus.checked_rem(1_000_000_000).unwrap_or_default()
            ),
        );
    }
    if hc.cpu_shares > 0 {
        flag(&mut a, "--cpu-shares", &hc.cpu_shares.to_string());
    }
    if hc.shm_size > 0 && hc.shm_size != 67_108_864 {
        flag(&mut a, "--shm-size", &hc.shm_size.to_string());
    }
    for (k, v) in &hc.sysctls {
        flag(&mut a, "--sysctl", &format!("{k}={v}"));
    }
    for d in &hc.devices {
        flag(
            &mut a,
            "--device",
            &format!(
                "{}:{}:{}",
                d.path_on_host, d.path_in_container, d.cgroup_permissions
            ),
        );
    }
    for u in &hc.ulimits {
        flag(
            &mut a,
            "--ulimit",
            &format!("{}={}:{}", u.name, u.soft, u.hard),
        );
    }
    if !hc.runtime.is_empty() && hc.runtime != "runc" {
        flag(&mut a, "--runtime", &hc.runtime);
    }

    // Entrypoint and command: carried over when they are not the image's own.
    let ep = cfg.entrypoint.clone().unwrap_or_default();
    let cmd = cfg.cmd.clone().unwrap_or_default();
    let ep_overridden = defaults.is_none_or(|d| d.entrypoint.clone().unwrap_or_default() != ep);
    let cmd_overridden =
        ep_overridden || defaults.is_none_or(|d| d.cmd.clone().unwrap_or_default() != cmd);
    let mut tail: Vec<String> = Vec::new();
    if ep_overridden {
        let (first, rest) = ep
            .split_first()
            .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
        flag(&mut a, "--entrypoint", first);
        tail.extend(rest.iter().cloned());
    }
    if cmd_overridden {
        tail.extend(cmd);
    }
    a.push("--".to_owned());
    a.push(image.to_owned());
    a.extend(tail);
    RecreatePlan { create: a, connect }
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
