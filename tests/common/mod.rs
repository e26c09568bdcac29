//! Test harness: real etcd clusters on loopback, one set of addresses per test, stopped on drop
//! (panics included).
//!
//! The etcd binary is `$ETCDECK_ETCD` (else `etcd` on `PATH`); with `ETCDECK_TEST_AUTH=1` every
//! cluster has auth on as Pigsty 4.x sets it (`etcd_root_password`, user `root`), and the
//! `etcdeck`/`etcdctl` helpers pass `ETCDCTL_USER`. `.ci/test` runs the suite both ways.

#![allow(dead_code)]

pub mod frames;
pub mod stats;
pub mod tmux;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use etcdeck::etcd::Cluster;
use etcdeck::inventory;
use etcdeck::sandbox::{self, Sandbox};
use tempfile::TempDir;

static NEXT: AtomicU8 = AtomicU8::new(1);

/// Environment variable that turns auth on in every test cluster (`1`).
pub const AUTH_ENV: &str = "ETCDECK_TEST_AUTH";

/// The root password test clusters get with auth on: Pigsty's default.
pub const ROOT_PASSWORD: &str = "Etcd.Root";

/// Whether this run has auth on (`ETCDECK_TEST_AUTH=1`).
pub fn auth_on() -> bool {
    std::env::var(AUTH_ENV).is_ok_and(|v| v == "1")
}

/// The version of the etcd binary the tests run (`etcd --version`), e.g. `3.5.16`.
pub fn etcd_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let bin = sandbox::find_etcd().expect("an etcd binary (apt-get install etcd-server)");
        sandbox::etcd_version(&bin).expect("etcd --version")
    })
}

/// `etcd 3.5.16, auth on (root)`: what a run or a benchmark ran against.
pub fn etcd_label(auth: bool) -> String {
    format!("etcd {}, {}", etcd_version(), auth_words(auth))
}

fn auth_words(auth: bool) -> &'static str {
    if auth {
        "auth on (root)"
    } else {
        "auth off"
    }
}

/// A running sandbox cluster with its own state directory.
pub struct TestCluster {
    pub sandbox: Sandbox,
    pub dir: TempDir,
    /// The inventory it was started from.
    pub inventory_text: String,
}

/// Inventory text for `n` members on fresh loopback addresses `127.B.C.1..n` (written as
/// `10.B.C.x`, as a real inventory would be).
/// With `ETCDECK_TEST_AUTH=1` it sets `etcd_root_password`.
pub fn fresh_inventory(n: u8) -> String {
    fresh_inventory_auth(n, auth_on())
}

/// [`fresh_inventory`] with auth on or off whatever the run says.
pub fn fresh_inventory_auth(n: u8, auth: bool) -> String {
    fresh_inventory_reserving(n, n, auth)
}

/// [`fresh_inventory_auth`] with the addresses of `reserve` hosts free (`reserve` >= `n`): the
/// hosts after the `n`th are spares a test adds as members (`10.B.C.<n+1>`...).
pub fn fresh_inventory_reserving(n: u8, reserve: u8, auth: bool) -> String {
    // B from the process id keeps concurrent test binaries apart, C from a counter keeps the tests
    // of one binary apart; an address already in use is skipped.
    let b = 100 + (std::process::id() % 150) as u8;
    loop {
        let c = NEXT.fetch_add(1, Ordering::SeqCst);
        let free = (1..=reserve.max(n)).all(|i| {
            [2379, 2380]
                .iter()
                .all(|port| TcpListener::bind(format!("127.{b}.{c}.{i}:{port}")).is_ok())
        });
        if free {
            let mut text = String::from("etcd:\n  hosts:\n");
            for i in 1..=n {
                text.push_str(&format!("    10.{b}.{c}.{i}: {{ etcd_seq: {i} }}\n"));
            }
            if auth {
                text.push_str(&format!(
                    "  vars: {{ etcd_cluster: etcd, etcd_root_password: {ROOT_PASSWORD} }}\n"
                ));
            } else {
                text.push_str("  vars: { etcd_cluster: etcd }\n");
            }
            return text;
        }
    }
}

