//! The inventory through the public API, on files shaped like real Pigsty inventories
//! (`tests/fixtures/inventory/`), then `etcdeck inventory check|show` as an operator runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use etcdeck::inventory::{self, Diagnostic, EtcdInit, Inventory, Origin, Severity};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory")
        .join(name)
}

fn extra(pairs: &[&str]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|s| inventory::parse_extra_var(s).expect("KEY=VALUE"))
        .collect()
}

/// A finding's first line without the file name: `LINE:COLUMN: LEVEL: MESSAGE`.
fn brief(d: &Diagnostic) -> String {
    let first = d.to_string().lines().next().unwrap_or_default().to_string();
    first
        .strip_prefix(&format!("{}:", d.file))
        .unwrap_or(&first)
        .to_string()
}

fn load_ok(name: &str, pairs: &[&str]) -> Inventory {
    inventory::load(&fixture(name), &extra(pairs)).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

#[test]
fn a_full_pigsty_file_gives_the_etcd_members_and_where_each_value_came_from() {
    let inv = load_ok("pigsty-full.yml", &[]);
    assert!(inv.diagnostics.is_empty(), "{:?}", inv.diagnostics);
    assert_eq!(inv.file, fixture("pigsty-full.yml").display().to_string());
    assert_eq!(inv.cluster(), "etcd");
    assert_eq!(
        inv.client_urls(),
        [
            "https://10.10.10.10:2379",
            "https://10.10.10.11:2379",
            "https://10.10.10.12:2379"
        ]
    );
    let names: Vec<String> = inv.hosts.iter().map(|h| h.name()).collect();
    assert_eq!(names, ["etcd-1", "etcd-2", "etcd-3"]);
    let lines: Vec<usize> = inv.hosts.iter().map(|h| h.line).collect();
    assert_eq!(lines, [15, 16, 17]);
    for h in &inv.hosts {
        assert_eq!(
            (h.params.etcd_safeguard, h.origins["etcd_safeguard"]),
            (true, Origin::Group)
        );
        assert_eq!(
            (h.params.etcd_clean, h.origins["etcd_clean"]),
            (false, Origin::All)
        );
        assert_eq!(
            (h.params.etcd_port, h.origins["etcd_port"]),
            (2379, Origin::Default)
        );
    }
}

#[test]
fn extra_vars_beat_the_file_as_when_adding_a_member() {
    // As in Pigsty's docs: ./etcd.yml -l 10.10.10.13 -e etcd_init=existing
    let inv = load_ok(
        "pigsty-full.yml",
        &["etcd_init=existing", "etcd_safeguard=false"],
    );
    for h in &inv.hosts {
        assert_eq!(
            (h.params.etcd_init, h.origins["etcd_init"]),
            (EtcdInit::Existing, Origin::Extra)
        );
        assert_eq!(
            (h.params.etcd_safeguard, h.origins["etcd_safeguard"]),
            (false, Origin::Extra)
        );
    }

    let d = inventory::load(&fixture("pigsty-full.yml"), &extra(&["etcd_port=http"]))
        .expect_err("a bad -e value is an error");
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].to_string().lines().next().unwrap(),
        "-e: error: etcd_port must be a port number from 1 to 65535, got \"http\" (from -e etcd_port=http)"
    );
}

#[test]
fn every_mistake_in_a_file_is_reported_at_once_in_file_order() {
    let d = inventory::load(&fixture("bad.yml"), &[]).expect_err("bad.yml has errors");
    let got: Vec<String> = d.iter().map(brief).collect();
    assert_eq!(
        got,
        [
            "8:7: warning: 8 members tolerate no more failures than 7; use an odd number",
            "10:34: error: duplicate etcd_seq 1: host 10.10.10.10 on line 9 has it too",
            "11:9: error: host key `etcd-3.local` is not an IP address",
            "12:9: error: host 10.10.10.13 has no etcd_seq",
            "12:24: warning: unknown parameter etcd_sqe is ignored",
            "13:34: error: etcd_seq of 10.10.10.14 must be an integer >= 0, got -5",
            "14:48: error: etcd_port must be a port number from 1 to 65535, got 99999",
            "15:51: error: host 10.10.10.16 is in etcd_cluster `other` but 10.10.10.10 (line 9) is in `etcd`",
            "18:27: error: host 10.10.10.17: etcd_port and etcd_peer_port are both 2379",
            "21:20: error: etcd_init must be `new` or `existing`, got \"create\"",
            "22:25: error: etcd_safeguard must be true or false, got \"maybe\"",
            "23:32: error: etcd_election_timeout 300 is less than 5 x etcd_heartbeat_interval 100; etcd refuses to start",
            "24:20: error: etcd_data must be an absolute path, got \"data/etcd\"",
        ]
    );
    // Every error says how to fix it.
    for e in d.iter().filter(|d| d.severity == Severity::Error) {
        assert!(e.hint.as_deref().is_some_and(|h| !h.is_empty()), "{e}");
    }
    let file = fixture("bad.yml").display().to_string();
    assert!(d.iter().all(|x| x.file == file));
}

