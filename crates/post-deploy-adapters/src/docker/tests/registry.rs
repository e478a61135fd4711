//! A Swarm service's previous image: on this engine, or answered for by its registry through
//! `docker manifest inspect`, with `--insecure` exactly when the engine trusts the registry
//! so; real answers of the CLI parsed; every failure an error naming the registry.

use std::net::IpAddr;

use super::*;

const REG: &str = "10.213.0.1:5000";

fn manifest_calls(exec: &FakeExec) -> Vec<Vec<String>> {
    exec.0
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.len() > 2 && c[1] == "manifest")
        .cloned()
        .collect()
}

/// An engine trusting `10.213.0.0/24` as insecure registries, whose registry there speaks
/// plain HTTP and holds `app:1`.
fn engine() -> Engine {
    let mut e = Engine {
        images: images(),
        insecure_cidrs: vec!["10.213.0.0/24".into(), "127.0.0.0/8".into()],
        http_registries: vec![REG.into()],
        ..Engine::default()
    };
    e.registry
        .insert(format!("{REG}/app:1"), "sha256:c0ffee01".into());
    e
}

#[test]
fn an_image_on_this_engine_is_not_asked_of_the_registry() {
    let (cli, exec) = fake(engine(), "self");
    assert_eq!(
        cli.service_image_id("app:prev").unwrap().as_deref(),
        Some("sha256:prev")
    );
    assert!(manifest_calls(&exec).is_empty());
}

#[test]
fn an_image_only_its_registry_has_counts_with_the_id_of_its_config() {
    let (cli, exec) = fake(engine(), "self");
    let image = format!("{REG}/app:1");
    assert_eq!(cli.image_id(&image).unwrap(), None, "not on this engine");
    assert_eq!(
        cli.service_image_id(&image).unwrap().as_deref(),
        Some("sha256:c0ffee01")
    );
    let calls = manifest_calls(&exec);
    assert_eq!(calls.len(), 1);
    assert!(calls[0].contains(&"--insecure".to_owned()), "{calls:?}");
    assert_eq!(after_dashes(&calls[0]), [image]);
}

#[test]
fn a_registry_the_engine_does_not_trust_as_insecure_is_asked_securely() {
    let mut e = engine();
    e.insecure_cidrs = vec!["127.0.0.0/8".into()];
    let (cli, exec) = fake(e, "self");
    // As the nodes would: the engine does not pull from it over plain HTTP either.
    assert_eq!(cli.service_image_id(&format!("{REG}/app:1")).unwrap(), None);
    assert!(!manifest_calls(&exec)[0].contains(&"--insecure".to_owned()));
}

#[test]
fn an_image_its_registry_does_not_have_is_none() {
    let (cli, _) = fake(engine(), "self");
    assert_eq!(cli.service_image_id(&format!("{REG}/app:2")).unwrap(), None);
}

#[test]
fn a_registry_that_does_not_answer_is_an_error_naming_it() {
    let mut e = engine();
    e.registry_down = true;
    let (cli, _) = fake(e, "self");
    let err = cli
        .service_image_id(&format!("{REG}/app:1"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("the registry {REG}")), "{err}");
    assert!(err.contains("connection refused"), "{err}");
    // The image on this engine does not need the registry.
    assert!(cli.service_image_id("app:prev").unwrap().is_some());
}

#[test]
fn what_is_no_image_reference_is_never_passed_on() {
    let (cli, exec) = fake(engine(), "self");
    for bad in ["-v", "", &"a".repeat(600)] {
        assert!(cli.service_image_id(bad).is_err(), "{bad:?}");
    }
    assert!(manifest_calls(&exec).is_empty());
}

#[test]
fn credentials_in_a_reference_are_never_passed_on_nor_shown() {
    let (cli, exec) = fake(engine(), "self");
    let err = cli
        .service_image_id("deploy:s3cr3t@10.213.0.1:5000/app:1")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(
        exec.0
            .lock()
            .unwrap()
            .calls
            .iter()
            .flatten()
            .all(|a| !a.contains("s3cr3t")),
        "never passed on"
    );
}

#[test]
fn the_registry_of_a_reference_is_read_as_docker_reads_it() {
    for (image, registry) in [
        ("app:1.4", "docker.io"),
        ("library/app:1.4", "docker.io"),
        ("team/app", "docker.io"),
        ("localhost/app:1", "localhost"),
        ("localhost:5000/app:1", "localhost:5000"),
        ("10.213.0.1:5000/app:1@sha256:ab", "10.213.0.1:5000"),
        ("registry.example.com/team/app:2", "registry.example.com"),
        ("[fd00::1]:5000/app", "[fd00::1]:5000"),
    ] {
        assert_eq!(registry_of(image), registry, "{image}");
    }
}

