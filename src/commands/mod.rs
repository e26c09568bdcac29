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

/// Load the inventory named by `file`, -i, or the default search; diagnostics printed.
pub fn load_inventory(g: &Global, file: Option<&Path>) -> Result<Inventory> {
    let path =
        inventory::resolve_path(file.or(g.inventory.as_deref())).map_err(anyhow::Error::msg)?;
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
    }
}

/// Connection settings: flags > ETCDCTL_* > inventory (read only when needed).
pub fn settings(g: &Global) -> Result<Settings> {
    let flags = flags(g);
    let need_inventory =
        flags.endpoints.is_none() && connect::process_env("ETCDCTL_ENDPOINTS").is_none();
    let inv = if need_inventory {
        match inventory::resolve_path(g.inventory.as_deref()) {
            Ok(_) => Some(load_inventory(g, None)?),
            Err(why) => bail!("{}\n({why})", connect::SettingsError::NoEndpoints),
        }
    } else {
        None
    };
    let s = connect::resolve(&flags, &connect::process_env, inv.as_ref())?;
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
