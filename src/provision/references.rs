//! After a membership change, where the etcd endpoints are referenced and how each consumer
//! learns of the change: the checklist the wizard walks (the "reload references" step of
//! Pigsty's docs), for Pigsty 4.x.
//!
//! Found in Pigsty's sources:
//! - `etcd.yml` tag `etcd_conf` (`roles/etcd/tasks/config.yml`) writes `/etc/etcd/etcd.conf`,
//!   `/etc/etcd/etcd.pass`, the unit and `/etc/profile.d/etcdctl.sh` on etcd members, and
//!   restarts nothing (restarts are `etcd_launch`, which `bin/etcd-add` suggests: not needed).
//! - `infra.yml` tag `env_etcd` (`roles/infra/tasks/env.yml`) writes the admin node's
//!   `/etc/profile.d/etcdctl.sh`; tag `env_patroni` writes `/infra/conf/patronictl.yml`
//!   (Pigsty 3.x: `/etc/pigsty/patronictl.yml`, tag `env_pgctl`).
//! - `pgsql.yml` (hosts: all, non-PostgreSQL hosts skipped) tag `pg_conf`
//!   (`roles/pgsql/tasks/config.yml`) renders `/pg/conf/<ins>.yml`; tag `patroni_reload` reloads
//!   Patroni when `pg_reload` (default true; `bin/etcd-add`'s `-e patroni_reload=true` sets no
//!   variable Pigsty reads). A reload does not re-read `etcd3.hosts` and would apply whatever
//!   else changed in the file, so the checklist renders the file only.
//! - `pgsql.yml` tag `pg_vip` = `pg_vip_config` (`/etc/default/vip-manager.yml`) and
//!   `pg_vip_launch` (restart vip-manager, where `pg_vip_enabled`).
//! - The monitoring target `/infra/targets/etcd/<cls>-<seq>.yml` is written by `etcd.yml`
//!   (`etcd_register`) and removed by `etcd-rm.yml` (`etcd_deregister`): done by the member's own
//!   start or purge (Pigsty 3.x: under `/etc/prometheus/targets/etcd/`).
//!
//! Pigsty builds every list from the inventory's `etcd` group: the commands are right once the
//! inventory holds the new member, or no longer holds the removed one. Every command is limited
//! (`-l`) to the hosts it concerns.

use super::Member;

/// A membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added(Member),
    Removed(Member),
}

impl Change {
    /// The member added or removed.
    pub fn member(&self) -> &Member {
        match self {
            Change::Added(m) | Change::Removed(m) => m,
        }
    }
}

/// One place the etcd endpoints are referenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Who reads it, e.g. `etcd members (etcd-1, etcd-2, etcd-3)`.
    pub consumer: String,
    /// The file (on which hosts).
    pub file: String,
    /// The Pigsty command that renders it again, run in the Pigsty home; `None` when there is
    /// nothing to run.
    pub pigsty: Option<Vec<String>>,
    /// How the change takes effect (restart or not, and when).
    pub apply: String,
}

