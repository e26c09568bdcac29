//! The runbook `--dry-run` prints: each step as the `etcdctl` commands an operator would type,
//! so the plan can be audited, or carried out by hand where etcdeck is not installed.

use super::{Plan, StepKind};
use crate::connect::Settings;

/// Quote a word for a POSIX shell when it needs it.
pub fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The runbook: the environment, then one block per step.
pub fn runbook(plan: &Plan, s: &Settings) -> Vec<String> {
    let mut out = vec![
        format!(
            "# runbook: etcdeck {} on cluster {:x}, as etcdctl commands",
            plan.op.command(),
            plan.cluster_id
        ),
        "export ETCDCTL_API=3".to_string(),
    ];
    let file = |f: &Option<crate::connect::FileSetting>| {
        f.as_ref()
            .map(|f| sh(&f.path.display().to_string()))
            .unwrap_or_default()
    };
    if s.cacert.is_some() {
        out.push(format!("export ETCDCTL_CACERT={}", file(&s.cacert)));
    }
    if s.cert.is_some() {
        out.push(format!("export ETCDCTL_CERT={}", file(&s.cert)));
        out.push(format!("export ETCDCTL_KEY={}", file(&s.key)));
    }
    if let Some((user, _)) = &s.user {
        out.push(format!(
            "export ETCDCTL_USER={}:\"$ETCD_ROOT_PASSWORD\"   # the password is not printed",
            sh(user)
        ));
    }
    let all = sh(&s.endpoints.join(","));
    for (i, step) in plan.steps.iter().enumerate() {
        out.push(format!("# {}. {}", i + 1, step.text.replace('\n', " ")));
        let at = step.via.as_deref().map(sh).unwrap_or_else(|| all.clone());
        match &step.kind {
            StepKind::Snapshot { path, .. } => out.push(format!(
                "etcdctl --endpoints={at} snapshot save {}",
                sh(&path.display().to_string())
            )),
            StepKind::Gate { tolerate_nospace } => {
                out.push(format!(
                    "etcdctl --endpoints={all} endpoint status -w table   # every voter \
                     answers, one leader, RAFT APPLIED INDEX within {}",
                    super::MAX_APPLIED_SPREAD
                ));
                out.push(format!(
                    "etcdctl --endpoints={all} alarm list   # {}",
                    if *tolerate_nospace {
                        "only NOSPACE may be listed"
                    } else {
                        "must print nothing"
                    }
                ));
            }
            StepKind::Settle { ms } => out.push(format!("sleep {}", ms.div_ceil(1000))),
            StepKind::MoveLeader { to, .. } => out.push(format!(
                "etcdctl --endpoints={at} move-leader {to:x}   # sent to the leader"
            )),
            StepKind::Defragment { db_size, .. } => out.push(format!(
                "etcdctl --endpoints={at} --command-timeout={}s defrag",
                crate::etcd::ops::defrag_timeout(*db_size, s.timeout).as_secs()
            )),
            StepKind::Compact { revision } => out.push(format!(
                "etcdctl --endpoints={at} compact {revision} --physical"
            )),
            StepKind::BelowQuota { percent, quota } => out.push(format!(
                "etcdctl --endpoints={all} endpoint status -w table   # every DB SIZE below \
                 {percent}% of {quota} bytes"
            )),
            StepKind::Disarm { .. } => out.push(format!("etcdctl --endpoints={at} alarm disarm")),
            StepKind::VerifyWrite { key } => {
                out.push(format!("etcdctl --endpoints={at} put {} ok", sh(key)));
                out.push(format!("etcdctl --endpoints={at} del {}", sh(key)));
            }
            StepKind::VerifyLeader { leader } => out.push(format!(
                "etcdctl --endpoints={all} endpoint status -w table   # IS LEADER true for \
                 {leader:x} only, from every member"
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_the_shell_needs_it() {
        assert_eq!(sh("https://127.0.0.1:2379"), "https://127.0.0.1:2379");
        assert_eq!(sh("/pg/it's"), r"'/pg/it'\''s'");
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("$(reboot)"), "'$(reboot)'");
    }
}
