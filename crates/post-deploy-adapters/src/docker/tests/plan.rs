//! The recreate argv from recorded `docker inspect` output.

use super::*;

#[test]
fn inspect_json_is_read_with_serde() {
    let c = container("inspect-plain.json");
    assert_eq!(c.short_name(), "pdrec-web");
    assert_eq!(
        c.image,
        "sha256:323a113c4a69002c90cc001d411070c051bae558aad808849192f2c4f10374b7"
    );
    assert_eq!(c.config.image, "post-deploy-fixture:bad-health");
    assert!(c.state.running);
    // nulls in docker's JSON read as empty
    assert!(c.host_config.volumes_from.is_empty() && c.host_config.cap_add.is_empty());
}

#[test]
fn recreate_argv_keeps_the_containers_own_configuration() {
    let c = container("inspect-plain.json");
    let defaults = image("image-inspect-bad-health.json").config;
    let plan = recreate_plan(&c, Some(&defaults), "pdtest:prev");
    let a = &plan.create;
    assert_eq!(a[..3], ["create", "--name", "pdrec-web"]);
    // ports: the dynamic one keeps the host port it got
    assert!(has(a, "--publish", "127.0.0.1:32774:8080/tcp"), "{a:?}");
    assert!(has(a, "--publish", "127.0.0.1:18081:8081/udp"), "{a:?}");
    // environment as one argv word each, never through a shell; the image's own PATH is left to the image
    assert!(has(a, "--env", "FIXTURE_MESSAGE=hello, world = \"quoted\""));
    assert!(has(a, "--env", "EMPTY="));
    assert!(!values(a, "--env").iter().any(|e| e.starts_with("PATH=")));
    assert!(has(a, "--label", "app=web") && has(a, "--label", "team=a,b"));
    assert!(has(a, "--restart", "on-failure:3"));
    assert!(has(a, "--volume", "pdrec-data:/data"));
    assert!(has(a, "--volume", "/tmp/pdrec-bind:/srv/bind:ro"));
    assert!(has(
        a,
        "--mount",
        "type=tmpfs,target=/cache,tmpfs-size=1048576"
    ));
    assert_eq!(
        values(a, "--volume").len(),
        2,
        "covered mounts are not repeated: {a:?}"
    );
    assert!(has(a, "--network", "pdrec-net"));
    assert_eq!(
        values(a, "--network-alias"),
        ["web-alias"],
        "the old id and hostname aliases are docker's own"
    );
    assert!(has(a, "--user", "1000:1000") && has(a, "--workdir", "/www"));
    assert!(has(a, "--hostname", "web-host") && has(a, "--add-host", "db.internal:10.0.0.5"));
    assert!(has(a, "--stop-signal", "SIGINT"));
    assert!(has(a, "--log-driver", "json-file") && has(a, "--log-opt", "max-size=10m"));
    assert!(has(
        a,
        "--health-cmd",
        "wget -q -O- http://127.0.0.1:8080/cgi-bin/health || exit 1"
    ));
    assert!(has(a, "--health-interval", "5000000000ns") && has(a, "--health-retries", "2"));
    assert!(has(a, "--entrypoint", "/bin/sh"));
    assert_eq!(
        after_dashes(a),
        ["pdtest:prev", "-c", "exec /usr/local/bin/fixture-serve"]
    );
    assert_eq!(
        plan.connect,
        [vec![
            "network",
            "connect",
            "--alias",
            "second",
            "--",
            "pdrec-net2"
        ]]
    );
}

#[test]
fn recreate_argv_without_image_defaults_carries_everything() {
    let c = container("inspect-plain.json");
    let plan = recreate_plan(&c, None, "pdtest:prev");
    assert!(
        values(&plan.create, "--env")
            .iter()
            .any(|e| e.starts_with("PATH="))
    );
    assert_eq!(
        after_dashes(&plan.create),
        ["pdtest:prev", "-c", "exec /usr/local/bin/fixture-serve"]
    );
}

#[test]
fn a_minimal_container_leaves_the_image_its_own_defaults() {
    let c = container("inspect-minimal.json");
    let defaults = image("image-inspect-healthy.json").config;
    let plan = recreate_plan(&c, Some(&defaults), "pdtest:prev");
    let port = &c.network_settings.ports["8080/tcp"][0].host_port;
    assert_eq!(
        plan.create,
        [
            "create",
            "--name",
            "pdrec-min",
            "--publish",
            &format!("127.0.0.1:{port}:8080/tcp"),
            "--log-driver",
            "json-file",
            "--",
            "pdtest:prev"
        ]
    );
    assert!(plan.connect.is_empty());
}

