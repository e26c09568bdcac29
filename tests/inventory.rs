//! `etcdeck inventory check|show` as an operator runs them.

use std::process::{Command, Output};

fn etcdeck(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_etcdeck"))
        .args(args)
        .current_dir(dir)
        .env_remove("ETCDECK_INVENTORY")
        .output()
        .expect("etcdeck runs")
}

#[test]
fn check_prints_every_error_with_file_line_column_and_fails() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("pigsty.yml"),
        "all:\n  children:\n    etcd:\n      hosts:\n        10.10.10.10: { etcd_seq: 1 }\n        10.10.10.11: { etcd_seq: 1 }\n        etcd-3: { etcd_seq: 3 }\n      vars: { etcd_init: create }\n",
    )
    .unwrap();
    // No FILE: ./pigsty.yml is the default, as on a Pigsty admin node.
    let out = etcdeck(&["inventory", "check"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pigsty.yml:6:34: error: duplicate etcd_seq 1"),
        "{err}"
    );
    assert!(
        err.contains("pigsty.yml:7:9: error: host key `etcd-3` is not an IP address"),
        "{err}"
    );
    assert!(
        err.contains("pigsty.yml:8:26: error: etcd_init must be `new` or `existing`"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 error(s)"));
}

#[test]
fn show_json_of_the_example_with_an_extra_var() {
    let dir = tempfile::TempDir::new().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/inventory.example.yml");
    let out = etcdeck(
        &[
            "inventory",
            "show",
            example,
            "--json",
            "-e",
            "etcd_init=existing",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts[2]["name"], "etcd-3");
    assert_eq!(hosts[2]["peer_url"], "https://10.10.10.12:2380");
    assert_eq!(hosts[0]["params"]["etcd_init"], "existing");
    assert_eq!(hosts[0]["origins"]["etcd_init"], "extra");
    assert_eq!(hosts[0]["origins"]["etcd_port"], "group");

    let out = etcdeck(&["inventory", "check", example], dir.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok, 3 etcd member(s), 0 warning(s)"));
}

#[test]
fn no_inventory_anywhere_says_how_to_give_one() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_etcdeck"))
        .args(["inventory", "check"])
        .current_dir(dir.path())
        .env_remove("ETCDECK_INVENTORY")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no inventory found") && err.contains("pass -i FILE"),
        "{err}"
    );
}
