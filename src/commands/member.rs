//! `etcdeck member add|promote|remove|replace`: the membership wizards, headless.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use super::wizard::{carry_out, prepare, Prepared};
use super::{extra_vars, print_diagnostics, Code};
use crate::cli::{Global, MemberCommand, ProvisionFlags, ProvisionKind, WizardFlags};
use crate::inventory;
use crate::wizard::member::{self, AddOptions, InventoryFile, Provision, Setting};
use crate::wizard::{self, Common, Op};

pub async fn run(g: &Global, c: &MemberCommand) -> Result<Code> {
    let inv = read_inventory(g)?;
    let p = prepare(g).await?;
    let (pf, w) = match c {
        MemberCommand::Add { p, w, .. }
        | MemberCommand::Promote { p, w, .. }
        | MemberCommand::Remove { p, w, .. }
        | MemberCommand::Replace { p, w, .. } => (p, w),
    };
    let provision = provision(&p, pf, inv.as_ref())?;
    let ca = find_ca(pf, &provision, inv.as_ref());
    let used = member::used_seqs(&p.state, p.status.cluster_id);
    let common = common(&p, w, inv.as_ref());
    let safeguard = match c {
        MemberCommand::Remove {
            override_safeguard, ..
        }
        | MemberCommand::Replace {
            override_safeguard, ..
        } => override_safeguard.as_deref(),
        _ => None,
    };
    let status = p.status.clone();
    let x = Setting {
        status: &status,
        inventory: inv.as_ref(),
        provision: &provision,
        ca: &ca,
        used: &used,
        common: &common,
        override_safeguard: safeguard,
    };
    let kind = provision.kind();
    let (op, args, plan) = match c {
        MemberCommand::Add { ip, seq, .. } => {
            let o = AddOptions { ip: *ip, seq: *seq };
            (
                Op::MemberAdd,
                format!("{} --provision {kind}", o.args()),
                member::add_plan(&x, &o),
            )
        }
        MemberCommand::Promote { member: m, .. } => {
            (Op::MemberPromote, m.clone(), member::promote_plan(&x, m))
        }
        MemberCommand::Remove { member: m, .. } => (
            Op::MemberRemove,
            format!("{m} --provision {kind}"),
            member::remove_plan(&x, m),
        ),
        MemberCommand::Replace { old, ip, seq, .. } => {
            let o = AddOptions { ip: *ip, seq: *seq };
            (
                Op::MemberReplace,
                format!("{old} {} --provision {kind}", o.args()),
                member::replace_plan(&x, old, &o),
            )
        }
    };
    let notes_provision = provision.clone();
    let removed = match c {
        MemberCommand::Remove { member: m, .. } => {
            member::find(&status, m).and_then(|m| m.peer_urls.first().cloned())
        }
        _ => None,
    };
    let state = p.state.clone();
    let code = carry_out(g, p, op, w, &args, plan, move |wiz| {
        after(wiz, &notes_provision)
    })
    .await?;
    if let (0, Some(url)) = (code, removed) {
        rolled_back(&state, status.cluster_id, &url);
    }
    Ok(code)
}

/// A member removed that an unfinished add (or replace) had added: that add is over (rolled
/// back), and the same command plans afresh instead of resuming it.
fn rolled_back(state: &Path, cluster_id: u64, peer_url: &str) {
    use crate::wizard::journal::{self, Journal, Standing};
    for op in [Op::MemberAdd, Op::MemberReplace] {
        let Ok(Some(rec)) = journal::unfinished(state, cluster_id, op) else {
            continue;
        };
        let adds_it = rec.plan.steps.iter().any(|s| {
            matches!(&s.kind, wizard::StepKind::AddLearner { member } if member.peer_url() == peer_url)
        });
        if adds_it {
            let id = rec.id.clone();
            if let Ok(mut j) = Journal::open(state, rec) {
                let _ = j.finish(
                    Standing::Abandoned,
                    Some("rolled back: its member was removed (`etcdeck member remove`)".into()),
                );
                outln!("the unfinished add {id} is rolled back: its learner was removed");
            }
        }
    }
}

/// What to know once a membership wizard is done: the files it wrote, the admin node's
/// etcdctl.sh.
fn after(wiz: &wizard::Wizard, p: &Provision) -> Vec<String> {
    let mut out = Vec::new();
    for s in &wiz.plan.steps {
        if let wizard::StepKind::Config { member, .. } = &s.kind {
            out.push(format!(
                "{}'s files: {}",
                member.name,
                p.files_dir(member).display()
            ));
        }
    }
    out.push(
        "the admin node's etcdctl.sh: `etcdeck render env` prints it for the members as they are \
         now"
        .into(),
    );
    out
}

