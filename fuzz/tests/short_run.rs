//! The short CI run: every target for a few thousand inputs from a fixed seed, no crash.

use codexport_fuzz::{TARGETS, fuzz};

/// Inputs per target: a few seconds each in a debug build.
fn iterations(name: &str) -> u64 {
    match name {
        // Every input writes and unpacks an archive on disk.
        "tar" | "tar-gz" | "tar-xz" | "zip" => 1_500,
        _ => 4_000,
    }
}

fn run(name: &str) {
    let target = TARGETS.iter().find(|t| t.name == name).unwrap();
    let report = fuzz(target, iterations(name), 16, None, |_| {}).unwrap();
    assert!(report.inputs > iterations(name), "{report:?}");
    let crashes: Vec<String> = report
        .crashes
        .iter()
        .map(|c| {
            format!(
                "{}\n  input: {:?}",
                c.message,
                String::from_utf8_lossy(&c.input)
            )
        })
        .collect();
    assert!(crashes.is_empty(), "{name}:\n{}", crashes.join("\n"));
}

#[test]
fn link() {
    run("link");
}

#[test]
fn revision() {
    run("revision");
}

#[test]
fn frames() {
    run("frames");
}

#[test]
fn tar() {
    run("tar");
}

#[test]
fn tar_gz() {
    run("tar-gz");
}

#[test]
fn tar_xz() {
    run("tar-xz");
}

#[test]
fn zip() {
    run("zip");
}

#[test]
fn layer() {
    run("layer");
}

#[test]
fn every_target_has_a_test_here() {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "link", "revision", "frames", "tar", "tar-gz", "tar-xz", "zip", "layer"
        ]
    );
}

#[test]
fn the_seeds_themselves_run_clean() {
    for target in &TARGETS {
        let report = fuzz(target, 0, 0, None, |_| {}).unwrap();
        assert_eq!(
            report.inputs,
            (target.seeds)().len() as u64,
            "{}",
            target.name
        );
        assert!(
            report.crashes.is_empty(),
            "{}: {:?}",
            target.name,
            report.crashes
        );
    }
}
