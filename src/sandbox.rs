//! Real local etcd members started from an inventory, on loopback, for the demo and the tests.
//!
//! Host `a.b.c.d` of the inventory becomes `127.b.c.d`, so every member keeps the inventory's
//! ports (2379/2380) as on real nodes. A CA and member certificates are issued with [`crate::pki`];
//! client and peer traffic use TLS with client-certificate auth, as Pigsty configures it. Data lives
//! under the state directory, so a restart reuses it (`initial-cluster-state: existing`).
//! Members are stopped when the [`Sandbox`] is dropped, and die with the thread that started them
//! (`PR_SET_PDEATHSIG`), so a crashed test leaves no process behind.
//!
//! With `etcd_root_password` in the inventory (Pigsty 4.x), [`Sandbox::wait_healthy`] turns etcd's
//! auth on as Pigsty does: user `root` with that password and role `root`, then `auth enable`.
//! A restart on data where auth is already on just logs in.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::connect::{FileSetting, Origin, Settings};
use crate::etcd::error::classify;
use crate::etcd::status::{gather, ClusterStatus};
use crate::etcd::{Cluster, EtcdError};
use crate::inventory::{EtcdInit, Host, Inventory};
use crate::pki::{Ca, PkiError};
use crate::render::{self, ConfOptions, EtcdctlEnv, TlsPaths};

/// The etcd user that Pigsty 4.x creates when `etcd_root_password` is set.
pub const ROOT_USER: &str = "root";

/// Environment variable naming the etcd binary; default `etcd` from `PATH`.
pub const ETCD_BIN_ENV: &str = "ETCDECK_ETCD";

/// Something that keeps the sandbox from starting, said with what to do.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "etcd server binary not found ({0}): install it with `sudo apt-get install etcd-server` \
         (Debian/Ubuntu) or set ETCDECK_ETCD to its path"
    )]
    NoEtcd(String),
    #[error(
        "{host}: the sandbox maps IPv4 hosts a.b.c.d to 127.b.c.d; IPv6 hosts are not supported"
    )]
    NotIpv4 { host: IpAddr },
    #[error(
        "{addr} is already in use: another sandbox (`etcdeck demo`) or etcd may be running there; \
         stop it first, or use another inventory"
    )]
    AddressInUse { addr: String },
    #[error("{name}: etcd exited during start ({status}); last lines of {log}:\n{tail}")]
    Exited {
        name: String,
        status: String,
        log: String,
        tail: String,
    },
    #[error("cluster not healthy after {secs:.1} s: {detail}")]
    NotHealthy { secs: f64, detail: String },
    #[error(
        "{host}: etcd_root_password differs from {first}'s: Pigsty has one root password per \
         cluster; set it once, in the etcd group's vars"
    )]
    RootPasswordDiffers { host: String, first: String },
    #[error("no member named {0} in this sandbox")]
    NoSuchMember(String),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SandboxError + '_ {
    move |source| SandboxError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One local member.
#[derive(Debug)]
pub struct SandboxMember {
    /// The inventory host with its address mapped to loopback.
    pub host: Host,
    /// The address in the inventory.
    pub inventory_ip: IpAddr,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl SandboxMember {
    /// `etcd-1`.
    pub fn name(&self) -> String {
        self.host.name()
    }
    /// `https://127.10.10.10:2379`.
    pub fn client_url(&self) -> String {
        self.host.client_url()
    }
    /// The member's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("etcd.log")
    }
    /// Process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// A local cluster made of real etcd processes.
#[derive(Debug)]
pub struct Sandbox {
    dir: PathBuf,
    etcd_bin: PathBuf,
    members: Vec<SandboxMember>,
    ca_cert: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// `etcd_root_password`: auth on, user `root`.
    root_password: Option<String>,
    /// The members' `quota-backend-bytes` (Pigsty's 16 GiB unless set smaller, to rehearse
    /// NOSPACE).
    quota_bytes: u64,
}

/// `a.b.c.d` -> `127.b.c.d`; loopback stays as it is.
pub fn loopback_for(ip: IpAddr) -> Result<IpAddr, SandboxError> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            Ok(IpAddr::V4(if a == 127 {
                v4
            } else {
                Ipv4Addr::new(127, b, c, d)
            }))
        }
        IpAddr::V6(_) => Err(SandboxError::NotIpv4 { host: ip }),
    }
}

