//! Compose labels and config files.

use super::*;

fn service(wd: Option<&str>, files: &[&str]) -> ComposeService {
    ComposeService {
        project: "p".into(),
        service: "web".into(),
        working_dir: wd.map(str::to_owned),
        config_files: files.iter().map(|f| (*f).to_owned()).collect(),
    }
}

#[test]
fn compose_labels_and_config_files() {
    let labels: BTreeMap<String, String> = [
        (LABEL_PROJECT, "pdtest"),
        (LABEL_SERVICE, "web"),
        (LABEL_WORKING_DIR, "/srv/deploy/fixtures/images"),
        (
            LABEL_CONFIG_FILES,
            "fixtures/images/compose.yaml,fixtures/images/extra.yaml",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let s = ComposeService::from_labels(&labels).unwrap();
    assert_eq!(s.config_files.len(), 2);
    // compose v1 records files relative to where it ran: /srv/deploy here.
    let files =
        resolve_config_files(&s, |p| p.starts_with("/srv/deploy/fixtures/images/")).unwrap();
    assert_eq!(
        files,
        [
            PathBuf::from("/srv/deploy/fixtures/images/compose.yaml"),
            "/srv/deploy/fixtures/images/extra.yaml".into()
        ]
    );
    assert_eq!(
        compose_up_args(&s, &files),
        [
            "-p",
            "pdtest",
            "--project-directory",
            "/srv/deploy/fixtures/images",
            "-f",
            "/srv/deploy/fixtures/images/compose.yaml",
            "-f",
            "/srv/deploy/fixtures/images/extra.yaml",
            "up",
            "-d",
            "--no-deps",
            "--force-recreate",
            "web"
        ]
    );
    // v2 records absolute paths; a bare file name lives in the working directory.
    let abs = service(Some("/srv/app"), &["/srv/app/compose.yaml"]);
    assert_eq!(
        resolve_config_files(&abs, |_| false).unwrap(),
        [PathBuf::from("/srv/app/compose.yaml")]
    );
    let bare = service(Some("/srv/app"), &["compose.yaml"]);
    assert_eq!(
        resolve_config_files(&bare, |_| true).unwrap(),
        [PathBuf::from("/srv/app/compose.yaml")]
    );
    let gone = service(Some("/srv/app"), &["x/compose.yaml"]);
    assert!(
        resolve_config_files(&gone, |_| false)
            .unwrap_err()
            .contains("not found")
    );
    let mut no_compose = labels.clone();
    no_compose.remove(LABEL_SERVICE);
    assert!(ComposeService::from_labels(&no_compose).is_none());
}
