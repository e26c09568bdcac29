//! Real local etcd members started from an inventory, on loopback, for the demo and the tests.
//!
//! Host `a.b.c.d` of the inventory becomes `127.b.c.d`, so every member keeps the inventory's
//! ports (2379/2380) as on real nodes. A CA and member certificates are issued with [`crate::pki`];
//! client and peer traffic use TLS with client-certificate auth, as Pigsty configures it. Data lives
//! under the state directory, so a restart reuses it (`initial-cluster-state: existing`).
//! Members are stopped when the [`Sandbox`] is dropped, and die with the thread that started them
//! (`PR_SET_PDEATHSIG`), so a crashed test leaves no process behind.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::connect::{FileSetting, Origin, Settings};
use crate::etcd::status::{gather, ClusterStatus};
use crate::etcd::Cluster;
use crate::inventory::{EtcdInit, Host, Inventory};
use crate::pki::{Ca, PkiError};
use crate::render::{self, ConfOptions, EtcdctlEnv, TlsPaths};

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

impl Sandbox {
    /// Lay out the sandbox for `inv` under `dir`: certificates (made once, then reused) and one
    /// directory per member. Starts nothing.
    pub fn prepare(inv: &Inventory, dir: &Path) -> Result<Sandbox, SandboxError> {
        let etcd_bin = find_etcd()?;
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
        })
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
            user: None,
        }
    }

    /// Connection settings for etcdeck's own clients.
    pub fn settings(&self, timeout: Duration) -> Settings {
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
            quota_bytes: render::PIGSTY_QUOTA_BYTES,
            log_file: Some(&log),
        };
        let conf_path = m.dir.join("etcd.conf");
        let conf = render::etcd_conf(&m.host, &peers, &opts);
        std::fs::write(&conf_path, conf).map_err(io_err(&conf_path))?;

        let mut cmd = Command::new(&self.etcd_bin);
        cmd.arg("--config-file")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: Ctrl-C in the demo's terminal reaches etcdeck, which stops
            // members in order, instead of every etcd at once.
            .process_group(0);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD_") {
                cmd.env_remove(k);
            }
        }
        // SAFETY: prctl is async-signal-safe and touches no memory of this process.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(io_err(&self.etcd_bin))?;
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

    /// Stop a member cleanly (SIGTERM), killing it if it has not exited after 5 s.
    pub fn stop_member(&mut self, name: &str) -> Result<(), SandboxError> {
        let i = self.index(name)?;
        let Some(mut child) = self.members[i].child.take() else {
            return Ok(());
        };
        // SAFETY: plain syscalls on a child we own and have not reaped.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGCONT);
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
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

    /// Wait until every member answers and there is a leader.
    pub async fn wait_healthy(&mut self, within: Duration) -> Result<ClusterStatus, SandboxError> {
        let start = Instant::now();
        let cluster = Cluster::new(self.settings(Duration::from_millis(500))).map_err(|e| {
            SandboxError::NotHealthy {
                secs: 0.0,
                detail: e.to_string(),
            }
        })?;
        let mut last;
        loop {
            self.check_exited()?;
            match gather(&cluster).await {
                Ok(s) if s.all_ok() && s.members.iter().all(|m| m.started) => return Ok(s),
                Ok(s) => {
                    last = if s.leader.is_none() {
                        "no leader yet".into()
                    } else {
                        let down: Vec<String> = s
                            .members
                            .iter()
                            .filter(|m| !m.reachable)
                            .map(|m| m.name.clone())
                            .collect();
                        format!("not answering: {}", down.join(", "))
                    }
                }
                Err(e) => last = e.to_string(),
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

impl Drop for Sandbox {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
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