fn argv(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The checklist after `change`; `others` are the etcd members that stay (the change's member
/// not among them).
pub fn checklist(change: &Change, others: &[Member]) -> Vec<Reference> {
    let m = change.member();
    let ip = m.ip();
    let (verb, fresh) = match change {
        Change::Added(_) => ("added", "lists it"),
        Change::Removed(_) => ("removed", "no longer lists it"),
    };
    let mut names: Vec<&str> = others.iter().map(|o| o.name.as_str()).collect();
    names.sort_unstable();
    let ips: Vec<String> = others.iter().map(Member::ip).collect();
    let mut out = Vec::new();

    out.push(Reference {
        consumer: format!("etcd members ({})", names.join(", ")),
        file: "/etc/etcd/etcd.conf and /etc/profile.d/etcdctl.sh on each".into(),
        pigsty: (!ips.is_empty())
            .then(|| argv(&["./etcd.yml", "-l", &ips.join(","), "-t", "etcd_conf"])),
        apply: format!(
            "no restart: etcd reads initial-cluster only when it starts on an empty data \
             directory, and ignores it once it has data; the file matters if a member is ever \
             rebuilt. The rendered initial-cluster {fresh} ({} {verb}) once the inventory does.",
            m.name
        ),
    });
    out.push(Reference {
        consumer: "etcdctl on the admin node".into(),
        file: "/etc/profile.d/etcdctl.sh (ETCDCTL_ENDPOINTS)".into(),
        pigsty: Some(argv(&["./infra.yml", "-l", "infra", "-t", "env_etcd"])),
        apply: "next login shell (or `. /etc/profile.d/etcdctl.sh`); `etcdeck render env` \
                writes it from the live member list, voters only. On an admin node that is \
                also an etcd member, the etcd.yml run above writes the same file."
            .into(),
    });
    out.push(Reference {
        consumer: "patronictl on the admin node".into(),
        file: "/infra/conf/patronictl.yml (etcd3.hosts)".into(),
        pigsty: Some(argv(&["./infra.yml", "-l", "infra", "-t", "env_patroni"])),
        apply: "next patronictl call reads it (Pigsty 3.x: /etc/pigsty/patronictl.yml, tag \
                env_pgctl)."
            .into(),
    });
    out.push(Reference {
        consumer: "Patroni on every PostgreSQL node".into(),
        file: "/pg/conf/<ins>.yml (etcd3.hosts)".into(),
        pigsty: Some(argv(&["./pgsql.yml", "-l", "all", "-t", "pg_conf"])),
        apply: format!(
            "nothing to do for the running Patroni: it learns the member list from etcd itself \
             (refreshed every ttl*10 s) and has {verb} {} already; etcd3.hosts is read at its \
             next start. NEVER restart Patroni for this: outside maintenance mode a restart \
             stops PostgreSQL. No reload either: it does not re-read etcd3.hosts, and would apply \
             anything else that changed in the file. (pgsql.yml skips hosts without pg_cluster; \
             narrow -l to your clusters if you like.)",
            m.name
        ),
    });
    out.push(Reference {
        consumer: "vip-manager (only where pg_vip_enabled)".into(),
        file: "/etc/default/vip-manager.yml (dcs-endpoints)".into(),
        pigsty: Some(argv(&[
            "./pgsql.yml",
            "-l",
            "all",
            "-t",
            "pg_vip",
            "-f",
            "1",
        ])),
        apply: "vip-manager reads it at start: Pigsty's pg_vip renders it and restarts \
                vip-manager; -f 1 makes that one node at a time. The primary's VIP is released \
                while its vip-manager restarts: choose a quiet moment."
            .into(),
    });
    out.push(match change {
        Change::Added(_) => Reference {
            consumer: "monitoring (VictoriaMetrics/Prometheus on the infra nodes)".into(),
            file: format!("/infra/targets/etcd/{}.yml", m.name),
            pigsty: Some(argv(&["./etcd.yml", "-l", &ip, "-t", "etcd_register"])),
            apply: format!(
                "file discovery picks it up, no reload. The member's own ./etcd.yml run writes \
                 it: run this only when {} was started another way.",
                m.name
            ),
        },
        Change::Removed(_) => Reference {
            consumer: "monitoring (VictoriaMetrics/Prometheus on the infra nodes)".into(),
            file: format!("/infra/targets/etcd/{}.yml", m.name),
            pigsty: Some(argv(&["./etcd-rm.yml", "-l", &ip, "-t", "etcd_deregister"])),
            apply: format!(
                "file discovery drops it, no reload; until then the dashboard shows {} down. \
                 ./etcd-rm.yml removes it itself: run this only when the member was purged \
                 another way (the host must still be in the inventory for -l).",
                m.name
            ),
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory;

    fn members() -> Vec<Member> {
        let inv = inventory::parse(inventory::EXAMPLE, "inventory.example.yml", &[]).unwrap();
        inv.hosts.iter().map(Member::of).collect()
    }

    fn new_member() -> Member {
        let text =
            "etcd:\n  hosts:\n    10.10.10.13: { etcd_seq: 4 }\n  vars: { etcd_cluster: etcd }\n";
        let inv = inventory::parse(text, "x.yml", &[]).unwrap();
        Member::of(&inv.hosts[0])
    }

    fn limit(cmd: &[String]) -> &str {
        let i = cmd
            .iter()
            .position(|a| a == "-l")
            .expect("every command has -l");
        &cmd[i + 1]
    }

    #[test]
    fn an_added_member_refreshes_the_others_and_never_restarts_patroni() {
        let others = members();
        let list = checklist(&Change::Added(new_member()), &others);
        let files: Vec<&str> = list.iter().map(|r| r.file.as_str()).collect();
        for want in [
            "/etc/etcd/etcd.conf",
            "/etc/profile.d/etcdctl.sh",
            "/infra/conf/patronictl.yml",
            "/pg/conf/<ins>.yml",
            "/etc/default/vip-manager.yml",
            "/infra/targets/etcd/etcd-4.yml",
        ] {
            assert!(
                files.iter().any(|f| f.starts_with(want)),
                "{want} in {files:?}"
            );
        }
        let etcd = &list[0];
        assert_eq!(
            etcd.pigsty.as_deref().unwrap(),
            [
                "./etcd.yml",
                "-l",
                "10.10.10.10,10.10.10.11,10.10.10.12",
                "-t",
                "etcd_conf"
            ]
        );
        assert!(etcd.apply.starts_with("no restart"), "{}", etcd.apply);
        assert!(!limit(etcd.pigsty.as_ref().unwrap()).contains("10.10.10.13"));
        let patroni = list
            .iter()
            .find(|r| r.consumer.starts_with("Patroni"))
            .unwrap();
        assert_eq!(
            patroni.pigsty.as_deref().unwrap(),
            ["./pgsql.yml", "-l", "all", "-t", "pg_conf"]
        );
        assert!(
            patroni.apply.contains("NEVER restart Patroni"),
            "{}",
            patroni.apply
        );
        let vip = list
            .iter()
            .find(|r| r.consumer.starts_with("vip-manager"))
            .unwrap();
        assert!(vip
            .pigsty
            .as_ref()
            .unwrap()
            .ends_with(&["-f".into(), "1".into()]));
        assert!(vip.apply.contains("one node at a time"));
        let mon = list.last().unwrap();
        assert_eq!(
            mon.pigsty.as_deref().unwrap(),
            ["./etcd.yml", "-l", "10.10.10.13", "-t", "etcd_register"]
        );
        for r in &list {
            let cmd = r.pigsty.as_ref().unwrap();
            assert!(!limit(cmd).is_empty(), "{cmd:?}");
            assert!(
                !cmd.iter()
                    .any(|a| a.contains("restart") || a == "patroni_reload"),
                "{cmd:?}"
            );
        }
    }

    #[test]
    fn a_removed_member_is_deregistered_by_its_ip_only() {
        let all = members();
        let (gone, stay) = (all[2].clone(), &all[..2]);
        let list = checklist(&Change::Removed(gone), stay);
        assert_eq!(list[0].consumer, "etcd members (etcd-1, etcd-2)");
        assert_eq!(
            limit(list[0].pigsty.as_ref().unwrap()),
            "10.10.10.10,10.10.10.11"
        );
        let mon = list.last().unwrap();
        assert_eq!(mon.file, "/infra/targets/etcd/etcd-3.yml");
        assert_eq!(
            mon.pigsty.as_deref().unwrap(),
            [
                "./etcd-rm.yml",
                "-l",
                "10.10.10.12",
                "-t",
                "etcd_deregister"
            ]
        );
        let rm = mon.pigsty.as_ref().unwrap();
        assert!(super::super::pigsty::check_limit(rm).is_ok());
    }

    #[test]
    fn no_other_member_means_nothing_to_run_for_members() {
        let list = checklist(&Change::Added(new_member()), &[]);
        assert_eq!(list[0].pigsty, None);
    }
}
