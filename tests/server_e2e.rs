//! End-to-end tests of the bundled server (`examples/server.rs`): the
//! example binary runs on 127.0.0.1 with ephemeral ports and a temporary
//! data directory, driven by Python's imaplib and poplib
//! (`tests/e2e/imap_e2e.py`). Needs `python3` on the PATH.

use std::path::PathBuf;
use std::process::Command;

/// The example binary cargo built next to this test's directory.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/server_e2e-<hash> -> target/<profile>/examples/server
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let mut path = profile_dir.join("examples").join("server");
    if cfg!(windows) {
        path.set_extension("exe");
    }
    assert!(
        path.exists(),
        "{} is missing; run the tests with --features tokio so cargo builds the example",
        path.display()
    );
    path
}

#[test]
fn imaplib_and_poplib_against_the_example_server() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/imap_e2e.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(server_binary())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    assert!(stdout.contains("ok check_idle"), "{stdout}");
}
