//! A private tmux server for end-to-end tests and benchmarks: its own socket, no user config,
//! and on drop nothing left of it or of what ran in its panes.

use std::collections::HashSet;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(1);

pub struct TmuxServer {
    pub socket: String,
}

impl TmuxServer {
    /// A server on socket `<prefix>-<pid>-<n>` (started by the first session created on it).
    pub fn new(prefix: &str) -> TmuxServer {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        TmuxServer {
            socket: format!("{prefix}-{}-{n}", std::process::id()),
        }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-u", "-L", &self.socket, "-f", "/dev/null"])
            .env("LC_ALL", "C.UTF-8")
            .env("SHELL", "/bin/sh")
            .env_remove("TMUX");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("tmux runs (apt-get install tmux)")
    }

    /// Run a tmux command that must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Process ids of the panes and everything below them.
    pub fn processes(&self) -> Vec<i32> {
        let out = self.run(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        let mut pids: Vec<i32> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let mut seen: HashSet<i32> = pids.iter().copied().collect();
        let mut i = 0;
        while i < pids.len() {
            for c in children(pids[i]) {
                if seen.insert(c) {
                    pids.push(c);
                }
            }
            i += 1;
        }
        pids
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let pids = self.processes();
        let socket = self.run(&["display-message", "-p", "#{socket_path}"]);
        let socket = String::from_utf8_lossy(&socket.stdout).trim().to_string();
        let _ = self.run(&["kill-server"]);
        if !socket.is_empty() {
            let _ = std::fs::remove_file(socket);
        }
        // The panes got SIGHUP; whatever still lives after 2 s is killed.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && pids.iter().any(|p| super::alive(*p as u32)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in pids {
            if super::alive(p as u32) {
                // SAFETY: plain syscall on a process this test started (through tmux).
                unsafe {
                    libc::kill(p, libc::SIGKILL);
                }
            }
        }
    }
}

/// Direct children of `pid`, from /proc.
pub fn children(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| stat_fields(*p as u32).and_then(|f| f.get(1)?.parse::<i32>().ok()) == Some(pid))
        .collect()
}

/// The fields of /proc/PID/stat after `(comm)`: state, ppid, ... (utime is [11], stime [12]).
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}
