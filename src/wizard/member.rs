//! The membership wizards: add a member (a learner first, started by a provisioner, caught up,
//! promoted, the references refreshed), promote a learner added elsewhere, remove a member (the
//! leader moved away first, the references refreshed, removed, only then purged), and replace a
//! dead member (remove, then add, as one plan).
//!
//! The rules come from etcd's server code: a learner has no vote and at most one exists at a
//! time; promote is decided by the leader once the learner is in sync; a voter may be removed
//! only when the started voters left keep quorum of the new size; before 3.5.30 an add fails
//! with "unhealthy cluster" while any member is down, so a dead member is removed first. And from
//! Pigsty: members are named `<etcd_cluster>-<etcd_seq>`, a seq is never reused, the inventory is
//! the source of every file rendered for the nodes.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    gate_step, leader, name, snapshot_step, Common, Op, Plan, Refusal, Step, StepKind,
    MAX_APPLIED_SPREAD,
};
use crate::etcd::model::{quorum_of, Quorum};
use crate::etcd::status::{ClusterStatus, MemberStatus};
use crate::inventory::{Host, Inventory, Params};

/// The member a membership wizard adds or removes, as its files are rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSpec {
    /// `<etcd_cluster>-<etcd_seq>`.
    pub name: String,
    pub seq: u32,
    /// `etcd_cluster`: the initial-cluster-token.
    pub cluster: String,
    /// The host's address in the inventory.
    pub inventory_ip: IpAddr,
    /// Where the member listens: the inventory address, or in a sandbox its loopback twin.
    pub ip: IpAddr,
    pub port: u16,
    pub peer_port: u16,
    /// `etcd_data` on the node.
    pub data: String,
    pub election_timeout: u32,
    pub heartbeat_interval: u32,
}

impl MemberSpec {
    /// The spec of an inventory host that listens at `ip`.
    pub fn of_host(h: &Host, ip: IpAddr) -> MemberSpec {
        let p = &h.params;
        MemberSpec {
            name: h.name(),
            seq: h.seq,
            cluster: p.etcd_cluster.clone(),
            inventory_ip: h.ip,
            ip,
            port: p.etcd_port,
            peer_port: p.etcd_peer_port,
            data: p.etcd_data.clone(),
            election_timeout: p.etcd_election_timeout,
            heartbeat_interval: p.etcd_heartbeat_interval,
        }
    }

    /// The host as the renderers take it (at the address it listens on).
    pub fn host(&self) -> Host {
        Host {
            ip: self.ip,
            seq: self.seq,
            params: Params {
                etcd_cluster: self.cluster.clone(),
                etcd_data: self.data.clone(),
                etcd_port: self.port,
                etcd_peer_port: self.peer_port,
                etcd_init: crate::inventory::EtcdInit::Existing,
                etcd_election_timeout: self.election_timeout,
                etcd_heartbeat_interval: self.heartbeat_interval,
                ..Params::default()
            },
            origins: BTreeMap::new(),
            line: 0,
        }
    }

    pub fn peer_url(&self) -> String {
        self.host().peer_url()
    }

    pub fn client_url(&self) -> String {
        self.host().client_url()
    }
}

/// How a node gets its member started or purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Provision {
    /// Local etcd processes under a sandbox directory (`etcdeck demo`, the tests).
    Sandbox { dir: PathBuf },
    /// Pigsty's playbooks in the Pigsty home; etcdeck's rendered files go to `files/<name>`.
    Pigsty { home: PathBuf, files: PathBuf },
    /// The operator starts the member from the files written to `out`; etcdeck waits for it
    /// `wait_secs`.
    Manual {
        out: PathBuf,
        #[serde(default = "manual_wait")]
        wait_secs: u64,
    },
}

/// How long etcdeck waits for a member started by hand: half an hour.
pub const MANUAL_WAIT_SECS: u64 = 30 * 60;

fn manual_wait() -> u64 {
    MANUAL_WAIT_SECS
}

/// Where Pigsty's `etcd.conf` names the member's TLS files on the node.
pub const NODE_CERT: &str = "/etc/etcd/server.crt";
/// See [`NODE_CERT`].
pub const NODE_KEY: &str = "/etc/etcd/server.key";
/// See [`NODE_CERT`].
pub const NODE_CA: &str = "/etc/etcd/ca.crt";

impl Provision {
    /// `sandbox`, `pigsty`, `manual`.
    pub fn kind(&self) -> &'static str {
        match self {
            Provision::Sandbox { .. } => "sandbox",
            Provision::Pigsty { .. } => "pigsty",
            Provision::Manual { .. } => "manual",
        }
    }

    /// Where the member's rendered files (etcd.conf, etcdctl.sh) are written.
    pub fn files_dir(&self, m: &MemberSpec) -> PathBuf {
        match self {
            Provision::Sandbox { dir } => dir.join(&m.name),
            Provision::Pigsty { files, .. } => files.join(&m.name),
            Provision::Manual { out, .. } => out.clone(),
        }
    }

    /// Where the issued certificate and key are written.
    pub fn cert_paths(&self, m: &MemberSpec) -> (PathBuf, PathBuf) {
        match self {
            Provision::Sandbox { dir } => {
                let d = dir.join(&m.name);
                (
                    d.join(format!("{}.crt", m.name)),
                    d.join(format!("{}.key", m.name)),
                )
            }
            // Pigsty's etcd role keeps the members' certificates on the admin node and copies
            // them to the node; an existing pair is used as it is.
            Provision::Pigsty { home, .. } => {
                let d = home.join("files").join("pki").join("etcd");
                (
                    d.join(format!("{}.crt", m.name)),
                    d.join(format!("{}.key", m.name)),
                )
            }
            Provision::Manual { out, .. } => (out.join("server.crt"), out.join("server.key")),
        }
    }

    /// The TLS files as the member's `etcd.conf` names them: cert, key, CA.
    pub fn node_tls(&self, m: &MemberSpec) -> (PathBuf, PathBuf, PathBuf) {
        match self {
            Provision::Sandbox { dir } => {
                let (cert, key) = self.cert_paths(m);
                (cert, key, dir.join("pki").join("ca.crt"))
            }
            _ => (NODE_CERT.into(), NODE_KEY.into(), NODE_CA.into()),
        }
    }

    /// The address a member of inventory host `ip` listens on.
    pub fn live_ip(&self, ip: IpAddr) -> Result<IpAddr, String> {
        match self {
            Provision::Sandbox { .. } => {
                crate::sandbox::loopback_for(ip).map_err(|e| e.to_string())
            }
            _ => Ok(ip),
        }
    }
}

