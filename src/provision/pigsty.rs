//! Pigsty's own playbooks, run from the Pigsty home (the directory with `pigsty.yml`,
//! `etcd.yml`, `files/pki/`), as an operator runs them there.
//!
//! What the playbooks do, read in Pigsty's sources (`etcd.yml`, `etcd-rm.yml`,
//! `roles/etcd/tasks/{main,config}.yml`, `roles/etcd_remove/tasks/{main,leave}.yml`,
//! `bin/etcd-add`, `bin/etcd-rm`):
//!
//! - **Start a member** (every version): `./etcd.yml -l <ip> -e etcd_init=existing`. It renders
//!   `/etc/etcd/etcd.conf` from the inventory (tag `etcd_conf`), issues the member's certificate
//!   on the admin node (`etcd_cert_issue`) and copies it (`etcd_cert_copy`), then
//!   `systemctl restart etcd` and waits for the client port (`etcd_launch`), and registers the
//!   monitoring target (`etcd_register`). From 3.6 it also runs `etcdctl member add` itself
//!   (`etcd_member`, learner when `etcd_learner`), tolerating only "Peer URLs already exists", so
//!   a member the wizard already added is fine; up to 3.5 there is no such task and the member
//!   must be added before. The host must be in the inventory's `etcd` group.
//! - **Purge a member**, Pigsty 3.6 and later: `./etcd-rm.yml -l <ip>`. It honours
//!   `etcd_safeguard` (abort unless `-e etcd_safeguard=false`), pauses 3 s, removes the
//!   monitoring target, runs `etcdctl member remove` for the member's name if it is still listed
//!   (ignoring errors, never checking quorum), stops and disables etcd, deletes `/etc/etcd`,
//!   `/var/lib/etcd` and `etcd_data`. **Without `-l` it removes the whole cluster**: every
//!   command built here carries `-l <ip>`, and [`Pigsty::run`] refuses one that does not.
//! - **Purge a member**, Pigsty up to 3.5 (no `etcd-rm.yml`): `./etcd.yml -t etcd_clean -l <ip>`.
//!   Pigsty's docs say `-t etcd_purge`, which runs the purge without the check that honours
//!   `etcd_safeguard` (the check is tagged `etcd_check`/`etcd_clean` and aborts when a running
//!   etcd meets `etcd_safeguard: true` or `etcd_clean: false`); `etcd_clean` runs both, so the
//!   safeguard is kept, and overriding it takes `-e etcd_safeguard=false -e etcd_clean=true`.
//!   That purge stops etcd and deletes its files; it never removes the member from the cluster.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{display_argv, Member, Out};

/// How often a running playbook is checked for its end, a cancel and the timeout.
const POLL: Duration = Duration::from_millis(100);
/// After SIGTERM, how long the process group has before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(5);
/// After the playbook exits, how long what it left behind may keep its output open.
const PIPE_GRACE: Duration = Duration::from_secs(2);
/// Lines kept for an error.
const TAIL: usize = 10;
/// A line longer than this is cut (the rest is dropped) before it is passed on.
const LINE_MAX: usize = 16 * 1024;

/// The Pigsty generations whose removal playbooks differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Up to 3.5: `etcd.yml` only; purge with its `etcd_clean` tasks.
    EtcdYmlOnly,
    /// 3.6 and later: `etcd-rm.yml` removes a member.
    WithEtcdRm,
}

/// Pigsty's playbooks in a Pigsty home.
#[derive(Debug, Clone)]
pub struct Pigsty {
    /// The Pigsty home: the playbooks run there, and `files/pki/` is under it.
    pub home: PathBuf,
    /// How long one playbook may run before its process group is killed.
    pub timeout: Duration,
}

/// Whether `home` is a Pigsty home: it holds an executable `etcd.yml`.
pub fn detect(home: &Path) -> bool {
    executable(&home.join("etcd.yml"))
}

