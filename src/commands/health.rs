//! `etcdeck health [--json]`.

use anyhow::Result;

use super::{settings, Code};
use crate::cli::Global;
use crate::etcd::Cluster;

/// `etcdeck health [--json]`.
pub async fn run(g: &Global, json: bool) -> Result<Code> {
    let settings = settings(g)?;
    let scraper = crate::etcd::metrics::Scraper::new(&settings)?;
    let cluster = Cluster::new(settings)?;
    let report = match crate::health::check(&cluster, &scraper).await {
        Ok(r) => r,
        Err(e) => {
            // No endpoint answers the member list: unavailable, said the same way.
            if json {
                let doc = serde_json::json!({
                    "verdict": "unavailable", "healthy": false, "has_leader": false,
                    "error": e.to_string(),
                });
                outln!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                outln!("UNAVAILABLE: {e}");
            }
            return Ok(2);
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", crate::health::render(&report));
    }
    Ok(report.verdict.exit_code())
}
