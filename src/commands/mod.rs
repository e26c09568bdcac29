//! The command-line verbs, one file each: the headless twins of the console's actions. Each
//! returns the exit code it wants; `main.rs` only parses, dispatches and maps errors to exit 2.
//! Shared here: quiet printing on a closed stdout, the inventory and the connection settings.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::cli::Global;
use crate::connect::{self, Flags, Settings};
use crate::inventory::{self, Diagnostic, Inventory, Severity};

/// `println!` that ends the program quietly when the reader of our output has gone away
/// (`etcdeck keys | head`), as command-line tools do, instead of panicking on a broken pipe.
/// (SIGPIPE itself stays ignored: a peer closing a TLS connection must not kill the process.)
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// `print!` with the same rule as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

pub mod alarm;
pub mod cert;
pub mod compact;
pub mod console;
pub mod defrag;
pub mod demo;
pub mod health;
pub mod inventory_cmd;
pub mod keys;
pub mod manual;
pub mod member;
pub mod move_leader;
pub mod patroni;
pub mod render;
pub mod snapshot;
pub mod status;
pub mod timeline;
pub mod wizard;

/// An exit code: 0 all well, 1 a finding (degraded, errors in the inventory), 2 a failure.
pub type Code = u8;

pub fn extra_vars(g: &Global) -> Result<Vec<(String, String)>> {
    g.extra_vars
        .iter()
        .map(|s| inventory::parse_extra_var(s).map_err(|e| anyhow::anyhow!("-e {s}: {e}")))
        .collect()
}

/// Print diagnostics; the count of errors among them.
pub fn print_diagnostics(diags: &[Diagnostic]) -> usize {
    for d in diags {
        eprintln!("{d}");
    }
    diags
        .iter()
        .filter(|d| matches!(d.severity, Severity::Error))
        .count()
}

/// `g` with the cluster named by `--cluster` read into `g.chosen` (the config file's
/// `[clusters.NAME]`); without `--cluster`, `g` as it is (no config file is read).
pub fn with_cluster(g: &Global) -> Result<Global> {
    let mut out = g.clone();
    let Some(name) = &g.cluster else {
        return Ok(out);
    };
    let (path, explicit) = console::config_path(g);
    let cfg = crate::app::config::Config::load(path.as_deref(), explicit, false)
        .map_err(anyhow::Error::msg)?;
    let named = cfg.cluster(name).map_err(anyhow::Error::msg)?;
    out.chosen = Some(choose(named)?);
    Ok(out)
}

/// A named cluster's settings, read (an env file is read here).
pub fn choose(c: &crate::app::config::NamedCluster) -> Result<connect::Chosen> {
    use crate::app::config::ClusterSource;
    let mut chosen = connect::Chosen {
        named: connect::Named {
            name: c.name.clone(),
            ..connect::Named::default()
        },
        at: c.at.clone(),
        namespace: c.namespace.clone(),
        ..connect::Chosen::default()
    };
    let mut tls = |t: &crate::app::config::ClusterTls| {
        chosen.named.cacert = t.cacert.clone();
        chosen.named.cert = t.cert.clone();
        chosen.named.key = t.key.clone();
    };
    match &c.source {
        ClusterSource::Inventory { path, tls: t } => {
            tls(t);
            chosen.inventory = Some(path.clone());
        }
        ClusterSource::Endpoints { endpoints, tls: t } => {
            tls(t);
            chosen.named.endpoints = Some(endpoints.clone());
        }
        ClusterSource::Env(path) => {
            let vars = crate::envfile::read(path)
                .map_err(|e| anyhow::anyhow!("cluster {}: {e}", c.name))?;
            if !vars.contains_key("ETCDCTL_ENDPOINTS") && !vars.contains_key("ETCDECK_INVENTORY") {
                bail!(
                    "cluster {} ({}): {} sets no ETCDCTL_ENDPOINTS (nor ETCDECK_INVENTORY): add \
                     export ETCDCTL_ENDPOINTS=https://IP:2379,...",
                    c.name,
                    c.at,
                    path.display()
                );
            }
            chosen.inventory = vars.get("ETCDECK_INVENTORY").map(PathBuf::from);
            chosen.env = vars;
        }
    }
    Ok(chosen)
}