/// Find the etcd binary: `$ETCDECK_ETCD`, else `etcd` on `PATH`.
pub fn find_etcd() -> Result<PathBuf, SandboxError> {
    if let Some(p) = std::env::var_os(ETCD_BIN_ENV) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(SandboxError::NoEtcd(p.display().to_string()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("etcd"))
        .find(|p| p.is_file())
        .ok_or_else(|| SandboxError::NoEtcd("not on PATH".into()))
}

/// The version an etcd binary reports (`etcd --version`: `etcd Version: 3.5.16`), e.g. `3.5.16`.
pub fn etcd_version(bin: &Path) -> Result<String, SandboxError> {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(bin))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("etcd Version:"))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| {
            SandboxError::NoEtcd(format!(
                "{} --version printed no 'etcd Version:' line; is it an etcd server binary?",
                bin.display()
            ))
        })
}

impl Sandbox {
    /// Lay out the sandbox for `inv` under `dir`: certificates (made once, then reused) and one
    /// directory per member. Starts nothing.
    pub fn prepare(inv: &Inventory, dir: &Path) -> Result<Sandbox, SandboxError> {
        let etcd_bin = find_etcd()?;
        let root_password = root_password(inv)?;
        let pki = dir.join("pki");
        std::fs::create_dir_all(&pki).map_err(io_err(&pki))?;
        let ca_cert = pki.join("ca.crt");
        let ca_key = pki.join("ca.key");
        let ca = if ca_cert.exists() && ca_key.exists() {
            Ca::load(&ca_cert, &ca_key)?
        } else {
            let ca = Ca::create("etcdeck-sandbox-ca")?;
            ca.write(&pki, true)?;
            ca
        };
        let admin = "etcdeck-admin";
        let (client_cert, client_key) = (
            pki.join(format!("{admin}.crt")),
            pki.join(format!("{admin}.key")),
        );
        if !client_cert.exists() || !client_key.exists() {
            ca.issue_member(admin, IpAddr::V4(Ipv4Addr::LOCALHOST))?
                .write(&pki, true)?;
        }

        let mut members = Vec::new();
        for h in &inv.hosts {
            let mut host = h.clone();
            host.ip = loopback_for(h.ip)?;
            let mdir = dir.join(host.name());
            std::fs::create_dir_all(&mdir).map_err(io_err(&mdir))?;
            let name = host.name();
            if !mdir.join(format!("{name}.crt")).exists()
                || !mdir.join(format!("{name}.key")).exists()
            {
                ca.issue_member(&name, host.ip)?.write(&mdir, true)?;
            }
            members.push(SandboxMember {
                host,
                inventory_ip: h.ip,
                dir: mdir,
                child: None,
            });
        }
        Ok(Sandbox {
            dir: dir.to_path_buf(),
            etcd_bin,
            members,
            ca_cert,
            client_cert,
            client_key,
            root_password,
            quota_bytes: render::PIGSTY_QUOTA_BYTES,
        })
    }

    /// Set the members' backend quota (`quota-backend-bytes`) for the members started from now
    /// on: a small one (16 MiB) lets the demo and the tests reach NOSPACE in seconds.
    pub fn set_quota(&mut self, bytes: u64) {
        self.quota_bytes = bytes;
    }

    /// The members' backend quota.
    pub fn quota(&self) -> u64 {
        self.quota_bytes
    }

    /// The etcd binary the members run.
    pub fn etcd_bin(&self) -> &Path {
        &self.etcd_bin
    }

    /// Whether auth is on (the inventory sets `etcd_root_password`).
    pub fn auth(&self) -> bool {
        self.root_password.is_some()
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The members, in inventory order.
    pub fn members(&self) -> &[SandboxMember] {
        &self.members
    }

    /// Client URLs of all members.
    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(SandboxMember::client_url).collect()
    }

    /// The etcdctl environment that reaches this sandbox.
    pub fn etcdctl_env(&self) -> EtcdctlEnv {
        EtcdctlEnv {
            endpoints: self.client_urls(),
            cacert: self.ca_cert.display().to_string(),
            cert: self.client_cert.display().to_string(),
            key: self.client_key.display().to_string(),
            user: self
                .root_password
                .as_ref()
                .map(|pw| format!("{ROOT_USER}:{pw}")),
        }
    }

    /// Connection settings for etcdeck's own clients (as `root` when auth is on).
    pub fn settings(&self, timeout: Duration) -> Settings {
        let mut s = self.anonymous_settings(timeout);
        s.user = self
            .root_password
            .as_ref()
            .map(|pw| (ROOT_USER.to_string(), pw.clone()));
        s
    }

