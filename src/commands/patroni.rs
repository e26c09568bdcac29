//! `etcdeck patroni [--json]`.

use anyhow::Result;

use super::{one_cluster, settings, Code};
use crate::cli::Global;
use crate::etcd::watch::read_all;
use crate::etcd::Cluster;
use crate::text;

/// `etcdeck patroni [--json]`.
pub async fn run(g: &Global, json: bool) -> Result<Code> {
    let cluster = Cluster::new(settings(g)?)?;
    one_cluster(&cluster).await?;
    let (kvs, _, url) = read_all(&cluster, g.namespace().as_bytes()).await?;
    let entries = || {
        kvs.iter().map(|kv| crate::patroni::Entry {
            key: &kv.key,
            value: &kv.value,
            lease: kv.lease,
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
        })
    };
    // Ask for the time left on every leader lease (one call per cluster).
    let first = crate::patroni::summarize(g.namespace(), entries(), &|_| None);
    let mut ttls = std::collections::HashMap::new();
    for c in &first {
        if c.leader_lease != 0 && !ttls.contains_key(&c.leader_lease) {
            let lease = c.leader_lease;
            if let Ok((r, _)) = cluster
                .call(&url, |mut cl| async move {
                    cl.lease_time_to_live(lease, None).await
                })
                .await
            {
                ttls.insert(lease, r.ttl());
            }
        }
    }
    let all = crate::patroni::summarize(g.namespace(), entries(), &|l| ttls.get(&l).copied());
    if json {
        outln!("{}", text::json_pretty(&all)?);
    } else if all.is_empty() {
        outln!(
            "no Patroni cluster under {} (is the namespace another one? --namespace)",
            text::escape(g.namespace())
        );
    } else {
        for c in &all {
            outln!(
                "{}: leader {}{}",
                text::escape(&c.label()),
                c.leader
                    .as_deref()
                    .map_or("NONE".into(), |l| text::escape(l).into_owned()),
                c.leader_ttl_s
                    .map_or(String::new(), |t| format!(" (lease {t}s left)"))
            );
            for m in &c.members {
                let lag = if c.leader.as_deref() == Some(m.name.as_str()) {
                    "-".to_string()
                } else {
                    m.lag_bytes.map_or("?".into(), crate::units::bytes)
                };
                outln!(
                    "  {:<16} {:<14} {:<10} tl {:<3} lag {lag}",
                    text::escape(&m.name),
                    text::escape(m.role.as_deref().unwrap_or("?")),
                    text::escape(m.state.as_deref().unwrap_or("?")),
                    m.timeline.map_or("?".into(), |t| t.to_string()),
                );
            }
            if !c.sync_standby.is_empty() {
                outln!(
                    "  sync standby: {}",
                    text::escape(&c.sync_standby.join(", "))
                );
            }
            for w in &c.warnings {
                outln!("  warning: {w}");
            }
        }
    }
    Ok(if all.iter().any(|c| c.leader.is_none()) {
        1
    } else {
        0
    })
}
