//! The README's walk as a runnable script (`walk/main.rs`, and `cluster/` through a `#[path]`
//! module): [`run`] pastes it into bash against a running suite and checks what it prints.

use std::{path::Path, time::Duration};

/// The walk's shell block from README.md.
pub fn walk() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let start = readme
        .find("<!-- walk -->")
        .expect("README.md has a <!-- walk --> block");
    let end = readme
        .find("<!-- /walk -->")
        .expect("README.md closes its walk block");
    let block = &readme[start..end];
    let body = block
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.rsplit_once("```"))
        .expect("the walk is a ```sh block")
        .0;
    body.to_string()
}

/// Runs the walk against the suite at `base` whose database is `db_url` (the walk reads the
/// SMS codes there), and checks each step's output.
pub async fn run(base: &str, db_url: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let port = base.rsplit(':').next().unwrap_or("0");
    let script = std::env::temp_dir().join(format!("wolo-walk-{port}.sh"));
    std::fs::write(&script, walk()).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new("bash")
            // -x: a failing step shows in the trace printed below (curl -sf is silent).
            .args(["-xeuo", "pipefail"])
            .arg(&script)
            .current_dir(&root)
            .env("B", base)
            .env("DATABASE_URL", db_url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the walk took more than 5 minutes")
    .unwrap();
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the walk failed\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("The pot page, to share: {base}/p/")),
        "{stdout}"
    );
    assert!(
        stdout.contains("/dons/") && stdout.contains("/merci"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Moussa's gift page: {base}/cadeau/")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Valide — remettre : Pause Bien-être"),
        "{stdout}"
    );
}
