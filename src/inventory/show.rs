//! `etcdeck inventory show`: members, URLs and the effective parameters with their origin.

use std::fmt::Write;

use super::{Host, Inventory, Origin, PARAMS};
use crate::text::escape;

/// A parameter's effective value on a host, as shown (`etcd_root_password` masked, text from the
/// file escaped).
pub fn value_of(h: &Host, key: &str) -> String {
    let p = &h.params;
    match key {
        "etcd_seq" => h.seq.to_string(),
        "etcd_cluster" => escape(&p.etcd_cluster).into_owned(),
        "etcd_safeguard" => p.etcd_safeguard.to_string(),
        "etcd_clean" => p.etcd_clean.to_string(),
        "etcd_data" => escape(&p.etcd_data).into_owned(),
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

/// Rows with every column but the last padded to its widest cell, two spaces apart.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            } else {
                line.push_str(cell);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The human table for `etcdeck inventory show`: one row per member (seq, IP, name, client and
/// peer URL), then each parameter with its value and origin as on the first member, followed by
/// `on <member>` rows where a member differs; the warnings last.
pub fn show_text(inv: &Inventory) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: etcd cluster `{}`, {} member(s)\n",
        escape(&inv.file),
        escape(inv.cluster()),
        inv.hosts.len()
    );
    let mut rows = vec![vec![
        "SEQ".to_string(),
        "IP".into(),
        "NAME".into(),
        "CLIENT URL".into(),
        "PEER URL".into(),
    ]];
    for h in &inv.hosts {
        rows.push(vec![
            h.seq.to_string(),
            h.ip.to_string(),
            escape(&h.name()).into_owned(),
            h.client_url(),
            h.peer_url(),
        ]);
    }
    table(&mut out, &rows);

    if let Some(first) = inv.hosts.first() {
        let origin = |h: &Host, key: &str| h.origins.get(key).copied().unwrap_or(Origin::Default);
        let mut rows = vec![vec!["PARAMETER".to_string(), "VALUE".into(), "FROM".into()]];
        for key in PARAMS.iter().skip(1) {
            let (value, from) = (value_of(first, key), origin(first, key));
            rows.push(vec![key.to_string(), value.clone(), from.to_string()]);
            for h in inv.hosts.iter().skip(1) {
                let (v, o) = (value_of(h, key), origin(h, key));
                if v != value || o != from {
                    rows.push(vec![
                        format!("  on {}", escape(&h.name())),
                        v,
                        o.to_string(),
                    ]);
                }
            }
        }
        out.push('\n');
        table(&mut out, &rows);
    }
    let warnings: Vec<String> = inv.warnings().map(|d| d.to_string()).collect();
    if !warnings.is_empty() {
        let _ = writeln!(out, "\n{}", warnings.join("\n"));
    }
    out
}
