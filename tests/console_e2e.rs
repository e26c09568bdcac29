//! The console end to end: the real binary in a real tmux pane, against a real sandbox cluster.
//!
//! Each test runs its own tmux server (`tmux -L etcdeck-e2e-<pid>-<n>`) holding one `bash` with a
//! known prompt; keys are typed with `send-keys` and the screen is read with `capture-pane`. The
//! server and everything in it is killed when the test ends, panics included.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tmux::TmuxServer;
use common::TestCluster;

/// The prompt of the shell in the pane.
const PROMPT: &str = "shell-ready$";

/// `'text'` for the shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A private tmux server with one session running `bash`. Dropping it kills the server and every
/// process that ran in it.
struct Tmux {
    server: TmuxServer,
    session: String,
}

impl Tmux {
    /// A `width` x `height` session running `bash --norc --noprofile` in `home`, with a clean
    /// environment and `PS1='shell-ready$ '`; returns once the prompt shows.
    fn start(width: u16, height: u16, home: &Path) -> Tmux {
        let t = Tmux {
            server: TmuxServer::new("etcdeck-e2e"),
            session: "e2e".into(),
        };
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let home = home.display().to_string();
        // The pane's shell starts from an empty environment: nothing of the caller's (ETCDCTL_*,
        // a config in ~/.config) reaches the console.
        let shell = format!(
            "exec env -i PATH={} HOME={} TERM=\"$TERM\" LANG=C.UTF-8 HISTFILE=/dev/null \
             PS1={} bash --norc --noprofile",
            sh_quote(&path),
            sh_quote(&home),
            sh_quote(&format!("{PROMPT} ")),
        );
        let (w, h) = (width.to_string(), height.to_string());
        t.ok(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            &home,
            &shell,
        ]);
        t.wait_for("the shell prompt", Duration::from_secs(10), |s| {
            last_line(s) == PROMPT
        });
        t
    }

    fn ok(&self, args: &[&str]) -> String {
        self.server.ok(args)
    }

    /// The visible screen, one line per row, trailing blanks trimmed.
    fn capture(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", &self.session])
    }

    /// A tmux format about the pane (`#{alternate_on}`, `#{cursor_flag}`...).
    fn display(&self, format: &str) -> String {
        self.ok(&["display-message", "-p", "-t", &self.session, format])
            .trim()
            .to_string()
    }

    /// Press keys by tmux name (`Enter`, `Escape`, `q`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    /// Type text as it is, then Enter.
    fn type_line(&self, text: &str) {
        self.ok(&["send-keys", "-t", &self.session, "-l", text]);
        self.keys(&["Enter"]);
    }

    /// Escape alone: what follows too soon would be read as Alt-<key>.
    fn escape(&self) {
        self.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.ok(&["resize-window", "-t", &self.session, "-x", &w, "-y", &h]);
    }

    /// Poll the screen every 50 ms until `check` gives a value; fail with the last screen.
    fn wait_for_value<T>(
        &self,
        what: &str,
        within: Duration,
        mut check: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if let Some(v) = check(&screen) {
                return v;
            }
            if start.elapsed() >= within {
                panic!(
                    "{what}: not seen within {within:?}; the screen was:\n{}\n{}\n{}",
                    "-".repeat(40),
                    screen,
                    "-".repeat(40)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll until `check` holds; the screen that satisfied it.
    fn wait_for(&self, what: &str, within: Duration, check: impl Fn(&str) -> bool) -> String {
        self.wait_for_value(what, within, |s| check(s).then(|| s.to_string()))
    }
}

/// The last line of the screen that is not blank.
fn last_line(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// The first line of the screen: the console's header.
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

/// The text inside the wizard's double-lined box, its lines joined as one (a long path that the
/// box wraps reads whole again).
fn modal_text(screen: &str) -> String {
    modal_lines(screen).concat()
}

/// The lines inside the modal's double border, trimmed.
fn modal_lines(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| {
            let (first, last) = (l.find('║')?, l.rfind('║')?);
            (last > first).then(|| l[first + '║'.len_utf8()..last].trim().to_string())
        })
        .collect()
}

/// A row of the members table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MemberRow {
    name: String,
    role: String,
    /// First word of STATE: `up`, `unreachable`, `asking…`...
    state: String,
    /// For `unreachable 12s`: the seconds.
    down_secs: Option<u64>,
}

/// The rows of the members table: NAME, ROLE, STATE as the first three words inside the border.
fn member_rows(screen: &str) -> Vec<MemberRow> {
    screen
        .lines()
        .filter_map(|l| {
            let inner = l.trim_matches(|c: char| c.is_whitespace() || "│┃║".contains(c));
            let mut w = inner.split_whitespace();
            let (name, role, state) = (w.next()?, w.next()?, w.next()?);
            let down_secs = match state {
                "unreachable" => w.next().and_then(|d| d.strip_suffix('s')?.parse().ok()),
                _ => None,
            };
            (name.starts_with("etcd-") && ["leader", "follower", "learner"].contains(&role)).then(
                || MemberRow {
                    name: name.into(),
                    role: role.into(),
                    state: state.into(),
                    down_secs,
                },
            )
        })
        .collect()
}

fn row<'a>(rows: &'a [MemberRow], name: &str) -> Option<&'a MemberRow> {
    rows.iter().find(|r| r.name == name)
}

/// Whether a pane's frame with `title` (e.g. `2 Inventory`) is on screen, as opposed to the
/// same words on the tab line.
fn pane_title_shown(screen: &str, title: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(title) && l.trim_start().starts_with(|c: char| "┏┌╔╭".contains(c)))
}

/// The box-drawing characters the console draws with.
fn has_box_drawing(s: &str) -> bool {
    s.chars().any(|c| ('\u{2500}'..='\u{257f}').contains(&c))
}

/// The command line that starts the console on `tc` with the sandbox's etcdctl environment.
fn console_command(tc: &TestCluster, args: &[&str]) -> String {
    let mut line = String::new();
    for (k, v) in tc.sandbox.etcdctl_env().vars() {
        line.push_str(&format!("{k}={} ", sh_quote(&v)));
    }
    line.push_str(&sh_quote(env!("CARGO_BIN_EXE_etcdeck")));
    for a in args {
        line.push(' ');
        line.push_str(&sh_quote(a));
    }
    line
}

