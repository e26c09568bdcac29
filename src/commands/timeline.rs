//! `etcdeck timeline [--since 10m]`.

use std::time::Duration;

use anyhow::{Context, Result};

use super::{one_cluster, settings, state_base, Code};
use crate::cli::Global;
use crate::etcd::Cluster;

/// `etcdeck timeline [--since 10m]`: the history the console keeps for this cluster.
pub async fn run(g: &Global, since: Duration) -> Result<Code> {
    let cluster = Cluster::new(settings(g)?)?;
    one_cluster(&cluster).await?;
    let (list, _) = cluster.member_list().await?;
    let id = list.header().map_or(0, |h| h.cluster_id());
    let dir = state_base().context("neither XDG_STATE_HOME nor HOME is set")?;
    let path = crate::app::timeline::history_path(&dir, id);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let span = since
        .as_secs()
        .clamp(60, crate::app::timeline::RETENTION.as_secs());
    // Operations come from the audit log: every change a wizard made, by whom, with its outcome.
    let operations = crate::wizard::audit::read(&dir, id, now.saturating_sub(span))?;
    let mut t = match crate::app::timeline::load(&path, now)? {
        Some(t) => t,
        None if operations.is_empty() => {
            outln!(
                "no history for cluster {id:x} yet ({}): the console records it while it runs",
                path.display()
            );
            return Ok(0);
        }
        None => crate::app::timeline::Timeline::new(),
    };
    merge_operations(&mut t, &operations);
    let columns = 60usize;
    let zoom = span.div_ceil(columns as u64).max(1);
    outln!(
        "cluster {id:x}, the last {}, history in {}",
        crate::units::duration(Duration::from_secs(span)),
        path.display()
    );
    out!(
        "{}",
        crate::app::timeline::text(&t, now, zoom, columns, span)
    );
    Ok(0)
}

/// The audit log's ends of steps as timeline events, in time order with the others.
pub fn merge_operations(
    t: &mut crate::app::timeline::Timeline,
    ops: &[crate::wizard::audit::Entry],
) {
    use crate::app::msg::Level;
    for e in ops.iter().filter(|e| e.phase == "end") {
        let level = if e.outcome.as_deref() == Some("ok") {
            Level::Info
        } else {
            Level::Warn
        };
        t.event(e.unix, level, crate::wizard::audit::event_text(e));
    }
    let mut events: Vec<_> = t.events.drain(..).collect();
    events.sort_by_key(|e| e.at);
    t.events.extend(events);
}
