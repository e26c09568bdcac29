//! Patroni-shaped keys for the demo sandbox, modelled on a real Patroni 4.1.5 dump
//! (`tests/fixtures/patroni-4.1.5-pg-meta.json`): each member key and the leader key on a 30 s
//! lease kept alive every `loop_wait`, as Patroni does, with WAL positions moving on.

use std::time::Duration;

use etcd_client::{Client, PutOptions};
use serde_json::json;
use tokio::time::timeout;

use crate::inventory::Inventory;

/// Patroni's default `ttl` and `loop_wait`.
pub const TTL_S: i64 = 30;
/// See [`TTL_S`].
pub const LOOP_WAIT: Duration = Duration::from_secs(10);

/// One PostgreSQL member as Patroni publishes it.
#[derive(Debug, Clone)]
pub struct PgMember {
    pub name: String,
    pub ip: String,
    pub primary: bool,
    pub lease: i64,
    pub lag: u64,
}

/// One Patroni cluster (scope).
#[derive(Debug, Clone)]
pub struct PgCluster {
    pub scope: String,
    pub members: Vec<PgMember>,
    pub synchronous: bool,
    pub timeline: u64,
    pub optime: u64,
    pub system_id: u64,
}

/// Pigsty 4.x's default `etcd_root_password`.
pub const PIGSTY_ROOT_PASSWORD: &str = "Etcd.Root";

/// `etcdeck demo --auth`: auth on, as Pigsty 4.x. Every host gets the inventory's
/// `etcd_root_password` (the first one set), else Pigsty's default `Etcd.Root`.
pub fn with_auth(inv: &mut Inventory) {
    let password = inv
        .hosts
        .iter()
        .find_map(|h| h.params.etcd_root_password.clone())
        .unwrap_or_else(|| PIGSTY_ROOT_PASSWORD.to_string());
    for h in &mut inv.hosts {
        h.params.etcd_root_password = Some(password.clone());
    }
}

/// The demo's clusters: `pg-meta` (two members, sync mode, one switchover behind it, like the
/// real dump), `pg-test` (three members) and `pg-src` (one member).
pub fn demo_clusters() -> Vec<PgCluster> {
    let member = |scope: &str, seq: u32, ip: &str, primary: bool, lag: u64| PgMember {
        name: format!("{scope}-{seq}"),
        ip: ip.to_string(),
        primary,
        lease: 0,
        lag,
    };
    vec![
        PgCluster {
            scope: "pg-meta".into(),
            members: vec![
                member("pg-meta", 1, "10.10.10.10", false, 0),
                member("pg-meta", 2, "10.10.10.11", true, 0),
            ],
            synchronous: true,
            timeline: 2,
            optime: 50_604_744,
            system_id: 7_711_808_436_617_572_412,
        },
        PgCluster {
            scope: "pg-test".into(),
            members: vec![
                member("pg-test", 1, "10.10.10.21", true, 0),
                member("pg-test", 2, "10.10.10.22", false, 8_192),
                member("pg-test", 3, "10.10.10.23", false, 65_536),
            ],
            synchronous: false,
            timeline: 1,
            optime: 134_217_728,
            system_id: 7_711_808_512_000_000_001,
        },
        PgCluster {
            scope: "pg-src".into(),
            members: vec![member("pg-src", 1, "10.10.10.31", true, 0)],
            synchronous: false,
            timeline: 1,
            optime: 25_165_824,
            system_id: 7_711_808_600_000_000_002,
        },
    ]
}

impl PgCluster {
    pub fn leader(&self) -> Option<&PgMember> {
        self.members.iter().find(|m| m.primary)
    }

    /// `/pg/<scope>/members/<name>` value.
    pub fn member_value(&self, m: &PgMember) -> String {
        let api = format!("http://{}:8008/patroni", m.ip);
        let conn = format!("postgres://{}:5432/postgres", m.ip);
        let mut v = json!({
            "conn_url": conn, "api_url": api, "state": "running",
            "role": if m.primary { "primary" } else { "replica" },
            "version": "4.1.5", "tags": {"clonefrom": true, "version": "15"},
            "xlog_location": self.optime.saturating_sub(m.lag), "timeline": self.timeline,
        });
        if !m.primary {
            let pos = self.optime.saturating_sub(m.lag);
            v["replay_lsn"] = json!(pos);
            v["receive_lsn"] = json!(pos);
            v["replication_state"] = json!("streaming");
        }
        v.to_string()
    }

