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
    let mut sorted: Vec<&Host> = peers.iter().collect();
    sorted.sort_by_key(|h| h.seq);
    let initial: Vec<(String, String)> = sorted.iter().map(|h| (h.name(), h.peer_url())).collect();
    etcd_conf_with(host, &initial, opts)
}

/// [`etcd_conf`] with `initial-cluster` given as (name, peer URL) pairs, in the order given: the
/// live member list for a member that joins a running cluster.
pub fn etcd_conf_with(host: &Host, initial: &[(String, String)], opts: &ConfOptions<'_>) -> String {
    let p = &host.params;
    let initial: Vec<String> = initial
        .iter()
        .map(|(name, url)| format!("{name}={url}"))
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

/// Where Pigsty's admin node keeps its etcd client files (`infra.yml -t env_etcd`, in
/// `roles/infra/tasks/env.yml`, Pigsty 2.x to 4.x): the CA and the admin's own certificate.
pub const ADMIN_CACERT: &str = "/etc/pki/ca.crt";
/// See [`ADMIN_CACERT`].
pub const ADMIN_CERT: &str = "/etc/pki/infra.crt";
/// See [`ADMIN_CACERT`].
pub const ADMIN_KEY: &str = "/etc/pki/infra.key";
/// Where Pigsty 4.x keeps etcd's root password on a member (`etcd.pass`, mode 0640 root:etcd);
/// its `etcdctl.sh` reads it at login instead of writing the password into the profile.
pub const ROOT_PASSWORD_FILE: &str = "/etc/etcd/etcd.pass";

/// `/etc/profile.d/etcdctl.sh` as Pigsty writes it: the `e` and `em` aliases, then `env`'s
/// exports. `comments` become `#` lines after the first, each escaped whole
/// ([`crate::text::escape`]: a line break shows as `\n`), so text from etcd can never end a
/// comment and run as a command; pass it unescaped. With `password_file`, `ETCDCTL_USER` is read from
/// that file at login, as Pigsty 4.x's etcd role does (`env.user` should then be `None`: a
/// password never lands in a world-readable profile).
pub fn etcdctl_sh(env: &EtcdctlEnv, comments: &[String], password_file: Option<&Path>) -> String {
    let mut out = String::from("#!/bin/bash\n");
    for c in comments {
        let _ = writeln!(out, "# {}", crate::text::escape(c));
    }
    out.push_str("alias e=\"etcdctl\"\nalias em=\"etcdctl member\"\n");
    out.push_str(&env.shell());
    if let Some(f) = password_file {
        let f = f.display().to_string().replace('\'', r"'\''");
        let _ = writeln!(
            out,
            "[ -r '{f}' ] && export ETCDCTL_USER=\"root:$(cat '{f}')\""
        );
    }
    out
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
    fn etcdctl_sh_comments_cannot_run_commands_and_the_password_stays_in_its_file() {
        let env = EtcdctlEnv {
            endpoints: vec!["https://10.10.10.10:2379".into()],
            cacert: ADMIN_CACERT.into(),
            cert: ADMIN_CERT.into(),
            key: ADMIN_KEY.into(),
            user: None,
        };
        let sh = etcdctl_sh(
            &env,
            &["learner etcd-4\nrm -rf / left out".into()],
            Some(Path::new(ROOT_PASSWORD_FILE)),
        );
        assert!(
            sh.starts_with("#!/bin/bash\n# learner etcd-4\\nrm -rf / left out\n"),
            "{sh}"
        );
        let evil = etcdctl_sh(&env, &["etcd-\u{1b}[2J".into()], None);
        assert!(evil.contains("# etcd-\\e[2J\n"), "{evil}");
        assert!(sh.contains("alias e=\"etcdctl\"\n"));
        assert!(sh.contains("export ETCDCTL_CERT='/etc/pki/infra.crt'\n"));
        assert!(sh.ends_with(
            "[ -r '/etc/etcd/etcd.pass' ] && export ETCDCTL_USER=\"root:$(cat '/etc/etcd/etcd.pass')\"\n"
        ));
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