/// The environment variable `name` for `g`'s cluster: a named cluster's own `ETCDCTL_*`
/// (never the shell's), else the process's.
pub fn env_var(g: &Global, name: &str) -> Option<String> {
    match &g.chosen {
        Some(c) => c.var(name),
        None => connect::process_env(name),
    }
}

/// Which inventory: `file`, -i, the named cluster's, else the default search
/// (`$ETCDECK_INVENTORY`, ./pigsty.yml, ~/pigsty/pigsty.yml), which a named cluster without an
/// inventory does not make (those files may be another cluster's).
pub fn inventory_path(g: &Global, file: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = file.or(g.inventory.as_deref()) {
        return Ok(p.to_path_buf());
    }
    match &g.chosen {
        Some(c) => c.inventory.clone().ok_or_else(|| {
            format!(
                "cluster {} ({}) names no inventory: give it inventory = \"FILE\" (or \
                 ETCDECK_INVENTORY in its env file), or pass -i FILE",
                c.named.name, c.at
            )
        }),
        None => inventory::resolve_path(None),
    }
}

/// Load the inventory named by `file`, -i, or the default search; diagnostics printed.
pub fn load_inventory(g: &Global, file: Option<&Path>) -> Result<Inventory> {
    let path = inventory_path(g, file).map_err(anyhow::Error::msg)?;
    match inventory::load(&path, &extra_vars(g)?) {
        Ok(inv) => {
            print_diagnostics(&inv.diagnostics);
            Ok(inv)
        }
        Err(diags) => {
            let errors = print_diagnostics(&diags);
            bail!(
                "{}: {errors} error(s); fix them and run `etcdeck inventory check` again",
                path.display()
            )
        }
    }
}

pub fn flags(g: &Global) -> Flags {
    Flags {
        endpoints: g.endpoints.clone(),
        cacert: g.cacert.clone(),
        cert: g.cert.clone(),
        key: g.key.clone(),
        user: g.user.clone(),
        timeout: g.timeout,
        named: g.chosen.as_ref().map(|c| c.named.clone()),
    }
}

/// Connection settings: flags > ETCDCTL_* > inventory (read only when needed).
pub fn settings(g: &Global) -> Result<Settings> {
    let flags = flags(g);
    let need_inventory = flags.endpoints.is_none()
        && flags.named.as_ref().is_none_or(|n| n.endpoints.is_none())
        && env_var(g, "ETCDCTL_ENDPOINTS").is_none();
    let inv = if need_inventory {
        match inventory_path(g, None) {
            Ok(_) => Some(load_inventory(g, None)?),
            Err(why) => bail!("{}\n({why})", connect::SettingsError::NoEndpoints),
        }
    } else {
        None
    };
    let s = connect::resolve(&flags, &|n| env_var(g, n), inv.as_ref())?;
    for w in connect::warnings(&s) {
        eprintln!("etcdeck: warning: {}", crate::text::escape(&w));
    }
    Ok(s)
}

/// `$XDG_STATE_HOME/etcdeck` (or `~/.local/state/etcdeck`): the demo sandbox and the history.
pub fn state_base() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|b| b.join("etcdeck"))
}

