//! Command-line definitions.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// `etcdeck -V`: the version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ETCDECK_GIT_COMMIT"),
    ")"
);

/// `etcdeck --version`: [`VERSION`] and the etcd versions the test suite ran against
/// (`assets/tested-etcd.txt`, read by `build.rs`).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ETCDECK_GIT_COMMIT"),
    ")\ntested with etcd ",
    env!("ETCDECK_TESTED_ETCD"),
    ", over TLS"
);

/// etcdeck: operations console for the etcd behind Patroni in Pigsty.
#[derive(Debug, Parser)]
#[command(
    name = "etcdeck",
    version = VERSION,
    long_version = LONG_VERSION,
    about,
    long_about = None,
    after_help = "Without a command, etcdeck opens the console on the cluster `status` would ask \
                  (`etcdeck demo` opens it on a local sandbox). In the console, `?` shows every key."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command understands.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// A cluster named in the config file ([clusters.NAME]): its inventory, env file or
    /// endpoints and TLS files, as if given by -i, the environment or the flags (flags given
    /// still win; the shell's ETCDCTL_* are not used with it)
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The cluster named by --cluster, read (set by [`crate::commands::with_cluster`]).
    #[arg(skip)]
    pub chosen: Option<crate::connect::Chosen>,
    /// Pigsty inventory (default: $ETCDECK_INVENTORY, ./pigsty.yml, ~/pigsty/pigsty.yml)
    #[arg(short = 'i', long, global = true, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Extra variable that beats every inventory value, as ansible's -e (repeatable)
    #[arg(
        short = 'e',
        long = "extra-vars",
        global = true,
        value_name = "KEY=VALUE"
    )]
    pub extra_vars: Vec<String>,
    /// Endpoints, comma separated (default: $ETCDCTL_ENDPOINTS, else the inventory's client URLs)
    #[arg(long, global = true, value_name = "URLS")]
    pub endpoints: Option<String>,
    /// CA certificate (default: $ETCDCTL_CACERT, else /etc/pki/ca.crt)
    #[arg(long, global = true, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (default: $ETCDCTL_CERT, else /etc/etcd/server.crt)
    #[arg(long, global = true, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Client key (default: $ETCDCTL_KEY, else /etc/etcd/server.key)
    #[arg(long, global = true, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// USER:PASSWORD for clusters with auth on (default: $ETCDCTL_USER)
    #[arg(long, global = true, value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// Timeout of every etcd call, e.g. 2s, 500ms
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Change nothing in the cluster: the console hides the actions that would, and the wizard
    /// commands that would refuse (a snapshot, which changes nothing, is still allowed); `inventory
    /// add|comment|remove` show their diff but do not write the file
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Console: how often members are asked (default 1s, or `refresh` in the config file)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub refresh: Option<Duration>,
    /// Console settings: keys, colours, refresh (default: $XDG_CONFIG_HOME/etcdeck/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Patroni's namespace: the key prefix browsed and summarized (default: the named
    /// cluster's `namespace`, else /pg)
    #[arg(long = "namespace", global = true, value_name = "PREFIX")]
    pub namespace_flag: Option<String>,
    /// Console: the backend quota the DB size is measured against, e.g. 8GiB (default: Pigsty's 16GiB)
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub quota: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Members, their role, health, version, raft position, DB size, and alarms; exit 0 all
    /// well, 1 degraded (a member down or unstarted, an alarm), 2 no leader or no quorum
    Status {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Keys under a prefix (default: the Patroni namespace), read at one revision
    Keys {
        /// The prefix (default: --namespace)
        prefix: Option<String>,
        /// Print JSON: key, value (or key_base64/value_base64 when not UTF-8), revisions, lease
        #[arg(long)]
        json: bool,
    },
    /// Every Patroni cluster under the namespace: leader and its lease, members, lag, sync
    /// standby, warnings; exit 1 when a cluster has no leader
    Patroni {
        /// Print JSON, one entry per cluster
        #[arg(long)]
        json: bool,
    },
    /// One verdict for cron or a monitoring agent: exit 0 healthy, 1 degraded (a member down or
    /// an alert firing, quorum kept), 2 unavailable (no leader or no quorum), 3 unknown (etcdeck's
    /// own settings are wrong: TLS files, CA, credentials, inventory; the cluster was not judged)
    Health {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// The timeline the console recorded for this cluster (etcd, Patroni, the operations), as
    /// text, or as a postmortem in JSON or Markdown
    Timeline {
        /// The start: how long ago (10m, 2h, 1d) or an RFC 3339 UTC time
        /// (2026-12-02T03:00:00Z); at most the 24 h kept
        #[arg(long, default_value = "10m", value_parser = parse_when, value_name = "TIME")]
        since: When,
        /// The end (excluded): how long ago or an RFC 3339 UTC time; now when left out
        #[arg(long, value_parser = parse_when, value_name = "TIME")]
        until: Option<When>,
        /// The postmortem as JSON: the summary, the rows as spans, the events
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// The postmortem as Markdown, for the incident's ticket
        #[arg(long)]
        markdown: bool,
        /// The cluster whose history to read, in hex as `status` shows it (default: the one the
        /// endpoints answer for; with every member down, the only history kept)
        #[arg(long, value_name = "HEX", value_parser = parse_cluster_id)]
        cluster_id: Option<u64>,
    },
    /// Snapshots of the database, streamed from a healthy follower and verified
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Compact the history up to a revision (cluster-wide, once), after a preview of what goes
    #[command(after_help = WIZARD_HELP)]
    Compact {
        /// Keep this much history: compact to the revision the cluster had that long ago
        /// (recorded by the console and the wizards), e.g. 24h
        #[arg(long, value_parser = parse_duration, value_name = "DURATION",
              required_unless_present = "revision", conflicts_with = "revision")]
        keep: Option<Duration>,
        /// Compact up to this revision
        #[arg(long, value_name = "R")]
        revision: Option<i64>,
        #[command(flatten)]
        w: WizardFlags,
    },
    /// Defragment members one at a time: followers first (smallest first), the leader last after
    /// leadership moves to a defragmented follower; a health gate and a pause between members
    #[command(after_help = WIZARD_HELP)]
    Defrag {
        /// A member to defragment, by name or hex id (repeatable)
        #[arg(long = "member", value_name = "NAME", required_unless_present = "all")]
        members: Vec<String>,
        /// Every voter (learners are never defragmented)
        #[arg(long, conflicts_with = "members")]
        all: bool,
        /// Defragment the leader while it leads instead of moving leadership away first
        #[arg(long)]
        keep_leader: bool,
        /// The pause between members
        #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
        settle: Duration,
        /// Skip members whose free pages are below this percentage of their database (0: none
        /// skipped)
        #[arg(long, default_value_t = 10, value_name = "PERCENT",
              value_parser = clap::value_parser!(u8).range(0..=100))]
        threshold: u8,
        #[command(flatten)]
        w: WizardFlags,
    },
    /// Alarms: list them, disarm NOSPACE, or recover from NOSPACE
    #[command(subcommand)]
    Alarm(AlarmCommand),
    /// Hand leadership to a started, caught-up voter (never a learner), verified from every member
    #[command(after_help = WIZARD_HELP)]
    MoveLeader {
        /// The member to lead, by name or hex id
        member: String,
        #[command(flatten)]
        w: WizardFlags,
    },
    /// Membership: add a member (a learner, started, caught up, promoted), promote a learner,
    /// remove a member, replace a dead one
    #[command(subcommand)]
    Member(MemberCommand),
    /// Read and validate the inventory's etcd group; add, comment out or remove one of its hosts
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Issue certificates as Pigsty does (rcgen)
    #[command(subcommand)]
    Cert(CertCommand),
    /// Files rendered as Pigsty renders them, with the member lists of the live cluster
    #[command(subcommand)]
    Render(RenderCommand),
    /// Start a real local 3-member etcd sandbox from the inventory, with Patroni-shaped keys, and
    /// open the console on it
    Demo {
        /// Keep the sandbox running without the console (also when not on a terminal)
        #[arg(long)]
        headless: bool,
        /// Where the sandbox keeps certificates and data (default: $XDG_STATE_HOME/etcdeck/demo)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Start from empty data (the previous sandbox's data is removed)
        #[arg(long)]
        fresh: bool,
        /// Auth on, as Pigsty 4.x: user root with the inventory's etcd_root_password (default
        /// Pigsty's Etcd.Root); the printed environment has ETCDCTL_USER
        #[arg(long)]
        auth: bool,
        /// The members' quota-backend-bytes, e.g. 16MiB to rehearse NOSPACE and `etcdeck alarm
        /// recover` (default Pigsty's 16GiB)
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        quota_backend: Option<i64>,
        /// Start in an incident to rehearse (from fresh data): a follower killed, the leader
        /// frozen, the quota full, a node gone for good, a learner never promoted. What happened
        /// and the way out are printed, and shown in the console (T: the drills)
        #[arg(long, value_name = "NAME", value_enum)]
        scenario: Option<crate::lab::Scenario>,
    },
    /// Tab completion for a shell, on standard output (the packages install it already), e.g.
    /// `etcdeck completions bash > ~/.local/share/bash-completion/completions/etcdeck`
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page, as roff on standard output (`etcdeck man | man -l -`), or with --dir one
    /// page per command written into a folder (etcdeck.1, etcdeck-status.1, ...)
    Man {
        /// Write etcdeck.1 and a page per command into DIR instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Global {
    /// Patroni's namespace: `--namespace`, else the named cluster's, else Patroni's `/pg`.
    pub fn namespace(&self) -> &str {
        self.namespace_flag
            .as_deref()
            .or(self.chosen.as_ref().and_then(|c| c.namespace.as_deref()))
            .unwrap_or(crate::app::store::DEFAULT_NAMESPACE)
    }
}

