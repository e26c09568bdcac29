//! Pigsty's playbooks as etcdeck runs them, against stand-in `etcd.yml` / `etcd-rm.yml` scripts
//! in a temporary Pigsty home: the commands for both Pigsty generations, the output streamed in
//! order, a failure's exit code and last lines, a timeout and a cancel that leave no process.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use etcdeck::inventory;
use etcdeck::provision::pigsty::{self, Pigsty};
use etcdeck::provision::{Member, Out};

mod common;

fn member() -> Member {
    let text =
        "etcd:\n  hosts:\n    10.10.10.13: { etcd_seq: 4 }\n  vars: { etcd_cluster: etcd }\n";
    let inv = inventory::parse(text, "pigsty.yml", &[]).unwrap();
    Member::of(&inv.hosts[0])
}

/// A stand-in playbook: records its argv (one per line) and cwd, prints `body`, exits `code`.
fn playbook(home: &Path, name: &str, body: &str, code: i32) {
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > argv.txt\npwd > cwd.txt\n{body}\nexit {code}\n"
    );
    let p = home.join(name);
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Collects lines; cancels once a line equal to `cancel_on` arrived.
#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    cancel_on: Option<String>,
    cancel: bool,
}

impl Out for Lines {
    fn line(&mut self, s: &str) {
        if self.cancel_on.as_deref() == Some(s) {
            self.cancel = true;
        }
        self.lines.push(s.to_string());
    }
    fn cancelled(&self) -> bool {
        self.cancel
    }
}