/// A client for writes over `urls`, retried for 15 s until it connects: with auth on the
/// client logs in first, and a login is a raft proposal that fails while the members elect a
/// leader ("etcdserver: leader changed").
pub async fn writer(cluster: &Cluster, urls: &[String]) -> etcd_client::Client {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match cluster.balanced(urls).await {
            Ok(client) => return client,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("a client for writes, again: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("a client for writes: {e}"),
        }
    }
}

impl TestCluster {
    /// Start an `n`-member TLS cluster and wait until it is healthy (auth on with
    /// `ETCDECK_TEST_AUTH=1`).
    pub async fn start(n: u8) -> TestCluster {
        Self::start_from(&fresh_inventory(n), TempDir::new().expect("temp dir")).await
    }

    /// [`TestCluster::start`] with auth on or off whatever the run says.
    pub async fn start_auth(n: u8, auth: bool) -> TestCluster {
        Self::start_from(
            &fresh_inventory_auth(n, auth),
            TempDir::new().expect("temp dir"),
        )
        .await
    }

    /// Start from inventory text in `dir` (a CA may already be placed in `dir/pki`).
    pub async fn start_from(text: &str, dir: TempDir) -> TestCluster {
        Self::start_with_quota(text, dir, None).await
    }

    /// An `n`-member cluster with the addresses of `spare` more hosts free
    /// ([`TestCluster::spare_ip`]), its inventory written to [`TestCluster::inventory_file`] in the
    /// sandbox directory (where the membership wizards find the sandbox).
    pub async fn start_spare(n: u8, spare: u8) -> TestCluster {
        let text = fresh_inventory_reserving(n, n + spare, auth_on());
        let tc = Self::start_from(&text, TempDir::new().expect("temp dir")).await;
        std::fs::write(tc.inventory_file(), &text).expect("inventory written");
        tc
    }

    /// `10.B.C.<k>`: the inventory address of host `k` of this cluster's address block (a spare
    /// when `k` > the member count).
    pub fn spare_ip(&self, k: u8) -> String {
        let first = self.sandbox.members()[0].inventory_ip.to_string();
        let (block, _) = first.rsplit_once('.').expect("an IPv4 address");
        format!("{block}.{k}")
    }

    /// The inventory file of [`TestCluster::start_spare`]: `inventory.yml` in the sandbox directory.
    pub fn inventory_file(&self) -> std::path::PathBuf {
        self.dir.path().join("inventory.yml")
    }

    /// [`TestCluster::start`] with the members' `quota-backend-bytes` set (e.g. 16 MiB, to reach
    /// NOSPACE in seconds).
    pub async fn start_quota(n: u8, quota: u64) -> TestCluster {
        Self::start_with_quota(
            &fresh_inventory(n),
            TempDir::new().expect("temp dir"),
            Some(quota),
        )
        .await
    }

    async fn start_with_quota(text: &str, dir: TempDir, quota: Option<u64>) -> TestCluster {
        let inv = inventory::parse(text, "test-inventory.yml", &[]).expect("test inventory parses");
        let mut sandbox = Sandbox::prepare(&inv, dir.path()).expect("sandbox prepares");
        if let Some(q) = quota {
            sandbox.set_quota(q);
        }
        // Cargo shows this with a failing test's output: which etcd (and auth) it ran against.
        let addrs: Vec<String> = sandbox
            .members()
            .iter()
            .map(|m| m.host.ip.to_string())
            .collect();
        eprintln!(
            "etcd {} at {}, {}",
            etcd_version(),
            addrs.join(" "),
            auth_words(sandbox.auth())
        );
        sandbox.start().expect("members start");
        sandbox
            .wait_healthy(Duration::from_secs(20))
            .await
            .expect("cluster becomes healthy");
        TestCluster {
            sandbox,
            dir,
            inventory_text: text.to_string(),
        }
    }

    /// etcdeck's own client to the cluster.
    pub fn cluster(&self, timeout: Duration) -> Cluster {
        Cluster::new(self.sandbox.settings(timeout)).expect("settings load")
    }