/// One edit of the inventory's `etcd` group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum InventoryChange {
    Add { ip: IpAddr, seq: u32 },
    Comment { ip: IpAddr },
    Remove { ip: IpAddr },
}

/// The inventory a membership wizard reads and edits.
#[derive(Debug, Clone)]
pub struct InventoryFile {
    pub path: PathBuf,
    pub text: String,
    pub parsed: Inventory,
    /// Hosts commented out of the `etcd` group (their seqs are never reused).
    pub commented: Vec<(String, u32)>,
}

/// What the membership planners know besides the cluster.
pub struct Setting<'a> {
    pub status: &'a ClusterStatus,
    pub inventory: Option<&'a InventoryFile>,
    pub provision: &'a Provision,
    /// The CA (certificate, key), or where it was looked for.
    pub ca: &'a Result<(PathBuf, PathBuf), String>,
    /// Seqs used before by members of this cluster (etcdeck's own record): seq -> by whom.
    pub used: &'a BTreeMap<u32, String>,
    pub common: &'a Common,
    /// `--override-safeguard NAME`: the name typed to remove a member under `etcd_safeguard`.
    pub override_safeguard: Option<&'a str>,
}

/// What `member add` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOptions {
    pub ip: IpAddr,
    pub seq: Option<u32>,
}

impl AddOptions {
    /// The options that shape the plan, for the journal.
    pub fn args(&self) -> String {
        match self.seq {
            Some(n) => format!("--ip {} --seq {n}", self.ip),
            None => format!("--ip {}", self.ip),
        }
    }
}

/// The address in a URL `https://1.2.3.4:2380` or `https://[::1]:2380`.
pub fn url_ip(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next()?;
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The seq in a member name `<cluster>-<seq>`.
fn seq_of(name: &str, cluster: &str) -> Option<u32> {
    name.strip_prefix(cluster)?.strip_prefix('-')?.parse().ok()
}

/// Every seq taken, with by whom: the live members, the inventory's hosts (but `except_ip`),
/// hosts commented out, and etcdeck's record of members added before.
fn taken_seqs(x: &Setting<'_>, cluster: &str, except_ip: Option<IpAddr>) -> BTreeMap<u32, String> {
    let mut out: BTreeMap<u32, String> = x.used.clone();
    if let Some(inv) = x.inventory {
        for (ip, n) in &inv.commented {
            out.insert(*n, format!("{ip}, commented out of the inventory"));
        }
        for h in &inv.parsed.hosts {
            if Some(h.ip) != except_ip {
                out.insert(h.seq, format!("inventory host {}", h.ip));
            }
        }
    }
    for m in &x.status.members {
        if let Some(n) = seq_of(&m.name, cluster) {
            out.insert(n, format!("member {}", m.name));
        }
    }
    out
}

/// The member that a name or hex id names.
pub fn find<'a>(s: &'a ClusterStatus, wanted: &str) -> Option<&'a MemberStatus> {
    super::defrag::find(s, wanted)
}

/// The member that a name or hex id names; a member added but never started has no name yet,
/// and is found by the inventory host of that name (its address in the peer URL).
pub fn find_named<'a>(x: &Setting<'a>, wanted: &str) -> Option<&'a MemberStatus> {
    if let Some(m) = find(x.status, wanted) {
        return Some(m);
    }
    let h = x
        .inventory?
        .parsed
        .hosts
        .iter()
        .find(|h| h.name() == wanted)?;
    let ip = x.provision.live_ip(h.ip).ok()?;
    x.status
        .members
        .iter()
        .find(|m| m.name.is_empty() && m.peer_urls.iter().any(|u| url_ip(u) == Some(ip)))
}

/// Refusals of an add: a voter down or never started (remove it first), a learner present, no
/// leader, an alarm raised.
fn add_refusals(s: &ClusterStatus, except: Option<u64>, new_ip: IpAddr) -> Vec<Refusal> {
    let mut out = Vec::new();
    for m in s
        .members
        .iter()
        .filter(|m| !m.is_learner && Some(m.id) != except)
    {
        if !m.started || !m.reachable {
            out.push(Refusal::new(
                format!(
                    "voter {} {}",
                    name(m),
                    if m.started {
                        format!(
                            "does not answer ({})",
                            m.error_short.as_deref().unwrap_or("no answer")
                        )
                    } else {
                        "was added but never started".into()
                    }
                ),
                format!(
                    "remove it first: etcd refuses an add while a member is down (before 3.5.30), \
                     and a new voter would only raise the quorum; replace it in one go with \
                     `etcdeck member replace {} --ip {new_ip}`",
                    name(m)
                ),
            ));
        }
    }
    for m in s.members.iter().filter(|m| m.is_learner) {
        out.push(if m.started {
            Refusal::new(
                format!("learner {} is in the cluster already", name(m)),
                format!(
                    "etcd allows one learner at a time: promote it first (`etcdeck member \
                     promote {}`) or remove it",
                    name(m)
                ),
            )
        } else {
            Refusal::new(
                format!(
                    "learner {} at {} was added but never started",
                    name(m),
                    m.peer_urls.join(",")
                ),
                format!(
                    "finish that add (run the same `etcdeck member add` again) or roll it back \
                     (`etcdeck member remove {}`)",
                    name(m)
                ),
            )
        });
    }
    let others_up = s
        .members
        .iter()
        .filter(|m| !m.is_learner && Some(m.id) != except)
        .all(|m| m.reachable);
    if others_up && s.leader.is_none() {
        out.push(Refusal::new(
            "the cluster has no leader",
            "wait for the election to end (`etcdeck status`)",
        ));
    }
    for a in s.alarms.iter().filter(|a| Some(a.member_id) != except) {
        out.push(Refusal::new(
            format!("alarm {} is raised on {}", a.alarm, a.member),
            if a.alarm == "NOSPACE" {
                "recover first (`etcdeck alarm recover`): a new member copies the whole database"
            } else {
                "a member's data differs from the others: find it (`etcdeck alarm list`) and \
                 replace it first"
            },
        ));
    }
    out
}