#[test]
fn a_usable_file_with_warnings_keeps_them_on_the_inventory() {
    let inv = load_ok("warnings.yml", &[]);
    assert_eq!(inv.hosts.len(), 2);
    let got: Vec<String> = inv.warnings().map(brief).collect();
    assert_eq!(
        got,
        [
            "4:3: warning: 2 members tolerate no more failures than 1; use an odd number",
            "6:33: warning: unknown parameter etcd_lerner is ignored",
            "9:5: warning: unknown parameter etcd_api is ignored",
            "12:32: warning: etcd_port under pg-meta.vars is not read: etcdeck takes etcd parameters from all.vars, etcd.vars and etcd.hosts",
        ]
    );
    // Ignored means ignored.
    assert!(!inv.hosts[1].params.etcd_learner);
    assert_eq!(inv.hosts[0].params.etcd_port, 2379);
    // `inventory show` prints them after the tables.
    let shown = inventory::show_text(&inv);
    let tail: Vec<&str> = shown.trim_end().lines().rev().take(7).collect();
    assert!(
        tail.iter()
            .any(|l| l.ends_with("did you mean etcd_learner?")),
        "{shown}"
    );
}

#[test]
fn the_embedded_example_is_the_file_at_the_crate_root() {
    let on_disk = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("inventory.example.yml"),
    )
    .unwrap();
    assert_eq!(inventory::EXAMPLE, on_disk);
    let inv = inventory::parse(inventory::EXAMPLE, "inventory.example.yml", &[]).unwrap();
    assert_eq!(inv.hosts.len(), 3);
    assert_eq!(inv.warnings().count(), 0);
    // The sandbox starts real members from it: etcd's own limits hold.
    for h in &inv.hosts {
        assert_eq!((h.params.etcd_port, h.params.etcd_peer_port), (2379, 2380));
        assert_eq!(
            (
                h.params.etcd_election_timeout,
                h.params.etcd_heartbeat_interval
            ),
            (1000, 100)
        );
    }
}

#[test]
fn an_unreadable_file_is_one_error_at_line_1() {
    let missing = fixture("no-such-file.yml");
    let d = inventory::load(&missing, &[]).unwrap_err();
    assert_eq!(d.len(), 1);
    let shown = d[0].to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:1:1: error: cannot read the inventory: ",
            missing.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("\n  hint: "), "{shown}");
}

#[test]
fn json_for_inventory_show_hides_the_root_password() {
    let text = "etcd:\n  hosts: { 10.10.10.10: { etcd_seq: 1 } }\n  vars: { etcd_root_password: Etcd.Root }\n";
    let inv = inventory::parse(text, "pigsty.yml", &[]).unwrap();
    let json = serde_json::to_string(&inv).unwrap();
    assert!(!json.contains("Etcd.Root"), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["hosts"][0]["params"]["etcd_root_password"], "***");
    assert_eq!(v["hosts"][0]["origins"]["etcd_root_password"], "group");
}

// ---- `etcdeck inventory` as an operator runs it ----

fn etcdeck(args: &[&str], dir: &Path) -> Output {
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
        err.contains("no inventory found") && err.contains("-i FILE"),
        "{err}"
    );
}