/// After the console quit: the prompt is back, the normal screen and a visible cursor, and the
/// terminal runs commands again.
fn assert_terminal_given_back(tmux: &Tmux, quit_at: Instant) {
    tmux.wait_for(
        "the shell prompt after quitting",
        Duration::from_secs(5),
        |s| last_line(s) == PROMPT,
    );
    let took = quit_at.elapsed();
    assert!(took < Duration::from_secs(5), "quit took {took:?}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "the console left the terminal on the alternate screen"
    );
    assert_eq!(
        tmux.display("#{cursor_flag}"),
        "1",
        "the console left the cursor hidden"
    );
    assert_eq!(tmux.display("#{pane_current_command}"), "bash");

    tmux.type_line("echo back-$((6*7))");
    tmux.wait_for(
        "the shell answering after quit",
        Duration::from_secs(5),
        |s| s.lines().any(|l| l.trim() == "back-42") && last_line(s) == PROMPT,
    );
    tmux.type_line("clear");
    let screen = tmux.wait_for(
        "a clear screen with only the prompt",
        Duration::from_secs(5),
        |s| {
            let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            lines == [PROMPT]
        },
    );
    assert!(
        !has_box_drawing(&screen),
        "leftovers of the console after clear:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_shows_members_survives_a_frozen_follower_and_gives_the_terminal_back() {
    let tc = TestCluster::start(3).await;
    let home = tempfile::TempDir::new().expect("temp dir");
    let tmux = Tmux::start(80, 24, home.path());
    tmux.type_line(&console_command(&tc, &["--refresh", "1s"]));

    // Every member, up, with exactly one leader.
    let names = ["etcd-1", "etcd-2", "etcd-3"];
    let (screen, rows) = tmux.wait_for_value(
        "three members up, one leader and two followers",
        Duration::from_secs(20),
        |s| {
            let rows = member_rows(s);
            let ok = rows.len() == 3
                && names.iter().all(|n| row(&rows, n).is_some())
                && rows.iter().all(|r| r.state == "up")
                && rows.iter().filter(|r| r.role == "leader").count() == 1
                && rows.iter().filter(|r| r.role == "follower").count() == 2;
            ok.then(|| (s.to_string(), rows))
        },
    );
    let leader = rows
        .iter()
        .find(|r| r.role == "leader")
        .unwrap()
        .name
        .clone();
    let follower = rows
        .iter()
        .find(|r| r.role == "follower")
        .unwrap()
        .name
        .clone();
    let head = header(&screen);
    assert!(head.contains("healthy"), "header: {head}");
    assert!(head.contains("quorum 3/3 up, needs 2"), "header: {head}");
    assert!(head.contains(&format!("leader {leader}")), "header: {head}");

    // Help opens and closes.
    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay", Duration::from_secs(5), |s| {
        s.contains("Help")
    });
    tmux.escape();
    tmux.wait_for("the help overlay closed", Duration::from_secs(5), |s| {
        !s.contains("Help") && member_rows(s).len() == 3
    });

    // A frozen follower turns unreachable within 2.5 s; the header says degraded.
    tc.sandbox.freeze(&follower).expect("freeze");
    let frozen_at = Instant::now();
    tmux.wait_for(
        &format!("{follower} unreachable and the cluster degraded"),
        Duration::from_millis(2500),
        |s| {
            row(&member_rows(s), &follower).is_some_and(|r| r.state == "unreachable")
                && header(s).contains("degraded")
        },
    );
    let noticed = frozen_at.elapsed();
    assert!(
        noticed <= Duration::from_millis(2500),
        "frozen member noticed after {noticed:?}"
    );

    // Keys still answer while a Status call hangs on the frozen member.
    tmux.keys(&["2"]);
    let pressed = Instant::now();
    tmux.wait_for(
        "the inventory pane after pressing 2",
        Duration::from_millis(500),
        |s| pane_title_shown(s, "2 Inventory"),
    );
    let took = pressed.elapsed();
    assert!(
        took <= Duration::from_millis(500),
        "pane switch took {took:?}"
    );
    tmux.keys(&["1"]);
    tmux.wait_for(
        "the members pane after pressing 1",
        Duration::from_secs(2),
        |s| pane_title_shown(s, "1 Members") && member_rows(s).len() == 3,
    );

    // Frozen past the call timeout (2 s) its probe fails and backs off; then thawed, it is up
    // again.
    tmux.wait_for(
        &format!("{follower} unreachable for 3 s"),
        Duration::from_secs(10),
        |s| {
            row(&member_rows(s), &follower).is_some_and(|r| r.down_secs.is_some_and(|d| d >= 3))
                && header(s).contains("degraded")
        },
    );
    tc.sandbox.thaw(&follower).expect("thaw");
    tmux.wait_for(
        &format!("{follower} up again after thawing"),
        Duration::from_secs(10),
        |s| {
            row(&member_rows(s), &follower).is_some_and(|r| r.state == "up")
                && header(s).contains("healthy")
        },
    );

    tmux.keys(&["q"]);
    assert_terminal_given_back(&tmux, Instant::now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_small_terminal_says_so_and_q_still_quits() {
    let tc = TestCluster::start(1).await;
    let home = tempfile::TempDir::new().expect("temp dir");
    let tmux = Tmux::start(20, 5, home.path());
    tmux.type_line(&console_command(&tc, &["--refresh", "1s"]));
    tmux.wait_for("terminal too small", Duration::from_secs(10), |s| {
        s.contains("terminal too small")
    });

    // Grown, it draws the console; shrunk again, it says so again.
    tmux.resize(80, 24);
    tmux.wait_for(
        "the console after growing to 80x24",
        Duration::from_secs(10),
        |s| {
            !s.contains("terminal too small")
                && pane_title_shown(s, "1 Members")
                && row(&member_rows(s), "etcd-1").is_some_and(|r| r.state == "up")
        },
    );
    tmux.resize(20, 5);
    tmux.wait_for(
        "terminal too small after shrinking",
        Duration::from_secs(10),
        |s| s.contains("terminal too small") && !has_box_drawing(s),
    );

    tmux.keys(&["q"]);
    assert_terminal_given_back(&tmux, Instant::now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_gives_the_terminal_back() {
    let tc = TestCluster::start(1).await;
    let home = tempfile::TempDir::new().expect("temp dir");
    let tmux = Tmux::start(80, 24, home.path());
    tmux.type_line(&console_command(&tc, &["--refresh", "1s"]));
    tmux.wait_for("the console", Duration::from_secs(10), |s| {
        row(&member_rows(s), "etcd-1").is_some_and(|r| r.state == "up")
    });
    let console: Vec<i32> = tmux
        .server
        .processes()
        .into_iter()
        .filter(|p| {
            std::fs::read_link(format!("/proc/{p}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "etcdeck"))
        })
        .collect();
    assert_eq!(console.len(), 1, "one console process in the pane");
    // SAFETY: plain syscall on the console this test started.
    unsafe {
        libc::kill(console[0], libc::SIGTERM);
    }
    assert_terminal_given_back(&tmux, Instant::now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_in_the_background_it_says_so_and_exits_1() {
    let tc = TestCluster::start(1).await;
    let home = tempfile::TempDir::new().expect("temp dir");
    let tmux = Tmux::start(80, 24, home.path());
    let cmd = console_command(&tc, &["--refresh", "1s"]);
    tmux.type_line(&format!("{cmd} & wait $!; echo \"exit=$?\""));
    // The typed line holds `exit=$?`; the answer is a line of its own.
    let screen = tmux.wait_for("the exit code", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.trim().starts_with("exit=") && !l.contains('$'))
    });
    assert!(screen.lines().any(|l| l.trim() == "exit=1"), "{screen}");
    assert!(
        screen.contains("must run in the foreground of its terminal"),
        "{screen}"
    );
    assert!(!screen.contains("panicked"), "{screen}");
}

/// Write and delete `n` values of `size` bytes, then compact physically: every member's database
/// then has most of its pages free, so a defragmentation has something to give back.
async fn leave_free_pages(tc: &TestCluster, n: usize, size: usize) {
    use etcd_client::{CompactionOptions, DeleteOptions};
    let cluster = tc.cluster(Duration::from_secs(5));
    let mut client = common::writer(&cluster, &tc.sandbox.client_urls()).await;
    let value = "x".repeat(size);
    for i in 0..n {
        client
            .put(format!("/e2e-fill/{i:04}"), value.as_str(), None)
            .await
            .expect("put");
    }
    let deleted = client
        .delete("/e2e-fill/", Some(DeleteOptions::new().with_prefix()))
        .await
        .expect("delete");
    let rev = deleted.header().expect("a header").revision();
    client
        .compact(rev, Some(CompactionOptions::new().with_physical()))
        .await
        .expect("compact");
    // bbolt counts the pages the compaction freed as free from the next write transactions on
    // (until then they are pending): two small writes, a backend commit (100 ms) apart.
    for i in 0..2 {
        client
            .put(format!("/e2e-after/{i}"), "y", None)
            .await
            .expect("put");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// (database size, size in use) of every member, by name.
async fn db_sizes(tc: &TestCluster) -> Vec<(String, i64, i64)> {
    let s = etcdeck::etcd::status::gather(&tc.cluster(Duration::from_secs(5)))
        .await
        .expect("status");
    s.members
        .iter()
        .map(|m| (m.name.clone(), m.db_size, m.db_size_in_use))
        .collect()
}

/// The defragmentation wizard from the Members pane: `D` shows the plan at once, the typed word
/// runs it, progress shows live, the result lists each step, the timeline has the events, the
/// databases shrank, and the journal and audit log say the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_defrag_wizard_plans_runs_and_tells_the_timeline() {
    let tc = TestCluster::start(3).await;
    leave_free_pages(&tc, 120, 32 << 10).await;
    let before = db_sizes(&tc).await;
    for (name, size, in_use) in &before {
        assert!(
            *in_use * 2 < *size,
            "{name}: {in_use} of {size} bytes in use: not enough free pages to defragment"
        );
    }
    let home = tempfile::TempDir::new().expect("temp dir");
    // A short pause between members keeps the test fast (the default is 5 s).
    let config = home.path().join("etcdeck.toml");
    std::fs::write(&config, "wizard_settle = \"1s\"\n").expect("config");
    let tmux = Tmux::start(100, 40, home.path());
    tmux.type_line(&console_command(
        &tc,
        &["--refresh", "1s", "--config", &config.display().to_string()],
    ));
    tmux.wait_for("three members up", Duration::from_secs(20), |s| {
        let rows = member_rows(s);
        rows.len() == 3 && rows.iter().all(|r| r.state == "up")
    });
    let footer = tmux.wait_for(
        "the wizard keys in the footer",
        Duration::from_secs(5),
        |s| last_line(s).contains("D/d defrag") && last_line(s).contains("L leader"),
    );
    assert!(last_line(&footer).contains("C compact"), "{footer}");

    // The plan, at once (the figure against 100 ms is in the console benchmark).
    tmux.keys(&["D"]);
    let pressed = Instant::now();
    let plan = tmux.wait_for("the defrag plan", Duration::from_secs(2), |s| {
        s.contains("Defragment every voter: plan") && s.contains("Type etcd and press Enter")
    });
    assert!(pressed.elapsed() < Duration::from_secs(2));
    assert!(
        plan.contains("defrag on cluster") && plan.contains("voter failure(s) tolerated now"),
        "{plan}"
    );
    assert!(plan.contains("1. snapshot to"), "{plan}");
    assert!(plan.contains("[tolerates 1]"), "{plan}");

    // Typed and confirmed: it runs, with the step running shown, then the result.
    tmux.ok(&["send-keys", "-t", &tmux.session, "-l", "etcd"]);
    tmux.wait_for("the word typed", Duration::from_secs(2), |s| {
        s.contains("> etcd█")
    });
    tmux.keys(&["Enter"]);
    // A capture can fall in the middle of a redraw: wait for the whole frame, top and foot.
    tmux.wait_for("the run's progress", Duration::from_secs(10), |s| {
        s.contains("Defragment every voter: running")
            && s.contains("running for")
            && s.contains("Esc asks to cancel between steps")
    });
    let result = tmux.wait_for("the run's result", Duration::from_secs(90), |s| {
        s.contains("Defragment every voter: result")
            && s.contains(": done in")
            && s.contains("Esc or Enter closes.")
    });
    assert!(result.contains(": done in"), "{result}");
    assert!(!result.contains("FAILED"), "{result}");
    assert!(result.contains("✓  1. snapshot to"), "{result}");
    assert!(result.contains("defragment etcd-"), "{result}");

    // The timeline has every step's end and the result.
    tmux.escape();
    tmux.keys(&["4"]);
    let timeline = tmux.wait_for("the wizard in the timeline", Duration::from_secs(5), |s| {
        pane_title_shown(s, "4 Timeline") && s.contains(": done in")
    });
    assert!(timeline.contains("defrag defrag-"), "{timeline}");
    assert!(timeline.contains("step 13/13"), "{timeline}");

    // The databases gave their free pages back.
    let after = db_sizes(&tc).await;
    for ((name, was, _), (_, now, _)) in before.iter().zip(&after) {
        assert!(now < was, "{name}: {was} bytes before, {now} after");
    }
    // The journal ended done, and the audit log has a begin and an end per change.
    let state = home.path().join(".local/state/etcdeck");
    let ops: Vec<_> = std::fs::read_dir(state.join("ops"))
        .expect("the journals' folder")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    let journal = std::fs::read_to_string(&ops[0]).expect("the journal");
    assert!(journal.contains("\"standing\": \"done\""), "{journal}");
    let audit = std::fs::read_to_string(state.join("audit.log")).expect("the audit log");
    let ends = audit
        .lines()
        .filter(|l| l.contains("\"phase\":\"end\""))
        .count();
    // A snapshot, three defragmentations and a leadership move.
    assert_eq!(ends, 5, "{audit}");

    tmux.keys(&["q"]);
    assert_terminal_given_back(&tmux, Instant::now());
}

/// `--read-only`: no wizard that changes the cluster in the footer or help, and its key does
/// nothing; the snapshot, which changes nothing, stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_console_has_no_wizard_that_changes_the_cluster() {
    let tc = TestCluster::start(1).await;
    let home = tempfile::TempDir::new().expect("temp dir");
    let tmux = Tmux::start(100, 50, home.path());
    tmux.type_line(&console_command(&tc, &["--refresh", "1s", "--read-only"]));
    let screen = tmux.wait_for("the console, read-only", Duration::from_secs(10), |s| {
        row(&member_rows(s), "etcd-1").is_some_and(|r| r.state == "up") && s.contains("READ-ONLY")
    });
    let footer = last_line(&screen);
    assert!(footer.contains("S snap"), "{footer}");
    for k in ["defrag", "compact", "nospace", "leader"] {
        assert!(!footer.contains(k), "{k} in the footer: {footer}");
    }
    tmux.keys(&["?"]);
    let help = tmux.wait_for("the help", Duration::from_secs(5), |s| {
        s.contains("Help") && s.contains("save a snapshot")
    });
    for k in [
        "defragment",
        "compact the history",
        "member leader",
        "NOSPACE alarm",
    ] {
        assert!(!help.contains(k), "{k} in the help:\n{help}");
    }
    tmux.escape();
    tmux.wait_for("the help closed", Duration::from_secs(5), |s| {
        !s.contains("Help")
    });
    // The keys do nothing.
    for k in ["D", "d", "C", "A", "L"] {
        tmux.keys(&[k]);
    }
    std::thread::sleep(Duration::from_millis(500));
    let screen = tmux.capture();
    assert!(!screen.contains("Defragment"), "{screen}");
    assert!(!screen.contains("Compact the history"), "{screen}");
    assert!(!screen.contains(": plan"), "{screen}");
    // The snapshot opens, with nothing to type.
    tmux.keys(&["S"]);
    let plan = tmux.wait_for("the snapshot plan", Duration::from_secs(2), |s| {
        s.contains("Save a snapshot: plan") && s.contains("Enter runs it")
    });
    assert!(modal_text(&plan).contains("-manual.db"), "{plan}");
    tmux.escape();
    tmux.keys(&["q"]);
    assert_terminal_given_back(&tmux, Instant::now());
}

/// The membership wizards from the console: a spare host of the inventory added with `a` on the
/// Inventory pane (a learner, started by the sandbox provisioner, caught up, promoted), then
/// removed with `X` on the Members pane; the member list follows each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_adds_an_inventory_host_removes_it_then_adds_a_member_at_a_typed_ip() {
    let began = Instant::now();
    let tc = TestCluster::start_spare(3, 1).await;
    let spare = tc.spare_ip(4);
    let third = format!("    {}: {{ etcd_seq: 3 }}\n", tc.spare_ip(3));
    let text = tc
        .inventory_text
        .replace(&third, &format!("{third}    {spare}: {{ etcd_seq: 4 }}\n"));
    assert_ne!(text, tc.inventory_text, "the 4th host is written");
    std::fs::write(tc.inventory_file(), &text).expect("inventory written");
    let inventory = tc.inventory_file().display().to_string();
    let home = tempfile::TempDir::new().expect("temp dir");
    let tmux = Tmux::start(80, 24, home.path());
    tmux.type_line(&console_command(
        &tc,
        &["--refresh", "1s", "-i", &inventory],
    ));
    tmux.wait_for("three members up", Duration::from_secs(20), |s| {
        let rows = member_rows(s);
        rows.len() == 3 && rows.iter().all(|r| r.state == "up")
    });

    // The spare host shows as not a member; selected, `a` plans its add once the facts are read.
    tmux.keys(&["2"]);
    tmux.wait_for(
        "the spare host in the inventory",
        Duration::from_secs(5),
        |s| {
            pane_title_shown(s, "2 Inventory")
                && s.lines()
                    .any(|l| l.contains(&spare) && l.contains("in inventory, not a member"))
        },
    );
    // The footer offers the add; a note ("etcd-2 answers again") may stand in its place for up
    // to the 6 s a note is shown, so this waits past that.
    tmux.wait_for(
        "the add offered in the footer",
        Duration::from_secs(10),
        |s| last_line(s).contains("a add host"),
    );
    tmux.keys(&["G"]);
    tmux.wait_for("the spare host selected", Duration::from_secs(5), |s| {
        s.lines().any(|l| l.contains("etcd-4  inventory line"))
    });
    tmux.keys(&["a"]);
    let plan = tmux.wait_for("the add plan", Duration::from_secs(10), |s| {
        s.contains(&format!("Add a member at {spare}: plan"))
            && s.contains("Type etcd-4 and press Enter")
    });
    assert!(plan.contains("member add on cluster"), "{plan}");
    assert!(plan.contains("provisioned by sandbox"), "{plan}");
    tmux.ok(&["send-keys", "-t", &tmux.session, "-l", "etcd-4"]);
    tmux.wait_for("the word typed", Duration::from_secs(2), |s| {
        s.contains("> etcd-4█")
    });
    tmux.keys(&["Enter"]);
    let added = Instant::now();
    let result = tmux.wait_for("the add's result", Duration::from_secs(60), |s| {
        s.contains(&format!("Add a member at {spare}: result"))
            && s.contains(": done in")
            && s.contains("Esc or Enter closes.")
    });
    let add_took = added.elapsed();
    assert!(!result.contains("FAILED"), "{result}");
    assert!(result.contains("etcd-4's files:"), "{result}");
    // Its last steps, scrolled into view: the catch-up and the promote ended well.
    tmux.keys(&["End"]);
    let steps = tmux.wait_for("the last steps", Duration::from_secs(5), |s| {
        let done = |what: &str| s.lines().any(|l| l.contains('✓') && l.contains(what));
        done("has caught up with the leader") && done("promote etcd-4 to a voter")
    });
    assert!(!steps.contains('✖'), "{steps}");

    // The Inventory pane, read again, matches the host with the new member.
    tmux.escape();
    tmux.wait_for("the spare host a member", Duration::from_secs(15), |s| {
        s.lines()
            .any(|l| l.contains(&spare) && l.contains("etcd-4") && l.contains(" ok"))
    });

    // The Members pane lists etcd-4, a voter.
    tmux.keys(&["1"]);
    tmux.wait_for("etcd-4 a voter, up", Duration::from_secs(15), |s| {
        let rows = member_rows(s);
        rows.len() == 4
            && row(&rows, "etcd-4").is_some_and(|r| r.role != "learner" && r.state == "up")
    });

    // Selected, `X` removes it.
    tmux.keys(&["G"]);
    tmux.wait_for("etcd-4 selected", Duration::from_secs(5), |s| {
        s.lines().any(|l| l.contains("etcd-4  id "))
    });
    tmux.keys(&["X"]);
    tmux.wait_for("the remove plan", Duration::from_secs(10), |s| {
        s.contains("Remove etcd-4: plan") && s.contains("Type etcd-4 and press Enter")
    });
    tmux.ok(&["send-keys", "-t", &tmux.session, "-l", "etcd-4"]);
    tmux.wait_for("the word typed", Duration::from_secs(2), |s| {
        s.contains("> etcd-4█")
    });
    tmux.keys(&["Enter"]);
    let removed = Instant::now();
    let result = tmux.wait_for("the remove's result", Duration::from_secs(60), |s| {
        s.contains("Remove etcd-4: result")
            && s.contains(": done in")
            && s.contains("Esc or Enter closes.")
    });
    let remove_took = removed.elapsed();
    assert!(!result.contains("FAILED"), "{result}");
    tmux.escape();
    tmux.wait_for("etcd-4 gone", Duration::from_secs(15), |s| {
        let rows = member_rows(s);
        rows.len() == 3 && row(&rows, "etcd-4").is_none() && rows.iter().all(|r| r.state == "up")
    });
    // Its host is commented out of the inventory, and the pane read it again.
    let edited = std::fs::read_to_string(tc.inventory_file()).expect("the inventory");
    assert!(
        edited
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("# {spare}"))
                && l.ends_with("(etcd member removed by etcdeck)")),
        "{edited}"
    );
    tmux.keys(&["2"]);
    tmux.wait_for(
        "the spare host no longer listed",
        Duration::from_secs(10),
        |s| pane_title_shown(s, "2 Inventory") && !s.contains(&spare),
    );

    // From a new IP: `N`, the address typed, then the plan for the next seq (4 is never
    // reused).
    tmux.keys(&["N"]);
    tmux.wait_for("the IP prompt", Duration::from_secs(5), |s| {
        s.contains("IP of the new member:")
    });
    tmux.ok(&["send-keys", "-t", &tmux.session, "-l", &spare]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the add plan for etcd-5", Duration::from_secs(15), |s| {
        s.contains(&format!("Add a member at {spare}: plan"))
            && s.contains("Type etcd-5 and press Enter")
    });
    tmux.ok(&["send-keys", "-t", &tmux.session, "-l", "etcd-5"]);
    tmux.wait_for("the word typed", Duration::from_secs(2), |s| {
        s.contains("> etcd-5█")
    });
    tmux.keys(&["Enter"]);
    let result = tmux.wait_for("the second add's result", Duration::from_secs(60), |s| {
        s.contains(&format!("Add a member at {spare}: result"))
            && s.contains(": done in")
            && s.contains("Esc or Enter closes.")
    });
    assert!(!result.contains("FAILED"), "{result}");
    tmux.escape();
    tmux.keys(&["1"]);
    tmux.wait_for("etcd-5 a voter, up", Duration::from_secs(15), |s| {
        let rows = member_rows(s);
        rows.len() == 4
            && row(&rows, "etcd-5").is_some_and(|r| r.role != "learner" && r.state == "up")
    });
    eprintln!(
        "add {add_took:?}, remove {remove_took:?}, whole test {:?}",
        began.elapsed()
    );

    tmux.keys(&["q"]);
    assert_terminal_given_back(&tmux, Instant::now());
}

/// The cluster id the header's second line shows (`id 870b2c801cd668fb`).
fn header_id(screen: &str) -> Option<String> {
    let second = screen.lines().nth(1)?;
    let rest = second.trim_start().strip_prefix("id ")?;
    Some(rest.split_whitespace().next()?.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_switcher_moves_the_console_between_two_named_clusters() {
    let a = TestCluster::start(1).await;
    let b = TestCluster::start(2).await;
    let id = |tc: &TestCluster| {
        let tc_cluster = tc.cluster(Duration::from_secs(5));
        async move {
            let s = etcdeck::etcd::status::gather(&tc_cluster)
                .await
                .expect("status");
            format!("{:x}", s.cluster_id)
        }
    };
    let (a_id, b_id) = (id(&a).await, id(&b).await);
    assert_ne!(a_id, b_id);

    // Both named in the user's config file, each by its etcdctl.sh.
    let home = tempfile::TempDir::new().expect("temp dir");
    let config_dir = home.path().join(".config/etcdeck");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("a.sh"), a.sandbox.etcdctl_env().shell()).unwrap();
    std::fs::write(config_dir.join("b.sh"), b.sandbox.etcdctl_env().shell()).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        "[clusters.alpha]\nenv = \"a.sh\"\n[clusters.beta]\nenv = \"b.sh\"\n\
         [clusters.gamma]\nenv = \"gone.sh\"\n",
    )
    .unwrap();

    let tmux = Tmux::start(100, 30, home.path());
    tmux.type_line(&format!(
        "{} --cluster alpha --read-only",
        sh_quote(env!("CARGO_BIN_EXE_etcdeck"))
    ));
    // On alpha: its name in the header, its id, its one member.
    let on = |name: &str, id: &str, members: usize| {
        let (name, id) = (name.to_string(), id.to_string());
        move |s: &str| {
            header(s).starts_with(&format!(" {name}  "))
                && header(s).contains("READ-ONLY")
                && header_id(s).as_deref() == Some(id.as_str())
                && member_rows(s).len() == members
                && member_rows(s).iter().all(|r| r.state == "up")
        }
    };
    tmux.wait_for(
        "the console on alpha",
        Duration::from_secs(20),
        on("alpha", &a_id, 1),
    );

    // The switcher lists both, alpha marked as the current one.
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("the cluster switcher", Duration::from_secs(5), |s| {
        s.contains("Clusters")
    });
    let list = modal_text(&screen);
    assert!(list.contains("● alpha"), "{screen}");
    assert!(list.contains("(current)"), "{screen}");
    assert!(list.contains("beta"), "{screen}");
    assert!(!list.contains("● beta"), "{screen}");

    // j, Enter: the console comes back on beta, read-only still, with beta's two members.
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    let pressed = Instant::now();
    tmux.wait_for(
        "the console on beta",
        Duration::from_secs(10),
        on("beta", &b_id, 2),
    );
    assert!(
        pressed.elapsed() < Duration::from_secs(10),
        "the switch took {:?}",
        pressed.elapsed()
    );

    // And back with k, Enter.
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("the switcher on beta", Duration::from_secs(5), |s| {
        modal_text(s).contains("● beta")
    });
    assert!(!modal_text(&screen).contains("● alpha"), "{screen}");
    tmux.keys(&["k"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the console on alpha again",
        Duration::from_secs(10),
        on("alpha", &a_id, 1),
    );

    // Esc closes the switcher without a switch.
    tmux.keys(&["c"]);
    tmux.wait_for("the switcher", Duration::from_secs(5), |s| {
        s.contains("Clusters")
    });
    tmux.escape();
    tmux.wait_for(
        "the switcher closed, still on alpha",
        Duration::from_secs(5),
        |s| !s.contains("Clusters") && on("alpha", &a_id, 1)(s),
    );

    // A cluster whose env file is gone: the console stays on alpha and says why.
    tmux.keys(&["c"]);
    tmux.wait_for("the switcher", Duration::from_secs(5), |s| {
        s.contains("gamma")
    });
    tmux.keys(&["j"]);
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("back on alpha, saying why", Duration::from_secs(10), |s| {
        on("alpha", &a_id, 1)(s) && last_line(s).starts_with("cannot switch: cluster gamma: ")
    });
    assert!(
        last_line(&screen).contains("/.config/etcdeck/gone.sh"),
        "{screen}"
    );

    tmux.keys(&["q"]);
    assert_terminal_given_back(&tmux, Instant::now());
}

/// The Patroni rows and events in the Timeline pane at 80x24 and 160x48: the demo's three
/// Patroni clusters seeded, a row each holding its leader key (`L`); a switchover of pg-test
/// shows as `pg` events, the switchover named with both members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_shows_patroni_rows_and_a_switchover_at_80x24_and_160x48() {
    let tc = TestCluster::start(3).await;
    let cluster = tc.cluster(Duration::from_secs(5));
    let mut client = common::writer(&cluster, &tc.sandbox.client_urls()).await;
    let mut clusters = etcdeck::demo::demo_clusters();
    etcdeck::demo::seed(&mut client, "/pg", &mut clusters, Duration::from_secs(5))
        .await
        .expect("seed");
    let home = tempfile::TempDir::new().expect("temp dir");
    let tmux = Tmux::start(80, 24, home.path());
    tmux.type_line(&console_command(&tc, &["--refresh", "1s"]));
    tmux.wait_for("three members up", Duration::from_secs(15), |s| {
        member_rows(s).iter().filter(|r| r.state == "up").count() == 3
    });
    tmux.keys(&["4"]);
    let pg_row = |s: &str, name: &str| {
        s.lines()
            .any(|l| l.contains(&format!("┃{name}")) && l.contains("LLL"))
    };
    let screen = tmux.wait_for("a row per Patroni cluster", Duration::from_secs(10), |s| {
        ["pg-meta", "pg-src", "pg-test"]
            .iter()
            .all(|n| pg_row(s, n))
    });
    println!("{screen}");
    assert!(
        !screen.contains('!'),
        "every cluster holds its leader key:\n{screen}"
    );

    let test = clusters
        .iter_mut()
        .find(|p| p.scope == "pg-test")
        .expect("pg-test seeded");
    etcdeck::demo::switchover(
        &mut client,
        "/pg",
        test,
        Some("pg-test-2"),
        Duration::from_secs(5),
    )
    .await
    .expect("switchover");
    let switch = "pg-test: switchover pg-test-1 -> pg-test-2 (asked for)";
    let screen = tmux.wait_for(
        "the switchover and the new timeline in the events",
        Duration::from_secs(5),
        |s| s.contains(switch) && s.contains("pg-test: timeline 1 -> 2"),
    );
    println!("{screen}");
    let line = screen.lines().find(|l| l.contains(switch)).unwrap();
    assert!(line.contains(" pg "), "tagged as Patroni's: {line}");

    // Wide: the Members pane beside the Timeline, its Patroni rows and events still there.
    tmux.resize(160, 48);
    let wide = tmux.wait_for("the wide timeline", Duration::from_secs(5), |s| {
        s.lines()
            .any(|l| l.contains("┃pg-test") && l.contains("LLL") && l.chars().count() > 120)
            && s.contains("pg-test: switchover asked: pg-test-1 -> pg-test-2")
    });
    println!("{wide}");
    let row_line = wide.lines().find(|l| l.contains("┃pg-test")).unwrap();
    assert!(
        row_line.contains("pg-test") && !row_line.contains('!'),
        "the switch was too quick to lose the key for a whole second: {row_line}"
    );
    tmux.keys(&["q"]);
    assert_terminal_given_back(&tmux, Instant::now());
}

/// `etcdeck demo --scenario NAME` in a `width` x `height` tmux pane, on fresh loopback
/// addresses (two spares after the three members), with its state in a home of its own.
struct DemoRun {
    tmux: Tmux,
    home: tempfile::TempDir,
    inventory: std::path::PathBuf,
    /// The scenario's story as the training overlay shows it, its lines joined.
    story: String,
}

impl DemoRun {
    fn start(scenario: &str, width: u16, height: u16) -> DemoRun {
        let home = tempfile::TempDir::new().expect("temp dir");
        // In the demo's directory, as its own copy of the example is: the membership wizards
        // find the sandbox beside it.
        std::fs::create_dir_all(home.path().join("demo")).expect("demo dir");
        let inventory = home.path().join("demo/inventory.yml");
        let text = common::fresh_inventory_reserving(3, 5, common::auth_on());
        std::fs::write(&inventory, text).expect("inventory written");
        let tmux = Tmux::start(width, height, home.path());
        tmux.type_line(&format!(
            "{} demo --scenario {scenario} -i {} --state-dir {}",
            sh_quote(env!("CARGO_BIN_EXE_etcdeck")),
            sh_quote(&inventory.display().to_string()),
            sh_quote(&home.path().join("demo").display().to_string()),
        ));
        let title = format!("Scenario {scenario}");
        let screen = tmux.wait_for("the scenario's story", Duration::from_secs(90), |s| {
            s.contains(&title) && s.contains("To fix it") && s.contains("Esc closes")
        });
        println!("{screen}");
        // Wrapped lines joined with a space, as the words were.
        let story = modal_lines(&screen).join(" ");
        DemoRun {
            tmux,
            home,
            inventory,
            story,
        }
    }

    /// `etcdeck ARGS` from another shell, as the demo's printed environment says (with the
    /// console's state: the audit log and history are shared).
    fn etcdeck(&self, args: &[&str]) -> std::process::Output {
        let env = std::fs::read_to_string(self.home.path().join("demo/etcdctl.sh"))
            .expect("etcdctl.sh written");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_etcdeck"));
        common::clear_etcd_env(&mut cmd);
        for line in env.lines() {
            if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
                cmd.env(k, v.trim_matches('\''));
            }
        }
        cmd.env("HOME", self.home.path());
        cmd.env_remove("XDG_STATE_HOME");
        cmd.arg("-i").arg(&self.inventory);
        cmd.args(args).output().expect("etcdeck runs")
    }

    /// Close the overlay and put the members pane's cursor on `name`.
    fn select_member(&self, name: &str) {
        self.tmux.keys(&["1", "g"]);
        let screen = self
            .tmux
            .wait_for("the members pane", Duration::from_secs(5), |s| {
                member_rows(s).iter().any(|r| r.name == name)
            });
        let i = member_rows(&screen)
            .iter()
            .position(|r| r.name == name)
            .unwrap();
        for _ in 0..i {
            self.tmux.keys(&["j"]);
        }
    }

    fn quit(&self) {
        self.tmux.escape();
        self.tmux.keys(&["q"]);
        self.tmux
            .wait_for("the demo stopped", Duration::from_secs(30), |s| {
                last_line(s) == PROMPT && s.contains("stopped; data kept")
            });
    }
}

