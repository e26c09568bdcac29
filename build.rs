//! Build facts for `etcdeck --version`: the git commit built (`ETCDECK_GIT_COMMIT` when set, as
//! a build from a source tarball has no repository) and the etcd versions the test suite runs
//! against (`assets/tested-etcd.txt`).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Rebuild when the file exists and changes (a missing path would rerun every build).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=assets/tested-etcd.txt");
    println!("cargo:rerun-if-env-changed=ETCDECK_GIT_COMMIT");

    let tested = std::fs::read_to_string("assets/tested-etcd.txt")
        .expect("assets/tested-etcd.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((version, how)) => format!("{version} ({})", how.trim()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        !tested.is_empty(),
        "assets/tested-etcd.txt lists no version"
    );
    println!("cargo:rustc-env=ETCDECK_TESTED_ETCD={tested}");

    let commit = match std::env::var("ETCDECK_GIT_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => {
            // The commit moves with HEAD, a branch's ref, or packed refs.
            if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
                watch(&Path::new(&dir).join("HEAD"));
            }
            if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
                let common = Path::new(&common);
                watch(&common.join("packed-refs"));
                if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                    watch(&common.join(r));
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_string())
        }
    };
    println!("cargo:rustc-env=ETCDECK_GIT_COMMIT={commit}");
}