fn executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Pigsty {
    /// A start takes a few minutes at most (packages may be installed); this leaves room.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);

    /// The playbooks of `home`, with [`Pigsty::DEFAULT_TIMEOUT`].
    pub fn new(home: &Path) -> Pigsty {
        Pigsty {
            home: home.to_path_buf(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Which removal playbook this home has: `etcd-rm.yml` (3.6+) or not.
    pub fn generation(&self) -> Generation {
        if self.home.join("etcd-rm.yml").is_file() {
            Generation::WithEtcdRm
        } else {
            Generation::EtcdYmlOnly
        }
    }

    /// `./etcd.yml -l <ip> -e etcd_init=existing`: the member joins the running cluster (every
    /// Pigsty version; from 3.6 the playbook also runs `etcdctl member add`, which accepts a
    /// member already added). Pigsty issues the member's certificate itself; see
    /// [`Pigsty::start_argv_keeping_cert`] to have it use one etcdeck issued.
    pub fn start_argv(&self, m: &Member) -> Vec<String> {
        let argv = s(&["./etcd.yml", "-l", &m.ip(), "-e", "etcd_init=existing"]);
        assert_single_host(&argv, m);
        argv
    }

    /// [`Pigsty::start_argv`] with `--skip-tags etcd_cert_issue`: the playbook copies the
    /// certificate and key found at [`Pigsty::cert_paths`] to the node instead of issuing them
    /// (put them there first). Needed because Pigsty's issue step would replace them: see
    /// [`Pigsty::cert_paths`].
    pub fn start_argv_keeping_cert(&self, m: &Member) -> Vec<String> {
        let mut argv = self.start_argv(m);
        argv.extend(s(&["--skip-tags", "etcd_cert_issue"]));
        argv
    }

    /// The command that stops the member on its node and deletes its data and configuration:
    /// `./etcd-rm.yml -l <ip>` on Pigsty 3.6+, `./etcd.yml -t etcd_clean -l <ip>` before (see the
    /// module's notes). `override_safeguard` (the operator typed the override) adds
    /// `-e etcd_safeguard=false` (and, before 3.6, `-e etcd_clean=true`, which that check also
    /// demands). Always limited to the member's IP.
    pub fn purge_argv(&self, m: &Member, override_safeguard: bool) -> Vec<String> {
        let ip = m.ip();
        let mut argv = match self.generation() {
            Generation::WithEtcdRm => s(&["./etcd-rm.yml", "-l", &ip]),
            Generation::EtcdYmlOnly => s(&["./etcd.yml", "-t", "etcd_clean", "-l", &ip]),
        };
        if override_safeguard {
            argv.extend(s(&["-e", "etcd_safeguard=false"]));
            if self.generation() == Generation::EtcdYmlOnly {
                argv.extend(s(&["-e", "etcd_clean=true"]));
            }
        }
        assert_single_host(&argv, m);
        argv
    }

    /// Where Pigsty keeps the member's certificate and key on the admin node:
    /// `files/pki/etcd/<cls>-<seq>.crt` and `.key` under the Pigsty home (`etcd_cert_issue` in
    /// `roles/etcd/tasks/config.yml`, every version from 2.x to 4.x), copied to the node as
    /// `/etc/etcd/server.crt` (0644) and `server.key` (0600) by `etcd_cert_copy`.
    ///
    /// An existing file there is **not** simply kept: `openssl_privatekey` regenerates a key that
    /// does not match its options (the default, RSA 4096), so etcdeck's ECDSA key would be
    /// replaced, and with it the CSR and the certificate (`openssl_certificate` re-issues when
    /// the key differs). For Pigsty to use what etcdeck issued, write them here and start with
    /// [`Pigsty::start_argv_keeping_cert`].
    pub fn cert_paths(&self, m: &Member) -> (PathBuf, PathBuf) {
        let dir = self.home.join("files").join("pki").join("etcd");
        (
            dir.join(format!("{}.crt", m.name)),
            dir.join(format!("{}.key", m.name)),
        )
    }

    /// Run `argv` (a playbook of this home, e.g. from [`Pigsty::start_argv`]) in the home, stdin
    /// closed, in its own process group; every line of its stdout and stderr goes to `out` as it
    /// arrives.
    ///
    /// - Ok: a one-line summary, e.g. `./etcd.yml -l 10.10.10.13 -e etcd_init=existing: exit 0
    ///   in 41.2 s`.
    /// - A non-zero exit: Err with the exit code (or signal) and the last 10 lines.
    /// - The timeout: the group is killed (SIGTERM, SIGKILL 5 s later); Err says it timed out
    ///   after N s, with the last lines.
    /// - A cancel (`out.cancelled()`, asked every 100 ms): the same kill; Err `"cancelled"`.
    /// - A command without `-l`, or a removal not limited to one IP address: refused, nothing
    ///   runs.
    ///
    /// Whatever the end, no process of the group is left running.
    pub async fn run(&self, argv: &[String], out: &mut dyn Out) -> Result<String, String> {
        check_limit(argv)?;
        let shown = display_argv(argv);
        let started = Instant::now();
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{shown}: cannot start in {}: {e}", self.home.display()))?;
        let pid = child.id();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ];
        for pipe in pipes.into_iter().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || read_lines(pipe, &tx));
        }
        drop(tx);

        let mut tail: VecDeque<String> = VecDeque::with_capacity(TAIL + 1);
        fn keep(line: String, out: &mut dyn Out, tail: &mut VecDeque<String>) {
            out.line(&line);
            tail.push_back(line);
            if tail.len() > TAIL {
                tail.pop_front();
            }
        }
        let mut pipes_open = true;
        let mut exited_at: Option<Instant> = None;
        let deadline = started + self.timeout;
        let end = loop {
            tokio::select! {
                line = rx.recv(), if pipes_open => match line {
                    Some(l) => keep(l, out, &mut tail),
                    None => pipes_open = false,
                },
                () = tokio::time::sleep(POLL) => {}
            }
            if exited_at.is_none() && exited_unreaped(pid) {
                exited_at = Some(Instant::now());
            }
            if let Some(at) = exited_at {
                if !pipes_open || at.elapsed() >= PIPE_GRACE {
                    break End::Exited;
                }
                continue;
            }
            if out.cancelled() {
                break End::Cancelled;
            }
            if Instant::now() >= deadline {
                break End::TimedOut;
            }
        };
        let status = finish(&mut child, pid, end != End::Exited).await;
        // What was already read still counts (the last lines of a timeout say where it hung).
        while let Ok(l) = rx.try_recv() {
            keep(l, out, &mut tail);
        }
        let secs = started.elapsed().as_secs_f64();
        let last = || {
            if tail.is_empty() {
                "(no output)".to_string()
            } else {
                tail.iter()
                    .map(|l| format!("  {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        match end {
            End::Cancelled => Err("cancelled".into()),
            End::TimedOut => Err(format!(
                "{shown}: timed out after {} s (its processes were killed); last lines:\n{}",
                self.timeout.as_secs(),
                last()
            )),
            End::Exited => match status {
                Some(st) if st.success() => Ok(format!("{shown}: exit 0 in {secs:.1} s")),
                Some(st) => Err(format!(
                    "{shown}: {} after {secs:.1} s; last lines:\n{}",
                    describe(st),
                    last()
                )),
                None => Err(format!("{shown}: its exit status could not be read")),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Exited,
    Cancelled,
    TimedOut,
}

fn describe(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended".into(),
    }
}

/// Pass each line of `pipe` on, raw (invalid UTF-8 replaced), without its line end.
fn read_lines(pipe: Box<dyn Read + Send>, tx: &tokio::sync::mpsc::UnboundedSender<String>) {
    let mut r = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                buf.truncate(LINE_MAX);
                if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                    return;
                }
            }
        }
    }
}

/// Whether child `pid` has exited, without reaping it: while it is a zombie its process group id
/// cannot be taken by another process, so the group can still be signalled safely.
fn exited_unreaped(pid: u32) -> bool {
    // SAFETY: waitid writes into the zeroed siginfo_t it is given; WNOWAIT leaves the child
    // waitable for `Child::wait`.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        r == 0 && info.si_pid() != 0
    }
}

