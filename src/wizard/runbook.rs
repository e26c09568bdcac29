//! The runbook `--dry-run` prints: each step as the `etcdctl` commands an operator would type,
//! so the plan can be audited, or carried out by hand where etcdeck is not installed.

use super::member::{provision_member, InventoryChange, Provision};
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
            StepKind::Gate {
                tolerate_nospace, ..
            } => {
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
            StepKind::InventoryEdit { file, change } => {
                let f = sh(&file.display().to_string());
                out.push(match change {
                    InventoryChange::Add { ip, seq } => format!(
                        "etcdeck -i {f} inventory add {ip} --seq {seq}   # or by hand: \
                         `{ip}: {{ etcd_seq: {seq} }}` under etcd.hosts"
                    ),
                    InventoryChange::Comment { ip } => {
                        format!("etcdeck -i {f} inventory comment {ip}")
                    }
                    InventoryChange::Remove { ip } => {
                        format!("etcdeck -i {f} inventory remove {ip}")
                    }
                })
            }
            StepKind::Certificate {
                member,
                provision,
                ca_cert,
                ca_key,
            } => {
                let (cert, _) = provision.cert_paths(member);
                out.push(format!(
                    "etcdeck cert issue --name {} --ip {} --ca-cert {} --ca-key {} --out {}",
                    sh(&member.name),
                    member.ip,
                    sh(&ca_cert.display().to_string()),
                    sh(&ca_key.display().to_string()),
                    sh(&cert
                        .parent()
                        .map(|d| d.display().to_string())
                        .unwrap_or_default())
                ))
            }
            StepKind::Config { member, provision } => out.push(format!(
                "etcdeck render conf --member {} > {}/etcd.conf   # initial-cluster: the live \
                 members and this one; initial-cluster-state: existing",
                sh(&member.name),
                sh(&provision.files_dir(member).display().to_string())
            )),
            StepKind::AddLearner { member } => out.push(format!(
                "etcdctl --endpoints={at} member add {} --learner --peer-urls={}   # sent to \
                 the leader; note the id it prints",
                sh(&member.name),
                sh(&member.peer_url())
            )),
            StepKind::StartMember { member, provision } => match provision {
                Provision::Sandbox { dir } => out.push(format!(
                    "etcd --config-file {}/etcd.conf &",
                    sh(&dir.join(&member.name).display().to_string())
                )),
                Provision::Pigsty { home, .. } => out.push(format!(
                    "(cd {} && {})",
                    sh(&home.display().to_string()),
                    crate::provision::display_argv(
                        &crate::provision::pigsty::Pigsty::new(home)
                            .start_argv_keeping_cert(&provision_member(member))
                    )
                )),
                Provision::Manual { out: dir, .. } => out.push(format!(
                    "# copy {}/ to {} as /etc/etcd/ (server.key mode 0600), then there: sudo \
                     systemctl enable --now etcd",
                    sh(&dir.display().to_string()),
                    member.inventory_ip
                )),
            },
            StepKind::CatchUp { peer_url } => out.push(format!(
                "etcdctl --endpoints={all} endpoint status -w table   # the learner at {} \
                 (add its client URL): RAFT APPLIED INDEX close to the leader's RAFT INDEX",
                sh(peer_url)
            )),
            StepKind::Promote { .. } => out.push(format!(
                "etcdctl --endpoints={at} member promote <ID>   # sent to the leader; again \
                 while it says \"not in sync\""
            )),
            StepKind::References {
                member,
                added,
                provision,
            } => {
                out.push(format!(
                    "# {} {}: refresh etcd.conf on the other members (no restart), etcdctl.sh, \
                     patronictl.yml; Patroni's etcd3.hosts at its next start (never restart \
                     Patroni); vip-manager one node at a time",
                    if *added { "with" } else { "without" },
                    sh(&member.name)
                ));
                let change = if *added {
                    crate::provision::references::Change::Added(provision_member(member))
                } else {
                    crate::provision::references::Change::Removed(provision_member(member))
                };
                // The other members' etcd.conf is refreshed with the members as they are when
                // the step runs; the runbook names the rest.
                if let Provision::Pigsty { home, .. } = provision {
                    out.push(format!(
                        "(cd {} && ./etcd.yml -l <the other members' IPs> -t etcd_conf)",
                        sh(&home.display().to_string())
                    ));
                    for r in crate::provision::references::checklist(&change, &[]) {
                        if let Some(argv) = &r.pigsty {
                            out.push(format!(
                                "(cd {} && {})   # {}",
                                sh(&home.display().to_string()),
                                crate::provision::display_argv(argv),
                                r.consumer
                            ));
                        }
                    }
                }
            }
            StepKind::RemoveMember { id, .. } => {
                out.push(format!("etcdctl --endpoints={at} member remove {id:x}"))
            }
            StepKind::Purge {
                member,
                provision,
                override_safeguard,
            } => match provision {
                Provision::Sandbox { dir } => out.push(format!(
                    "kill $(cat {0}/etcd.pid) && rm -rf {0}/data",
                    sh(&dir.join(&member.name).display().to_string())
                )),
                Provision::Pigsty { home, .. } => out.push(format!(
                    "(cd {} && {})   # only once the member list no longer has it",
                    sh(&home.display().to_string()),
                    crate::provision::display_argv(
                        &crate::provision::pigsty::Pigsty::new(home)
                            .purge_argv(&provision_member(member), *override_safeguard)
                    )
                )),
                Provision::Manual { .. } => out.push(format!(
                    "# on {}: sudo systemctl disable --now etcd && sudo rm -rf {}",
                    member.inventory_ip,
                    sh(&member.data)
                )),
            },
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
