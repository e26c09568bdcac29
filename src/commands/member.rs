//! `etcdeck member add|promote|remove|replace`: the membership wizards, headless.

use std::path::Path;

use anyhow::Result;

use super::wizard::{carry_out, prepare, Prepared};
use super::{extra_vars, Code};
use crate::cli::{Global, MemberCommand, ProvisionFlags, ProvisionKind, WizardFlags};
use crate::wizard::member::{self, AddOptions, InventoryFile};
use crate::wizard::setup;
use crate::wizard::{Common, Op};

pub async fn run(g: &Global, c: &MemberCommand) -> Result<Code> {
    let inventory = super::inventory_path(g, None).ok();
    let p = prepare(g).await?;
    let (pf, w) = match c {
        MemberCommand::Add { p, w, .. }
        | MemberCommand::Promote { p, w, .. }
        | MemberCommand::Remove { p, w, .. }
        | MemberCommand::Replace { p, w, .. } => (p, w),
    };
    let facts = setup::gather(
        &p.state,
        p.status.cluster_id,
        inventory.as_deref(),
        &extra_vars(g)?,
        &asked(pf),
    )
    .map_err(anyhow::Error::msg)?;
    let common = common(&p, w, facts.inventory.as_ref());
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
    let x = facts.setting(&status, &common, safeguard);
    let provision = facts.provision.clone();
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
    let removed = match c {
        MemberCommand::Remove { member: m, .. } => {
            member::find(&status, m).and_then(|m| m.peer_urls.first().cloned())
        }
        _ => None,
    };
    let state = p.state.clone();
    let code = carry_out(g, p, op, w, &args, plan, |wiz| {
        member::after_notes(&wiz.plan)
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
    for id in member::roll_back_adds(state, cluster_id, peer_url, "`etcdeck member remove`") {
        outln!("the unfinished add {id} is rolled back: its learner was removed");
    }
}

/// The flags, as the setup takes them.
fn asked(f: &ProvisionFlags) -> setup::Asked {
    setup::Asked {
        choice: f.provision.map(|k| match k {
            ProvisionKind::Sandbox => setup::Choice::Sandbox,
            ProvisionKind::Pigsty => setup::Choice::Pigsty,
            ProvisionKind::Manual => setup::Choice::Manual,
        }),
        out: f.out.clone(),
        start_wait: Some(f.start_wait),
        sandbox_dir: f.sandbox_dir.clone(),
        ca: f.ca_cert.clone().zip(f.ca_key.clone()),
    }
}

fn common(p: &Prepared, w: &WizardFlags, inv: Option<&InventoryFile>) -> Common {
    let mut c = super::wizard::common(p, w);
    if let Some(inv) = inv {
        c.cluster_name = inv.parsed.cluster().to_string();
    }
    c
}
