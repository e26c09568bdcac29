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

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{sh_quote, write_atomic, Files, Member};

/// The files of [`Files`], by name, with their mode here (the node gets Pigsty's modes).
fn layout(f: &Files) -> [(&'static str, &str, u32); 5] {
    [
        ("etcd.conf", f.etcd_conf.as_str(), 0o644),
        ("ca.crt", f.ca_crt.as_str(), 0o644),
        ("server.crt", f.server_crt.as_str(), 0o644),
        ("server.key", f.server_key.as_str(), 0o600),
        ("etcdctl.sh", f.etcdctl_sh.as_str(), 0o644),
    ]
}

/// What [`write_files`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Every file, in the order `etcd.conf`, `ca.crt`, `server.crt`, `server.key`, `etcdctl.sh`.
    pub files: Vec<PathBuf>,
    /// Those that existed with other contents and were replaced (a new key the wizard issued,
    /// a conf rendered again): say so to the operator.
    pub replaced: Vec<PathBuf>,
}

/// Write `f` into `dir`: `etcd.conf`, `ca.crt`, `server.crt` and `etcdctl.sh` mode 0644,
/// `server.key` mode 0600 (created with that mode: never readable by others, not even for an
/// instant). `dir` is created mode 0700 when missing. Each file is replaced atomically; the
/// same files again (a resume) change nothing, and files with other contents are replaced and
/// named in [`Written::replaced`].
pub fn write_files(dir: &Path, f: &Files) -> Result<Written, String> {
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot set the mode of {}: {e}", dir.display()))?;
    }
    let mut done = Written::default();
    for (name, contents, mode) in layout(f) {
        let path = dir.join(name);
        let before = std::fs::symlink_metadata(&path).ok();
        let regular = before.as_ref().filter(|m| m.is_file());
        let same_contents =
            regular.is_some() && std::fs::read(&path).is_ok_and(|old| old == contents.as_bytes());
        let same_mode = regular.is_some_and(|m| m.permissions().mode() & 0o777 == mode);
        if !(same_contents && same_mode) {
            write_atomic(&path, contents.as_bytes(), mode)?;
        }
        if before.is_some() && !same_contents {
            done.replaced.push(path.clone());
        }
        done.files.push(path);
    }
    Ok(done)
}

/// The host part of an scp destination (`[v6]` in brackets).
fn scp_host(m: &Member) -> String {
    match m.host.ip {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    }
}

/// The commands that start the member from the files [`write_files`] wrote into `dir`, as
/// Pigsty lays a member out: copy them to the node, install them with Pigsty's owners and modes,
/// start `etcd`, check that it answers. Lines starting with `#` say where each part runs and
/// what it needs.
pub fn node_commands(m: &Member, dir: &Path) -> Vec<String> {
    let ip = m.ip();
    let tmp = format!("/tmp/etcdeck-{}", m.name);
    let qtmp = sh_quote(&tmp);
    let data = sh_quote(&m.host.params.etcd_data);
    let files: Vec<String> = layout(&Files {
        etcd_conf: String::new(),
        ca_crt: String::new(),
        server_crt: String::new(),
        server_key: String::new(),
        etcdctl_sh: String::new(),
    })
    .iter()
    .map(|(name, _, _)| sh_quote(&dir.join(name).display().to_string()))
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
    use std::os::unix::fs::MetadataExt;

    fn member() -> Member {
        let text = "etcd:\n  hosts:\n    10.10.10.13: { etcd_seq: 4, etcd_data: /data/etcd4 }\n";
        let inv = inventory::parse(text, "x.yml", &[]).unwrap();
        Member::of(&inv.hosts[0])
    }

    fn files(key: &str) -> Files {
        Files {
            etcd_conf: "name: \"etcd-4\"\n".into(),
            ca_crt: "CA\n".into(),
            server_crt: "CRT\n".into(),
            server_key: key.into(),
            etcdctl_sh: "#!/bin/bash\n".into(),
        }
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn files_get_their_modes_and_a_resume_replaces_nothing() {
        let base = tempfile::TempDir::new().unwrap();
        let dir = base.path().join("etcd-4");
        let w = write_files(&dir, &files("KEY1\n")).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let names: Vec<String> = w
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "etcd.conf",
                "ca.crt",
                "server.crt",
                "server.key",
                "etcdctl.sh"
            ]
        );
        assert!(w.replaced.is_empty());
        for p in &w.files {
            let want = if p.ends_with("server.key") {
                0o600
            } else {
                0o644
            };
            assert_eq!(mode(p), want, "{}", p.display());
        }
        assert_eq!(
            std::fs::read_to_string(dir.join("server.key")).unwrap(),
            "KEY1\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("etcd.conf")).unwrap(),
            "name: \"etcd-4\"\n"
        );

        let again = write_files(&dir, &files("KEY1\n")).unwrap();
        assert!(again.replaced.is_empty(), "{:?}", again.replaced);

        let rekeyed = write_files(&dir, &files("KEY2\n")).unwrap();
        assert_eq!(rekeyed.replaced, [dir.join("server.key")]);
        assert_eq!(
            std::fs::read_to_string(dir.join("server.key")).unwrap(),
            "KEY2\n"
        );
        assert_eq!(mode(&dir.join("server.key")), 0o600);
        // Nothing but the five files is left behind (no temporaries).
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 5);
    }

    #[test]
    fn a_loose_mode_is_fixed_even_when_the_contents_are_the_same() {
        let dir = tempfile::TempDir::new().unwrap();
        write_files(dir.path(), &files("K\n")).unwrap();
        let key = dir.path().join("server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let w = write_files(dir.path(), &files("K\n")).unwrap();
        assert!(w.replaced.is_empty());
        assert_eq!(mode(&key), 0o600);
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
