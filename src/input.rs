//! Files named on the command line (the inventory, TLS files, the console's config), read so that
//! no path can make etcdeck hang or grow without bound:
//! - the open is non-blocking, so a FIFO is refused at once instead of waiting for a writer;
//! - anything but a regular file (a FIFO, a device such as `/dev/zero`, a directory, a socket) is
//!   refused before a byte is read;
//! - a read stops at a limit for the kind of file, and the error names the file and the limit.
//!
//! Unlike etcdeck's own state files (`state.rs`), a symbolic link is followed: operators point
//! at `/etc/pki/ca.crt` and the like through links on purpose.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::units;

/// The largest inventory read: Pigsty inventories are kilobytes; tens of MiB is generous.
pub const INVENTORY_LIMIT: u64 = 64 << 20;
/// The largest PEM file (CA, certificate, key) read.
pub const PEM_LIMIT: u64 = 1 << 20;
/// The largest console config (TOML) read.
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// Why an input file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("no such file")]
    NotFound,
    #[error("permission denied")]
    PermissionDenied,
    #[error("not a regular file ({kind}); give the path of a file")]
    NotRegular { kind: &'static str },
    #[error("larger than {}, the limit for {what}", units::bytes(*limit))]
    TooLarge { what: &'static str, limit: u64 },
    #[error("{}", crate::etcd::error::io_words(.0))]
    Io(std::io::Error),
}

impl InputError {
    /// The file does not exist (a default path may be allowed to be missing).
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputError::NotFound)
    }
}

fn from_io(e: std::io::Error) -> InputError {
    match e.kind() {
        std::io::ErrorKind::NotFound => InputError::NotFound,
        std::io::ErrorKind::PermissionDenied => InputError::PermissionDenied,
        _ => InputError::Io(e),
    }
}

/// Open `path` for reading: non-blocking (a FIFO never blocks the open), then refused unless it
/// is a regular file; a regular file is switched back to blocking reads.
pub fn open_regular(path: &Path) -> Result<File, InputError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(from_io)?;
    let meta = file.metadata().map_err(from_io)?;
    if !meta.file_type().is_file() {
        return Err(InputError::NotRegular {
            kind: crate::state::kind_of(meta.file_type()),
        });
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: fcntl on a descriptor this function owns, with valid flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Read the regular file at `path`, refusing more than `limit` bytes; `what` names the kind of
/// file in the error ("an inventory", "a PEM file").
pub fn read(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    let file = open_regular(path)?;
    let size = file.metadata().map_err(from_io)?.len();
    if size > limit {
        return Err(InputError::TooLarge { what, limit });
    }
    let mut buf = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(from_io)?;
    if buf.len() as u64 > limit {
        return Err(InputError::TooLarge { what, limit });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once() {
        let started = Instant::now();
        let e = read(Path::new("/dev/zero"), PEM_LIMIT, "a PEM file").unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");

        let dir = tempfile::TempDir::new().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read(&fifo, INVENTORY_LIMIT, "an inventory").unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");

        let e = read(dir.path(), CONFIG_LIMIT, "a config file").unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(1));

        assert!(read(&dir.path().join("none"), 10, "x")
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn reads_stop_at_the_limit_and_say_so() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("big.pem");
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        assert_eq!(read(&path, 100, "a PEM file").unwrap().len(), 100);
        let e = read(&path, 99, "a PEM file").unwrap_err();
        assert!(matches!(e, InputError::TooLarge { limit: 99, .. }));
        assert!(e.to_string().contains("the limit for a PEM file"), "{e}");
        // A link to a regular file is followed.
        let link = dir.path().join("link.pem");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read(&link, 100, "a PEM file").unwrap().len(), 100);
    }
}