/// What the wizards' help ends with.
pub const WIZARD_HELP: &str = "The plan is shown first; a destructive plan asks you to type the \
member or cluster name (anything else cancels). Every change is written to \
$XDG_STATE_HOME/etcdeck/audit.log; the operation's journal (ops/) lets the same command resume \
after a crash or a stop, never repeating a step that is done. Ctrl-C cancels between steps. \
Exit 0 done, 1 refused, cancelled or stopped at a health gate (nothing forced), 2 a step failed.";

/// Flags every wizard shares.
#[derive(Debug, Clone, Args)]
pub struct WizardFlags {
    /// Print the plan and the equivalent etcdctl commands (a runbook); change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the typed confirmation (for scripts); refusals still refuse
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan and the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Do not take a snapshot first
    #[arg(long)]
    pub no_snapshot: bool,
    /// Abandon an unfinished earlier run of this operation and plan afresh
    #[arg(long)]
    pub fresh: bool,
    /// How long a health gate waits for the cluster to pass before the wizard stops
    #[arg(long, default_value = "20s", value_parser = parse_duration, value_name = "DURATION")]
    pub gate_wait: Duration,
}

/// How a node gets its member started or purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProvisionKind {
    /// Local etcd processes in a sandbox directory (`etcdeck demo`, tests)
    Sandbox,
    /// Pigsty's playbooks in the Pigsty home (the inventory's folder): ./etcd.yml, ./etcd-rm.yml
    Pigsty,
    /// etcdeck writes the member's files to --out DIR and waits while you start it
    Manual,
}