/// The inventory, if one is found: its text, parsed (errors refuse: an inventory with errors
/// is never edited), and the hosts commented out of it.
fn read_inventory(g: &Global) -> Result<Option<InventoryFile>> {
    let Ok(path) = inventory::resolve_path(g.inventory.as_deref()) else {
        return Ok(None);
    };
    let bytes = crate::input::read(&path, crate::input::INVENTORY_LIMIT, "an inventory")
        .with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
    let parsed = match inventory::parse(&text, &path.display().to_string(), &extra_vars(g)?) {
        Ok(inv) => inv,
        Err(d) => {
            let errors = print_diagnostics(&d);
            bail!(
                "{}: {errors} error(s); fix them first (`etcdeck inventory check`): an inventory \
                 with errors is never edited",
                path.display()
            );
        }
    };
    let commented = inventory::edit::commented_seqs(&text);
    Ok(Some(InventoryFile {
        path,
        text,
        parsed,
        commented,
    }))
}

/// The inventory's folder: the Pigsty home.
fn home_of(inv: Option<&InventoryFile>) -> Option<PathBuf> {
    let p = inv?.path.parent()?;
    Some(if p.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        p.to_path_buf()
    })
}

fn is_sandbox(dir: &Path) -> bool {
    dir.join("pki").join("ca.crt").is_file() && dir.join("pki").join("ca.key").is_file()
}

fn provision(p: &Prepared, f: &ProvisionFlags, inv: Option<&InventoryFile>) -> Result<Provision> {
    let home = home_of(inv);
    let files = p
        .state
        .join("members")
        .join(format!("{:x}", p.status.cluster_id));
    let kind = match f.provision {
        Some(k) => k,
        None => {
            if f.out.is_some() {
                ProvisionKind::Manual
            } else if f.sandbox_dir.is_some() {
                ProvisionKind::Sandbox
            } else if home
                .as_deref()
                .is_some_and(|h| h.join("etcd.yml").is_file())
            {
                ProvisionKind::Pigsty
            } else if home.as_deref().is_some_and(is_sandbox) {
                ProvisionKind::Sandbox
            } else {
                bail!(
                    "say how the member is started and purged: --provision pigsty (the \
                     inventory's folder must hold Pigsty's etcd.yml), --provision sandbox, or \
                     --out DIR (manual: etcdeck writes the member's files there and waits)"
                )
            }
        }
    };
    Ok(match kind {
        ProvisionKind::Sandbox => {
            let dir = f
                .sandbox_dir
                .clone()
                .or(home)
                .context("--provision sandbox needs --sandbox-dir DIR")?;
            if !is_sandbox(&dir) {
                bail!(
                    "{} is not a sandbox (no pki/ca.crt and pki/ca.key): name the directory \
                     `etcdeck demo` runs in with --sandbox-dir",
                    dir.display()
                );
            }
            Provision::Sandbox { dir }
        }
        ProvisionKind::Pigsty => {
            let home = home.context("--provision pigsty needs the Pigsty inventory (-i FILE)")?;
            if !home.join("etcd.yml").is_file() {
                bail!(
                    "{} holds no etcd.yml: the inventory's folder must be the Pigsty home",
                    home.display()
                );
            }
            Provision::Pigsty { home, files }
        }
        ProvisionKind::Manual => Provision::Manual {
            out: f
                .out
                .clone()
                .context("--provision manual needs --out DIR for the member's files")?,
            wait_secs: f.start_wait.as_secs().max(1),
        },
    })
}

/// The CA that signs the member's certificate: the flags, else where the provisioner keeps it.
fn find_ca(
    f: &ProvisionFlags,
    p: &Provision,
    inv: Option<&InventoryFile>,
) -> Result<(PathBuf, PathBuf), String> {
    if let (Some(c), Some(k)) = (&f.ca_cert, &f.ca_key) {
        return Ok((c.clone(), k.clone()));
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

fn common(p: &Prepared, w: &WizardFlags, inv: Option<&InventoryFile>) -> Common {
    let mut c = super::wizard::common(p, w);
    if let Some(inv) = inv {
        c.cluster_name = inv.parsed.cluster().to_string();
    }
    c
}