#[test]
fn hostile_text_in_the_file_and_in_extra_vars_is_escaped_in_check_show_and_json() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = fixture("hostile.yml");
    let file = file.to_str().unwrap();
    let no_raw = |out: &str| {
        for raw in [
            '\u{1b}', '\u{2028}', '\u{200b}', '\u{9b}', '\u{202e}', '\u{7}',
        ] {
            assert!(!out.contains(raw), "U+{:04X} raw in\n{out}", raw as u32);
        }
    };
    let check = etcdeck(&["inventory", "check", file], dir.path());
    let err = String::from_utf8(check.stderr).unwrap();
    assert!(
        err.contains("unknown parameter etcd_\\u{200b}port is ignored"),
        "{err}"
    );
    assert!(err.contains("unexpected key `bad\\x9bkey`"), "{err}");
    assert!(
        err.contains("etcd_\\u{202e}port under pg-meta.vars"),
        "{err}"
    );
    no_raw(&err);

    let show = etcdeck(&["inventory", "show", "-i", file], dir.path());
    let out = String::from_utf8(show.stdout).unwrap();
    assert!(
        out.contains("/data/\\e[2J\\u{2028}x\\u{200b}y  host"),
        "{out}"
    );
    no_raw(&out);

    let json = etcdeck(&["inventory", "show", "--json", "-i", file], dir.path());
    let out = String::from_utf8(json.stdout).unwrap();
    assert!(
        out.contains(r#""etcd_data": "/data/\u001b[2J\u2028x\u200by""#),
        "{out}"
    );
    assert!(out.contains(r#"unexpected key `bad\u009bkey`"#), "{out}");
    no_raw(&out);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["hosts"][0]["params"]["etcd_data"],
        "/data/\u{1b}[2J\u{2028}x\u{200b}y"
    );

    // -e values in a finding.
    let bad = etcdeck(
        &[
            "inventory",
            "check",
            file,
            "-e",
            "etcd_init=new\u{1b}[2J\u{7}",
        ],
        dir.path(),
    );
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("(from -e etcd_init=new\\e[2J\\x07)"), "{err}");
    assert!(err.contains("got \"new\\e[2J\\x07\""), "{err}");
    no_raw(&err);
}

// ---- `etcdeck inventory add|comment|remove` ----

fn pigsty_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture("pigsty").join(name)).unwrap()
}

