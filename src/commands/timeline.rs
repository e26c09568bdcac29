//! `etcdeck timeline [--since 10m] [--until T] [--json | --markdown]`.

use anyhow::{bail, Context, Result};

use super::{settings, state_base, Code};
use crate::app::postmortem;
use crate::app::timeline::{self, Timeline, RETENTION};
use crate::cli::{Global, When};
use crate::etcd::Cluster;

/// How the timeline is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The rows as a chart and the events, for the terminal.
    Text,
    /// The postmortem as JSON.
    Json,
    /// The postmortem as Markdown.
    Markdown,
}

/// The chart's columns.
const COLUMNS: usize = 60;

/// The history the console keeps for this cluster, with the audit log's operations merged in.
pub async fn run(
    g: &Global,
    since: When,
    until: Option<When>,
    format: Format,
    cluster_id: Option<u64>,
) -> Result<Code> {
    let dir = state_base().context("neither XDG_STATE_HOME nor HOME is set")?;
    let id = match cluster_id {
        Some(id) => id,
        None => which_cluster(g, &dir).await?,
    };
    let path = timeline::history_path(&dir, id);
    // The window ends after the current second: "the last 1m" is the 60 seconds up to now.
    let end = crate::wizard::audit::now_unix() + 1;
    let now = end - 1;
    let last = matches!((since, until), (When::Ago(_), None));
    let until = until.map_or(end, |u| u.unix(end)).min(end);
    let from = since.unix(end).max(end.saturating_sub(RETENTION.as_secs()));
    if from >= until {
        bail!(
            "--since ({}) is not before --until ({}): give a start before the end",
            crate::wizard::audit::rfc3339(from),
            crate::wizard::audit::rfc3339(until)
        );
    }
    // Operations come from the audit log: every change a wizard made, by whom, with its outcome.
    let operations = crate::wizard::audit::read(&dir, id, from)?;
    let mut t = match timeline::load(&path, now)? {
        Some(t) => t,
        None if operations.is_empty() && format == Format::Text => {
            outln!(
                "no history for cluster {id:x} yet ({}): the console records it while it runs",
                path.display()
            );
            return Ok(0);
        }
        None => Timeline::new(),
    };
    postmortem::merge_operations(&mut t, &operations);
    match format {
        Format::Text => {
            let span = until - from;
            let zoom = span.div_ceil(COLUMNS as u64).max(1);
            let window = if last {
                format!(
                    "the last {}",
                    crate::units::duration(std::time::Duration::from_secs(span))
                )
            } else {
                format!(
                    "{} to {} (UTC)",
                    crate::wizard::audit::rfc3339(from),
                    crate::wizard::audit::rfc3339(until)
                )
            };
            outln!("cluster {id:x}, {window}, history in {}", path.display());
            out!(
                "{}",
                timeline::text(&t, until - 1, zoom, COLUMNS, span.saturating_sub(1))
            );
        }
        Format::Json => {
            let r = postmortem::report(&t, id, from, until, &operations);
            outln!("{}", postmortem::json(&r));
        }
        Format::Markdown => {
            let r = postmortem::report(&t, id, from, until, &operations);
            out!("{}", postmortem::markdown(&r, &t, COLUMNS));
        }
    }
    Ok(0)
}

/// The cluster whose history is read: the one the endpoints answer for (a Status each, which a
/// member gives without a leader, so a postmortem works while quorum is lost). When none
/// answers (every member down), the only history kept, else the choice is the user's.
async fn which_cluster(g: &Global, dir: &std::path::Path) -> Result<u64> {
    let cluster = Cluster::new(settings(g)?)?;
    let unreachable = match cluster.identify().await {
        Ok(id) => return Ok(id),
        Err(mixed @ crate::etcd::EtcdError::MixedClusters(_)) => return Err(mixed.into()),
        Err(e) => e,
    };
    let kept = kept_histories(dir);
    match kept.as_slice() {
        [(id, _)] => {
            eprintln!(
                "etcdeck: no member answers ({unreachable}); the only history kept is cluster {id:x}'s: reading it"
            );
            Ok(*id)
        }
        [] => bail!(
            "no member answers ({unreachable}) and no history is kept in {}",
            dir.display()
        ),
        several => {
            let list: Vec<String> = several.iter().map(|(id, _)| format!("{id:x}")).collect();
            bail!(
                "no member answers ({unreachable}); histories are kept for clusters {}: choose one with --cluster-id",
                list.join(", ")
            )
        }
    }
}

/// The clusters with a history file in the state directory, newest first.
fn kept_histories(dir: &std::path::Path) -> Vec<(u64, std::time::SystemTime)> {
    let mut out: Vec<(u64, std::time::SystemTime)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let hex = name.strip_prefix("history-")?.strip_suffix(".log")?;
            let id = u64::from_str_radix(hex, 16).ok()?;
            (timeline::history_path(dir, id) == e.path()).then_some(())?;
            Some((id, e.metadata().ok()?.modified().ok()?))
        })
        .collect();
    out.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    out
}