    /// Keys without a lease: config, status, initialize, failsafe, sync, history, failover.
    pub fn static_keys(&self) -> Vec<(String, String)> {
        let slots: serde_json::Map<String, serde_json::Value> = self
            .members
            .iter()
            .map(|m| {
                (
                    m.name.replace('-', "_"),
                    json!(self.optime.saturating_sub(m.lag)),
                )
            })
            .collect();
        let slot_names: Vec<String> = slots.keys().cloned().collect();
        let failsafe: serde_json::Map<String, serde_json::Value> = self
            .members
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    json!(format!("http://{}:8008/patroni", m.ip)),
                )
            })
            .collect();
        let mut keys = vec![
            (
                "config".to_string(),
                json!({"ttl": TTL_S, "loop_wait": LOOP_WAIT.as_secs(), "retry_timeout": 10,
                       "maximum_lag_on_failover": 1_048_576, "failsafe_mode": true,
                       "postgresql": {"use_slots": true, "parameters": {"wal_level": "replica", "hot_standby": "on"}},
                       "synchronous_mode": self.synchronous})
                .to_string(),
            ),
            ("initialize".to_string(), self.system_id.to_string()),
            ("failsafe".to_string(), serde_json::Value::Object(failsafe).to_string()),
            (
                "status".to_string(),
                json!({"optime": self.optime, "slots": slots, "retain_slots": slot_names}).to_string(),
            ),
        ];
        if self.timeline > 1 {
            let prev = self
                .members
                .iter()
                .find(|m| !m.primary)
                .map_or("", |m| m.name.as_str());
            keys.push((
                "history".to_string(),
                json!([[
                    1,
                    self.optime - 552,
                    "no recovery target specified",
                    "2026-11-24T18:37:00.328705+00:00",
                    prev
                ]])
                .to_string(),
            ));
            keys.push(("failover".to_string(), "{}".to_string()));
        }
        if self.synchronous {
            if let (Some(leader), Some(standby)) =
                (self.leader(), self.members.iter().find(|m| !m.primary))
            {
                keys.push((
                    "sync".to_string(),
                    json!({"leader": leader.name, "quorum": 0, "sync_standby": standby.name})
                        .to_string(),
                ));
            }
        }
        keys
    }
}

async fn within<T>(
    t: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
) -> anyhow::Result<T> {
    match timeout(t, f).await {
        Ok(r) => Ok(r.map_err(|e| {
            let ctx = crate::etcd::error::ErrorContext {
                timeout: t,
                ..Default::default()
            };
            anyhow::anyhow!(
                "{what}: {}",
                crate::etcd::error::classify("sandbox", &ctx, &e)
            )
        })?),
        Err(_) => anyhow::bail!("{what}: no answer within {} ms", t.as_millis()),
    }
}

/// Write every key of `clusters` under `namespace` (e.g. `/pg`), granting leases where needed.
pub async fn seed(
    client: &mut Client,
    namespace: &str,
    clusters: &mut [PgCluster],
    t: Duration,
) -> anyhow::Result<usize> {
    let mut written = 0;
    for c in clusters.iter_mut() {
        let base = format!("{}/{}", namespace.trim_end_matches('/'), c.scope);
        for (k, v) in c.static_keys() {
            within(t, "put", client.put(format!("{base}/{k}"), v, None)).await?;
            written += 1;
        }
        for i in 0..c.members.len() {
            let lease = within(t, "lease grant", client.lease_grant(TTL_S, None))
                .await?
                .id();
            c.members[i].lease = lease;
            written += put_member(client, &base, c, i, t).await?;
        }
    }
    Ok(written)
}

async fn put_member(
    client: &mut Client,
    base: &str,
    c: &PgCluster,
    i: usize,
    t: Duration,
) -> anyhow::Result<usize> {
    let m = &c.members[i];
    let opts = || Some(PutOptions::new().with_lease(m.lease));
    within(
        t,
        "put",
        client.put(
            format!("{base}/members/{}", m.name),
            c.member_value(m),
            opts(),
        ),
    )
    .await?;
    if m.primary {
        within(
            t,
            "put",
            client.put(format!("{base}/leader"), m.name.clone(), opts()),
        )
        .await?;
        return Ok(2);
    }
    Ok(1)
}

