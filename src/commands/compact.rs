//! `etcdeck compact (--keep 24h | --revision R)`.

use std::time::Duration;

use anyhow::Result;

use super::wizard::{carry_out, common, prepare, Prepared};
use super::Code;
use crate::cli::{Global, WizardFlags};
use crate::etcd::metrics;
use crate::wizard::{self, compact, Op};

/// The last compacted revision from a member's `/metrics`, if it says.
pub async fn compacted(p: &Prepared) -> Option<i64> {
    let scraper = metrics::Scraper::new(p.cluster.settings()).ok()?;
    let m = wizard::leader(&p.status).or_else(|| wizard::snapshot_source(&p.status))?;
    let url = m.client_urls.first()?;
    let (page, _) = metrics::scrape(&scraper, url).await.ok()?;
    metrics::parse(&page).ok()?.compact_revision
}

pub async fn run(
    g: &Global,
    keep: Option<Duration>,
    revision: Option<i64>,
    w: &WizardFlags,
) -> Result<Code> {
    let p = prepare(g).await?;
    let keys = match crate::etcd::watch::read_all(&p.cluster, g.namespace.as_bytes()).await {
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
                g.namespace
            );
            Vec::new()
        }
    };
    let facts = compact::Facts {
        current: p
            .status
            .members
            .iter()
            .map(|m| m.revision)
            .max()
            .unwrap_or(0),
        compacted: compacted(&p).await,
        seen: wizard::revisions::load(&p.state, p.status.cluster_id),
        keys,
        namespace: g.namespace.clone(),
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
