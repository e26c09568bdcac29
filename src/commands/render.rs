//! `etcdeck render env|conf`: files rendered as Pigsty renders them, with the member lists taken
//! from the live cluster (what etcd says now, not what the inventory says).
//!
//! - `render env`: the admin node's `/etc/profile.d/etcdctl.sh` (Pigsty's `infra.yml -t
//!   env_etcd`): `ETCDCTL_ENDPOINTS` are the started voters of the member list, in name order
//!   (never a learner: it refuses linearizable reads and logins), the TLS files are the admin
//!   node's (`/etc/pki/ca.crt`, `/etc/pki/infra.crt`, `/etc/pki/infra.key`), and with auth on
//!   (`etcd_root_password`) `ETCDCTL_USER` is read at login from `/etc/etcd/etcd.pass` as Pigsty
//!   4.x does, never written into the profile. `--from-inventory` renders it offline.
//! - `render conf --member NAME`: the member's `/etc/etcd/etcd.conf` for joining the running
//!   cluster: `initial-cluster` is the live member list (plus NAME when it is not a member yet),
//!   `initial-cluster-state: existing`, the rest from the inventory host NAME.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};

use super::{flags, load_inventory, settings, Code};
use crate::cli::Global;
use crate::connect::{self, Settings};
use crate::etcd::status::{gather, ClusterStatus};
use crate::etcd::Cluster;
use crate::inventory::{EtcdInit, Host, Inventory};
use crate::render::{self, ConfOptions, EtcdctlEnv, TlsPaths};
use crate::text::escape;

/// `etcdeck render env [--from-inventory] [--out FILE]`.
pub async fn env(g: &Global, from_inventory: bool, out: Option<&Path>) -> Result<Code> {
    let (text, count) = if from_inventory {
        let inv = load_inventory(g, None)?;
        env_from_inventory(&inv)?
    } else {
        let inv = optional_inventory(g);
        let s = settings_with(g, inv.as_ref())?;
        let auth = s.user.is_some() || inv.as_ref().is_some_and(auth_on);
        let cluster = Cluster::new(s)?;
        let status = gather(&cluster).await?;
        env_from_status(&status, auth)?
    };
    match out {
        Some(path) => {
            crate::provision::write_atomic(path, text.as_bytes(), 0o644)
                .map_err(anyhow::Error::msg)?;
            outln!(
                "wrote {} ({count} endpoint(s), mode 0644)",
                escape(&path.display().to_string())
            );
        }
        None => out!("{text}"),
    }
    Ok(0)
}

/// `etcdeck render conf --member NAME`.
pub async fn conf(g: &Global, member: &str) -> Result<Code> {
    let path = super::inventory_path(g, None).map_err(|why| {
        anyhow::anyhow!(
            "render conf needs the inventory: the member's IP, ports and data directory come \
             from it ({why})"
        )
    })?;
    let inv = load_inventory(g, Some(&path))?;
    let s = settings_with(g, Some(&inv))?;
    let cluster = Cluster::new(s)?;
    let status = gather(&cluster).await?;
    let text = conf_for(&inv, &status, member, g.quota).map_err(anyhow::Error::msg)?;
    out!("{text}");
    Ok(0)
}

/// The inventory when one is found (for `etcd_root_password`); a missing or broken one is no
/// error here.
fn optional_inventory(g: &Global) -> Option<Inventory> {
    let path = super::inventory_path(g, None).ok()?;
    load_inventory(g, Some(&path)).ok()
}

/// Connection settings as [`settings`] makes them, reusing an inventory already read.
fn settings_with(g: &Global, inv: Option<&Inventory>) -> Result<Settings> {
    let Some(inv) = inv else {
        return settings(g);
    };
    let s = connect::resolve(&flags(g), &|n| super::env_var(g, n), Some(inv))?;
    for w in connect::warnings(&s) {
        eprintln!("etcdeck: warning: {}", escape(&w));
    }
    Ok(s)
}

fn auth_on(inv: &Inventory) -> bool {
    inv.hosts
        .iter()
        .any(|h| h.params.etcd_root_password.is_some())
}

/// A URL fit for a shell profile: printable ASCII, no quotes or spaces.
fn plain_url(u: &str) -> bool {
    !u.is_empty()
        && u.chars()
            .all(|c| c.is_ascii_graphic() && !"'\"\\`$".contains(c))
}

