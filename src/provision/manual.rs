//! The operator starts the member: etcdeck writes the files the node needs into a directory on
//! this machine and lists the commands that put them where Pigsty's etcd role puts them
//! (`roles/etcd/tasks/{main,config}.yml`):
//!
//! | file on the node | owner | mode |
//! |---|---|---|
//! | `/etc/etcd/` (directory) | etcd:etcd | 0750 |
//! | `etcd_data` (default `/data/etcd`) | etcd:etcd | 0700 |
//! | `/etc/etcd/etcd.conf` | etcd:etcd | 0644 |
//! | `/etc/etcd/ca.crt`, `/etc/etcd/server.crt` | etcd:etcd | 0644 |
//! | `/etc/etcd/server.key` | etcd:etcd | 0600 |
//! | `/etc/profile.d/etcdctl.sh` | root:root | 0644 |
//!
//! The service is `etcd` (Pigsty's `/etc/systemd/system/etcd.service` runs
//! `/usr/bin/etcd --config-file /etc/etcd/etcd.conf` as user `etcd`).

use std::path::Path;

use super::{sh_quote, Member};

/// The files the member's directory holds (written by the wizard's certificate and config
/// steps), in the order they are copied.
pub const FILES: [&str; 5] = [
    "etcd.conf",
    "ca.crt",
    "server.crt",
    "server.key",
    "etcdctl.sh",
];

/// The host part of an scp destination (`[v6]` in brackets).
fn scp_host(m: &Member) -> String {
    match m.host.ip {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    }
}

/// The commands that start the member from the files [`FILES`] in `dir`, as
/// Pigsty lays a member out: copy them to the node, install them with Pigsty's owners and modes,
/// start `etcd`, check that it answers. Lines starting with `#` say where each part runs and
/// what it needs.
pub fn node_commands(m: &Member, dir: &Path) -> Vec<String> {
    let ip = m.ip();
    let tmp = format!("/tmp/etcdeck-{}", m.name);
    let qtmp = sh_quote(&tmp);
    let data = sh_quote(&m.host.params.etcd_data);
    let files: Vec<String> = FILES
        .iter()
        .map(|name| sh_quote(&dir.join(name).display().to_string()))
        .collect();
    let install = |mode: &str, owner: &str, name: &str, dest: &str| {
        format!("sudo install -m {mode} -o {owner} -g {owner} {qtmp}/{name} {dest}")
    };
    vec![
        format!("# 1. here: copy the files to {ip} (server.key is the member's private key)"),
        format!("ssh {ip} mkdir -m 0700 -p {qtmp}"),
        format!("scp {} {}:{qtmp}/", files.join(" "), scp_host(m)),
        format!(
            "# 2. on {ip} (ssh {ip}): the etcd package installed (it makes the etcd user), and a \
             unit `etcd` that runs `/usr/bin/etcd --config-file /etc/etcd/etcd.conf` as etcd, \
             as Pigsty's /etc/systemd/system/etcd.service does"
        ),
        format!(
            "# {} must be empty: etcd refuses to join with an earlier member's data",
            m.host.params.etcd_data
        ),
        "sudo install -d -m 0750 -o etcd -g etcd /etc/etcd".into(),
        format!("sudo install -d -m 0700 -o etcd -g etcd {data}"),
        install("0644", "etcd", "etcd.conf", "/etc/etcd/etcd.conf"),
        install("0644", "etcd", "ca.crt", "/etc/etcd/ca.crt"),
        install("0644", "etcd", "server.crt", "/etc/etcd/server.crt"),
        install("0600", "etcd", "server.key", "/etc/etcd/server.key"),
        install("0644", "root", "etcdctl.sh", "/etc/profile.d/etcdctl.sh"),
        format!("rm -rf {qtmp}"),
        "sudo systemctl enable --now etcd".into(),
        format!("# 3. on {ip}: the member answers (a learner answers Status too)"),
        format!(
            "sudo etcdctl --endpoints={} --cacert=/etc/etcd/ca.crt --cert=/etc/etcd/server.crt \
             --key=/etc/etcd/server.key endpoint status -w table",
            m.host.client_url()
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory;

    fn member() -> Member {
        let text = "etcd:\n  hosts:\n    10.10.10.13: { etcd_seq: 4, etcd_data: /data/etcd4 }\n";
        let inv = inventory::parse(text, "x.yml", &[]).unwrap();
        Member::of(&inv.hosts[0])
    }

    #[test]
    fn node_commands_lay_the_member_out_as_pigsty_does() {
        let cmds = node_commands(&member(), Path::new("/home/me/etcd 4"));
        let text = cmds.join("\n");
        assert!(text.contains("scp '/home/me/etcd 4/etcd.conf' "), "{text}");
        assert!(text.contains(" 10.10.10.13:/tmp/etcdeck-etcd-4/"), "{text}");
        for want in [
            "sudo install -d -m 0700 -o etcd -g etcd /data/etcd4",
            "sudo install -m 0600 -o etcd -g etcd /tmp/etcdeck-etcd-4/server.key /etc/etcd/server.key",
            "sudo install -m 0644 -o etcd -g etcd /tmp/etcdeck-etcd-4/etcd.conf /etc/etcd/etcd.conf",
            "sudo install -m 0644 -o root -g root /tmp/etcdeck-etcd-4/etcdctl.sh /etc/profile.d/etcdctl.sh",
            "sudo systemctl enable --now etcd",
            "--endpoints=https://10.10.10.13:2379",
            "endpoint status",
        ] {
            assert!(text.contains(want), "{want}:\n{text}");
        }
        let key = cmds
            .iter()
            .position(|c| c.contains("server.key /etc/etcd"))
            .unwrap();
        let start = cmds
            .iter()
            .position(|c| c.contains("systemctl enable"))
            .unwrap();
        let clean = cmds
            .iter()
            .position(|c| c.starts_with("rm -rf /tmp/etcdeck-etcd-4"))
            .unwrap();
        assert!(key < clean && clean < start);
    }
}
