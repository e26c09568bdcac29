//! What a membership wizard reads besides the cluster, for the command line and the console
//! alike: the inventory (its text, parsed, the hosts commented out), how the member is started
//! (the provisioner, chosen or found beside the inventory), the CA, the seqs used before. These
//! are file reads: the console makes them off its event loop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::member::{self, InventoryFile, Provision, Setting};
use super::Common;
use crate::etcd::status::ClusterStatus;
use crate::inventory;

/// How the member is to be started, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Sandbox,
    Pigsty,
    Manual,
}

/// What the operator said about the provisioner (every field optional: found otherwise).
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub choice: Option<Choice>,
    /// manual: the member's files go here.
    pub out: Option<PathBuf>,
    /// manual: how long to wait for the operator.
    pub start_wait: Option<Duration>,
    pub sandbox_dir: Option<PathBuf>,
    pub ca: Option<(PathBuf, PathBuf)>,
}

/// Everything besides the cluster, owned.
#[derive(Debug, Clone)]
pub struct Facts {
    pub inventory: Option<InventoryFile>,
    pub provision: Provision,
    pub ca: Result<(PathBuf, PathBuf), String>,
    pub used: BTreeMap<u32, String>,
}

impl Facts {
    /// The planners' view, with the cluster as it is and the shared options.
    pub fn setting<'a>(
        &'a self,
        status: &'a ClusterStatus,
        common: &'a Common,
        override_safeguard: Option<&'a str>,
    ) -> Setting<'a> {
        Setting {
            status,
            inventory: self.inventory.as_ref(),
            provision: &self.provision,
            ca: &self.ca,
            used: &self.used,
            common,
            override_safeguard,
        }
    }
}

/// Read it all: the inventory at `inventory` (none: no inventory), the provisioner, the CA,
/// the seqs used before in cluster `cluster_id` (from the state directory `state`).
pub fn gather(
    state: &Path,
    cluster_id: u64,
    inventory: Option<&Path>,
    extra_vars: &[(String, String)],
    asked: &Asked,
) -> Result<Facts, String> {
    let inventory = match inventory {
        Some(p) => Some(read_inventory(p, extra_vars)?),
        None => None,
    };
    let provision = provision(state, cluster_id, asked, inventory.as_ref())?;
    let ca = find_ca(asked, &provision, inventory.as_ref());
    let used = member::used_seqs(state, cluster_id);
    Ok(Facts {
        inventory,
        provision,
        ca,
        used,
    })
}

/// [`gather`] as the console does it, with nothing asked: the provisioner found beside the
/// inventory (Pigsty's `etcd.yml`, a sandbox), else the manual one writing the member's files to
/// `manual_out` (the console still plans; the run waits for the operator to start the member).
pub fn gather_found_or_manual(
    state: &Path,
    cluster_id: u64,
    inventory: Option<&Path>,
    extra_vars: &[(String, String)],
    manual_out: &Path,
) -> Result<Facts, String> {
    let home = inventory.map(|p| match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    });
    let found = home
        .as_deref()
        .is_some_and(|h| h.join("etcd.yml").is_file() || is_sandbox(h));
    let asked = Asked {
        out: (!found).then(|| manual_out.to_path_buf()),
        ..Asked::default()
    };
    gather(state, cluster_id, inventory, extra_vars, &asked)
}

/// The inventory: its text, parsed (errors refuse: an inventory with errors is never edited),
/// and the hosts commented out of it.
pub fn read_inventory(
    path: &Path,
    extra_vars: &[(String, String)],
) -> Result<InventoryFile, String> {
    let bytes = crate::input::read(path, crate::input::INVENTORY_LIMIT, "an inventory")
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    let parsed = inventory::parse(&text, &path.display().to_string(), extra_vars).map_err(|d| {
        let errors: Vec<String> = d
            .iter()
            .filter(|d| d.severity == inventory::Severity::Error)
            .map(|d| d.to_string())
            .collect();
        format!(
            "{}: {} error(s), fix them first (`etcdeck inventory check`): an inventory with \
             errors is never edited; {}",
            path.display(),
            errors.len(),
            errors.join("; ")
        )
    })?;
    let commented = inventory::edit::commented_seqs(&text);
    Ok(InventoryFile {
        path: path.to_path_buf(),
        text,
        parsed,
        commented,
    })
}