fn admin_env(endpoints: Vec<String>) -> EtcdctlEnv {
    EtcdctlEnv {
        endpoints,
        cacert: render::ADMIN_CACERT.into(),
        cert: render::ADMIN_CERT.into(),
        key: render::ADMIN_KEY.into(),
        user: None,
    }
}

fn finish_env(endpoints: Vec<String>, mut comments: Vec<String>, auth: bool) -> (String, usize) {
    if auth {
        comments.push(format!(
            "ETCDCTL_USER: Pigsty 4.x reads etcd's root password at login from {} (it is never \
             written here)",
            render::ROOT_PASSWORD_FILE
        ));
    }
    let n = endpoints.len();
    let file = auth.then(|| Path::new(render::ROOT_PASSWORD_FILE));
    (
        render::etcdctl_sh(&admin_env(endpoints), &comments, file),
        n,
    )
}

/// The admin node's etcdctl.sh from the live member list: started voters, in name order (the
/// order [`gather`] gives). Text from etcd in comments is escaped.
pub fn env_from_status(s: &ClusterStatus, auth: bool) -> Result<(String, usize)> {
    let mut endpoints = Vec::new();
    let mut comments = vec![
        "/etc/profile.d/etcdctl.sh for the admin node, rendered by etcdeck as Pigsty's \
         `infra.yml -t env_etcd` does"
            .to_string(),
        format!(
            "ETCDCTL_ENDPOINTS: the started voters of the live member list of cluster {:x}, in \
             name order",
            s.cluster_id
        ),
    ];
    for m in &s.members {
        let who = if m.name.is_empty() {
            format!("{:x}", m.id)
        } else {
            // Escaped by the renderer, with every comment.
            format!("{} ({:x})", m.name, m.id)
        };
        if !m.started {
            comments.push(format!("left out: unstarted member {who}"));
        } else if m.is_learner {
            comments.push(format!(
                "left out: learner {who}: a learner refuses linearizable reads and logins"
            ));
        } else {
            match m.client_urls.first() {
                Some(u) if plain_url(u) => endpoints.push(u.clone()),
                Some(u) => comments.push(format!(
                    "left out: {who}: its client URL {u} is not a plain URL"
                )),
                None => comments.push(format!("left out: {who}: no client URL")),
            }
        }
    }
    if endpoints.is_empty() {
        bail!("the member list has no started voter with a client URL: nothing to render");
    }
    Ok(finish_env(endpoints, comments, auth))
}

/// The admin node's etcdctl.sh from the inventory, as Pigsty renders it: every host of the
/// `etcd` group, sorted as Pigsty sorts them (`groups['etcd']|sort`, by address text).
pub fn env_from_inventory(inv: &Inventory) -> Result<(String, usize)> {
    let mut hosts: Vec<&Host> = inv.hosts.iter().collect();
    hosts.sort_by_key(|h| h.ip.to_string());
    let endpoints: Vec<String> = hosts.iter().map(|h| h.client_url()).collect();
    if endpoints.is_empty() {
        bail!("{}: the etcd group has no host", inv.file);
    }
    let comments = vec![
        "/etc/profile.d/etcdctl.sh for the admin node, rendered by etcdeck as Pigsty's \
         `infra.yml -t env_etcd` does"
            .to_string(),
        format!(
            "ETCDCTL_ENDPOINTS: every host of the etcd group of {} (offline: a learner or an \
             unstarted member cannot be told apart here)",
            inv.file
        ),
    ];
    Ok(finish_env(endpoints, comments, auth_on(inv)))
}