/// Where a membership wizard's member is started or purged, and the CA for its certificate.
#[derive(Debug, Clone, Args)]
pub struct ProvisionFlags {
    /// How the member is started or purged (default: pigsty when the inventory's folder holds
    /// etcd.yml, sandbox when it holds a sandbox, manual when --out is given)
    #[arg(long, value_enum)]
    pub provision: Option<ProvisionKind>,
    /// manual: the directory for the member's files (etcd.conf, certificates, etcdctl.sh)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// manual: how long etcdeck waits for you to start the member
    #[arg(long, default_value = "30m", value_parser = parse_duration, value_name = "DURATION")]
    pub start_wait: Duration,
    /// sandbox: its directory (default: the inventory's folder)
    #[arg(long, value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,
    /// The CA certificate that signs the member's (default: files/pki/ca/ca.crt in the Pigsty
    /// home, pki/ca.crt in a sandbox)
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// The CA key (default: beside the CA certificate)
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
}

pub const MEMBER_HELP: &str = "The plan is shown first (quorum before, during and after, every \
step, the inventory diff); nothing changes until you type the member's name. A run that stops \
(a crash, a gate, Ctrl-C) resumes with the same command: steps done are never done twice. \
--dry-run prints the runbook: the same steps as etcdctl and Pigsty commands. Every change is in \
the audit log ($XDG_STATE_HOME/etcdeck/audit.log) and `etcdeck timeline`.";

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a member: snapshot, inventory, certificate, config, `member add --learner`, start,
    /// catch-up, promote (sent to the leader), references, health gate
    #[command(after_help = MEMBER_HELP)]
    Add {
        /// The new member's IP address (a host of the inventory not yet a member, or a new one)
        #[arg(long)]
        ip: IpAddr,
        /// Its etcd_seq (default: the inventory's for that host, else one above every seq ever
        /// used: a seq is never reused)
        #[arg(long)]
        seq: Option<u32>,
        #[command(flatten)]
        p: ProvisionFlags,
        #[command(flatten)]
        w: WizardFlags,
    },
    /// Promote a learner added elsewhere (Pigsty's etcd_learner never promotes): catch-up shown,
    /// the promote sent to the leader
    #[command(after_help = MEMBER_HELP)]
    Promote {
        /// The learner, by name or hex id
        member: String,
        #[command(flatten)]
        p: ProvisionFlags,
        #[command(flatten)]
        w: WizardFlags,
    },
    /// Remove a member: snapshot, leadership moved away, the host commented out of the
    /// inventory, references, `member remove`, and only then stop and purge it
    #[command(after_help = MEMBER_HELP)]
    Remove {
        /// The member, by name or hex id (an unstarted learner: rolls a failed add back)
        member: String,
        /// Remove a member that etcd_safeguard protects: name it again here
        #[arg(long, value_name = "NAME")]
        override_safeguard: Option<String>,
        #[command(flatten)]
        p: ProvisionFlags,
        #[command(flatten)]
        w: WizardFlags,
    },
    /// Replace a member (a node that died): remove it first, then add the new one, in one plan
    #[command(after_help = MEMBER_HELP)]
    Replace {
        /// The member to replace, by name or hex id
        old: String,
        /// The new member's IP address (may be the old one's, on a reinstalled node)
        #[arg(long)]
        ip: IpAddr,
        /// The new member's etcd_seq (default: one above every seq ever used)
        #[arg(long)]
        seq: Option<u32>,
        /// Replace a member that etcd_safeguard protects: name it again here
        #[arg(long, value_name = "NAME")]
        override_safeguard: Option<String>,
        #[command(flatten)]
        p: ProvisionFlags,
        #[command(flatten)]
        w: WizardFlags,
    },
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Stream a snapshot from a healthy follower into FILE (default: a new file under
    /// $XDG_STATE_HOME/etcdeck/snapshots, the last 3 kept): FILE.part, fsync, rename, mode 0600;
    /// the sha256 etcd sends is checked; the restore commands are printed, not run
    Save {
        file: Option<PathBuf>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlarmCommand {
    /// The alarms raised, per member, and what each means; exit 1 when any is raised
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disarm NOSPACE on every member that has it, once all are below 90% of the quota; then a
    /// write proves the cluster takes writes again
    #[command(after_help = WIZARD_HELP)]
    Disarm {
        #[command(flatten)]
        w: WizardFlags,
    },
    /// Recover from NOSPACE: snapshot, compact to the current revision, defragment every member
    /// (a gate that tolerates NOSPACE between them), disarm when below 90% of the quota, verify
    /// with a scratch write
    #[command(after_help = WIZARD_HELP)]
    Recover {
        /// The pause between members
        #[arg(long, default_value = "2s", value_parser = parse_duration, value_name = "DURATION")]
        settle: Duration,
        #[command(flatten)]
        w: WizardFlags,
    },
}

/// What the inventory edits' help ends with.
pub const EDIT_HELP: &str = "The inventory is -i FILE, else $ETCDECK_INVENTORY, ./pigsty.yml, \
~/pigsty/pigsty.yml. Only the host's lines change: comments, order, quoting, blank lines and line \
endings stay as they are. The edit is checked by reading the inventory before and after it (the \
group must read as the old one with only that host added or gone, the rest of the file the same); \
a layout etcdeck cannot edit safely is refused and nothing is written. The diff is shown first; \
on a terminal, type yes to write (anything else cancels). The old file is kept beside it as \
FILE.etcdeck-<unix-seconds>.bak; the new one replaces it atomically, with the same mode and \
owner. Exit 0 written (or --dry-run), 1 refused or cancelled, 2 a failure.";

/// Flags every inventory edit shares.
#[derive(Debug, Clone, Args)]
pub struct EditFlags {
    /// Print the diff; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Write without asking (for scripts); refusals still refuse
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print one JSON object: file, edit, summary, diff, written, backup
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Validate: every error with FILE:LINE:COLUMN and how to fix it; exit 1 on errors
    Check {
        /// Inventory file (overrides -i)
        file: Option<PathBuf>,
    },
    /// The etcd members, their URLs and effective parameters with where each came from
    Show {
        /// Inventory file (overrides -i)
        file: Option<PathBuf>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Add a host to the etcd group: a line `IP: { etcd_seq: N }` after the last host (or an
    /// entry in the braces of a one-line group)
    #[command(after_help = EDIT_HELP)]
    Add {
        /// The new member's IP address
        ip: IpAddr,
        /// Its etcd_seq (default: 1 + the highest in the group, hosts commented out included,
        /// so that a seq is never reused)
        #[arg(long, value_name = "N")]
        seq: Option<u32>,
        #[command(flatten)]
        e: EditFlags,
    },
    /// Comment a host of the etcd group out (`# IP: ...  (etcd member removed by etcdeck)`), so
    /// the file still tells it was a member; a one-line group gets the comment on the line above
    #[command(after_help = EDIT_HELP)]
    Comment {
        /// The member's IP address
        ip: IpAddr,
        #[command(flatten)]
        e: EditFlags,
    },
    /// Remove a host from the etcd group: its line(s), or its entry and comma in the braces
    #[command(after_help = EDIT_HELP)]
    Remove {
        /// The member's IP address
        ip: IpAddr,
        #[command(flatten)]
        e: EditFlags,
    },
}

#[derive(Debug, Subcommand)]
pub enum RenderCommand {
    /// The admin node's /etc/profile.d/etcdctl.sh: ETCDCTL_ENDPOINTS from the live member list
    /// (started voters, in name order; a learner is left out and named in a comment), the admin
    /// node's TLS files (/etc/pki/ca.crt, /etc/pki/infra.crt, /etc/pki/infra.key), and with
    /// etcd_root_password ETCDCTL_USER read at login from /etc/etcd/etcd.pass
    Env {
        /// Render it from the inventory's etcd group instead (offline; as Pigsty does)
        #[arg(long)]
        from_inventory: bool,
        /// Write it to FILE (mode 0644, replaced atomically) instead of printing it
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// A member's /etc/etcd/etcd.conf for joining the running cluster: initial-cluster from the
    /// live member list (plus the member itself when it is not one yet), initial-cluster-state
    /// existing, the rest from its inventory host (-i)
    Conf {
        /// The member, by name (<etcd_cluster>-<etcd_seq>): a member of the cluster, or a host of
        /// the inventory about to be added
        #[arg(long, value_name = "NAME")]
        member: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create a CA like Pigsty's (CA:TRUE, pathlen 1): DIR/ca.crt and DIR/ca.key
    Ca {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Common name
        #[arg(long, default_value = "pigsty-ca")]
        cn: String,
        /// Overwrite existing files
        #[arg(long)]
        force: bool,
    },
    /// Issue a member certificate (CN and SANs as Pigsty's) from an existing CA
    Issue {
        #[arg(long, value_name = "FILE")]
        ca_cert: PathBuf,
        #[arg(long, value_name = "FILE")]
        ca_key: PathBuf,
        /// Instance name, <etcd_cluster>-<etcd_seq>, e.g. etcd-4
        #[arg(long)]
        name: String,
        /// The member's IP address
        #[arg(long)]
        ip: IpAddr,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Overwrite existing files
        #[arg(long)]
        force: bool,
    },
}

/// `16GiB`, `8G`, `2147483648`, `512MiB`: binary units (K, M, G, T with or without `iB`).
pub fn parse_size(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected a size like 16GiB or 8G"))?;
    let mult: f64 = match unit
        .to_ascii_lowercase()
        .trim_end_matches("ib")
        .trim_end_matches('b')
    {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K, M, G or T)")),
    };
    let bytes = v * mult;
    if !(bytes >= 1.0 && bytes < i64::MAX as f64) {
        return Err(format!("{s:?}: must be a positive size"));
    }
    Ok(bytes as i64)
}

/// `2s`, `500ms`, `1.5s`, `1m`, or a plain number of seconds.
/// A cluster id in hex (`91e38073ff6782f`).
pub fn parse_cluster_id(s: &str) -> Result<u64, String> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16)
        .map_err(|_| format!("{s:?}: a cluster id is hex, as `etcdeck status` shows it"))
}

/// A point in time on the command line: so long ago, or a UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Ago(Duration),
    /// A Unix second.
    At(u64),
}

impl When {
    /// The Unix second, as of `now`.
    pub fn unix(self, now: u64) -> u64 {
        match self {
            When::Ago(d) => now.saturating_sub(d.as_secs()),
            When::At(t) => t,
        }
    }
}

/// `10m` (ago) or `2026-12-02T03:00:00Z`.
pub fn parse_when(s: &str) -> Result<When, String> {
    if s.contains('T') || s.contains(':') {
        let t = time::OffsetDateTime::parse(
            s.trim(),
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| format!("{s:?}: not an RFC 3339 time like 2026-12-02T03:00:00Z ({e})"))?;
        return u64::try_from(t.unix_timestamp())
            .map(When::At)
            .map_err(|_| format!("{s:?}: before 1970"));
    }
    parse_duration(s)
        .map(When::Ago)
        .map_err(|e| format!("{e}, or an RFC 3339 time like 2026-12-02T03:00:00Z"))
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected a duration like 2s or 500ms"))?;
    let secs = match unit {
        "" | "s" => v,
        "ms" => v / 1000.0,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        "d" => v * 86400.0,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use ms, s, m, h or d)"
            ))
        }
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_operators_write_them() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        // `timeline --since 2h` as its help offers, and a day.
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("2w").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(parse_size("16GiB"), Ok(16 << 30));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2147483648"), Ok(2147483648));
        assert!(parse_size("8 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