#[test]
fn entrypoint_and_command_overrides_are_carried() {
    let mut c = container("inspect-minimal.json");
    let defaults = image("image-inspect-healthy.json").config;
    c.config.cmd = Some(vec!["sh".into(), "-c".into(), "echo $HOME; exit 3".into()]);
    let plan = recreate_plan(&c, Some(&defaults), "img:1");
    assert!(!plan.create.contains(&"--entrypoint".to_owned()));
    assert_eq!(
        after_dashes(&plan.create),
        ["img:1", "sh", "-c", "echo $HOME; exit 3"]
    );

    c.config.entrypoint = Some(vec!["/bin/tini".into(), "--".into()]);
    c.config.cmd = None;
    let plan = recreate_plan(&c, Some(&defaults), "img:1");
    assert!(has(&plan.create, "--entrypoint", "/bin/tini"));
    assert_eq!(after_dashes(&plan.create), ["img:1", "--"]);
}

#[test]
fn port_mount_and_health_specs() {
    assert_eq!(port_spec("", "", "80/tcp"), "80/tcp");
    assert_eq!(port_spec("", "8080", "80/tcp"), "8080:80/tcp");
    assert_eq!(port_spec("::1", "", "80/tcp"), "[::1]::80/tcp");
    let m = HostMountJson {
        kind: "bind".into(),
        source: "/srv/a,b".into(),
        target: "/x".into(),
        read_only: true,
        bind_options: Some(BindOptionsJson {
            propagation: "rshared".into(),
        }),
        ..HostMountJson::default()
    };
    assert_eq!(
        mount_spec(&m),
        "type=bind,\"source=/srv/a,b\",target=/x,readonly,bind-propagation=rshared"
    );
    let none = HealthJson {
        test: vec!["NONE".into()],
        ..HealthJson::default()
    };
    assert_eq!(health_flags(&none), ["--no-healthcheck"]);
    let cmd = HealthJson {
        test: vec!["CMD".into(), "curl".into(), "it's".into()],
        retries: 3,
        ..HealthJson::default()
    };
    assert_eq!(
        health_flags(&cmd),
        ["--health-cmd", "'curl' 'it'\\''s'", "--health-retries", "3"]
    );
}

/// A container on a user network whose image exposes a port that is not published: docker
/// writes `"8080/tcp": null` under `NetworkSettings.Ports`. It is read, and recreated on its
/// network without a port of its own.
#[test]
fn an_exposed_port_that_is_not_published_is_read() {
    let c: ContainerJson =
        serde_json::from_str::<Vec<ContainerJson>>(&fixture("inspect-unpublished.json"))
            .unwrap()
            .remove(0);
    assert_eq!(c.short_name(), "pdrec-unpublished");
    assert!(c.network_settings.ports["8080/tcp"].is_empty());
    let defaults = image("image-inspect-bad-health.json").config;
    let plan = recreate_plan(&c, Some(&defaults), "pdtest:prev");
    let a = &plan.create;
    assert!(has(a, "--network", "pdrec-net"), "{a:?}");
    assert!(values(a, "--publish").is_empty(), "{a:?}");
    assert!(
        values(a, "--expose").is_empty(),
        "the image exposes it: {a:?}"
    );
    assert!(plan.connect.is_empty(), "{plan:?}");
}

/// `null` as a map's value or a list's item reads as empty: nothing of the container is lost
/// for it, and a port whose bindings are `null` is exposed, not published.
#[test]
fn null_values_and_items_read_as_empty() {
    let c: ContainerJson = serde_json::from_value(json!({
        "Name": "/web",
        "Config": {
            "Env": [null, "A=1"],
            "Cmd": [null, "serve"],
            "Labels": {"app": null, "team": "a"},
            "ExposedPorts": {"8080/tcp": null, "9090/tcp": {}}
        },
        "HostConfig": {
            "NetworkMode": "shopnet",
            "PortBindings": {
                "8080/tcp": null,
                "9090/tcp": [null, {"HostIp": null, "HostPort": "19090"}]
            },
            "DnsOptions": [null, "ndots:2"],
            "Tmpfs": {"/scratch": null},
            "Mounts": [null]
        },
        "NetworkSettings": {
            "Ports": {"8080/tcp": null, "9090/tcp": [null]},
            "Networks": {"shopnet": null, "other": {"Aliases": [null, "web"]}}
        },
        "Mounts": [null, {"Type": "volume", "Name": "data", "Destination": "/data", "RW": null}]
    }))
    .unwrap();
    let plan = recreate_plan(&c, None, "pdtest:prev");
    let a = &plan.create;
    assert_eq!(values(a, "--env"), ["A=1"]);
    assert_eq!(after_dashes(a), ["pdtest:prev", "serve"]);
    assert!(
        has(a, "--label", "app=") && has(a, "--label", "team=a"),
        "{a:?}"
    );
    assert_eq!(values(a, "--publish"), ["19090:9090/tcp"], "{a:?}");
    assert_eq!(values(a, "--expose"), ["8080/tcp"], "{a:?}");
    assert!(has(a, "--dns-option", "ndots:2") && has(a, "--tmpfs", "/scratch"));
    assert!(has(a, "--volume", "data:/data:ro"), "{a:?}");
    assert!(has(a, "--network", "shopnet"), "{a:?}");
    assert_eq!(
        plan.connect,
        [["network", "connect", "--alias", "web", "--", "other"]]
    );
}
