//! The docker and compose programs follow the switches as the driver reads them at a tick.

use std::sync::Mutex;

use post_deploy_core::Config;
use post_deploy_core::config::{COMPOSE, DOCKER, VarSource as _};

use super::*;

/// The program of the engine's last call.
fn last_program(exec: &FakeExec) -> String {
    exec.0.lock().unwrap().calls.last().unwrap()[0].clone()
}

#[test]
fn a_flipped_docker_switch_is_used_by_the_next_call() {
    let vars = Arc::new(Mutex::new(vec![(DOCKER.to_owned(), "docker".to_owned())]));
    let source = {
        let vars = Arc::clone(&vars);
        move || vars.lock().unwrap().clone()
    };
    let board = Switchboard::new(
        Config::switches_from_vars(vars.lock().unwrap().clone()).unwrap(),
        source,
    );
    let engine = Engine {
        containers: vec![fc("bbbb2222", "web", None)],
        images: images(),
        ..Engine::default()
    };
    let (cli, exec) = fake(engine, "orchestrator");
    let cli = DockerCli {
        board: board.clone(),
        ..cli
    };
    assert!(cli.inspect("web").is_ok());
    assert_eq!(last_program(&exec), "docker");

    *vars.lock().unwrap() = vec![
        (DOCKER.to_owned(), "/opt/other/docker".to_owned()),
        (COMPOSE.to_owned(), "docker compose".to_owned()),
    ];
    let _ = cli.inspect("web");
    assert_eq!(last_program(&exec), "docker", "not read before the tick");
    let _ = board.vars();
    let _ = cli.inspect("web");
    assert_eq!(last_program(&exec), "/opt/other/docker");
    assert_eq!(
        board.switches().compose,
        ComposeProgram::Command(CommandLine::parse("docker compose").unwrap())
    );

    // A value that does not parse leaves the switches as they were.
    *vars.lock().unwrap() = vec![(DOCKER.to_owned(), "dock\u{7}er".to_owned())];
    assert!(board.refresh().is_err());
    let _ = board.vars();
    let _ = cli.inspect("web");
    assert_eq!(last_program(&exec), "/opt/other/docker");

    // Unset: back to the default.
    vars.lock().unwrap().clear();
    let _ = board.vars();
    assert!(cli.inspect("web").is_ok());
    assert_eq!(last_program(&exec), "docker");
}