fn signal_group(pid: u32, sig: libc::c_int) {
    // SAFETY: kill has no memory effects; a group that is gone gives ESRCH, ignored.
    unsafe {
        libc::kill(-(pid as libc::pid_t), sig);
    }
}

/// End the run: with `stop`, SIGTERM to the group, SIGKILL after [`TERM_GRACE`]; in every case
/// the group is killed (what the playbook left behind) while its leader is an unreaped zombie,
/// then the leader is reaped.
async fn finish(child: &mut Child, pid: u32, stop: bool) -> Option<ExitStatus> {
    if stop && !exited_unreaped(pid) {
        signal_group(pid, libc::SIGTERM);
        let t = Instant::now();
        while !exited_unreaped(pid) && t.elapsed() < TERM_GRACE {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    signal_group(pid, libc::SIGKILL);
    while !exited_unreaped(pid) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.wait().ok()
}

/// The value of `-l`/`--limit` in `argv`.
fn limit(argv: &[String]) -> Option<&str> {
    argv.iter().enumerate().find_map(|(i, a)| {
        if a == "-l" || a == "--limit" {
            argv.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix("--limit=")
        }
    })
}

/// Whether `argv` removes etcd: `etcd-rm.yml`, or `etcd.yml` with its purge tasks.
fn removes(argv: &[String]) -> bool {
    let prog = argv.first().map_or("", String::as_str);
    let rm = Path::new(prog)
        .file_name()
        .is_some_and(|f| f == "etcd-rm.yml");
    let purge_tags = argv.windows(2).any(|w| {
        matches!(w[0].as_str(), "-t" | "--tags")
            && w[1]
                .split(',')
                .any(|t| matches!(t.trim(), "etcd_clean" | "etcd_purge"))
    });
    rm || purge_tags
}

/// Refuse a playbook run without a `-l` limit, and a removal not limited to one IP address
/// (`etcd-rm.yml` without `-l` removes the whole cluster).
pub fn check_limit(argv: &[String]) -> Result<(), String> {
    if argv.is_empty() {
        return Err("no command to run".into());
    }
    let shown = display_argv(argv);
    let Some(l) = limit(argv).filter(|l| !l.trim().is_empty()) else {
        return Err(format!(
            "refused: {shown} has no -l limit; etcdeck runs Pigsty's playbooks only on the hosts \
             named (etcd-rm.yml without -l removes the whole cluster)"
        ));
    };
    if removes(argv) && l.parse::<IpAddr>().is_err() {
        return Err(format!(
            "refused: {shown} removes etcd from `{l}`; etcdeck removes one member at a time, by \
             its IP address"
        ));
    }
    Ok(())
}

/// The commands built here name exactly the member's IP: anything else is a bug.
fn assert_single_host(argv: &[String], m: &Member) {
    assert_eq!(
        limit(argv),
        Some(m.ip().as_str()),
        "a Pigsty command must be limited to the member's IP: {argv:?}"
    );
    assert!(check_limit(argv).is_ok(), "{argv:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        s(v)
    }

    #[test]
    fn removals_need_one_ip_and_every_run_a_limit() {
        assert!(check_limit(&a(&["./etcd-rm.yml"]))
            .unwrap_err()
            .contains("no -l"));
        assert!(check_limit(&a(&["./etcd-rm.yml", "-l", ""])).is_err());
        assert!(check_limit(&a(&["./etcd-rm.yml", "-l", "etcd"]))
            .unwrap_err()
            .contains("one member at a time"));
        assert!(check_limit(&a(&["./etcd.yml", "-t", "etcd_purge", "-l", "etcd"])).is_err());
        assert!(check_limit(&a(&[
            "./etcd.yml",
            "--tags",
            "x,etcd_clean",
            "--limit=etcd"
        ]))
        .is_err());
        assert!(check_limit(&a(&["./etcd-rm.yml", "-l", "10.10.10.13"])).is_ok());
        assert!(check_limit(&a(&[
            "./etcd.yml",
            "-l",
            "etcd,!10.10.10.13",
            "-t",
            "etcd_conf"
        ]))
        .is_ok());
        assert!(check_limit(&a(&["./etcd.yml", "-t", "etcd_conf"])).is_err());
    }
}