/// `etcd.conf` for `name` joining the live cluster: `initial-cluster` is every live member with
/// its name and peer URLs (an unstarted one under the name the inventory gives its address, else
/// its hex id), plus `name` itself when it is not a member yet; `initial-cluster-state:
/// existing`; the rest from the inventory host `name`. `quota` (`--quota`) beats the quota the
/// members report (etcd 3.6+), which beats Pigsty's 16 GiB.
pub fn conf_for(
    inv: &Inventory,
    s: &ClusterStatus,
    name: &str,
    quota: Option<i64>,
) -> Result<String, String> {
    let host = inv.hosts.iter().find(|h| h.name() == name);
    let by_peer = |urls: &[String]| {
        inv.hosts
            .iter()
            .find(|h| urls.iter().any(|u| *u == h.peer_url()))
    };
    let live = s.members.iter().find(|m| {
        m.name == name
            || (m.name.is_empty() && host.is_some_and(|h| m.peer_urls.contains(&h.peer_url())))
    });
    let Some(host) = host else {
        let members: Vec<String> = s
            .members
            .iter()
            .filter(|m| !m.name.is_empty())
            .map(|m| escape(&m.name).into_owned())
            .collect();
        let hosts: Vec<String> = inv.hosts.iter().map(Host::name).collect();
        return Err(if live.is_some() {
            format!(
                "{} is a member of the cluster but no host of the inventory {} names it: its IP, \
                 ports and data directory come from the inventory; add it to the etcd group",
                escape(name),
                inv.file
            )
        } else {
            format!(
                "no member or inventory host is named {}; members: {}; inventory hosts: {}",
                escape(name),
                list(&members),
                list(&hosts)
            )
        });
    };
    let mut notes = vec![format!(
        "initial-cluster: the live member list of cluster {:x}",
        s.cluster_id
    )];
    let mut initial = Vec::new();
    for m in &s.members {
        let shown = if !m.name.is_empty() {
            m.name.clone()
        } else if let Some(h) = by_peer(&m.peer_urls) {
            notes.push(format!(
                "unstarted member {:x} is named {} after the inventory host with its peer URL",
                m.id,
                h.name()
            ));
            h.name()
        } else {
            notes.push(format!(
                "unstarted member {:x} matches no inventory host: named by its id",
                m.id
            ));
            format!("{:x}", m.id)
        };
        for u in &m.peer_urls {
            initial.push((shown.clone(), u.clone()));
        }
    }
    if live.is_none() {
        notes.push(format!(
            "{name} is not a member yet: it is added to initial-cluster, as etcd expects once \
             `member add` has run"
        ));
        initial.push((host.name(), host.peer_url()));
    }
    let reported = s.members.iter().map(|m| m.db_size_quota).max().unwrap_or(0);
    let quota = quota
        .filter(|q| *q > 0)
        .or((reported > 0).then_some(reported))
        .map_or(render::PIGSTY_QUOTA_BYTES, |q| q as u64);
    let opts = ConfOptions {
        tls: TlsPaths {
            cert: Path::new("/etc/etcd/server.crt"),
            key: Path::new("/etc/etcd/server.key"),
            ca: Path::new("/etc/etcd/ca.crt"),
        },
        data_dir: None,
        state: Some(EtcdInit::Existing),
        listen_localhost: true,
        quota_bytes: quota,
        log_file: None,
    };
    let conf = render::etcd_conf_with(host, &initial, &opts);
    let mut out = String::new();
    let (first, rest) = conf.split_once('\n').unwrap_or((&conf, ""));
    let _ = writeln!(out, "{first}");
    for n in notes {
        let _ = writeln!(out, "# {}", escape(&n));
    }
    out.push_str(rest);
    Ok(out)
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::status::MemberStatus;

    fn inv() -> Inventory {
        let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2 }\n    \
                    10.10.10.12: { etcd_seq: 3 }\n    10.10.10.13: { etcd_seq: 4 }\n  vars: { etcd_cluster: etcd }\n";
        crate::inventory::parse(text, "pigsty.yml", &[]).unwrap()
    }

    fn member(id: u64, name: &str, ip: &str, learner: bool, started: bool) -> MemberStatus {
        let mut m = MemberStatus::sample(id, name, started);
        m.peer_urls = vec![format!("https://{ip}:2380")];
        m.client_urls = if started {
            vec![format!("https://{ip}:2379")]
        } else {
            vec![]
        };
        m.is_learner = learner;
        m.started = started;
        m
    }

    fn status(members: Vec<MemberStatus>) -> ClusterStatus {
        ClusterStatus {
            cluster_id: 0xabc,
            leader: Some(1),
            alarms: vec![],
            members,
            member_list_from: "https://10.10.10.10:2379".into(),
            alarms_error: None,
        }
    }

    fn three() -> Vec<MemberStatus> {
        vec![
            member(1, "etcd-1", "10.10.10.10", false, true),
            member(2, "etcd-2", "10.10.10.11", false, true),
            member(3, "etcd-3", "10.10.10.12", false, true),
        ]
    }

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    }

    #[test]
    fn env_lists_started_voters_only_and_says_which_learner_was_left_out() {
        let mut ms = three();
        ms.push(member(4, "etcd-4", "10.10.10.13", true, true));
        ms.push(member(5, "", "10.10.10.14", false, false));
        let (text, n) = env_from_status(&status(ms), false).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            line(&text, "export ETCDCTL_ENDPOINTS="),
            "export ETCDCTL_ENDPOINTS='https://10.10.10.10:2379,https://10.10.10.11:2379,https://10.10.10.12:2379'"
        );
        assert!(
            text.contains("# left out: learner etcd-4 (4): a learner refuses"),
            "{text}"
        );
        assert!(text.contains("# left out: unstarted member 5\n"), "{text}");
        assert_eq!(
            line(&text, "export ETCDCTL_CACERT="),
            "export ETCDCTL_CACERT='/etc/pki/ca.crt'"
        );
        assert_eq!(
            line(&text, "export ETCDCTL_CERT="),
            "export ETCDCTL_CERT='/etc/pki/infra.crt'"
        );
        assert_eq!(
            line(&text, "export ETCDCTL_KEY="),
            "export ETCDCTL_KEY='/etc/pki/infra.key'"
        );
        assert!(!text.contains("ETCDCTL_USER"));
        let (auth, _) = env_from_status(&status(three()), true).unwrap();
        assert!(auth.contains("export ETCDCTL_USER=\"root:$(cat '/etc/etcd/etcd.pass')\""));
    }

    #[test]
    fn a_hostile_member_name_stays_inside_its_comment() {
        let mut ms = three();
        ms.push(member(4, "x\ntouch /tmp/pwned", "10.10.10.13", true, true));
        let (text, _) = env_from_status(&status(ms), false).unwrap();
        assert!(!text.lines().any(|l| l.starts_with("touch")), "{text}");
        assert!(text.contains("learner x\\ntouch /tmp/pwned"), "{text}");
    }

    #[test]
    fn env_from_the_inventory_sorts_as_pigsty_does() {
        let (text, n) = env_from_inventory(&inv()).unwrap();
        assert_eq!(n, 4);
        assert!(line(&text, "export ETCDCTL_ENDPOINTS=").ends_with(",https://10.10.10.13:2379'"));
    }

    #[test]
    fn conf_of_a_member_about_to_join_lists_the_live_members_and_itself() {
        let text = conf_for(&inv(), &status(three()), "etcd-4", None).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(v["name"], "etcd-4");
        assert_eq!(v["initial-cluster-state"], "existing");
        assert_eq!(
            v["initial-cluster"],
            "etcd-1=https://10.10.10.10:2380,etcd-2=https://10.10.10.11:2380,etcd-3=https://10.10.10.12:2380,etcd-4=https://10.10.10.13:2380"
        );
        assert_eq!(v["listen-peer-urls"], "https://10.10.10.13:2380");
        assert_eq!(v["quota-backend-bytes"], 17179869184u64);
    }

    #[test]
    fn an_added_unstarted_learner_is_named_after_its_inventory_host() {
        let mut ms = three();
        let mut l = member(0x44, "", "10.10.10.13", true, false);
        l.db_size_quota = 0;
        ms.push(l);
        ms[0].db_size_quota = 8 << 30;
        let text = conf_for(&inv(), &status(ms), "etcd-4", None).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let ic = v["initial-cluster"].as_str().unwrap();
        assert_eq!(ic.matches("etcd-4=").count(), 1, "{ic}");
        assert!(ic.ends_with("etcd-4=https://10.10.10.13:2380"), "{ic}");
        assert_eq!(
            v["quota-backend-bytes"],
            8u64 << 30,
            "the members' own quota"
        );
        assert!(
            text.contains("# unstarted member 44 is named etcd-4"),
            "{text}"
        );
    }

    #[test]
    fn unknown_names_are_refused_with_the_names_there_are() {
        let err = conf_for(&inv(), &status(three()), "etcd-9", None).unwrap_err();
        assert!(
            err.contains("no member or inventory host is named etcd-9"),
            "{err}"
        );
        assert!(err.contains("members: etcd-1, etcd-2, etcd-3"), "{err}");
        assert!(
            err.contains("inventory hosts: etcd-1, etcd-2, etcd-3, etcd-4"),
            "{err}"
        );
        let mut ms = three();
        ms.push(member(7, "etcd-7", "10.10.10.17", false, true));
        let err = conf_for(&inv(), &status(ms), "etcd-7", None).unwrap_err();
        assert!(
            err.contains("etcd-7 is a member of the cluster but no host"),
            "{err}"
        );
    }
}
