//! `etcdeck alarm list | disarm | recover`.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use super::wizard::{carry_out, common, metrics_page, prepare, Prepared};
use super::Code;
use crate::cli::{Global, WizardFlags};
use crate::wizard::{alarm, Op};

fn meaning(alarm: &str) -> &'static str {
    match alarm {
        "NOSPACE" => alarm::NOSPACE_MEANS,
        "CORRUPT" => {
            "CORRUPT: this member's data differs from the others'. Replace the member; never \
             disarm it by hand."
        }
        _ => "an alarm etcdeck does not know",
    }
}

pub async fn list(g: &Global, json_out: bool) -> Result<Code> {
    let p = prepare(g).await?;
    let s = &p.status;
    if let Some(e) = &s.alarms_error {
        anyhow::bail!("the alarm list could not be read: {e}");
    }
    if json_out {
        let rows: Vec<_> = s
            .alarms
            .iter()
            .map(|a| json!({"member_id": format!("{:x}", a.member_id), "member": a.member, "alarm": a.alarm, "meaning": meaning(&a.alarm)}))
            .collect();
        outln!(
            "{}",
            json!({"cluster_id": format!("{:x}", s.cluster_id), "alarms": rows})
        );
    } else if s.alarms.is_empty() {
        outln!("no alarm raised");
    } else {
        for a in &s.alarms {
            outln!("{:<16} {}", crate::text::escape(&a.member), a.alarm);
        }
        let mut kinds: Vec<&str> = s.alarms.iter().map(|a| a.alarm.as_str()).collect();
        kinds.dedup();
        for k in kinds {
            outln!("{}", meaning(k));
        }
        if s.alarms.iter().any(|a| a.alarm == "NOSPACE") {
            outln!("to recover: etcdeck alarm recover");
        }
    }
    Ok(u8::from(!s.alarms.is_empty()))
}

/// The backend quota: what a member says (etcd 3.6), else its `/metrics`, else --quota.
pub async fn quota(g: &Global, p: &Prepared) -> i64 {
    if let Some(q) = alarm::reported_quota(&p.status) {
        return q;
    }
    let scraped = metrics_page(p).await.and_then(|s| s.quota_bytes);
    scraped.map_or(g.quota.unwrap_or(0), |q| q as i64)
}

pub async fn disarm(g: &Global, w: &WizardFlags) -> Result<Code> {
    let p = prepare(g).await?;
    let q = quota(g, &p).await;
    let plan = alarm::disarm_plan(&p.status, q, p.now);
    carry_out(g, p, Op::AlarmDisarm, w, "", plan, |_| Vec::new()).await
}

pub async fn recover(g: &Global, settle: Duration, w: &WizardFlags) -> Result<Code> {
    let p = prepare(g).await?;
    let q = quota(g, &p).await;
    let biggest = p
        .status
        .members
        .iter()
        .map(|m| m.db_size)
        .max()
        .unwrap_or(0);
    let mut prefixes = Vec::new();
    if biggest <= alarm::PREFIX_SCAN_LIMIT && p.status.alarms.iter().any(|a| a.alarm == "NOSPACE") {
        if let Some(url) =
            crate::wizard::snapshot_source(&p.status).and_then(|m| m.client_urls.first().cloned())
        {
            match alarm::largest_prefixes(&p.cluster, &url).await {
                Ok(found) => prefixes = found,
                Err(e) => {
                    eprintln!("etcdeck: warning: the largest prefixes could not be read: {e}")
                }
            }
        }
    }
    let facts = alarm::Facts {
        current: p.status.revision(),
        quota: q,
        prefixes,
    };
    let args = alarm::recover_args(!w.no_snapshot);
    let plan = alarm::recover_plan(&p.status, &facts, settle, &common(&p, w));
    carry_out(g, p, Op::AlarmRecover, w, &args, plan, |_| Vec::new()).await
}
