//! `etcdeck health [--json]`.

use anyhow::Result;

use super::{settings, Code};
use crate::cli::Global;
use crate::etcd::model::Verdict;
use crate::etcd::Cluster;

/// `etcdeck health [--json]`: exit 0 healthy, 1 degraded, 2 unavailable, 3 unknown. A fault in
/// etcdeck's own settings (files, TLS identity, credentials, inventory) is "unknown", never
/// "unavailable": a monitoring agent must not page "etcd down" for a client-side mistake.
pub async fn run(g: &Global, json: bool) -> Result<Code> {
    let ready = settings(g).and_then(|s| {
        let scraper = crate::etcd::metrics::Scraper::new(&s)?;
        Ok((Cluster::new(s)?, scraper))
    });
    let (cluster, scraper) = match ready {
        Ok(r) => r,
        Err(e) => return not_judged(json, Verdict::Unknown, &format!("{e:#}")),
    };
    let report = match crate::health::check(&cluster, &scraper).await {
        Ok(r) => r,
        // Our own settings are at fault at some endpoint: the cluster was not judged.
        Err(e) if e.is_own_settings() => return not_judged(json, Verdict::Unknown, &e.to_string()),
        // No endpoint answers the member list: unavailable.
        Err(e) => return not_judged(json, Verdict::Unavailable, &e.to_string()),
    };
    if json {
        outln!("{}", crate::text::json_pretty(&report)?);
    } else {
        out!("{}", crate::health::render(&report));
    }
    Ok(report.verdict.exit_code())
}

/// Print a verdict reached without a report (nothing answered, or etcdeck could not ask).
fn not_judged(json: bool, verdict: Verdict, why: &str) -> Result<Code> {
    if json {
        let doc = serde_json::json!({
            "verdict": verdict, "healthy": false, "has_leader": false, "error": why,
        });
        outln!("{}", crate::text::json_pretty(&doc)?);
    } else {
        let hint = if verdict == Verdict::Unknown {
            " (etcdeck's own settings are at fault; the cluster was not judged)"
        } else {
            ""
        };
        outln!("{}: {why}{hint}", verdict.shout());
    }
    Ok(verdict.exit_code())
}
