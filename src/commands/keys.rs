//! `etcdeck keys [PREFIX] [--json]`.

use anyhow::Result;

use super::{settings, Code};
use crate::app::msg::Kv;
use crate::cli::Global;
use crate::etcd::watch::read_all;
use crate::etcd::Cluster;
use crate::text;

/// `etcdeck keys [PREFIX] [--json]`.
pub async fn run(g: &Global, prefix: Option<&str>, json: bool) -> Result<Code> {
    let cluster = Cluster::new(settings(g)?)?;
    let prefix = prefix.unwrap_or(&g.namespace);
    let (kvs, revision, _) = read_all(&cluster, prefix.as_bytes()).await?;
    if json {
        let list: Vec<serde_json::Value> = kvs.iter().map(kv_json).collect();
        let doc = serde_json::json!({ "prefix": prefix, "revision": revision, "count": list.len(), "kvs": list });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    outln!(
        "{} keys under {} at revision {revision}",
        kvs.len(),
        text::escape(prefix)
    );
    for kv in &kvs {
        let lease = if kv.lease != 0 {
            format!("  lease {:x}", kv.lease)
        } else {
            String::new()
        };
        let value = text::escape_bytes(&kv.value);
        let shown: String = value.chars().take(100).collect();
        let more = if value.chars().count() > 100 {
            "…"
        } else {
            ""
        };
        outln!(
            "{}  (rev {}{lease})\n    {shown}{more}",
            text::escape_bytes(&kv.key),
            kv.mod_revision
        );
    }
    Ok(0)
}

/// A key as JSON: text where it is UTF-8, base64 where it is not.
fn kv_json(kv: &Kv) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    for (name, bytes) in [("key", &kv.key), ("value", &kv.value)] {
        match std::str::from_utf8(bytes) {
            Ok(t) => o.insert(name.into(), t.into()),
            Err(_) => o.insert(format!("{name}_base64"), text::base64(bytes).into()),
        };
    }
    o.insert("create_revision".into(), kv.create_revision.into());
    o.insert("mod_revision".into(), kv.mod_revision.into());
    o.insert("version".into(), kv.version.into());
    o.insert("lease".into(), kv.lease.into());
    serde_json::Value::Object(o)
}
