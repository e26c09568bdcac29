//! Files rendered as Pigsty renders them: the member's `/etc/etcd/etcd.conf` and the
//! `/etc/profile.d/etcdctl.sh` environment.

use std::fmt::Write;
use std::path::Path;

use crate::inventory::{EtcdInit, Host};

/// Pigsty's `quota-backend-bytes` from 2.6 to 4.3 (16 GiB).
pub const PIGSTY_QUOTA_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Paths of the TLS files on the member.
#[derive(Debug, Clone)]
pub struct TlsPaths<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub ca: &'a Path,
}

/// What differs from one rendering to the next.
#[derive(Debug, Clone)]
pub struct ConfOptions<'a> {
    pub tls: TlsPaths<'a>,
    /// Overrides `etcd_data` (the sandbox keeps data under its state directory).
    pub data_dir: Option<&'a Path>,
    /// Overrides `etcd_init` (a restart of existing data uses `existing`).
    pub state: Option<EtcdInit>,
    /// Pigsty also listens on `https://127.0.0.1:<port>`; several members on one machine can't.
    pub listen_localhost: bool,
    pub quota_bytes: u64,
    /// Where etcd writes its log (zap logger); stderr when `None`.
    pub log_file: Option<&'a Path>,
}

/// YAML string: JSON strings are valid YAML scalars and quote whatever needs quoting.
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// `etcd.conf` for `host`, a member of `peers` (all members, `host` included), as Pigsty's
/// `roles/etcd/templates/etcd.conf.j2` renders it.
pub fn etcd_conf(host: &Host, peers: &[Host], opts: &ConfOptions<'_>) -> String {
    let p = &host.params;
    let mut sorted: Vec<&Host> = peers.iter().collect();
    sorted.sort_by_key(|h| h.seq);
    let initial: Vec<String> = sorted
        .iter()
        .map(|h| format!("{}={}", h.name(), h.peer_url()))
        .collect();
    let mut listen_client = vec![host.client_url()];
    if opts.listen_localhost {
        listen_client.push(format!("https://127.0.0.1:{}", p.etcd_port));
    }
    let data_dir = opts
        .data_dir
        .map_or_else(|| p.etcd_data.clone(), |d| d.display().to_string());
    let state = opts.state.unwrap_or(p.etcd_init);
    let path = |p: &Path| q(&p.display().to_string());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# etcd member {} of cluster {}, rendered by etcdeck as Pigsty does",
        host.name(),
        p.etcd_cluster
    );
    let _ = writeln!(out, "name: {}", q(&host.name()));
    let _ = writeln!(out, "data-dir: {}", q(&data_dir));
    let _ = writeln!(out, "initial-cluster-token: {}", q(&p.etcd_cluster));
    let _ = writeln!(out, "initial-cluster-state: {state}");
    let _ = writeln!(out, "initial-cluster: {}", q(&initial.join(",")));
    let _ = writeln!(out, "listen-peer-urls: {}", q(&host.peer_url()));
    let _ = writeln!(out, "initial-advertise-peer-urls: {}", q(&host.peer_url()));
    let _ = writeln!(out, "listen-client-urls: {}", q(&listen_client.join(",")));
    let _ = writeln!(out, "advertise-client-urls: {}", q(&host.client_url()));
    let _ = writeln!(out, "election-timeout: {}", p.etcd_election_timeout);
    let _ = writeln!(out, "heartbeat-interval: {}", p.etcd_heartbeat_interval);
    let _ = writeln!(out, "auto-compaction-mode: periodic");
    let _ = writeln!(out, "auto-compaction-retention: \"24h\"");
    let _ = writeln!(out, "quota-backend-bytes: {}", opts.quota_bytes);
    let _ = writeln!(out, "enable-v2: false");
    let _ = writeln!(out, "logger: zap");
    if let Some(log) = opts.log_file {
        let _ = writeln!(out, "log-outputs: [{}]", path(log));
    }
    for section in ["client-transport-security", "peer-transport-security"] {
        let _ = writeln!(out, "{section}:");
        let _ = writeln!(out, "  cert-file: {}", path(opts.tls.cert));
        let _ = writeln!(out, "  key-file: {}", path(opts.tls.key));
        let _ = writeln!(out, "  trusted-ca-file: {}", path(opts.tls.ca));
        let _ = writeln!(out, "  client-cert-auth: true");
        let _ = writeln!(out, "  auto-tls: false");
    }
    out
}

