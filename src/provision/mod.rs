//! How a node gets its etcd member started, or purged, once the cluster's membership has been
//! changed (or is about to be): the shared types, and one module per way of doing it.
//!
//! - [`pigsty`]: Pigsty's own playbooks (`etcd.yml`, `etcd-rm.yml`) run from the Pigsty home, their
//!   output streamed line by line, with a timeout and a cancel.
//! - [`manual`]: the operator does it: etcdeck writes the files the node needs and says which
//!   commands to run there.
//! - [`references`]: after a change, where the etcd endpoints are referenced (etcd members,
//!   etcdctl, patronictl, Patroni, vip-manager, monitoring) and how each learns of it.
//!
//! (Local processes for the sandbox, the third way, are to live here too.)
//!
//! A provisioner only starts or purges a node: the membership change itself (member add, promote,
//! remove) and every check around it are the wizard's.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::inventory::Host;

pub mod manual;
pub mod pigsty;
pub mod references;

/// The member a provisioner starts or purges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its instance name, `<etcd_cluster>-<etcd_seq>` (e.g. `etcd-4`).
    pub name: String,
    /// Its inventory host: the IP address Pigsty's playbooks are limited to, and its parameters.
    pub host: Host,
}

impl Member {
    /// The member of inventory host `host`, named as Pigsty names it.
    pub fn of(host: &Host) -> Member {
        Member {
            name: host.name(),
            host: host.clone(),
        }
    }

    /// The inventory IP address, as Ansible's `-l` takes it.
    pub fn ip(&self) -> String {
        self.host.ip.to_string()
    }
}

/// Where a provisioner's output goes, and how it hears of a cancel.
///
/// Lines are passed raw, as the program printed them (without the line end); whoever shows them
/// escapes them ([`crate::text::escape`]).
pub trait Out: Send {
    /// One line of output (stdout and stderr alike, in the order they arrived).
    fn line(&mut self, s: &str);
    /// Whether the operator asked to stop; asked about every 100 ms.
    fn cancelled(&self) -> bool;
}

/// Write `contents` to `path` with exactly `mode`: into a temporary file next to it, created
/// exclusively with that mode (so a key is never readable by others, not even for an instant;
/// a link at the temporary name is removed, never followed), synced, then renamed over `path`.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let err = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(&tmp, e)),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| err(&tmp, e))?;
    // The umask may have taken bits away: set exactly what was asked (never more than `mode`).
    let written = f
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| f.write_all(contents))
        .and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(&tmp, e));
    }
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| err(path, e))
}

/// `s` quoted for a POSIX shell when it needs quoting (for commands shown to an operator).
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | ',' | '@' | '+' | '%')
        });
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A command line for display: each word [`sh_quote`]d.
pub fn display_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| sh_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(sh_quote("./etcd.yml"), "./etcd.yml");
        assert_eq!(sh_quote("etcd_init=existing"), "etcd_init=existing");
        assert_eq!(sh_quote("etcd,!10.10.10.13"), "'etcd,!10.10.10.13'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        let argv: Vec<String> = ["./etcd.yml", "-l", "etcd,!10.10.10.13", "-t", "etcd_conf"]
            .map(String::from)
            .into();
        assert_eq!(
            display_argv(&argv),
            "./etcd.yml -l 'etcd,!10.10.10.13' -t etcd_conf"
        );
    }

    #[test]
    fn atomic_writes_get_exactly_their_mode_and_replace_links_without_following() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::TempDir::new().unwrap();
        let key = dir.path().join("server.key");
        write_atomic(&key, b"secret", 0o600).unwrap();
        assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        let conf = dir.path().join("etcd.conf");
        std::os::unix::fs::symlink(&target, &conf).unwrap();
        write_atomic(&conf, b"name: etcd-4\n", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&conf)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::metadata(&conf).unwrap().mode() & 0o777, 0o644);
    }
}