    /// `etcdeck ARGS` with the sandbox's etcdctl environment, as a user who sourced it, and a
    /// state directory of the test's own ([`TestCluster::state_home`]).
    pub fn etcdeck(&self, args: &[&str]) -> Output {
        self.etcdeck_command(args).output().expect("etcdeck runs")
    }

    /// The command [`TestCluster::etcdeck`] runs, to spawn it.
    pub fn etcdeck_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdeck"));
        clear_etcd_env(&mut cmd);
        for (k, v) in self.sandbox.etcdctl_env().vars() {
            cmd.env(k, v);
        }
        cmd.env("XDG_STATE_HOME", self.state_home());
        cmd.args(args);
        cmd
    }

    /// `$XDG_STATE_HOME` of the etcdeck commands a test runs: etcdeck's state (journal, audit
    /// log, snapshots) is then `state_home()/etcdeck`.
    pub fn state_home(&self) -> std::path::PathBuf {
        self.dir.path().join("state-home")
    }

    /// `etcdctl ARGS` with the sandbox's environment.
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("etcdctl");
        clear_etcd_env(&mut cmd);
        for (k, v) in self.sandbox.etcdctl_env().vars() {
            cmd.env(k, v);
        }
        cmd.args(args)
            .output()
            .expect("etcdctl runs (apt-get install etcd-client)")
    }

    /// Process ids of the running members.
    pub fn pids(&self) -> Vec<u32> {
        self.sandbox
            .members()
            .iter()
            .filter_map(|m| m.pid())
            .collect()
    }

    /// Give every member at least `want_free` bytes of free pages: write `n` values of `size`
    /// bytes under `/fill/`, delete them, compact, then write until every member's backend has
    /// counted the pages it freed (it does at its next commit).
    pub async fn fragment(&self, n: usize, size: usize, want_free: i64) {
        let cluster = self.cluster(Duration::from_secs(30));
        let mut c = cluster
            .balanced(&self.sandbox.client_urls())
            .await
            .expect("client");
        let value = vec![b'x'; size];
        for i in 0..n {
            c.put(format!("/fill/{i:05}"), value.clone(), None)
                .await
                .expect("put");
        }
        let prefix = etcd_client::DeleteOptions::new().with_prefix();
        c.delete("/fill/", Some(prefix)).await.expect("delete");
        let rev = c
            .get("/none", None)
            .await
            .expect("get")
            .header()
            .expect("header")
            .revision();
        let physical = etcd_client::CompactionOptions::new().with_physical();
        c.compact(rev, Some(physical)).await.expect("compact");
        let t = std::time::Instant::now();
        loop {
            c.put("/tick", "x", None).await.expect("put");
            let s = etcdeck::etcd::status::gather(&cluster)
                .await
                .expect("status");
            if s.members
                .iter()
                .all(|m| m.db_size - m.db_size_in_use >= want_free)
            {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "pages never freed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Name of the member that leads now.
    pub async fn leader_name(&self) -> String {
        let s = etcdeck::etcd::status::gather(&self.cluster(Duration::from_secs(2)))
            .await
            .expect("status");
        let id = s.leader.expect("a leader");
        s.name_of(id)
    }
}

/// The caller's own ETCDCTL_* must not leak into a test.
pub fn clear_etcd_env(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("ETCDCTL_") || k.starts_with("ETCDECK_INVENTORY") {
            cmd.env_remove(k);
        }
    }
}

/// Whether a process id is still alive (zombies of reaped children excluded).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.split_whitespace()
                .nth(2)
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run `openssl ARGS` in `dir`; its standard output.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed for these tests: apt-get install openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A CA made by openssl in `dir` (`ca.crt`, `ca.key`) as Pigsty makes one, its key made by
/// `keygen` (openssl arguments writing `ca.key`).
pub fn openssl_ca(dir: &Path, keygen: &[&str]) {
    openssl(dir, keygen);
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=pigsty-ca",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:1",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ca.crt",
        ],
    );
}