/// The inventory's folder: the Pigsty home.
pub fn home_of(inv: Option<&InventoryFile>) -> Option<PathBuf> {
    let p = inv?.path.parent()?;
    Some(if p.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        p.to_path_buf()
    })
}

/// A sandbox directory holds its CA under `pki/`.
pub fn is_sandbox(dir: &Path) -> bool {
    dir.join("pki").join("ca.crt").is_file() && dir.join("pki").join("ca.key").is_file()
}

/// The provisioner: as asked, else pigsty when the inventory's folder holds `etcd.yml`, a
/// sandbox when it holds one, manual when `out` is given.
pub fn provision(
    state: &Path,
    cluster_id: u64,
    asked: &Asked,
    inv: Option<&InventoryFile>,
) -> Result<Provision, String> {
    let home = home_of(inv);
    let files = state.join("members").join(format!("{cluster_id:x}"));
    let choice = match asked.choice {
        Some(k) => k,
        None => {
            if asked.out.is_some() {
                Choice::Manual
            } else if asked.sandbox_dir.is_some() {
                Choice::Sandbox
            } else if home
                .as_deref()
                .is_some_and(|h| h.join("etcd.yml").is_file())
            {
                Choice::Pigsty
            } else if home.as_deref().is_some_and(is_sandbox) {
                Choice::Sandbox
            } else {
                return Err(
                    "say how the member is started and purged: --provision pigsty (the \
                            inventory's folder must hold Pigsty's etcd.yml), --provision \
                            sandbox, or --out DIR (manual: etcdeck writes the member's files \
                            there and waits)"
                        .into(),
                );
            }
        }
    };
    Ok(match choice {
        Choice::Sandbox => {
            let dir = asked
                .sandbox_dir
                .clone()
                .or(home)
                .ok_or("--provision sandbox needs --sandbox-dir DIR")?;
            if !is_sandbox(&dir) {
                return Err(format!(
                    "{} is not a sandbox (no pki/ca.crt and pki/ca.key): name the directory \
                     `etcdeck demo` runs in with --sandbox-dir",
                    dir.display()
                ));
            }
            Provision::Sandbox { dir }
        }
        Choice::Pigsty => {
            let home = home.ok_or("--provision pigsty needs the Pigsty inventory (-i FILE)")?;
            if !crate::provision::pigsty::detect(&home) {
                return Err(format!(
                    "{} holds no executable etcd.yml: the inventory's folder must be the Pigsty \
                     home",
                    home.display()
                ));
            }
            Provision::Pigsty { home, files }
        }
        Choice::Manual => Provision::Manual {
            out: asked
                .out
                .clone()
                .ok_or("--provision manual needs --out DIR for the member's files")?,
            wait_secs: asked
                .start_wait
                .map_or(member::MANUAL_WAIT_SECS, |d| d.as_secs().max(1)),
        },
    })
}

/// The CA that signs the member's certificate: as asked, else where the provisioner keeps it.
pub fn find_ca(
    asked: &Asked,
    p: &Provision,
    inv: Option<&InventoryFile>,
) -> Result<(PathBuf, PathBuf), String> {
    if let Some(ca) = &asked.ca {
        return Ok(ca.clone());
    }
    let dir = match p {
        Provision::Sandbox { dir } => dir.join("pki"),
        _ => match home_of(inv) {
            Some(h) => h.join("files").join("pki").join("ca"),
            None => return Err("no inventory, so no Pigsty home to look in".into()),
        },
    };
    let (c, k) = (dir.join("ca.crt"), dir.join("ca.key"));
    if c.is_file() && k.is_file() {
        Ok((c, k))
    } else {
        Err(format!("{} and {} not found", c.display(), k.display()))
    }
}
