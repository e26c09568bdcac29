//! etcdeck's own state files (the aliveness history today; the wizards' journal and audit log
//! next), written and read so that nothing a disk, a crash or another user can do to them costs
//! data or reaches another file:
//! - the state directory is made mode 0700, files mode 0600;
//! - a path is opened without following a symbolic link, and anything but a regular file (a FIFO,
//!   a device, a directory) is refused before a byte is read or written;
//! - temporaries are created exclusively (a name that already exists is removed first, never
//!   followed), then renamed over the file;
//! - an advisory lock says who writes: a second process reads, and does not write;
//! - reads are capped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: not a regular file ({kind}); etcdeck keeps its state only in regular files: remove it or choose another state directory")]
    NotRegular { path: String, kind: &'static str },
    #[error(
        "{path}: is a symbolic link; etcdeck does not follow links for its state files: remove it"
    )]
    Symlink { path: String },
    #[error(
        "{path}: larger than {limit} bytes, more than etcdeck ever writes there: move it away"
    )]
    TooLarge { path: String, limit: u64 },
    #[error("{path}: another etcdeck process writes it (advisory lock held); this one only reads")]
    Locked { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| {
        if source.raw_os_error() == Some(libc::ELOOP) {
            StateError::Symlink {
                path: path.display().to_string(),
            }
        } else {
            StateError::Io {
                path: path.display().to_string(),
                source,
            }
        }
    }
}

/// Make the directory (and its parents) if needed; the directory itself is set to mode 0700.
pub fn private_dir(dir: &Path) -> Result<(), StateError> {
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
    }
    let meta = std::fs::symlink_metadata(dir).map_err(io(dir))?;
    if meta.file_type().is_symlink() {
        return Err(StateError::Symlink {
            path: dir.display().to_string(),
        });
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

pub(crate) fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
}

/// Open `path` for reading and appending, creating it with mode 0600. Never follows a link and
/// never blocks on a FIFO: the open is non-blocking, then anything but a regular file is refused.
pub fn open_append(path: &Path) -> Result<File, StateError> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io(path))?;
    regular(path, file)
}

/// Open `path` for reading only, with the same rules as [`open_append`]; `None` when there is
/// no such file.
pub fn open_read(path: &Path) -> Result<Option<File>, StateError> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => regular(path, f).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn regular(path: &Path, file: File) -> Result<File, StateError> {
    let meta = file.metadata().map_err(io(path))?;
    if !meta.file_type().is_file() {
        return Err(StateError::NotRegular {
            path: path.display().to_string(),
            kind: kind_of(meta.file_type()),
        });
    }
    // A regular file: back to blocking reads and writes.
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: fcntl on a descriptor this function owns, with valid flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    if meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io(path))?;
    }
    Ok(file)
}

/// Take the advisory write lock on `file` (held until it is closed); [`StateError::Locked`] when
/// another process holds it.
pub fn lock(path: &Path, file: &File) -> Result<(), StateError> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(file);
    // SAFETY: flock on a descriptor owned by `file`.
    let r = unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(StateError::Locked {
            path: path.display().to_string(),
        })
    } else {
        Err(io(path)(e))
    }
}

/// Read all of `file` from its start, refusing more than `limit` bytes.
pub fn read_capped(path: &Path, file: &mut File, limit: u64) -> Result<Vec<u8>, StateError> {
    file.seek(SeekFrom::Start(0)).map_err(io(path))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(io(path))?;
    if buf.len() as u64 > limit {
        return Err(StateError::TooLarge {
            path: path.display().to_string(),
            limit,
        });
    }
    Ok(buf)
}

/// Replace `path` with `contents`: written to `<path>.tmp`, created exclusively with mode 0600
/// (whatever stood at that name, a link included, is removed first and never followed), synced,
/// then renamed over `path`. Returns the new file opened for appending.
pub fn replace(path: &Path, contents: &[u8]) -> Result<File, StateError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    match std::fs::remove_file(tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(tmp)(e)),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(tmp)
        .map_err(io(tmp))?;
    f.write_all(contents).map_err(io(tmp))?;
    f.sync_all().map_err(io(tmp))?;
    drop(f);
    std::fs::rename(tmp, path).map_err(io(path))?;
    open_append(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_are_private_and_links_fifos_and_directories_are_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let state = dir.path().join("etcdeck");
        private_dir(&state).unwrap();
        assert_eq!(std::fs::metadata(&state).unwrap().mode() & 0o777, 0o700);

        let path = state.join("history.log");
        let f = open_append(&path).unwrap();
        assert_eq!(f.metadata().unwrap().mode() & 0o777, 0o600);

        // A link at the path: refused, and its target untouched.
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").unwrap();
        let link = state.join("linked.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            open_append(&link),
            Err(StateError::Symlink { .. })
        ));
        assert!(matches!(open_read(&link), Err(StateError::Symlink { .. })));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");

        // A FIFO: refused at once instead of blocking.
        let fifo = state.join("fifo.log");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = std::time::Instant::now();
        let e = open_append(&fifo).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        assert!(matches!(
            open_read(&fifo),
            Err(StateError::NotRegular { .. })
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));

        let sub = state.join("sub.log");
        std::fs::create_dir(&sub).unwrap();
        assert!(open_read(&sub)
            .unwrap_err()
            .to_string()
            .contains("a directory"));
        assert!(open_read(&state.join("none.log")).unwrap().is_none());
    }

    #[test]
    fn replace_never_writes_through_a_link_at_the_temporary_name() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("h.log");
        std::fs::write(&path, "old\n").unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("h.log.tmp")).unwrap();
        let mut f = replace(&path, b"new\n").unwrap();
        f.write_all(b"more\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\nmore\n");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_second_writer_is_told_the_lock_is_held_and_reads_are_capped() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("h.log");
        let first = open_append(&path).unwrap();
        lock(&path, &first).unwrap();
        let second = open_append(&path).unwrap();
        assert!(matches!(
            lock(&path, &second),
            Err(StateError::Locked { .. })
        ));
        drop(first);
        lock(&path, &second).unwrap();

        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        let mut f = open_read(&path).unwrap().unwrap();
        assert_eq!(read_capped(&path, &mut f, 100).unwrap().len(), 100);
        assert!(matches!(
            read_capped(&path, &mut f, 99),
            Err(StateError::TooLarge { limit: 99, .. })
        ));
    }
}
