//! `etcdeck inventory show`: members, URLs and the effective parameters with their origin.

use std::fmt::Write;

use super::{Host, Inventory, Origin, PARAMS};

fn value_of(h: &Host, key: &str) -> String {
    let p = &h.params;
    match key {
        "etcd_seq" => h.seq.to_string(),
        "etcd_cluster" => p.etcd_cluster.clone(),
        "etcd_safeguard" => p.etcd_safeguard.to_string(),
        "etcd_clean" => p.etcd_clean.to_string(),
        "etcd_data" => p.etcd_data.clone(),
        "etcd_port" => p.etcd_port.to_string(),
        "etcd_peer_port" => p.etcd_peer_port.to_string(),
        "etcd_init" => p.etcd_init.to_string(),
        "etcd_election_timeout" => p.etcd_election_timeout.to_string(),
        "etcd_heartbeat_interval" => p.etcd_heartbeat_interval.to_string(),
        "etcd_learner" => p.etcd_learner.to_string(),
        "etcd_root_password" => p
            .etcd_root_password
            .as_ref()
            .map_or("(unset)", |_| "***")
            .to_string(),
        _ => String::new(),
    }
}

/// The human table: one row per member, then each parameter with its value and origin, and the
/// members where it differs.
pub fn show_text(inv: &Inventory) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: etcd cluster `{}`, {} member(s)\n",
        inv.file,
        inv.cluster(),
        inv.hosts.len()
    );
    let _ = writeln!(
        out,
        "{:<4} {:<16} {:<12} {:<28} PEER URL",
        "SEQ", "IP", "NAME", "CLIENT URL"
    );
    for h in &inv.hosts {
        let _ = writeln!(
            out,
            "{:<4} {:<16} {:<12} {:<28} {}",
            h.seq,
            h.ip,
            h.name(),
            h.client_url(),
            h.peer_url()
        );
    }
    if let Some(first) = inv.hosts.first() {
        let _ = writeln!(out, "\n{:<24} {:<20} FROM", "PARAMETER", "VALUE");
        for key in PARAMS.iter().skip(1) {
            let origin = first.origins.get(*key).copied().unwrap_or(Origin::Default);
            let _ = writeln!(out, "{key:<24} {:<20} {origin}", value_of(first, key));
            for h in inv.hosts.iter().skip(1) {
                let (v, o) = (
                    value_of(h, key),
                    h.origins.get(*key).copied().unwrap_or(Origin::Default),
                );
                if v != value_of(first, key) || o != origin {
                    let _ = writeln!(out, "  on {:<19} {v:<20} {o}", h.name());
                }
            }
        }
    }
    let warnings: Vec<String> = inv.warnings().map(|d| d.to_string()).collect();
    if !warnings.is_empty() {
        let _ = writeln!(out, "\n{}", warnings.join("\n"));
    }
    out
}