/// The etcdctl environment, as `/etc/profile.d/etcdctl.sh` sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdctlEnv {
    pub endpoints: Vec<String>,
    pub cacert: String,
    pub cert: String,
    pub key: String,
    /// `root:<password>` on Pigsty 4.x with `etcd_root_password`.
    pub user: Option<String>,
}

impl EtcdctlEnv {
    /// Name and value pairs, in the order Pigsty writes them.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("ETCDCTL_API", "3".to_string()),
            ("ETCDCTL_ENDPOINTS", self.endpoints.join(",")),
            ("ETCDCTL_CACERT", self.cacert.clone()),
            ("ETCDCTL_CERT", self.cert.clone()),
            ("ETCDCTL_KEY", self.key.clone()),
        ];
        if let Some(u) = &self.user {
            v.push(("ETCDCTL_USER", u.clone()));
        }
        v
    }

    /// Shell `export` lines, values single-quoted.
    pub fn shell(&self) -> String {
        self.vars()
            .into_iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory;

    #[test]
    fn conf_for_the_example_matches_pigsty() {
        let inv = inventory::parse(inventory::EXAMPLE, "inventory.example.yml", &[]).unwrap();
        let tls = TlsPaths {
            cert: Path::new("/etc/etcd/server.crt"),
            key: Path::new("/etc/etcd/server.key"),
            ca: Path::new("/etc/etcd/ca.crt"),
        };
        let opts = ConfOptions {
            tls,
            data_dir: None,
            state: None,
            listen_localhost: true,
            quota_bytes: PIGSTY_QUOTA_BYTES,
            log_file: None,
        };
        let conf = etcd_conf(&inv.hosts[1], &inv.hosts, &opts);
        let v: serde_yaml::Value = serde_yaml::from_str(&conf).unwrap();
        assert_eq!(v["name"], "etcd-2");
        assert_eq!(v["data-dir"], "/data/etcd");
        assert_eq!(v["initial-cluster-state"], "new");
        assert_eq!(
            v["initial-cluster"],
            "etcd-1=https://10.10.10.10:2380,etcd-2=https://10.10.10.11:2380,etcd-3=https://10.10.10.12:2380"
        );
        assert_eq!(
            v["listen-client-urls"],
            "https://10.10.10.11:2379,https://127.0.0.1:2379"
        );
        assert_eq!(v["advertise-client-urls"], "https://10.10.10.11:2379");
        assert_eq!(v["election-timeout"], 1000);
        assert_eq!(v["heartbeat-interval"], 100);
        assert_eq!(v["auto-compaction-retention"], "24h");
        assert_eq!(v["quota-backend-bytes"], 17179869184u64);
        assert_eq!(v["peer-transport-security"]["client-cert-auth"], true);
        assert_eq!(
            v["client-transport-security"]["trusted-ca-file"],
            "/etc/etcd/ca.crt"
        );
    }

    #[test]
    fn etcdctl_env_quotes_values() {
        let env = EtcdctlEnv {
            endpoints: vec![
                "https://10.10.10.10:2379".into(),
                "https://10.10.10.11:2379".into(),
            ],
            cacert: "/etc/pki/ca.crt".into(),
            cert: "/etc/etcd/server.crt".into(),
            key: "/etc/etcd/server.key".into(),
            user: Some("root:it's".into()),
        };
        let sh = env.shell();
        assert!(sh.starts_with("export ETCDCTL_API='3'\nexport ETCDCTL_ENDPOINTS='https://10.10.10.10:2379,https://10.10.10.11:2379'\n"));
        assert!(
            sh.ends_with("export ETCDCTL_USER='root:it'\\''s'\n"),
            "{sh}"
        );
    }
}