/// A directory holding `pigsty.yml` with `text`.
fn inventory_dir(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("pigsty.yml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn text_of(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn add_dry_run_shows_the_diff_with_the_next_unused_seq_and_writes_nothing() {
    // Pigsty's slim.yml: one member, 10.10.10.11 and .12 commented out with seqs 2 and 3.
    let text = pigsty_fixture("slim.yml");
    let (dir, path) = inventory_dir(&text);
    let out = etcdeck(
        &["inventory", "add", "10.10.10.13", "--dry-run"],
        dir.path(),
    );
    let (stdout, stderr) = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.starts_with("--- a/pigsty.yml\n+++ b/pigsty.yml\n@@ "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n+        10.10.10.13: { etcd_seq: 4 }\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("add 10.10.10.13 (etcd_seq 4) to the etcd group"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dry run: pigsty.yml is not written"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(files_in(dir.path()), ["pigsty.yml"]);
}

#[test]
fn comment_with_yes_writes_the_file_and_keeps_the_old_one() {
    let text = pigsty_fixture("ha-trio.yml");
    let (dir, path) = inventory_dir(&text);
    let file = path.to_str().unwrap();
    let out = etcdeck(
        &["-i", file, "inventory", "comment", "10.10.10.12", "--yes"],
        dir.path(),
    );
    let (stdout, stderr) = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let now = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        now,
        text.replace(
            "        10.10.10.12: { etcd_seq: 3 }  # three-member cluster keeps an odd voter count\n",
            "        # 10.10.10.12: { etcd_seq: 3 }  # three-member cluster keeps an odd voter count  (etcd member removed by etcdeck)\n"
        )
    );
    let names = files_in(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    let backup = dir.path().join(&names[1]);
    assert!(
        names[1].starts_with("pigsty.yml.etcdeck-") && names[1].ends_with(".bak"),
        "{names:?}"
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), text);
    assert!(stdout.contains("the old file is kept as "), "{stdout}");
    assert!(stdout.contains(&names[1]), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("inventory check: ok"),
        "{stdout}"
    );
    // The members are now the two left; the seq 3 is not offered again.
    let inv = inventory::load(&path, &[]).unwrap();
    let ips: Vec<String> = inv.hosts.iter().map(|h| h.ip.to_string()).collect();
    assert_eq!(ips, ["10.10.10.10", "10.10.10.11"]);
    let out = etcdeck(
        &["-i", file, "inventory", "add", "10.10.10.14", "--dry-run"],
        dir.path(),
    );
    assert!(
        text_of(&out).0.contains("(etcd_seq 4)"),
        "{}",
        text_of(&out).0
    );
}

#[test]
fn remove_json_is_one_object_with_the_diff_and_the_backup() {
    let text = pigsty_fixture("ha-trio.yml");
    let (dir, path) = inventory_dir(&text);
    let file = path.to_str().unwrap();
    let out = etcdeck(
        &[
            "-i",
            file,
            "inventory",
            "remove",
            "10.10.10.11",
            "--json",
            "--yes",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out).1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["file"], file);
    assert_eq!(
        v["edit"],
        serde_json::json!({"op": "remove", "ip": "10.10.10.11"})
    );
    assert_eq!(
        v["summary"],
        "remove 10.10.10.11 (etcd_seq 2) from the etcd group"
    );
    assert!(
        v["diff"]
            .as_str()
            .unwrap()
            .contains("\n-        10.10.10.11: { etcd_seq: 2 }  # assign from 1 ~ n\n"),
        "{v}"
    );
    assert_eq!(v["written"], true);
    assert_eq!(v["check_errors"], 0);
    let backup = PathBuf::from(v["backup"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(backup).unwrap(), text);
    assert!(!std::fs::read_to_string(&path)
        .unwrap()
        .contains("10.10.10.11: { etcd_seq"));

    // A dry run in JSON: nothing written, no backup.
    let out = etcdeck(
        &[
            "-i",
            file,
            "inventory",
            "add",
            "10.10.10.11",
            "--seq",
            "5",
            "--json",
            "--dry-run",
        ],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["written"].clone(), v["backup"].clone()),
        (false.into(), serde_json::Value::Null)
    );
    assert_eq!(
        v["edit"],
        serde_json::json!({"op": "add", "ip": "10.10.10.11", "seq": 5})
    );
}

#[test]
fn without_a_terminal_or_with_read_only_nothing_is_written() {
    let text = pigsty_fixture("ha-dual.yml");
    let (dir, path) = inventory_dir(&text);
    // No --yes, and standard input is not a terminal.
    let out = etcdeck(&["inventory", "add", "10.10.10.11"], dir.path());
    let (stdout, stderr) = text_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("+    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 }, 10.10.10.11: { etcd_seq: 2 } }, vars: { etcd_cluster: etcd } }"), "{stdout}");
    assert!(
        stderr.contains("run on a terminal to confirm, or pass --yes"),
        "{stderr}"
    );
    let out = etcdeck(
        &["--read-only", "inventory", "add", "10.10.10.11", "--yes"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out)
            .1
            .contains("--read-only: pigsty.yml is not written"),
        "{}",
        text_of(&out).1
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(files_in(dir.path()), ["pigsty.yml"]);
}

#[test]
fn refusals_leave_the_file_alone() {
    let cases: [(&str, &[&str], &str); 4] = [
        (
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n",
            &["remove", "10.10.10.10"],
            "is the last host of the etcd group",
        ),
        (
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n",
            &["add", "10.10.10.11", "--seq", "1"],
            "use --seq 2",
        ),
        (
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2 }\n",
            &["comment", "10.10.10.12"],
            "10.10.10.12 is not a host of the etcd group",
        ),
        // The verification refuses what the text edit would get wrong: here the new line would
        // cut a block scalar short.
        (
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11:\n      etcd_seq: 2\n      note: |\n        # rack 4\n",
            &["add", "10.10.10.12"],
            "the edit was checked and refused, nothing is written",
        ),
    ];
    for (text, args, says) in cases {
        let (dir, path) = inventory_dir(text);
        let mut all = vec!["inventory"];
        all.extend_from_slice(args);
        all.push("--yes");
        let out = etcdeck(&all, dir.path());
        let (stdout, stderr) = text_of(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert_eq!(files_in(dir.path()), ["pigsty.yml"]);
    }
}

#[test]
fn the_diff_is_escaped_for_the_terminal() {
    // YAML refuses control characters; these are allowed, and reorder or hide text.
    let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }  # \u{202e}kcar\u{200b} 4\n    10.10.10.11: { etcd_seq: 2 }\n";
    let (dir, _) = inventory_dir(text);
    let out = etcdeck(
        &["inventory", "remove", "10.10.10.11", "--dry-run"],
        dir.path(),
    );
    let (stdout, stderr) = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(" # \\u{202e}kcar\\u{200b} 4\n"), "{stdout}");
    assert!(
        !stdout.contains('\u{202e}') && !stdout.contains('\u{200b}'),
        "{stdout:?}"
    );
}
