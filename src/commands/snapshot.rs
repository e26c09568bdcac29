//! `etcdeck snapshot save [FILE]`.

use std::path::PathBuf;

use anyhow::Result;

use super::wizard::{carry_out, prepare};
use super::Code;
use crate::cli::{Global, WizardFlags};
use crate::wizard::{self, Op, StepKind};

pub async fn save(g: &Global, file: Option<PathBuf>, json: bool) -> Result<Code> {
    let p = prepare(g).await?;
    let path = match file {
        Some(f) => f,
        None => wizard::snapshot::auto_dir(&p.state).join(format!(
            "{:x}-{}-manual.db",
            p.status.cluster_id,
            wizard::snapshot::stamp(p.now)
        )),
    };
    let status = p.status.clone();
    let name = wizard::cluster_name(&status, None);
    let plan = wizard::snapshot::plan(&p.status, &path);
    let w = WizardFlags {
        dry_run: false,
        yes: true,
        json,
        no_snapshot: true,
        // A snapshot is one step: nothing to resume, a new run takes a new one.
        fresh: true,
        gate_wait: crate::wizard::GATE_WAIT,
    };
    carry_out(g, p, Op::Snapshot, &w, "", plan, |wiz| {
        let Some(StepKind::Snapshot { path, .. }) = wiz.plan.steps.first().map(|s| &s.kind) else {
            return Vec::new();
        };
        let mut out = vec![format!("snapshot: {}", path.display())];
        out.extend(wizard::snapshot::restore_commands(&status, path, &name));
        out
    })
    .await
}