/// The quorum line of a plan: voters, votes needed, failures tolerated.
fn quorum_text(q: &Quorum) -> String {
    if q.up < q.voters {
        // A voter down: what is tolerated now, not at best.
        format!(
            "{} voter(s), {} up, quorum {}, tolerates {} now",
            q.voters,
            q.up,
            q.needed,
            q.tolerates_now()
        )
    } else {
        format!(
            "{} voter(s), quorum {}, tolerates {}",
            q.voters,
            q.needed,
            q.tolerates_at_best()
        )
    }
}

/// Warnings about the voter count a change leaves.
fn count_warnings(voters_after: usize, out: &mut Vec<String>) {
    if voters_after == 2 {
        out.push(
            "2 voters tolerate no failure (quorum is 2), and removing one more from 2 is unsafe: \
             add a member back soon"
                .into(),
        );
    } else if voters_after > 0 && voters_after.is_multiple_of(2) {
        out.push(format!(
            "{voters_after} voters tolerate no more failures than {}: add one more member (or \
             remove one) for an odd count",
            voters_after - 1
        ));
    }
}

/// The new member's host as the inventory will have it: the host itself when the inventory
/// has it, else one with the group's vars.
fn new_host(inv: &Inventory, ip: IpAddr, seq: u32) -> Host {
    if let Some(h) = inv.hosts.iter().find(|h| h.ip == ip) {
        return h.clone();
    }
    // Group and global vars are the same on every host; host vars are not carried over.
    let mut params = inv
        .hosts
        .first()
        .map(|h| h.params.clone())
        .unwrap_or_default();
    if let Some(h) = inv.hosts.first() {
        let d = Params::default();
        for (k, o) in &h.origins {
            if *o == crate::inventory::Origin::Host {
                match k.as_str() {
                    "etcd_data" => params.etcd_data = d.etcd_data.clone(),
                    "etcd_port" => params.etcd_port = d.etcd_port,
                    "etcd_peer_port" => params.etcd_peer_port = d.etcd_peer_port,
                    "etcd_election_timeout" => {
                        params.etcd_election_timeout = d.etcd_election_timeout
                    }
                    "etcd_heartbeat_interval" => {
                        params.etcd_heartbeat_interval = d.etcd_heartbeat_interval
                    }
                    "etcd_safeguard" => params.etcd_safeguard = d.etcd_safeguard,
                    _ => {}
                }
            }
        }
    }
    Host {
        ip,
        seq,
        params,
        origins: BTreeMap::new(),
        line: 0,
    }
}

fn step(key: &str, kind: StepKind, text: String, tolerates: usize, changes: bool) -> Step {
    Step {
        key: key.into(),
        kind,
        text,
        member: None,
        via: None,
        tolerates,
        changes,
    }
}

/// What an add needs once its checks have passed.
struct NewMember {
    spec: MemberSpec,
    /// The inventory edit, when the inventory lacks the host, and its diff.
    edit: Option<(PathBuf, InventoryChange, String)>,
    ca: (PathBuf, PathBuf),
    warnings: Vec<String>,
}