    /// Connection settings without a user, as before auth is on.
    fn anonymous_settings(&self, timeout: Duration) -> Settings {
        let file = |p: &Path, var| {
            Some(FileSetting {
                path: p.to_path_buf(),
                origin: Origin::Env(var),
            })
        };
        Settings {
            endpoints: self.client_urls(),
            endpoints_origin: Origin::Env("ETCDCTL_ENDPOINTS"),
            cacert: file(&self.ca_cert, "ETCDCTL_CACERT"),
            cert: file(&self.client_cert, "ETCDCTL_CERT"),
            key: file(&self.client_key, "ETCDCTL_KEY"),
            user: None,
            timeout,
        }
    }

    fn index(&self, name: &str) -> Result<usize, SandboxError> {
        self.members
            .iter()
            .position(|m| m.name() == name)
            .ok_or_else(|| SandboxError::NoSuchMember(name.to_string()))
    }

    /// Start every member that is not running.
    pub fn start(&mut self) -> Result<(), SandboxError> {
        let names: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.child.is_none())
            .map(|m| m.name())
            .collect();
        for m in self.members.iter().filter(|m| m.child.is_none()) {
            for url in [m.host.client_url(), m.host.peer_url()] {
                check_free(&url)?;
            }
        }
        for name in names {
            self.start_member(&name)?;
        }
        Ok(())
    }

    /// Start one member; with data from an earlier run it rejoins (`existing`).
    pub fn start_member(&mut self, name: &str) -> Result<(), SandboxError> {
        let i = self.index(name)?;
        if self.members[i].child.is_some() {
            return Ok(());
        }
        let peers: Vec<Host> = self.members.iter().map(|m| m.host.clone()).collect();
        let m = &self.members[i];
        let has_data = m.data_dir().join("member").exists();
        let cert = m.dir.join(format!("{}.crt", m.name()));
        let key = m.dir.join(format!("{}.key", m.name()));
        let data_dir = m.data_dir();
        let log = m.log();
        let opts = ConfOptions {
            tls: TlsPaths {
                cert: &cert,
                key: &key,
                ca: &self.ca_cert,
            },
            data_dir: Some(&data_dir),
            state: Some(if has_data {
                EtcdInit::Existing
            } else {
                m.host.params.etcd_init
            }),
            listen_localhost: false,
            quota_bytes: self.quota_bytes,
            log_file: Some(&log),
        };
        let conf_path = m.dir.join("etcd.conf");
        let conf = render::etcd_conf(&m.host, &peers, &opts);
        std::fs::write(&conf_path, conf).map_err(io_err(&conf_path))?;

        let mut cmd = member_command(&self.etcd_bin, &conf_path);
        // SAFETY: prctl is async-signal-safe and touches no memory of this process.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(io_err(&self.etcd_bin))?;
        let pid_path = pid_file(&self.members[i].dir);
        std::fs::write(&pid_path, format!("{}\n", child.id())).map_err(io_err(&pid_path))?;
        self.members[i].child = Some(child);
        Ok(())
    }

    /// Send `signal` to a running member.
    fn signal(&self, name: &str, signal: i32) -> Result<(), SandboxError> {
        let i = self.index(name)?;
        if let Some(pid) = self.members[i].pid() {
            // SAFETY: plain syscall on a child we own and have not reaped.
            unsafe {
                libc::kill(pid as i32, signal);
            }
        }
        Ok(())
    }

    /// Kill a member at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, name: &str) -> Result<(), SandboxError> {
        let i = self.index(name)?;
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Ok(())
    }

    /// Freeze a member (SIGSTOP): its ports still accept connections, nothing answers.
    pub fn freeze(&self, name: &str) -> Result<(), SandboxError> {
        self.signal(name, libc::SIGSTOP)
    }

    /// Thaw a frozen member (SIGCONT).
    pub fn thaw(&self, name: &str) -> Result<(), SandboxError> {
        self.signal(name, libc::SIGCONT)
    }

    /// The directory of member `name`: one this sandbox started, or one a wizard added in its
    /// directory (none for a name that is not a plain directory name, or has no `etcd.conf`).
    fn member_dir(&self, name: &str) -> Option<PathBuf> {
        if let Ok(i) = self.index(name) {
            return Some(self.members[i].dir.clone());
        }
        let plain = !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        plain
            .then(|| self.dir.join(name))
            .filter(|d| d.join("etcd.conf").exists())
    }

    /// The process of member `name` if it runs (frozen included), whoever started it: this
    /// sandbox, or a wizard that added it.
    pub fn running(&mut self, name: &str) -> Option<u32> {
        if let Ok(i) = self.index(name) {
            let m = &mut self.members[i];
            if let Some(child) = m.child.as_mut() {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    m.child = None;
                }
            }
            return m.pid().or_else(|| running_pid(&m.dir));
        }
        self.member_dir(name).and_then(|d| running_pid(&d))
    }

    /// Kill member `name` at once (SIGKILL), whoever started it. `false`: it was not running.
    pub fn kill_any(&mut self, name: &str) -> Result<bool, SandboxError> {
        let Some(pid) = self.running(name) else {
            return Ok(false);
        };
        match self.index(name) {
            Ok(i) if self.members[i].child.is_some() => self.kill(name)?,
            // SAFETY: plain syscall on the pid its pid file and command line name as the member.
            _ => unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            },
        }
        Ok(true)
    }

    /// Freeze (SIGSTOP) or thaw (SIGCONT) member `name`, whoever started it. `false`: it was
    /// not running.
    pub fn signal_any(&mut self, name: &str, signal: i32) -> Result<bool, SandboxError> {
        let Some(pid) = self.running(name) else {
            return Ok(false);
        };
        // SAFETY: as in `kill_any`.
        unsafe {
            libc::kill(pid as i32, signal);
        }
        Ok(true)
    }

    /// Start member `name` again on its data, whoever started it first. `false`: it runs
    /// already.
    pub fn restart_any(&mut self, name: &str) -> Result<bool, SandboxError> {
        if self.running(name).is_some() {
            return Ok(false);
        }
        if self.index(name).is_ok() {
            self.start_member(name)?;
        } else {
            let dir = self
                .member_dir(name)
                .ok_or_else(|| SandboxError::NoSuchMember(name.to_string()))?;
            spawn_member(&dir)?;
        }
        Ok(true)
    }

    /// Delete the data of member `name`, which must not run (its node is gone for good).
    pub fn delete_data(&mut self, name: &str) -> Result<(), SandboxError> {
        if self.running(name).is_some() {
            return Err(SandboxError::Io {
                path: name.to_string(),
                source: std::io::Error::other("the member still runs: stop it first"),
            });
        }
        let dir = self
            .member_dir(name)
            .ok_or_else(|| SandboxError::NoSuchMember(name.to_string()))?
            .join("data");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        }
        Ok(())
    }

    /// Stop a member cleanly (SIGTERM), killing it if it has not exited after 5 s.
    pub fn stop_member(&mut self, name: &str) -> Result<(), SandboxError> {
        let i = self.index(name)?;
        let Some(mut child) = self.members[i].child.take() else {
            return Ok(());
        };
        stop_pid(child.id());
        let _ = child.wait();
        Ok(())
    }

    /// Stop every member, followers first is not needed here: the data is kept either way.
    pub fn stop(&mut self) {
        let names: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.name())
            .collect();
        for name in names {
            let _ = self.stop_member(&name);
        }
        stop_adopted(&self.dir);
    }

    /// Members whose process has exited since start (with their exit status and log tail).
    fn check_exited(&mut self) -> Result<(), SandboxError> {
        for m in &mut self.members {
            let Some(child) = m.child.as_mut() else {
                continue;
            };
            if let Ok(Some(status)) = child.try_wait() {
                m.child = None;
                return Err(SandboxError::Exited {
                    name: m.name(),
                    status: status.to_string(),
                    log: m.log().display().to_string(),
                    tail: log_tail(&m.log(), 8),
                });
            }
        }
        Ok(())
    }

    /// Wait until every member answers and there is a leader. With `etcd_root_password`, auth is
    /// turned on (once the cluster is healthy without a user) and the answer comes from `root`;
    /// on data where auth is already on, `root` just logs in.
    pub async fn wait_healthy(&mut self, within: Duration) -> Result<ClusterStatus, SandboxError> {
        let start = Instant::now();
        let per_call = Duration::from_millis(500);
        let not_healthy = |e: EtcdError| SandboxError::NotHealthy {
            secs: 0.0,
            detail: e.to_string(),
        };
        // With auth, the first call to each member is a login: a bcrypt check and a raft round,
        // far slower than a Status on a busy machine. A login cut at 500 ms is tried again at
        // once, and members kept hashing passwords nobody waits for: the root client gets the
        // timeout of the calls that turn auth on (a member not up yet refuses at once anyway).
        let root_call = match &self.root_password {
            Some(_) => AUTH_SETUP_TIMEOUT,
            None => per_call,
        };
        let cluster = Cluster::new(self.settings(root_call)).map_err(not_healthy)?;
        // Turning auth on hashes the password (bcrypt) on the member: far slower than a Status
        // on a busy machine, so its calls get a timeout of their own.
        let mut anonymous = match &self.root_password {
            Some(pw) => Some((
                Cluster::new(self.anonymous_settings(per_call)).map_err(not_healthy)?,
                Cluster::new(self.anonymous_settings(AUTH_SETUP_TIMEOUT)).map_err(not_healthy)?,
                pw.clone(),
            )),
            None => None,
        };
        let mut last;
        loop {
            self.check_exited()?;
            match gather(&cluster).await {
                Ok(s) if healthy(&s) => return Ok(s),
                Ok(s) => last = unhealthy(&s),
                Err(e) => last = e.to_string(),
            }
            // Auth wanted: while `root` cannot log in (auth still off), ask without a user and
            // turn auth on as soon as the cluster is healthy.
            // Once it is on, a call without a user is made as the client certificate's name,
            // which is no user: turning it on again could only fail ("user name not found").
            if let Some((anon, setup, password)) = &anonymous {
                match gather(anon).await {
                    Ok(s) if healthy(&s) => match enable_auth(setup, password).await {
                        Ok(()) => anonymous = None,
                        // On data where auth is on already: only `root` can log in.
                        Err(e) if auth_is_on(&e) => anonymous = None,
                        Err(e) => last = format!("{last}; turning auth on: {e}"),
                    },
                    Ok(s) => last = unhealthy(&s),
                    Err(_) => {}
                }
            }
            if start.elapsed() > within {
                return Err(SandboxError::NotHealthy {
                    secs: start.elapsed().as_secs_f64(),
                    detail: last,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The answer of a member with auth on to a call made without a user.
fn auth_is_on(e: &EtcdError) -> bool {
    let text = e.to_string();
    text.contains("user name not found") || text.contains("permission denied")
}

/// Every member started and answering, and a leader.
fn healthy(s: &ClusterStatus) -> bool {
    s.all_ok() && s.members.iter().all(|m| m.started)
}

/// Why a gathered status is not healthy yet.
fn unhealthy(s: &ClusterStatus) -> String {
    if s.leader.is_none() {
        return "no leader yet".into();
    }
    let down: Vec<String> = s
        .members
        .iter()
        .filter(|m| !m.reachable)
        .map(|m| m.name.clone())
        .collect();
    format!("not answering: {}", down.join(", "))
}

/// Turn auth on as Pigsty 4.x does (`etcdctl user add root`, `user grant-role root root`,
/// `auth enable`), through a client without a user. Safe to repeat while auth is off: an existing
/// `root` gets the password, granting and enabling again change nothing.
/// The timeout of each call that turns auth on (see [`Sandbox::wait_healthy`]).
const AUTH_SETUP_TIMEOUT: Duration = Duration::from_secs(5);

async fn enable_auth(cluster: &Cluster, password: &str) -> Result<(), EtcdError> {
    let t = cluster.timeout();
    let label = cluster.settings().endpoints.join(",");
    let ctx = cluster.error_context().clone();
    let mut client = cluster.balanced_voters().await?;
    let call_err = |e: etcd_client::Error| classify(&label, &ctx, &e);
    let timed_out = || EtcdError::timeout(&label, t);
    match tokio::time::timeout(t, client.user_add(ROOT_USER, password, None)).await {
        Err(_) => return Err(timed_out()),
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.to_string().contains("user name already exists") => {
            tokio::time::timeout(t, client.user_change_password(ROOT_USER, password))
                .await
                .map_err(|_| timed_out())?
                .map_err(call_err)?;
        }
        Ok(Err(e)) => return Err(call_err(e)),
    }
    tokio::time::timeout(t, client.user_grant_role(ROOT_USER, "root"))
        .await
        .map_err(|_| timed_out())?
        .map_err(call_err)?;
    tokio::time::timeout(t, client.auth_enable())
        .await
        .map_err(|_| timed_out())?
        .map_err(call_err)?;
    Ok(())
}

/// The inventory's `etcd_root_password`: one for the whole cluster.
fn root_password(inv: &Inventory) -> Result<Option<String>, SandboxError> {
    let mut found: Option<(&Host, &String)> = None;
    for h in &inv.hosts {
        let Some(pw) = &h.params.etcd_root_password else {
            continue;
        };
        match found {
            None => found = Some((h, pw)),
            Some((first, first_pw)) if first_pw != pw => {
                return Err(SandboxError::RootPasswordDiffers {
                    host: h.name(),
                    first: first.name(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(found.map(|(_, pw)| pw.clone()))
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        stop_adopted(&self.dir);
    }
}

/// `<member dir>/etcd.pid`: the process of a sandbox member, whoever started it.
pub fn pid_file(member_dir: &Path) -> PathBuf {
    member_dir.join("etcd.pid")
}

/// The process of the sandbox member in `member_dir`, if one runs: the pid file names a live
/// process whose command line names the member's `etcd.conf` (a pid reused by another process
/// is never taken for the member).
pub fn running_pid(member_dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file(member_dir))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let conf = member_dir.join("etcd.conf");
    let conf = conf.as_os_str().as_encoded_bytes();
    let names_it = cmdline.split(|b| *b == 0).any(|arg| arg == conf);
    (names_it && !zombie(pid)).then_some(pid)
}

/// A process that has exited and is not reaped yet (it is not running).
fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_default()
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// `etcd --config-file CONF`, detached from the terminal's signals (its own process group:
/// Ctrl-C in the demo's terminal reaches etcdeck, which stops members in order, instead of
/// every etcd at once), with no `ETCD_*` variable of ours to override its file.
fn member_command(bin: &Path, conf: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--config-file")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCD_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Start the member whose `etcd.conf` is in `member_dir` as a process of its own: it outlives
/// the etcdeck that started it (`etcdeck member add` ends, the member runs on), and the sandbox
/// that owns the directory stops it with the others. Its pid goes to the pid file.
pub fn spawn_member(member_dir: &Path) -> Result<u32, SandboxError> {
    let bin = find_etcd()?;
    let mut cmd = member_command(&bin, &member_dir.join("etcd.conf"));
    let mut child = cmd.spawn().map_err(io_err(&bin))?;
    let pid = child.id();
    let pid_path = pid_file(member_dir);
    std::fs::write(&pid_path, format!("{pid}\n")).map_err(io_err(&pid_path))?;
    // Reap it if it ends while this process lives (no zombie in a long-lived console).
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// Stop a process: SIGTERM, then SIGKILL after 5 s.
pub fn stop_pid(pid: u32) {
    let alive = || {
        // SAFETY: signal 0 only checks that the process exists.
        let exists = unsafe { libc::kill(pid as i32, 0) == 0 };
        exists && !zombie(pid)
    };
    // SAFETY: plain syscalls on a pid checked to be the member's process.
    unsafe {
        libc::kill(pid as i32, libc::SIGCONT);
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !alive() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

/// Stop the members of the sandbox in `dir` that were started by another etcdeck (a member
/// added by `etcdeck member add`): the sandbox stops with all its members.
pub fn stop_adopted(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if let Some(pid) = running_pid(&e.path()) {
            stop_pid(pid);
        }
    }
}

/// The `quota-backend-bytes` the sandbox's members run with (read from a member's etcd.conf),
/// so that a member added later gets the same.
pub fn configured_quota(dir: &Path) -> Option<u64> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries.flatten().find_map(|e| {
        let text = std::fs::read_to_string(e.path().join("etcd.conf")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("quota-backend-bytes:"))
            .and_then(|v| v.trim().parse().ok())
    })
}

/// Fail early when an address the sandbox needs is taken.
fn check_free(url: &str) -> Result<(), SandboxError> {
    let addr = url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string();
    match TcpListener::bind(&addr) {
        Ok(_) => Ok(()),
        Err(_) => Err(SandboxError::AddressInUse { addr }),
    }
}

/// The last `n` lines of a log file, for error messages.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_addresses_map_to_loopback_keeping_the_last_three_octets() {
        assert_eq!(
            loopback_for("10.10.10.12".parse().unwrap()).unwrap(),
            "127.10.10.12".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            loopback_for("127.3.4.5".parse().unwrap()).unwrap(),
            "127.3.4.5".parse::<IpAddr>().unwrap()
        );
        assert!(loopback_for("::1".parse().unwrap()).is_err());
    }
}