#[test]
fn insecure_is_what_the_engine_names_so_or_an_address_in_its_ranges() {
    let config: RegistryConfigJson = serde_json::from_value(json!({
        "IndexConfigs": {
            "docker.io": {"Name": "docker.io", "Secure": true},
            "reg.internal:5000": {"Name": "reg.internal:5000", "Secure": false},
            "10.213.0.9:5000": {"Name": "10.213.0.9:5000", "Secure": true},
        },
        "InsecureRegistryCIDRs": ["10.213.0.0/24", "fd00::/8", "nonsense", "1.2.3.4/99"],
        "Mirrors": [],
    }))
    .unwrap();
    for (registry, want) in [
        ("reg.internal:5000", true),
        ("reg.internal", false),
        ("docker.io", false),
        ("10.213.0.1:5000", true),
        ("10.213.0.1", true),
        ("10.213.1.1:5000", false),
        // Named secure by the engine: the name wins over the range.
        ("10.213.0.9:5000", false),
        ("[fd00::1]:5000", true),
        ("[fe80::1]:5000", false),
        ("1.2.3.4:5000", false),
    ] {
        assert_eq!(insecure(&config, registry), want, "{registry}");
    }
    // `null` where docker may print it.
    let empty: RegistryConfigJson =
        serde_json::from_value(json!({"IndexConfigs": null, "InsecureRegistryCIDRs": null}))
            .unwrap();
    assert!(!insecure(&empty, "10.213.0.1:5000"));
}

#[test]
fn cidr_ranges_hold_their_addresses_only() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(cidr_holds("0.0.0.0/0", ip("203.0.113.7")));
    assert!(cidr_holds("203.0.113.7/32", ip("203.0.113.7")));
    assert!(!cidr_holds("203.0.113.7/32", ip("203.0.113.8")));
    assert!(cidr_holds("10.0.0.0/8", ip("10.255.0.1")));
    assert!(!cidr_holds("10.0.0.0/8", ip("11.0.0.1")));
    assert!(!cidr_holds("10.0.0.0/33", ip("10.0.0.1")));
    assert!(!cidr_holds("10.0.0.0/8", ip("::ffff:10.0.0.1")));
    assert!(cidr_holds("::/0", ip("fd00::1")));
    assert!(!cidr_holds("fd00::/8", ip("fe00::1")));
    assert!(!cidr_holds("10.0.0.0", ip("10.0.0.1")));
}

/// `docker manifest inspect --verbose` of an image in the local registry, as docker 28 printed
/// it: the id is its config's digest, the id the image has on the engine that pushed it.
#[test]
fn a_real_answer_for_an_image_gives_its_config_digest() {
    let m: ManifestJson = serde_json::from_str(&fixture("manifest-inspect-verbose.json")).unwrap();
    assert_eq!(
        answered_id(&m, "linux", "amd64").as_deref(),
        Some("sha256:4625c621dca799b34448ae452a96b91e9d0e6a4aae795b8595cad83e4afb03c6")
    );
}

/// The same of a manifest list (one image as `linux/amd64`, another as `linux/arm64`): the
/// entry of the engine's platform, or the first when none is.
#[test]
fn a_real_answer_for_a_manifest_list_gives_the_entry_of_the_platform() {
    let m: ManifestJson =
        serde_json::from_str(&fixture("manifest-inspect-verbose-list.json")).unwrap();
    let ManifestJson::List(entries) = &m else {
        panic!("a list")
    };
    let config = |i: usize| {
        entries[i]
            .schema_v2_manifest
            .as_ref()
            .unwrap()
            .config
            .digest
            .clone()
    };
    let arm = entries
        .iter()
        .position(|e| e.descriptor.platform.as_ref().unwrap().architecture == "arm64")
        .unwrap();
    assert_ne!(config(0), config(1));
    assert_eq!(answered_id(&m, "linux", "arm64"), Some(config(arm)));
    assert_eq!(answered_id(&m, "linux", "amd64"), Some(config(1 - arm)));
    assert_eq!(answered_id(&m, "linux", "s390x"), Some(config(0)));
    assert_eq!(go_arch("x86_64"), "amd64");
    assert_eq!(go_arch("aarch64"), "arm64");
}

#[test]
fn an_answer_without_a_digest_is_an_error_never_an_id() {
    let mut e = engine();
    e.registry
        .insert(format!("{REG}/app:odd"), "not a digest".into());
    let (cli, _) = fake(e, "self");
    let err = cli
        .service_image_id(&format!("{REG}/app:odd"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(REG), "{err}");
    for text in [
        "[]",
        "{}",
        "null",
        "[{}]",
        r#"{"Descriptor": {"digest": "x"}}"#,
    ] {
        let m: Result<ManifestJson, _> = serde_json::from_str(text);
        assert!(
            m.ok()
                .and_then(|m| answered_id(&m, "linux", "amd64"))
                .is_none(),
            "{text}"
        );
    }
}

proptest! {
    /// Any text as a registry range or an address: an answer, never a panic; a range holds
    /// the address it was made from.
    #[test]
    fn cidr_never_panics(cidr in ".{0,40}", a in any::<u32>(), bits in 0u32..=32) {
        let ip = IpAddr::from(std::net::Ipv4Addr::from(a));
        let _ = cidr_holds(&cidr, ip);
        let range = format!("{ip}/{bits}");
        prop_assert!(cidr_holds(&range, ip), "{}", range);
    }

    /// The registry of any reference is its first part or Docker Hub.
    #[test]
    fn registry_of_is_a_prefix_or_docker_hub(image in ".{0,60}") {
        let r = registry_of(&image);
        let first = format!("{r}/");
        prop_assert!(r == "docker.io" || image.starts_with(&first), "{}", r);
    }
}