/// Keep Patroni's keys alive every [`LOOP_WAIT`], as Patroni does, until `report` (told each
/// failed round) returns false.
pub async fn keep_patroni_alive(
    client: &mut Client,
    namespace: &str,
    clusters: &mut [PgCluster],
    t: Duration,
    mut report: impl FnMut(anyhow::Error) -> bool,
) {
    let mut every = tokio::time::interval(LOOP_WAIT);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(e) = tick(client, namespace, clusters, t).await {
            if !report(e) {
                return;
            }
        }
    }
}

/// One Patroni loop: keep every lease alive (re-granting an expired one and rewriting its keys),
/// move WAL positions on, rewrite member keys and `status`.
pub async fn tick(
    client: &mut Client,
    namespace: &str,
    clusters: &mut [PgCluster],
    t: Duration,
) -> anyhow::Result<()> {
    for c in clusters.iter_mut() {
        let base = format!("{}/{}", namespace.trim_end_matches('/'), c.scope);
        c.optime += 16_384 + (c.optime % 7) * 1_024;
        for i in 0..c.members.len() {
            let alive = match timeout(t, keep_alive(client, c.members[i].lease)).await {
                Ok(Ok(ttl)) => ttl > 0,
                _ => false,
            };
            if !alive {
                c.members[i].lease = within(t, "lease grant", client.lease_grant(TTL_S, None))
                    .await?
                    .id();
            }
            put_member(client, &base, c, i, t).await?;
        }
        if let Some((k, v)) = c.static_keys().into_iter().find(|(k, _)| k == "status") {
            within(t, "put", client.put(format!("{base}/{k}"), v, None)).await?;
        }
    }
    Ok(())
}

/// Member `to` of `c` takes the leader key and promotes as Patroni does: the next timeline,
/// `history` gains its line, the request is cleared, the sync standby follows, every member key
/// is rewritten with its new role but `gone`'s, whose keys went with its lease. Returns its name.
async fn promote(
    client: &mut Client,
    base: &str,
    c: &mut PgCluster,
    to: usize,
    gone: Option<usize>,
    t: Duration,
) -> anyhow::Result<String> {
    let m = &c.members[to];
    let opts = Some(PutOptions::new().with_lease(m.lease));
    within(
        t,
        "put",
        client.put(format!("{base}/leader"), m.name.clone(), opts),
    )
    .await?;
    let ended = c.timeline;
    for (i, m) in c.members.iter_mut().enumerate() {
        m.primary = i == to;
    }
    c.timeline += 1;
    // `history` gains a line: [the timeline that ended, where, why, when, the new leader].
    let key = format!("{base}/history");
    let got = within(t, "get", client.get(key.clone(), None)).await?;
    let mut lines: Vec<serde_json::Value> = got
        .kvs()
        .first()
        .and_then(|kv| serde_json::from_slice(kv.value()).ok())
        .unwrap_or_default();
    lines.push(json!([
        ended,
        c.optime,
        "no recovery target specified",
        crate::wizard::audit::rfc3339(crate::wizard::audit::now_unix()),
        c.members[to].name
    ]));
    let history = serde_json::Value::Array(lines).to_string();
    within(t, "put", client.put(key, history, None)).await?;
    within(t, "put", client.put(format!("{base}/failover"), "{}", None)).await?;
    if let Some((k, v)) = c.static_keys().into_iter().find(|(k, _)| k == "sync") {
        within(t, "put", client.put(format!("{base}/{k}"), v, None)).await?;
    }
    for i in (0..c.members.len()).filter(|i| Some(*i) != gone) {
        put_member(client, base, c, i, t).await?;
    }
    Ok(c.members[to].name.clone())
}

/// The member a switchover or failover promotes: `candidate` by name, else the first replica.
fn pick(c: &PgCluster, candidate: Option<&str>) -> anyhow::Result<usize> {
    let i = match candidate {
        Some(name) => c.members.iter().position(|m| m.name == name && !m.primary),
        None => c.members.iter().position(|m| !m.primary),
    };
    i.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no replica {}to promote",
            c.scope,
            candidate.map(|n| format!("named {n} ")).unwrap_or_default()
        )
    })
}