fn recorded(home: &Path) -> Vec<String> {
    std::fs::read_to_string(home.join("argv.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn pid_in(home: &Path, file: &str) -> u32 {
    std::fs::read_to_string(home.join(file))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `kill -0` succeeds on a live process; a zombie no one reaped yet does not count.
/// SIGKILL went to the whole group: a process killed is gone once the kernel has run it down
/// (a moment on a busy machine), never after its own 60 s.
async fn assert_gone_soon(pid: u32, what: &str) {
    let t = Instant::now();
    while !gone(pid) && t.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone(pid), "{what}: process {pid} is still there");
}

fn gone(pid: u32) -> bool {
    let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    !alive || !common::alive(pid)
}

#[test]
fn a_home_is_detected_by_its_executable_etcd_yml() {
    let home = tempfile::TempDir::new().unwrap();
    assert!(!pigsty::detect(home.path()));
    std::fs::write(home.path().join("etcd.yml"), "---\n").unwrap();
    assert!(!pigsty::detect(home.path()), "not executable");
    playbook(home.path(), "etcd.yml", "", 0);
    assert!(pigsty::detect(home.path()));
}

#[test]
fn commands_for_both_pigsty_generations_are_limited_to_the_member() {
    let home = tempfile::TempDir::new().unwrap();
    playbook(home.path(), "etcd.yml", "", 0);
    let p = Pigsty::new(home.path());
    let m = member();
    assert_eq!(
        p.start_argv(&m),
        [
            "./etcd.yml",
            "-l",
            "10.10.10.13",
            "-e",
            "etcd_init=existing"
        ]
    );
    assert_eq!(
        p.start_argv_keeping_cert(&m),
        [
            "./etcd.yml",
            "-l",
            "10.10.10.13",
            "-e",
            "etcd_init=existing",
            "--skip-tags",
            "etcd_cert_issue"
        ]
    );
    // Pigsty up to 3.5: no etcd-rm.yml, the purge tasks of etcd.yml (with their safeguard check).
    assert_eq!(
        p.purge_argv(&m, false),
        ["./etcd.yml", "-t", "etcd_clean", "-l", "10.10.10.13"]
    );
    assert_eq!(
        p.purge_argv(&m, true),
        [
            "./etcd.yml",
            "-t",
            "etcd_clean",
            "-l",
            "10.10.10.13",
            "-e",
            "etcd_safeguard=false",
            "-e",
            "etcd_clean=true"
        ]
    );
    // Pigsty 3.6+: etcd-rm.yml.
    playbook(home.path(), "etcd-rm.yml", "", 0);
    assert_eq!(
        p.purge_argv(&m, false),
        ["./etcd-rm.yml", "-l", "10.10.10.13"]
    );
    assert_eq!(
        p.purge_argv(&m, true),
        [
            "./etcd-rm.yml",
            "-l",
            "10.10.10.13",
            "-e",
            "etcd_safeguard=false"
        ]
    );
    let (crt, key) = p.cert_paths(&m);
    assert_eq!(crt, home.path().join("files/pki/etcd/etcd-4.crt"));
    assert_eq!(key, home.path().join("files/pki/etcd/etcd-4.key"));
}

#[tokio::test]
async fn a_command_without_a_limit_never_runs() {
    let home = tempfile::TempDir::new().unwrap();
    playbook(home.path(), "etcd-rm.yml", "echo removing everything", 0);
    let p = Pigsty::new(home.path());
    let mut out = Lines::default();
    for argv in [
        vec!["./etcd-rm.yml".to_string()],
        vec!["./etcd-rm.yml".into(), "-l".into(), "etcd".into()],
        vec![
            "./etcd-rm.yml".into(),
            "-e".into(),
            "etcd_safeguard=false".into(),
        ],
    ] {
        let err = p.run(&argv, &mut out).await.unwrap_err();
        assert!(err.starts_with("refused"), "{err}");
    }
    assert!(!home.path().join("argv.txt").exists(), "the playbook ran");
    assert!(out.lines.is_empty());
}

#[tokio::test]
async fn output_streams_in_order_and_the_summary_names_the_command() {
    let home = tempfile::TempDir::new().unwrap();
    let body = "echo 'PLAY [ETCD INIT]'\nsleep 0.1\necho '[WARNING]: on stderr' >&2\nsleep 0.1\n\
                echo 'TASK [etcd : launch etcd server]'\nsleep 0.1\nprintf 'no newline'";
    playbook(home.path(), "etcd.yml", body, 0);
    let p = Pigsty::new(home.path());
    let argv = p.start_argv(&member());
    let mut out = Lines::default();
    let summary = p.run(&argv, &mut out).await.unwrap();
    assert_eq!(
        out.lines,
        [
            "PLAY [ETCD INIT]",
            "[WARNING]: on stderr",
            "TASK [etcd : launch etcd server]",
            "no newline"
        ]
    );
    assert!(
        summary.starts_with("./etcd.yml -l 10.10.10.13 -e etcd_init=existing: exit 0 in "),
        "{summary}"
    );
    assert!(summary.ends_with(" s"), "{summary}");
    assert_eq!(recorded(home.path()), argv[1..]);
    let cwd = std::fs::read_to_string(home.path().join("cwd.txt")).unwrap();
    assert_eq!(
        Path::new(cwd.trim()).canonicalize().unwrap(),
        home.path().canonicalize().unwrap()
    );
}

#[tokio::test]
async fn a_failure_gives_the_exit_code_and_the_last_ten_lines() {
    let home = tempfile::TempDir::new().unwrap();
    playbook(home.path(), "etcd-rm.yml", "", 0);
    let body = "for i in $(seq 1 15); do echo \"line $i\"; done\nsleep 0.1\n\
                echo 'fatal: [10.10.10.13]: FAILED! => Abort due to etcd_safeguard' >&2";
    playbook(home.path(), "etcd-rm.yml", body, 2);
    let p = Pigsty::new(home.path());
    let mut out = Lines::default();
    let err = p
        .run(&p.purge_argv(&member(), false), &mut out)
        .await
        .unwrap_err();
    assert_eq!(out.lines.len(), 16);
    assert!(
        err.starts_with("./etcd-rm.yml -l 10.10.10.13: exit 2 after "),
        "{err}"
    );
    assert!(err.contains("Abort due to etcd_safeguard"), "{err}");
    assert!(err.contains("line 7") && !err.contains("line 6\n"), "{err}");
    assert_eq!(err.lines().count(), 11, "{err}");
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let home = tempfile::TempDir::new().unwrap();
    let body = "echo $$ > pid.txt\nsleep 60 &\necho $! > child.txt\necho started\nwait";
    playbook(home.path(), "etcd.yml", body, 0);
    let mut p = Pigsty::new(home.path());
    p.timeout = Duration::from_secs(1);
    let mut out = Lines::default();
    let t = Instant::now();
    let err = p.run(&p.start_argv(&member()), &mut out).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(err.contains("timed out after 1 s"), "{err}");
    assert!(err.contains("started"), "the last lines: {err}");
    for f in ["pid.txt", "child.txt"] {
        assert_gone_soon(pid_in(home.path(), f), f).await;
    }
}

#[tokio::test]
async fn a_cancel_stops_even_a_playbook_that_ignores_sigterm() {
    let home = tempfile::TempDir::new().unwrap();
    let body = "trap '' TERM\necho $$ > pid.txt\nsleep 60 &\necho $! > child.txt\n\
                echo started\nwait\necho survived";
    playbook(home.path(), "etcd.yml", body, 0);
    let p = Pigsty::new(home.path());
    let mut out = Lines {
        cancel_on: Some("started".into()),
        ..Lines::default()
    };
    let t = Instant::now();
    let err = p.run(&p.start_argv(&member()), &mut out).await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(err, "cancelled");
    // SIGTERM ignored: SIGKILL follows 5 s later.
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(9),
        "{took:?}"
    );
    assert!(!out.lines.iter().any(|l| l == "survived"));
    for f in ["pid.txt", "child.txt"] {
        assert_gone_soon(pid_in(home.path(), f), f).await;
    }
}

#[tokio::test]
async fn a_cancel_of_a_playbook_that_honours_sigterm_is_quick() {
    let home = tempfile::TempDir::new().unwrap();
    let body = "echo $$ > pid.txt\nsleep 60 &\necho $! > child.txt\necho started\nwait";
    playbook(home.path(), "etcd.yml", body, 0);
    let p = Pigsty::new(home.path());
    let mut out = Lines {
        cancel_on: Some("started".into()),
        ..Lines::default()
    };
    let t = Instant::now();
    let err = p.run(&p.start_argv(&member()), &mut out).await.unwrap_err();
    assert_eq!(err, "cancelled");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    for f in ["pid.txt", "child.txt"] {
        assert!(gone(pid_in(home.path(), f)), "{f}");
    }
}
