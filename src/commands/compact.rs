//! `etcdeck compact (--keep 24h | --revision R)`.

use std::time::Duration;

use anyhow::Result;

use super::wizard::{carry_out, common, metrics_page, prepare};
use super::Code;
use crate::cli::{Global, WizardFlags};
use crate::wizard::{self, compact, Op};

pub async fn run(
    g: &Global,
    keep: Option<Duration>,
    revision: Option<i64>,
    w: &WizardFlags,
) -> Result<Code> {
    let p = prepare(g).await?;
    let keys = match crate::etcd::watch::read_all(&p.cluster, g.namespace().as_bytes()).await {
        Ok((kvs, _, _)) => kvs
            .into_iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(&kv.key).into_owned(),
                    kv.create_revision,
                    kv.version,
                )
            })
            .collect(),
        Err(e) => {
            eprintln!(
                "etcdeck: warning: the keys under {} could not be read: {e}",
                g.namespace()
            );
            Vec::new()
        }
    };
    let facts = compact::Facts {
        current: p.status.revision(),
        compacted: metrics_page(&p).await.and_then(|m| m.compact_revision),
        seen: wizard::revisions::load(&p.state, p.status.cluster_id),
        keys,
        namespace: g.namespace().to_string(),
        now: p.now,
    };
    let target = match (revision, keep) {
        (Some(r), _) => compact::Target::Revision(r),
        (None, Some(k)) => compact::Target::Keep(k),
        (None, None) => anyhow::bail!("give --keep DURATION or --revision R"),
    };
    let args = compact::args(&target, !w.no_snapshot);
    let plan = compact::plan(&p.status, &facts, target, &common(&p, w));
    carry_out(g, p, Op::Compact, w, &args, plan, |_| Vec::new()).await
}