/// A switchover as `patronictl switchover` and Patroni make it: the request in the `failover`
/// key, the primary releases the leader key, the candidate takes it and promotes (the request
/// is cleared, the old primary follows as a replica). Returns the new leader's name.
pub async fn switchover(
    client: &mut Client,
    namespace: &str,
    c: &mut PgCluster,
    candidate: Option<&str>,
    t: Duration,
) -> anyhow::Result<String> {
    let base = format!("{}/{}", namespace.trim_end_matches('/'), c.scope);
    let to = pick(c, candidate)?;
    let from = c
        .leader()
        .map(|m| m.name.clone())
        .ok_or_else(|| anyhow::anyhow!("{}: no primary to switch over from", c.scope))?;
    let request = json!({"leader": from, "member": c.members[to].name});
    within(
        t,
        "put",
        client.put(format!("{base}/failover"), request.to_string(), None),
    )
    .await?;
    within(t, "delete", client.delete(format!("{base}/leader"), None)).await?;
    promote(client, &base, c, to, None, t).await
}

/// A failover nobody asked for: the primary's node dies, so its lease goes (revoked here rather
/// than left to expire) and takes the leader key and its member key with it; a replica takes
/// the key and promotes. The old primary's keys come back as a replica's on the next
/// [`tick`] (Patroni started again on its node). Returns the new leader's name.
pub async fn failover(
    client: &mut Client,
    namespace: &str,
    c: &mut PgCluster,
    t: Duration,
) -> anyhow::Result<String> {
    let base = format!("{}/{}", namespace.trim_end_matches('/'), c.scope);
    let to = pick(c, None)?;
    let lease = c
        .leader()
        .map(|m| m.lease)
        .ok_or_else(|| anyhow::anyhow!("{}: no primary to fail", c.scope))?;
    within(t, "lease revoke", client.lease_revoke(lease)).await?;
    let old = c.members.iter().position(|m| m.primary);
    promote(client, &base, c, to, old, t).await
}

async fn keep_alive(client: &mut Client, lease: i64) -> Result<i64, etcd_client::Error> {
    match keep_alive_once(client, lease).await {
        // A member that restarted forgot our token (etcd keeps simple tokens in memory); the
        // client logs in again for unary calls by itself, not for a stream.
        Err(e) if e.to_string().contains("invalid auth token") => {
            client.refresh_token().await?;
            keep_alive_once(client, lease).await
        }
        r => r,
    }
}

async fn keep_alive_once(client: &mut Client, lease: i64) -> Result<i64, etcd_client::Error> {
    let (mut keeper, mut stream) = client.lease_keep_alive(lease).await?;
    keeper.keep_alive().await?;
    Ok(stream.message().await?.map_or(0, |r| r.ttl()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_takes_the_inventorys_root_password_else_pigstys_default() {
        use crate::inventory::{parse, EXAMPLE};
        let mut inv = parse(EXAMPLE, "inventory.example.yml", &[]).unwrap();
        with_auth(&mut inv);
        assert!(inv
            .hosts
            .iter()
            .all(|h| h.params.etcd_root_password.as_deref() == Some("Etcd.Root")));

        let extra = [("etcd_root_password".to_string(), "s3cret".to_string())];
        let mut inv = parse(EXAMPLE, "inventory.example.yml", &extra).unwrap();
        with_auth(&mut inv);
        assert!(inv
            .hosts
            .iter()
            .all(|h| h.params.etcd_root_password.as_deref() == Some("s3cret")));
    }

    /// The real dump the demo is modelled on.
    const FIXTURE: &str = include_str!("../tests/fixtures/patroni-4.1.5-pg-meta.json");

    #[test]
    fn pg_meta_keys_have_the_shape_of_the_real_dump() {
        let dump: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let real: std::collections::BTreeMap<String, serde_json::Value> = dump["kvs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                (
                    kv["key"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("/pg/pg-meta/")
                        .to_string(),
                    kv["value"].clone(),
                )
            })
            .collect();
        let c = &demo_clusters()[0];
        let mut ours: Vec<String> = c.static_keys().into_iter().map(|(k, _)| k).collect();
        ours.extend(c.members.iter().map(|m| format!("members/{}", m.name)));
        ours.push("leader".into());
        ours.sort();
        let theirs: Vec<String> = real.keys().cloned().collect();
        assert_eq!(ours, theirs);

        // Member values carry the same fields as Patroni's.
        let field_names = |s: &str| {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let replica = c.members.iter().find(|m| !m.primary).unwrap();
        assert_eq!(
            field_names(&c.member_value(replica)),
            field_names(real["members/pg-meta-1"].as_str().unwrap())
        );
        let primary = c.members.iter().find(|m| m.primary).unwrap();
        assert_eq!(
            field_names(&c.member_value(primary)),
            field_names(real["members/pg-meta-2"].as_str().unwrap())
        );
    }
}