/// The first `etcd-N` named in `text` after `before`.
fn member_after(text: &str, before: &str) -> String {
    let at = text.find(before).unwrap_or(0);
    let rest = &text[at..];
    let start = rest.find("etcd-").expect("a member named");
    rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// member-down: a follower killed, the others up; `T s` on it brings it back; `T w` switches a
/// seeded Patroni cluster over, told as a Patroni event.
#[test]
fn demo_scenario_member_down_then_the_drills_bring_it_back_and_switch_patroni_over() {
    let d = DemoRun::start("member-down", 80, 24);
    assert!(d.story.contains("quorum holds"), "{}", d.story);
    let down = member_after(&d.story, "scenario");
    d.tmux.escape();
    let screen = d
        .tmux
        .wait_for("one member down", Duration::from_secs(15), |s| {
            let rows = member_rows(s);
            rows.iter().filter(|r| r.state == "up").count() == 2
                && rows
                    .iter()
                    .any(|r| r.name == down && r.state == "unreachable")
        });
    println!("{screen}");
    d.select_member(&down);
    d.tmux.keys(&["T"]);
    d.tmux.wait_for("the drills", Duration::from_secs(5), |s| {
        s.contains("Training (demo)") && s.contains(&format!("member {down}:"))
    });
    d.tmux.keys(&["s"]);
    d.tmux
        .wait_for("the member back", Duration::from_secs(20), |s| {
            member_rows(s).iter().filter(|r| r.state == "up").count() == 3
        });
    d.tmux.keys(&["T", "w"]);
    let screen = d
        .tmux
        .wait_for("the switchover told", Duration::from_secs(10), |s| {
            s.contains("switched over from")
        });
    println!("{screen}");
    d.tmux.keys(&["4"]);
    d.tmux
        .wait_for("a Patroni switchover event", Duration::from_secs(10), |s| {
            s.lines()
                .any(|l| l.contains("pg-meta: switchover") && l.contains(" pg "))
        });
    d.quit();
}

/// leader-frozen: the old leader answers nothing, another member leads; `T t` thaws it.
#[test]
fn demo_scenario_leader_frozen_then_thawed() {
    let d = DemoRun::start("leader-frozen", 80, 24);
    assert!(d.story.contains("The others elected"), "{}", d.story);
    let frozen = member_after(&d.story, "the leader");
    d.tmux.escape();
    let screen = d.tmux.wait_for(
        "the frozen one unreachable, a new leader",
        Duration::from_secs(20),
        |s| {
            let rows = member_rows(s);
            rows.iter()
                .any(|r| r.name == frozen && r.state == "unreachable")
                && rows.iter().any(|r| r.role == "leader" && r.name != frozen)
        },
    );
    println!("{screen}");
    d.select_member(&frozen);
    d.tmux.keys(&["T", "t"]);
    d.tmux
        .wait_for("all three up", Duration::from_secs(20), |s| {
            member_rows(s).iter().filter(|r| r.state == "up").count() == 3
        });
    d.quit();
}

/// nospace: the alarm shows and `A` opens the recovery wizard the story points at.
#[test]
fn demo_scenario_nospace_shows_the_alarm_and_the_recovery_wizard() {
    let d = DemoRun::start("nospace", 80, 24);
    assert!(d.story.contains("NOSPACE"), "{}", d.story);
    assert!(d.story.contains("alarm recover"), "{}", d.story);
    d.tmux.escape();
    d.tmux
        .wait_for("the alarm on screen", Duration::from_secs(15), |s| {
            s.contains("NOSPACE")
        });
    let o = d.etcdeck(&["alarm", "list"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("NOSPACE"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    d.tmux.keys(&["1", "A"]);
    let screen = d
        .tmux
        .wait_for("the recovery's plan", Duration::from_secs(10), |s| {
            modal_text(s).contains("disarm")
        });
    println!("{screen}");
    d.quit();
}

/// learner-stuck: a started learner that nobody promoted; the promote the story names works.
#[test]
fn demo_scenario_learner_stuck_then_promoted() {
    let d = DemoRun::start("learner-stuck", 80, 24);
    let learner = member_after(&d.story, "a learner");
    assert!(d.story.contains("member promote"), "{}", d.story);
    d.tmux.escape();
    d.tmux
        .wait_for("a learner row", Duration::from_secs(15), |s| {
            member_rows(s)
                .iter()
                .any(|r| r.name == learner && r.role == "learner" && r.state == "up")
        });
    let o = d.etcdeck(&["member", "promote", &learner, "--yes"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    d.tmux
        .wait_for("four voters", Duration::from_secs(15), |s| {
            let rows = member_rows(s);
            rows.len() == 4 && rows.iter().all(|r| r.role != "learner" && r.state == "up")
        });
    d.quit();
}

/// dead-node, as the issue's walk-through: a member gone with its data; starting it again is
/// refused with the way out; the replace wizard fixes it; the timeline export tells the member
/// down, the replacement and its promote, in that order.
#[test]
fn demo_scenario_dead_node_is_fixed_by_the_replace_wizard_and_the_export_tells_it() {
    let d = DemoRun::start("dead-node", 80, 24);
    let dead = member_after(&d.story, "scenario");
    let ip = d
        .story
        .split("--ip ")
        .nth(1)
        .and_then(|r| r.split(|c: char| c == '`' || c.is_whitespace()).next())
        .expect("the story names the new IP")
        .to_string();
    d.tmux.escape();
    // A few seconds of it down, as anyone looks before acting: the timeline records them.
    d.tmux.wait_for(
        "the dead member unreachable for 3 s",
        Duration::from_secs(20),
        |s| {
            member_rows(s).iter().any(|r| {
                r.name == dead && r.state == "unreachable" && r.down_secs.is_some_and(|n| n >= 3)
            })
        },
    );
    d.select_member(&dead);
    d.tmux.keys(&["T", "s"]);
    d.tmux
        .wait_for("the restart refused", Duration::from_secs(10), |s| {
            s.contains("gone for good")
        });
    let o = d.etcdeck(&[
        "member",
        "replace",
        &dead,
        "--ip",
        &ip,
        "--yes",
        "--no-snapshot",
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    d.tmux.wait_for(
        "three voters up, the dead one gone",
        Duration::from_secs(20),
        |s| {
            let rows = member_rows(s);
            rows.len() == 3
                && rows.iter().all(|r| r.state == "up" && r.role != "learner")
                && !rows.iter().any(|r| r.name == dead)
        },
    );
    // The console writes its history each second.
    std::thread::sleep(Duration::from_secs(2));
    let o = d.etcdeck(&["timeline", "--since", "10m", "--markdown"]);
    let md = String::from_utf8_lossy(&o.stdout).into_owned();
    println!("{md}");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let at = |what: &str| {
        md.find(what)
            .unwrap_or_else(|| panic!("{what:?} not in the export:\n{md}"))
    };
    // The summary: degraded, the member down, the replace ended well.
    assert!(
        md.contains("- etcd degraded (available, a member down) for "),
        "{md}"
    );
    assert!(md.contains(&format!("- members down: {dead} ")), "{md}");
    assert!(
        md.lines()
            .any(|l| l.contains("`member-replace-") && l.contains(": ok")),
        "{md}"
    );
    // The events, in the order they happened.
    let events = at("## Events");
    let scenario = at("demo: scenario dead-node: ");
    let down = at(&format!("{dead} unreachable"));
    let replace = md[events..]
        .find("member-replace-")
        .map(|i| i + events)
        .unwrap_or_else(|| panic!("no replace among the events:\n{md}"));
    let promote = md[replace..]
        .find("promote ")
        .map(|i| i + replace)
        .unwrap_or_else(|| panic!("no promote after the replace began:\n{md}"));
    assert!(
        events < scenario && scenario < down && down < replace && replace < promote,
        "{md}"
    );
    d.quit();
}