/// Refuse endpoints of more than one cluster before reading anything (see
/// [`crate::etcd::Cluster::identify`]); other failures are left to the command's own calls.
pub async fn one_cluster(cluster: &crate::etcd::Cluster) -> Result<()> {
    match cluster.identify().await {
        Err(mixed @ crate::etcd::EtcdError::MixedClusters(_)) => Err(mixed.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    /// The global flags of `etcdeck ARGS status` with `--config` at `dir/config.toml`.
    fn global(dir: &Path, args: &[&str]) -> Global {
        let config = dir.join("config.toml");
        let mut argv = vec!["etcdeck", "--config", config.to_str().unwrap()];
        argv.extend(args);
        argv.push("status");
        Cli::try_parse_from(argv).unwrap().global
    }

    fn config_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[clusters.prod]\ninventory = \"prod/pigsty.yml\"\ncacert = \"/prod/ca.crt\"\n\
             [clusters.staging]\nenv = \"staging.sh\"\n\
             [clusters.lab]\nendpoints = [\"https://10.0.0.1:2379\"]\nnamespace = \"/lab\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("staging.sh"),
            "export ETCDCTL_ENDPOINTS='https://10.2.0.1:2379,https://10.2.0.2:2379'\n\
             export ETCDCTL_CACERT=pki/ca.crt\nexport ETCDECK_INVENTORY=staging.yml\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn without_cluster_nothing_is_read_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        // Not even a broken config file matters then.
        std::fs::write(dir.path().join("config.toml"), "[clusters.x]\n").unwrap();
        let g = with_cluster(&global(dir.path(), &[])).unwrap();
        assert!(g.chosen.is_none());
        assert!(flags(&g).named.is_none());
    }

    #[test]
    fn cluster_supplies_its_source_as_the_matching_flags_or_environment() {
        let dir = config_dir();
        let d = dir.path();

        let g = with_cluster(&global(d, &["--cluster", "staging"])).unwrap();
        assert_eq!(
            env_var(&g, "ETCDCTL_ENDPOINTS").as_deref(),
            Some("https://10.2.0.1:2379,https://10.2.0.2:2379")
        );
        assert_eq!(inventory_path(&g, None).unwrap(), d.join("staging.yml"));
        let s = connect::resolve(&flags(&g), &|n| env_var(&g, n), None).unwrap();
        assert_eq!(s.endpoints.len(), 2);
        assert_eq!(
            s.cacert.unwrap().to_string(),
            format!("ETCDCTL_CACERT={}", d.join("pki/ca.crt").display())
        );

        let g = with_cluster(&global(d, &["--cluster", "prod"])).unwrap();
        assert_eq!(inventory_path(&g, None).unwrap(), d.join("prod/pigsty.yml"));
        assert_eq!(env_var(&g, "ETCDCTL_ENDPOINTS"), None);
        assert_eq!(
            flags(&g).named.unwrap().cacert,
            Some(PathBuf::from("/prod/ca.crt"))
        );
        // -i given wins over the cluster's inventory.
        let g = with_cluster(&global(d, &["--cluster", "prod", "-i", "/other.yml"])).unwrap();
        assert_eq!(
            inventory_path(&g, None).unwrap(),
            PathBuf::from("/other.yml")
        );

        let g = with_cluster(&global(d, &["--cluster", "lab"])).unwrap();
        let s = settings(&g).unwrap();
        assert_eq!(s.endpoints, vec!["https://10.0.0.1:2379"]);
        assert_eq!(s.endpoints_origin.to_string(), "cluster lab");
        // No inventory is searched for on its behalf.
        let e = inventory_path(&g, None).unwrap_err();
        assert!(e.starts_with("cluster lab ("), "{e}");
        assert!(e.contains("names no inventory"), "{e}");
        let g = with_cluster(&global(
            d,
            &["--cluster", "lab", "--endpoints", "https://10.7.7.7:2379"],
        ))
        .unwrap();
        assert_eq!(
            settings(&g).unwrap().endpoints,
            vec!["https://10.7.7.7:2379"]
        );
    }

    #[test]
    fn an_unknown_cluster_or_a_broken_env_file_is_said() {
        let dir = config_dir();
        let e = with_cluster(&global(dir.path(), &["--cluster", "qa"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--cluster qa: no such cluster; the config file names lab, prod, staging"
        );
        std::fs::write(dir.path().join("staging.sh"), "export PATH=/bin\n").unwrap();
        let e = with_cluster(&global(dir.path(), &["--cluster", "staging"])).unwrap_err();
        assert!(e.to_string().contains("sets no ETCDCTL_ENDPOINTS"), "{e}");
        std::fs::remove_file(dir.path().join("staging.sh")).unwrap();
        let e = with_cluster(&global(dir.path(), &["--cluster", "staging"])).unwrap_err();
        assert!(e.to_string().starts_with("cluster staging: "), "{e}");
        assert!(e.to_string().contains("staging.sh"), "{e}");
    }
}
