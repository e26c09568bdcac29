//! Every file named on the command line is read bounded: a device, a FIFO or a file over the
//! limit is refused at once with a message that names the file and the limit, whatever the
//! command (no etcd is started: the files are refused before any connection).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn etcdeck(args: &[&str], dir: &Path) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_etcdeck"))
        .args(args)
        .current_dir(dir)
        .env_remove("ETCDECK_INVENTORY")
        .env_remove("ETCDCTL_ENDPOINTS")
        .env_remove("ETCDCTL_CACERT")
        .env_remove("ETCDCTL_CERT")
        .env_remove("ETCDCTL_KEY")
        .env("XDG_CONFIG_HOME", dir)
        .env("HOME", dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("etcdeck runs");
    (out, started.elapsed())
}

/// What the command said, on stdout (`health` prints its verdict there) and stderr.
fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn fifo(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    path.display().to_string()
}

/// A fault of its own settings ends the command at once, saying what and where.
fn refused(args: &[&str], dir: &Path, expect: &[&str]) -> Output {
    let (out, took) = etcdeck(args, dir);
    let err = said(&out);
    assert!(!out.status.success(), "{args:?}: {err}");
    assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: no {e:?} in\n{err}");
    }
    out
}

#[test]
fn inventory_check_refuses_a_device_a_fifo_and_a_huge_file_at_once() {
    let dir = tempfile::TempDir::new().unwrap();
    refused(
        &["inventory", "check", "/dev/zero"],
        dir.path(),
        &["/dev/zero:1:1", "not a regular file (a device)"],
    );
    let f = fifo(dir.path(), "inv.yml");
    refused(&["inventory", "check", &f], dir.path(), &[&f, "a FIFO"]);
    let big = dir.path().join("big.yml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    refused(
        &["inventory", "show", "-i", big.to_str().unwrap()],
        dir.path(),
        &["larger than 64.0 MiB, the limit for an inventory"],
    );
}

#[test]
fn tls_files_are_refused_naming_the_file_and_health_says_unknown() {
    let dir = tempfile::TempDir::new().unwrap();
    let big = dir.path().join("big.crt");
    std::fs::write(&big, vec![b'x'; (1 << 20) + 1]).unwrap();
    let f = fifo(dir.path(), "ca.crt");
    for (flag, file, expect) in [
        ("--cacert", "/dev/zero", "not a regular file (a device)"),
        ("--cacert", f.as_str(), "not a regular file (a FIFO)"),
        (
            "--cacert",
            big.to_str().unwrap(),
            "larger than 1.0 MiB, the limit for a PEM file",
        ),
    ] {
        let args = [
            "health",
            "--endpoints",
            "https://127.0.0.1:9",
            "--timeout",
            "1s",
            flag,
            file,
        ];
        let out = refused(&args, dir.path(), &[file, expect]);
        assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    }
    // The client certificate and key go through the same read.
    let out = refused(
        &[
            "status",
            "--endpoints",
            "https://127.0.0.1:9",
            "--cert",
            "/dev/zero",
            "--key",
            "/dev/zero",
        ],
        dir.path(),
        &["/dev/zero", "a device"],
    );
    drop(out);
}

#[test]
fn a_console_config_that_is_a_device_or_a_fifo_is_refused_before_the_console_starts() {
    let dir = tempfile::TempDir::new().unwrap();
    refused(
        &["--config", "/dev/zero"],
        dir.path(),
        &["/dev/zero", "not a regular file (a device)"],
    );
    let f = fifo(dir.path(), "config.toml");
    refused(&["--config", &f], dir.path(), &[&f, "a FIFO"]);
}

#[test]
fn cert_issue_refuses_a_device_or_a_fifo_as_the_ca() {
    let dir = tempfile::TempDir::new().unwrap();
    let f = fifo(dir.path(), "ca.key");
    let out = dir.path().join("out");
    for (cert, key, expect) in [
        ("/dev/zero", f.as_str(), "/dev/zero"),
        ("/dev/null", f.as_str(), "/dev/null"),
    ] {
        refused(
            &[
                "cert",
                "issue",
                "--ca-cert",
                cert,
                "--ca-key",
                key,
                "--name",
                "etcd-4",
                "--ip",
                "10.10.10.14",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
            &[expect, "a device"],
        );
    }
}