/// The edit of `change` on the inventory as it is now: its diff and the inventory after it, or
/// why it cannot be made (nothing is written either way).
pub fn try_edit(
    inv: &InventoryFile,
    change: &InventoryChange,
) -> Result<(String, InventoryFile), String> {
    use crate::inventory::edit::{self, Edit};
    let e = match change {
        InventoryChange::Add { ip, seq } => Edit::Add { ip: *ip, seq: *seq },
        InventoryChange::Comment { ip } => Edit::Comment { ip: *ip },
        InventoryChange::Remove { ip } => Edit::Remove { ip: *ip },
    };
    let name = inv.path.display().to_string();
    let edited = edit::apply(&inv.text, &name, &e).map_err(|e| e.to_string())?;
    let parsed = crate::inventory::parse(&edited.after, &name, &[]).map_err(|d| {
        d.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let commented = edit::commented_seqs(&edited.after);
    let after = InventoryFile {
        path: inv.path.clone(),
        text: edited.after,
        parsed,
        commented,
    };
    Ok((edited.diff, after))
}

/// The checks of an add of `o` (with `except`, a member being replaced, left out); the new
/// member on success.
fn check_add(
    x: &Setting<'_>,
    o: &AddOptions,
    except: Option<&MemberStatus>,
) -> Result<NewMember, Vec<Refusal>> {
    let s = x.status;
    let mut r = add_refusals(s, except.map(|m| m.id), o.ip);
    let Some(inv) = x.inventory else {
        r.push(Refusal::new(
            "no inventory to add the member to",
            "name the Pigsty inventory with -i FILE (or ETCDECK_INVENTORY): the member's name, \
             ports and files come from it",
        ));
        return Err(r);
    };
    let cluster = inv.parsed.cluster().to_string();
    let in_inv = inv.parsed.hosts.iter().find(|h| h.ip == o.ip);
    let taken = taken_seqs(x, &cluster, in_inv.map(|h| h.ip));
    let next = taken.keys().max().map_or(1, |n| n + 1);
    let seq = match (o.seq, in_inv) {
        (Some(n), Some(h)) if h.seq != n => {
            r.push(Refusal::new(
                format!("the inventory gives {} etcd_seq {}, not {n}", o.ip, h.seq),
                "drop --seq to use the inventory's, or change the inventory first",
            ));
            h.seq
        }
        (_, Some(h)) => h.seq,
        (Some(n), None) => n,
        (None, None) => next,
    };
    if let Some(who) = taken.get(&seq) {
        r.push(Refusal::new(
            format!("etcd_seq {seq} was used before ({who})"),
            format!(
                "a seq is never reused (etcd, Pigsty's monitoring and the audit log know members \
                 by name): {}",
                if in_inv.is_some() {
                    format!(
                        "give {} a new etcd_seq in the inventory ({next} is free)",
                        o.ip
                    )
                } else {
                    format!("use --seq {next}, or leave --seq out")
                }
            ),
        ));
    }
    let change = InventoryChange::Add { ip: o.ip, seq };
    // The host as the inventory will have it (the group's vars, as Pigsty will render it).
    let (host, edit) = if in_inv.is_some() || !r.is_empty() {
        (new_host(&inv.parsed, o.ip, seq), None)
    } else {
        match try_edit(inv, &change) {
            Ok((diff, after)) => (
                after
                    .parsed
                    .hosts
                    .iter()
                    .find(|h| h.ip == o.ip)
                    .cloned()
                    .unwrap_or_else(|| new_host(&inv.parsed, o.ip, seq)),
                Some((inv.path.clone(), change, diff)),
            ),
            Err(why) => {
                r.push(Refusal::new(
                    format!("the inventory cannot take {}: {why}", o.ip),
                    "fix the inventory (`etcdeck inventory check`), or add the host by hand \
                     and run this again",
                ));
                (new_host(&inv.parsed, o.ip, seq), None)
            }
        }
    };
    let ip = match x.provision.live_ip(o.ip) {
        Ok(ip) => ip,
        Err(e) => {
            r.push(Refusal::new(e, "use an IPv4 address"));
            return Err(r);
        }
    };
    let spec = MemberSpec::of_host(&host, ip);
    let others = || {
        s.members
            .iter()
            .filter(move |m| Some(m.id) != except.map(|e| e.id))
    };
    if let Some(m) = others().find(|m| m.name == spec.name) {
        r.push(Refusal::new(
            format!("member {} exists already ({:x})", spec.name, m.id),
            "pick another etcd_seq",
        ));
    }
    if let Some(m) = others().find(|m| {
        m.peer_urls
            .iter()
            .chain(&m.client_urls)
            .any(|u| url_ip(u) == Some(ip))
    }) {
        r.push(Refusal::new(
            format!("{ip} is the address of member {} already", name(m)),
            "add a member on another node, or replace that one (`etcdeck member replace`)",
        ));
    }
    // Pigsty renders initial-cluster from the inventory: it must list every member.
    let missing: Vec<String> = others()
        .filter(|m| !m.name.is_empty() && !inv.parsed.hosts.iter().any(|h| h.name() == m.name))
        .map(name)
        .collect();
    let mut warnings = Vec::new();
    if !missing.is_empty() && !matches!(x.provision, Provision::Pigsty { .. }) {
        // etcdeck renders the new member's from the member list; the inventory is still wrong.
        warnings.push(format!(
            "the inventory lacks member(s) {}: Pigsty's playbooks would render a wrong \
             initial-cluster from it; put them in (`etcdeck inventory add`)",
            missing.join(", ")
        ));
    }
    if let Provision::Pigsty { .. } = x.provision {
        if !missing.is_empty() {
            r.push(Refusal::new(
                format!(
                    "the inventory lacks member(s) {}: Pigsty would render an initial-cluster \
                     that etcd refuses",
                    missing.join(", ")
                ),
                "put every live member in the inventory's etcd group first (`etcdeck inventory \
                 add`)",
            ));
        }
    }
    let ca = match x.ca {
        Ok(ca) => ca.clone(),
        Err(where_) => {
            r.push(Refusal::new(
                format!("no CA to issue the member's certificate: {where_}"),
                "pass --ca-cert FILE --ca-key FILE (Pigsty keeps them in files/pki/ca/ of its \
                 home)",
            ));
            (PathBuf::new(), PathBuf::new())
        }
    };
    if !r.is_empty() {
        return Err(r);
    }
    Ok(NewMember {
        spec,
        edit,
        ca,
        warnings,
    })
}

/// The steps that add `m`: the inventory, the files, the learner, its start, catch-up, promote,
/// the references. Keys get `prefix`.
fn add_steps(x: &Setting<'_>, m: &NewMember, prefix: &str, tolerates: usize) -> Vec<Step> {
    let spec = &m.spec;
    let p = x.provision.clone();
    let k = |key: &str| format!("{prefix}{key}");
    let mut steps = Vec::new();
    if let Some((file, change, _)) = &m.edit {
        steps.push(step(
            &k("inventory"),
            StepKind::InventoryEdit {
                file: file.clone(),
                change: change.clone(),
            },
            format!(
                "add {} (etcd_seq {}) to the inventory's etcd group in {}",
                spec.inventory_ip,
                spec.seq,
                file.display()
            ),
            tolerates,
            true,
        ));
    }
    let (cert, _) = p.cert_paths(spec);
    steps.push(step(
        &k("cert"),
        StepKind::Certificate {
            member: spec.clone(),
            provision: p.clone(),
            ca_cert: m.ca.0.clone(),
            ca_key: m.ca.1.clone(),
        },
        format!(
            "issue the certificate of {} (CN {0}, IP {}) from {} into {}",
            spec.name,
            spec.ip,
            m.ca.0.display(),
            cert.display()
        ),
        tolerates,
        false,
    ));
    steps.push(step(
        &k("config"),
        StepKind::Config {
            member: spec.clone(),
            provision: p.clone(),
        },
        format!(
            "render {}'s etcd.conf (initial-cluster from the member list, state existing) and \
             etcdctl.sh into {}",
            spec.name,
            p.files_dir(spec).display()
        ),
        tolerates,
        false,
    ));
    let mut add = step(
        &k("add"),
        StepKind::AddLearner {
            member: spec.clone(),
        },
        format!(
            "add {} at {} as a learner (no vote: the quorum does not change)",
            spec.name,
            spec.peer_url()
        ),
        tolerates,
        true,
    );
    add.member = leader(x.status).map(name);
    add.via = leader(x.status).and_then(|l| l.client_urls.first().cloned());
    steps.push(add);
    steps.push(step(
        &k("start"),
        StepKind::StartMember {
            member: spec.clone(),
            provision: p.clone(),
        },
        match &p {
            Provision::Sandbox { .. } => format!("start {} (a local etcd process)", spec.name),
            Provision::Pigsty { home, .. } => format!(
                "start {}: {}",
                spec.name,
                crate::provision::display_argv(
                    &crate::provision::pigsty::Pigsty::new(home)
                        .start_argv_keeping_cert(&provision_member(spec))
                )
            ),
            Provision::Manual { out, .. } => format!(
                "start {} on {} by hand from {} (etcdeck waits for it)",
                spec.name,
                spec.inventory_ip,
                out.display()
            ),
        },
        tolerates,
        true,
    ));
    steps.push(step(
        &k("catchup"),
        StepKind::CatchUp {
            peer_url: spec.peer_url(),
        },
        format!("wait until {} has caught up with the leader", spec.name),
        tolerates,
        false,
    ));
    let mut promote = step(
        &k("promote"),
        StepKind::Promote {
            peer_url: spec.peer_url(),
        },
        format!(
            "promote {} to a voter (sent to the leader, retried while not in sync)",
            spec.name
        ),
        tolerates,
        true,
    );
    promote.member = leader(x.status).map(name);
    promote.via = leader(x.status).and_then(|l| l.client_urls.first().cloned());
    steps.push(promote);
    steps.push(references_step(&k("references"), spec, true, &p, tolerates));
    steps
}

fn references_step(key: &str, spec: &MemberSpec, added: bool, p: &Provision, t: usize) -> Step {
    step(
        key,
        StepKind::References {
            member: spec.clone(),
            added,
            provision: p.clone(),
        },
        format!(
            "refresh the references to the members ({} {}): etcd.conf of the others (no \
             restart), etcdctl.sh, patronictl, Patroni's etcd3.hosts (never a restart), \
             vip-manager, monitoring",
            if added { "with" } else { "without" },
            spec.name
        ),
        t,
        matches!(p, Provision::Sandbox { .. } | Provision::Pigsty { .. }),
    )
}

/// `etcdeck member add --ip IP [--seq N]`.
pub fn add_plan(x: &Setting<'_>, o: &AddOptions) -> Result<Plan, Vec<Refusal>> {
    let s = x.status;
    let m = check_add(x, o, None)?;
    let q = s.quorum();
    let t = q.tolerates_now();
    let after = q.after_promote();
    let mut warnings = m.warnings.clone();
    count_warnings(after.voters, &mut warnings);
    let mut steps = Vec::new();
    if x.common.snapshot {
        steps.push(snapshot_step(s, x.common).map_err(|r| vec![r])?);
    }
    steps.push(gate_step("gate:start", false, t));
    steps.extend(add_steps(x, &m, "", t));
    steps.push(gate_step(
        "gate:end",
        false,
        after.tolerates_at_best().min(t + 1),
    ));
    Ok(Plan {
        op: Op::MemberAdd,
        cluster_id: s.cluster_id,
        confirm: Some(m.spec.name.clone()),
        tolerates_now: t,
        facts: vec![
            format!(
                "add {} at {} (inventory host {}), provisioned by {}",
                m.spec.name,
                m.spec.peer_url(),
                m.spec.inventory_ip,
                x.provision.kind()
            ),
            format!("quorum before: {}", quorum_text(&q)),
            format!(
                "quorum while {} is a learner: {} (a learner has no vote)",
                m.spec.name,
                quorum_text(&q)
            ),
            format!("quorum after the promote: {}", quorum_text(&after)),
        ]
        .into_iter()
        .chain(diff_fact(m.edit.as_ref().map(|e| e.2.as_str())))
        .collect(),
        warnings,
        steps,
    })
}

/// The inventory diff, as facts of the plan (a line each).
fn diff_fact(diff: Option<&str>) -> Vec<String> {
    let Some(d) = diff else { return Vec::new() };
    std::iter::once("the inventory edit (diff):".to_string())
        .chain(d.lines().map(|l| format!("  {l}")))
        .collect()
}

/// The inventory edit that comments a member's host out: the file, the change, its diff and
/// the inventory after it.
struct CommentEdit {
    file: PathBuf,
    change: InventoryChange,
    diff: String,
    after: InventoryFile,
}

/// The edit that comments the member's host out, when the inventory has it; or why it cannot
/// be made. Made once per plan: it reads and re-parses the whole inventory.
fn comment_edit(x: &Setting<'_>, spec: &MemberSpec) -> Option<Result<CommentEdit, Refusal>> {
    let inv = x.inventory?;
    let h = inv.parsed.hosts.iter().find(|h| h.name() == spec.name)?;
    let change = InventoryChange::Comment { ip: h.ip };
    Some(match try_edit(inv, &change) {
        Ok((diff, after)) => Ok(CommentEdit {
            file: inv.path.clone(),
            change,
            diff,
            after,
        }),
        Err(why) => Err(Refusal::new(
            format!("the inventory cannot comment {} out: {why}", h.ip),
            "fix the inventory (`etcdeck inventory check`), or comment the host out by hand \
             and run this again",
        )),
    })
}

/// The spec of a live member: from the inventory host of its name when there is one, else from
/// its peer URL with Pigsty's defaults.
fn spec_of(x: &Setting<'_>, m: &MemberStatus) -> MemberSpec {
    let ip = m.peer_urls.iter().find_map(|u| url_ip(u));
    if let Some(inv) = x.inventory {
        if let Some(h) = inv.parsed.hosts.iter().find(|h| {
            (!m.name.is_empty() && h.name() == m.name)
                || ip.is_some_and(|ip| x.provision.live_ip(h.ip).ok() == Some(ip))
        }) {
            let live = x.provision.live_ip(h.ip).unwrap_or(h.ip);
            return MemberSpec::of_host(h, live);
        }
    }
    let cluster = x
        .inventory
        .map_or_else(|| "etcd".to_string(), |i| i.parsed.cluster().to_string());
    let d = Params::default();
    let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let port = |urls: &[String], dflt| {
        urls.first()
            .and_then(|u| u.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(dflt)
    };
    MemberSpec {
        name: name(m),
        seq: seq_of(&m.name, &cluster).unwrap_or(0),
        cluster,
        inventory_ip: ip,
        ip,
        port: port(&m.client_urls, d.etcd_port),
        peer_port: port(&m.peer_urls, d.etcd_peer_port),
        data: d.etcd_data,
        election_timeout: d.etcd_election_timeout,
        heartbeat_interval: d.etcd_heartbeat_interval,
    }
}

/// The unfinished adds (and replaces) whose learner at `peer_url` was removed (`by`: how): each
/// journal ends abandoned, "rolled back", so that the same wizard plans afresh instead of
/// resuming it. Their ids.
pub fn roll_back_adds(state: &Path, cluster_id: u64, peer_url: &str, by: &str) -> Vec<String> {
    use super::journal::{self, Journal, Standing};
    let mut out = Vec::new();
    for op in [Op::MemberAdd, Op::MemberReplace] {
        let Ok(Some(rec)) = journal::unfinished(state, cluster_id, op) else {
            continue;
        };
        let adds_it = rec.plan.steps.iter().any(
            |s| matches!(&s.kind, StepKind::AddLearner { member } if member.peer_url() == peer_url),
        );
        if adds_it {
            let id = rec.id.clone();
            if let Ok(mut j) = Journal::open(state, rec) {
                let why = format!("rolled back: its member was removed ({by})");
                if j.finish(Standing::Abandoned, Some(why)).is_ok() {
                    out.push(id);
                }
            }
        }
    }
    out
}

/// `etcdeck member promote NAME|ID`: a learner added elsewhere (Pigsty with `etcd_learner:
/// true` never promotes).
pub fn promote_plan(x: &Setting<'_>, target: &str) -> Result<Plan, Vec<Refusal>> {
    let s = x.status;
    let mut r = Vec::new();
    let m = find_named(x, target);
    match m {
        None => r.push(Refusal::new(
            format!("no member {target} in the cluster"),
            "name one from `etcdeck status` (a name or a hex id)",
        )),
        Some(m) if !m.is_learner => r.push(Refusal::new(
            format!("{} is a voter already", name(m)),
            "nothing to promote",
        )),
        Some(m) if !m.started => r.push(Refusal::new(
            format!("learner {} was added but never started", name(m)),
            format!(
                "start it on its node first (Pigsty: ./etcd.yml -l <ip> -e etcd_init=existing), \
                 or roll it back (`etcdeck member remove {}`)",
                name(m)
            ),
        )),
        Some(_) => {}
    }
    for v in s.members.iter().filter(|v| !v.is_learner) {
        if !v.started || !v.reachable {
            r.push(Refusal::new(
                format!("voter {} does not answer", name(v)),
                "bring it back or remove it first: a new voter raises the quorum",
            ));
        }
    }
    if r.is_empty() && leader(s).is_none() {
        r.push(Refusal::new(
            "no leader answers",
            "wait for the election to end (`etcdeck status`): the leader decides a promote",
        ));
    }
    if !r.is_empty() {
        return Err(r);
    }
    let m = m.expect("checked above");
    let spec = spec_of(x, m);
    let q = s.quorum();
    let t = q.tolerates_now();
    let after = q.after_promote();
    let mut warnings = Vec::new();
    count_warnings(after.voters, &mut warnings);
    let peer_url = m.peer_urls.first().cloned().unwrap_or_default();
    let mut promote = step(
        "promote",
        StepKind::Promote {
            peer_url: peer_url.clone(),
        },
        format!(
            "promote {} to a voter (sent to the leader, retried while not in sync)",
            name(m)
        ),
        t,
        true,
    );
    promote.member = leader(s).map(name);
    promote.via = leader(s).and_then(|l| l.client_urls.first().cloned());
    let steps = vec![
        gate_step("gate:start", false, t),
        step(
            "catchup",
            StepKind::CatchUp { peer_url },
            format!("wait until {} has caught up with the leader", name(m)),
            t,
            false,
        ),
        promote,
        references_step("references", &spec, true, x.provision, t),
        gate_step("gate:end", false, after.tolerates_at_best().min(t + 1)),
    ];
    Ok(Plan {
        op: Op::MemberPromote,
        cluster_id: s.cluster_id,
        confirm: Some(name(m)),
        tolerates_now: t,
        facts: vec![
            format!("quorum before: {}", quorum_text(&q)),
            format!("quorum after the promote: {}", quorum_text(&after)),
        ],
        warnings,
        steps,
    })
}

/// The checks of removing `m`.
fn check_remove(
    x: &Setting<'_>,
    m: &MemberStatus,
    edit: Option<&Result<CommentEdit, Refusal>>,
    r: &mut Vec<Refusal>,
    w: &mut Vec<String>,
) {
    let s = x.status;
    let q = s.quorum();
    if !m.is_learner {
        if q.voters <= 1 {
            r.push(Refusal::new(
                format!("{} is the last voter", name(m)),
                "a cluster needs a voter: remove the whole cluster with Pigsty's etcd-rm.yml, \
                 not member by member",
            ));
            return;
        }
        // The started voters left must keep quorum of the new size (etcd's own rule, from what
        // answers now: a member that does not answer counts as not started).
        let left = q.voters - 1;
        let up_left = s
            .members
            .iter()
            .filter(|v| !v.is_learner && v.id != m.id && v.started && v.reachable)
            .count();
        if up_left < quorum_of(left) {
            r.push(Refusal::new(
                format!(
                    "removing {} leaves {up_left} answering voter(s) of {left}: quorum needs {}",
                    name(m),
                    quorum_of(left)
                ),
                "bring the members that are down back first",
            ));
        }
        if q.voters == 2 {
            w.push(format!(
                "removing a member from a 2-member cluster is unsafe: if {} is still needed for \
                 the commit, the cluster stops; add a member first when you can",
                name(m)
            ));
        }
        count_warnings(left, w);
        if m.reachable {
            w.push(format!(
                "{} answers: it is a healthy member; the cluster tolerates one failure fewer \
                 while it is gone",
                name(m)
            ));
        }
    }
    if m.is_leader && m.reachable {
        let others = s
            .members
            .iter()
            .any(|v| !v.is_learner && v.id != m.id && v.reachable);
        if !others {
            r.push(Refusal::new(
                format!("{} leads and no other voter answers", name(m)),
                "bring a member back first",
            ));
        }
    }
    if let Some(Err(refusal)) = edit {
        r.push(refusal.clone());
    }
    let safeguard = x.inventory.and_then(|inv| {
        let spec = spec_of(x, m);
        inv.parsed
            .hosts
            .iter()
            .find(|h| h.name() == spec.name)
            .filter(|h| h.params.etcd_safeguard)
    });
    if let Some(h) = safeguard {
        match x.override_safeguard {
            Some(typed) if typed == h.name() => w.push(format!(
                "etcd_safeguard is on for {} ({}): overridden by --override-safeguard",
                h.name(),
                h.ip
            )),
            Some(typed) => r.push(Refusal::new(
                format!(
                    "--override-safeguard names {typed}, not {}",
                    crate::text::escape(&h.name())
                ),
                format!("pass --override-safeguard {}", h.name()),
            )),
            None => r.push(Refusal::new(
                format!(
                    "etcd_safeguard is on for {} ({}): the inventory forbids purging it",
                    h.name(),
                    h.ip
                ),
                format!(
                    "set etcd_safeguard: false in the inventory, or pass --override-safeguard {}",
                    h.name()
                ),
            )),
        }
    }
}

/// The steps that remove `m`: leadership away, the inventory, the references, the remove, the
/// purge. Keys get `prefix`.
fn remove_steps(
    x: &Setting<'_>,
    m: &MemberStatus,
    edit: Option<&CommentEdit>,
    prefix: &str,
    t: usize,
) -> Vec<Step> {
    let s = x.status;
    let spec = spec_of(x, m);
    let k = |key: &str| format!("{prefix}{key}");
    let mut steps = Vec::new();
    if m.is_leader && m.reachable {
        if let Some(to) = s
            .members
            .iter()
            .filter(|v| !v.is_learner && v.id != m.id && v.reachable && v.started)
            .max_by_key(|v| (v.raft_applied_index, std::cmp::Reverse(v.id)))
        {
            let mut mv = super::defrag::move_leader_step(m, to, t);
            mv.key = k("move-leader");
            let mut verify = super::defrag::verify_leader_step(to, t);
            verify.key = k("verify-leader");
            steps.push(mv);
            steps.push(verify);
        }
    }
    if let Some(e) = edit {
        let ip = match &e.change {
            InventoryChange::Comment { ip } => *ip,
            _ => spec.inventory_ip,
        };
        steps.push(step(
            &k("inventory"),
            StepKind::InventoryEdit {
                file: e.file.clone(),
                change: e.change.clone(),
            },
            format!(
                "comment {ip} ({}) out of the inventory's etcd group in {}",
                spec.name,
                e.file.display()
            ),
            t,
            true,
        ));
    }
    steps.push(references_step(
        &k("references"),
        &spec,
        false,
        x.provision,
        t,
    ));
    let peer_url = m.peer_urls.first().cloned().unwrap_or_default();
    let rm = step(
        &k("remove"),
        StepKind::RemoveMember { id: m.id, peer_url },
        format!(
            "remove {} ({:x}) from the cluster (sent to a remaining voter)",
            name(m),
            m.id
        ),
        t,
        true,
    );
    steps.push(rm);
    steps.push(step(
        &k("purge"),
        StepKind::Purge {
            member: spec.clone(),
            provision: x.provision.clone(),
            override_safeguard: x.override_safeguard.is_some(),
        },
        match x.provision {
            Provision::Sandbox { .. } => {
                format!(
                    "stop {} and delete its data (once it is out of the member list)",
                    spec.name
                )
            }
            Provision::Pigsty { home, .. } => format!(
                "purge {} once it is out of the member list: {}",
                spec.name,
                crate::provision::display_argv(
                    &crate::provision::pigsty::Pigsty::new(home)
                        .purge_argv(&provision_member(&spec), x.override_safeguard.is_some())
                )
            ),
            Provision::Manual { .. } => format!(
                "stop etcd on {} and delete {} (by hand, once it is out of the member list)",
                spec.inventory_ip, spec.data
            ),
        },
        t,
        true,
    ));
    steps
}

/// `etcdeck member remove NAME|ID`.
pub fn remove_plan(x: &Setting<'_>, target: &str) -> Result<Plan, Vec<Refusal>> {
    let s = x.status;
    let Some(m) = find_named(x, target) else {
        return Err(vec![Refusal::new(
            format!("no member {target} in the cluster"),
            "name one from `etcdeck status` (a name or a hex id)",
        )]);
    };
    let mut r = Vec::new();
    let mut warnings = Vec::new();
    let edit = comment_edit(x, &spec_of(x, m));
    check_remove(x, m, edit.as_ref(), &mut r, &mut warnings);
    let edit = edit.and_then(Result::ok);
    if r.is_empty() && leader(s).is_none() {
        r.push(Refusal::new(
            "no leader answers",
            "wait for the election to end (`etcdeck status`)",
        ));
    }
    if !r.is_empty() {
        return Err(r);
    }
    let q = s.quorum();
    let t = q.tolerates_now();
    let after = q.after_remove(m.is_learner, m.started, m.reachable);
    let mut steps = Vec::new();
    if x.common.snapshot {
        steps.push(snapshot_step(s, x.common).map_err(|r| vec![r])?);
    }
    let mut start = gate_step("gate:start", false, t);
    if !m.reachable {
        start.kind = StepKind::Gate {
            tolerate_nospace: false,
            except: vec![m.id],
        };
        start.text = format!(
            "health gate: every voter but {} answers, one leader, caught up, no alarm",
            name(m)
        );
    }
    steps.push(start);
    steps.extend(remove_steps(
        x,
        m,
        edit.as_ref(),
        "",
        t.min(after.tolerates_now()),
    ));
    steps.push(gate_step("gate:end", false, after.tolerates_now()));
    let mut facts = vec![
        format!(
            "remove {} ({}{}), provisioned by {}",
            name(m),
            if m.is_learner { "a learner" } else { "a voter" },
            if m.reachable { "" } else { ", down" },
            x.provision.kind()
        ),
        format!("quorum before: {}", quorum_text(&q)),
        format!("quorum after: {}", quorum_text(&after)),
    ];
    if m.is_leader && m.reachable {
        facts.push(format!(
            "{} leads: leadership moves to another voter first (a planned election)",
            name(m)
        ));
    }
    if let Some(e) = &edit {
        facts.extend(diff_fact(Some(&e.diff)));
    }
    Ok(Plan {
        op: Op::MemberRemove,
        cluster_id: s.cluster_id,
        // A member never started has no name yet: the inventory's name for it.
        confirm: Some(spec_of(x, m).name),
        tolerates_now: t,
        facts,
        warnings,
        steps,
    })
}

/// `etcdeck member replace OLD --ip IP`: remove the dead member first (etcd's advice: an add
/// while a member is down fails before 3.5.30), then add the new one; one plan, one
/// confirmation, one journal.
pub fn replace_plan(x: &Setting<'_>, old: &str, o: &AddOptions) -> Result<Plan, Vec<Refusal>> {
    let s = x.status;
    let Some(m) = find_named(x, old) else {
        return Err(vec![Refusal::new(
            format!("no member {old} in the cluster"),
            "name one from `etcdeck status` (a name or a hex id)",
        )]);
    };
    let mut r = Vec::new();
    let mut warnings = Vec::new();
    let spec_old = spec_of(x, m);
    let edit = comment_edit(x, &spec_old);
    check_remove(x, m, edit.as_ref(), &mut r, &mut warnings);
    let edit = edit.and_then(Result::ok);
    // The warnings for the count after the remove alone do not apply: the add restores it.
    warnings.retain(|w| !w.contains("voters tolerate no"));
    // A reinstalled node keeps its address: the new host is added to the inventory once the old
    // one is commented out, so the add is checked against the inventory as it will be then.
    let later = edit
        .as_ref()
        .filter(|_| spec_old.inventory_ip == o.ip)
        .map(|e| &e.after);
    let x_later = Setting {
        inventory: later.or(x.inventory),
        ..*x
    };
    let new = match check_add(&x_later, o, Some(m)) {
        Ok(n) => Some(n),
        Err(mut e) => {
            r.append(&mut e);
            None
        }
    };
    if r.is_empty() && leader(s).is_none() {
        r.push(Refusal::new(
            "no leader answers",
            "wait for the election to end (`etcdeck status`)",
        ));
    }
    let Some(new) = new.filter(|_| r.is_empty()) else {
        return Err(r);
    };
    let q = s.quorum();
    let t = q.tolerates_now();
    let mid = q.after_remove(m.is_learner, m.started, m.reachable);
    let end = mid.after_promote();
    warnings.extend(new.warnings.iter().cloned());
    count_warnings(end.voters, &mut warnings);
    let mut steps = Vec::new();
    if x.common.snapshot {
        steps.push(snapshot_step(s, x.common).map_err(|r| vec![r])?);
    }
    steps.push(Step {
        kind: StepKind::Gate {
            tolerate_nospace: false,
            except: vec![m.id],
        },
        text: format!(
            "health gate: every voter but {} answers, one leader, caught up, no alarm",
            name(m)
        ),
        ..gate_step("gate:start", false, t)
    });
    let t_mid = t.min(mid.tolerates_now());
    steps.extend(remove_steps(x, m, edit.as_ref(), "old:", t_mid));
    steps.push(gate_step("gate:between", false, t_mid));
    steps.extend(add_steps(x, &new, "new:", t_mid));
    steps.push(gate_step(
        "gate:end",
        false,
        end.tolerates_at_best().min(t_mid + 1),
    ));
    Ok(Plan {
        op: Op::MemberReplace,
        cluster_id: s.cluster_id,
        confirm: Some(name(m)),
        tolerates_now: t,
        facts: vec![
            format!(
                "replace {} ({}) with {} at {} (inventory host {}), provisioned by {}",
                name(m),
                if m.reachable { "answers" } else { "down" },
                new.spec.name,
                new.spec.peer_url(),
                new.spec.inventory_ip,
                x.provision.kind()
            ),
            format!("quorum before: {}", quorum_text(&q)),
            format!("quorum once {} is removed: {}", name(m), quorum_text(&mid)),
            format!("quorum at the end: {}", quorum_text(&end)),
        ]
        .into_iter()
        .chain(diff_fact(edit.as_ref().map(|e| e.diff.as_str())))
        .chain(diff_fact(new.edit.as_ref().map(|e| e.2.as_str())))
        .collect(),
        warnings,
        steps,
    })
}

/// What to know once a membership wizard is done: the files it wrote for the member, the admin
/// node's etcdctl.sh (unescaped: the caller escapes what it shows).
pub fn after_notes(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Config { member, provision } => Some(format!(
                "{}'s files: {}",
                member.name,
                provision.files_dir(member).display()
            )),
            _ => None,
        })
        .collect();
    out.push(
        "the admin node's etcdctl.sh: `etcdeck render env` prints it for the members as they are \
         now"
        .into(),
    );
    out
}

/// The member as the provisioners take it: its inventory address and params.
pub fn provision_member(m: &MemberSpec) -> crate::provision::Member {
    let mut host = m.host();
    host.ip = m.inventory_ip;
    crate::provision::Member {
        name: m.name.clone(),
        host,
    }
}

/// The member of a live look whose peer URL is `url`.
pub fn by_peer_url<'a>(s: &'a ClusterStatus, url: &str) -> Option<&'a MemberStatus> {
    s.members
        .iter()
        .find(|m| m.peer_urls.iter().any(|u| u == url))
}

