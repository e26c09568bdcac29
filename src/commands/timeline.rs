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
    let t = match crate::app::timeline::load(&path, now)? {
        Some(t) => t,
        None => {
            outln!(
                "no history for cluster {id:x} yet ({}): the console records it while it runs",
                path.display()
            );
            return Ok(0);
        }
    };
    let span = since
        .as_secs()
        .clamp(60, crate::app::timeline::RETENTION.as_secs());
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