/// How far a learner is behind the leader: (learner applied, leader index).
pub fn catch_up(s: &ClusterStatus, learner: &MemberStatus) -> Option<(u64, u64)> {
    let l = leader(s)?;
    learner
        .reachable
        .then_some((learner.raft_applied_index, l.raft_index))
}

/// Whether a learner is close enough to the leader to be promoted.
pub fn in_sync(applied: u64, leader_index: u64) -> bool {
    leader_index.saturating_sub(applied) <= MAX_APPLIED_SPREAD
}

/// The seqs etcdeck has seen used in this cluster, from its record under the state directory
/// (`members/<cluster id>.seqs`: one `seq name ip unix-time` line per member added).
pub fn used_seqs(state: &Path, cluster_id: u64) -> BTreeMap<u32, String> {
    let p = seq_path(state, cluster_id);
    let text = std::fs::read_to_string(&p).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let seq = w.next()?.parse().ok()?;
            let name = w.next().unwrap_or("?");
            let ip = w.next().unwrap_or("?");
            Some((seq, format!("member {name} at {ip}, added by etcdeck")))
        })
        .collect()
}

fn seq_path(state: &Path, cluster_id: u64) -> PathBuf {
    state.join("members").join(format!("{cluster_id:x}.seqs"))
}

/// Record that `m` takes its seq (before the add is sent): it is never offered again.
pub fn record_seq(state: &Path, cluster_id: u64, m: &MemberSpec, now: u64) -> std::io::Result<()> {
    use std::io::Write;
    let p = seq_path(state, cluster_id);
    if used_seqs(state, cluster_id).contains_key(&m.seq) {
        return Ok(());
    }
    if let Some(d) = p.parent() {
        crate::state::private_dir(d).map_err(std::io::Error::other)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)?;
    writeln!(f, "{} {} {} {now}", m.seq, m.name, m.inventory_ip)?;
    f.sync_all()
}

#[cfg(test)]
#[path = "member_tests.rs"]
mod tests;
