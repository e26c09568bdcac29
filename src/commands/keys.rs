//! `etcdeck keys [PREFIX] [--json]`: the snapshot streamed to stdout chunk by chunk, in key order,
//! through one buffered writer; no more than a few chunks are held at a time.

use std::io::{self, BufWriter, Write};

use anyhow::Result;

use super::{one_cluster, settings, Code};
use crate::app::msg::Kv;
use crate::cli::Global;
use crate::etcd::watch::{read_snapshot, Page};
use crate::etcd::Cluster;
use crate::text;

/// Characters of a value shown in the text listing.
const SHOWN: usize = 100;

/// `etcdeck keys [PREFIX] [--json]`.
pub async fn run(g: &Global, prefix: Option<&str>, json: bool) -> Result<Code> {
    let cluster = Cluster::new(settings(g)?)?;
    one_cluster(&cluster).await?;
    let prefix = prefix.unwrap_or(g.namespace());
    let endpoints = cluster.settings().endpoints.clone();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    read_snapshot(&cluster, &endpoints, prefix.as_bytes(), |p: Page| {
        let wrote = if json {
            write_json(&mut out, prefix, &p)
        } else {
            write_text(&mut out, prefix, &p)
        };
        quiet_on_broken_pipe(wrote).map_err(anyhow::Error::from)
    })
    .await?;
    quiet_on_broken_pipe(out.flush())?;
    Ok(0)
}

/// As [`outln!`]: the reader of our output going away ends the program quietly.
fn quiet_on_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => r,
    }
}

/// One page of the text listing: the heading before the first, then each key with its revision,
/// lease and the start of its value, all escaped.
fn write_text(out: &mut impl Write, prefix: &str, p: &Page) -> io::Result<()> {
    if p.first {
        writeln!(
            out,
            "{} keys under {} at revision {}",
            p.count,
            text::escape(prefix),
            p.revision
        )?;
    }
    for kv in &p.kvs {
        write!(
            out,
            "{}  (rev {}",
            text::escape_bytes(&kv.key),
            kv.mod_revision
        )?;
        if kv.lease != 0 {
            write!(out, "  lease {:x}", kv.lease)?;
        }
        let (shown, more) = preview(&kv.value);
        writeln!(out, ")\n    {shown}{}", if more { "…" } else { "" })?;
    }
    Ok(())
}

/// The first [`SHOWN`] characters of a value as [`text::escape_bytes`] shows it, and whether
/// there is more. Only the start of the value is escaped: each unit of the value (a character or
/// a byte that is not UTF-8, at most 4 bytes) gives at least one character, so `SHOWN + 1` units
/// lie within the first `(SHOWN + 1) * 4` bytes, and a longer value always has more to show.
fn preview(value: &[u8]) -> (String, bool) {
    // Most values start with plain ASCII: each byte is one character, shown as it is.
    let plain = value.len().min(SHOWN + 1);
    if value[..plain]
        .iter()
        .all(|b| (0x20..0x7f).contains(b) && *b != b'\\')
    {
        let shown = &value[..value.len().min(SHOWN)];
        return (
            String::from_utf8_lossy(shown).into_owned(),
            value.len() > SHOWN,
        );
    }
    let head = &value[..value.len().min((SHOWN + 1) * 4)];
    let escaped = text::escape_bytes(head);
    let mut chars = escaped.chars();
    let shown: String = chars.by_ref().take(SHOWN).collect();
    let more = chars.next().is_some() || head.len() < value.len();
    (shown, more)
}

/// One page of the JSON document, written as it comes (the same text `serde_json`'s pretty
/// printer gives for `{"count", "kvs", "prefix", "revision"}`, fields in that order, each key's
/// fields sorted): the head and `count` before the first page, `prefix` and `revision` after
/// the last.
fn write_json(out: &mut impl Write, prefix: &str, p: &Page) -> io::Result<()> {
    if p.first {
        write!(out, "{{\n  \"count\": {},\n  \"kvs\": [", p.count)?;
    }
    for (i, kv) in p.kvs.iter().enumerate() {
        out.write_all(if p.offset + i == 0 { b"\n" } else { b",\n" })?;
        write_kv(out, kv)?;
    }
    if p.complete {
        if p.count > 0 {
            out.write_all(b"\n  ]")?;
        } else {
            out.write_all(b"]")?;
        }
        out.write_all(b",\n  \"prefix\": ")?;
        text::json_write(&mut *out, prefix)?;
        writeln!(out, ",\n  \"revision\": {}\n}}", p.revision)?;
    }
    Ok(())
}

/// A key as JSON: text where it is UTF-8, base64 where it is not.
fn write_kv(out: &mut impl Write, kv: &Kv) -> io::Result<()> {
    fn bytes(out: &mut impl Write, name: &str, b: &[u8]) -> io::Result<()> {
        match std::str::from_utf8(b) {
            Ok(t) => {
                write!(out, "      \"{name}\": ")?;
                text::json_write(&mut *out, t)?;
            }
            Err(_) => write!(out, "      \"{name}_base64\": \"{}\"", text::base64(b))?,
        }
        out.write_all(b",\n")
    }
    write!(
        out,
        "    {{\n      \"create_revision\": {},\n",
        kv.create_revision
    )?;
    bytes(out, "key", &kv.key)?;
    writeln!(out, "      \"lease\": {},", kv.lease)?;
    writeln!(out, "      \"mod_revision\": {},", kv.mod_revision)?;
    bytes(out, "value", &kv.value)?;
    write!(out, "      \"version\": {}\n    }}", kv.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document as it was built before streaming: a `serde_json::Value` tree, pretty printed.
    fn json_as_before(prefix: &str, kvs: &[Kv], revision: i64) -> String {
        let list: Vec<serde_json::Value> = kvs
            .iter()
            .map(|kv| {
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
            })
            .collect();
        let doc = serde_json::json!({ "prefix": prefix, "revision": revision, "count": list.len(), "kvs": list });
        format!("{}\n", text::json_pretty(&doc).unwrap())
    }

    /// The text listing as it was printed before streaming.
    fn text_as_before(prefix: &str, kvs: &[Kv], revision: i64) -> String {
        let mut s = format!(
            "{} keys under {} at revision {revision}\n",
            kvs.len(),
            text::escape(prefix)
        );
        for kv in kvs {
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
            s.push_str(&format!(
                "{}  (rev {}{lease})\n    {shown}{more}\n",
                text::escape_bytes(&kv.key),
                kv.mod_revision
            ));
        }
        s
    }

    fn kv(key: &[u8], value: &[u8], rev: i64, lease: i64) -> Kv {
        Kv {
            key: key.to_vec(),
            value: value.to_vec(),
            create_revision: rev - 1,
            mod_revision: rev,
            version: 3,
            lease,
        }
    }

    /// Keys with text, control characters, quotes, bytes that are not UTF-8, long and cut values.
    fn awkward() -> Vec<Kv> {
        let mut long_escapes = b"\x1b[2J".repeat(40);
        long_escapes.extend_from_slice("é\u{202e}".repeat(30).as_bytes());
        vec![
            kv(b"/pg/a", b"plain", 5, 0),
            kv(
                b"/pg/b\"q\\",
                b"line\nbreak\ttab\x1b]52;c;aGk=\x07",
                6,
                0x7a1b,
            ),
            kv(b"/pg/\xff\xfe", b"\x00\x01\xc3", 7, 0),
            kv(b"/pg/c", &[b'x'; 100], 8, 0),
            kv(b"/pg/d", &[b'x'; 101], 9, 0),
            kv(b"/pg/e", &long_escapes, 10, 1),
            kv(b"/pg/f", &b"\xe2\x82".repeat(300), 11, 0),
            kv(b"/pg/g", "ü".repeat(202).as_bytes(), 12, 0),
            kv(b"/pg/h", &[b'\\'; 60], 13, 0),
            kv(b"/pg/i", b"", 14, 0),
        ]
    }

    /// `kvs` in pages of `size` as the reader hands them out; what `write` makes of them.
    fn streamed(
        kvs: &[Kv],
        size: usize,
        write: fn(&mut Vec<u8>, &str, &Page) -> io::Result<()>,
    ) -> String {
        let mut out = Vec::new();
        let chunks: Vec<&[Kv]> = if kvs.is_empty() {
            vec![&[]]
        } else {
            kvs.chunks(size).collect()
        };
        for (i, c) in chunks.iter().enumerate() {
            let p = Page {
                kvs: c.to_vec(),
                offset: i * size,
                revision: 42,
                count: kvs.len(),
                first: i == 0,
                complete: i + 1 == chunks.len(),
            };
            write(&mut out, "/pg\n\"x", &p).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_json_is_the_document_it_always_was() {
        let kvs = awkward();
        for n in [0, 1, 2, kvs.len()] {
            for size in [1, 3, 100] {
                assert_eq!(
                    streamed(&kvs[..n], size, write_json),
                    json_as_before("/pg\n\"x", &kvs[..n], 42),
                    "{n} keys in pages of {size}"
                );
            }
        }
    }

    #[test]
    fn streamed_text_is_the_listing_it_always_was() {
        let kvs = awkward();
        for n in [0, 1, kvs.len()] {
            for size in [1, 4] {
                assert_eq!(
                    streamed(&kvs[..n], size, write_text),
                    text_as_before("/pg\n\"x", &kvs[..n], 42),
                    "{n} keys in pages of {size}"
                );
            }
        }
        let shown = streamed(&kvs, 4, write_text);
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\n'),
            "{shown}"
        );
    }

    #[test]
    fn a_preview_escapes_only_the_start_of_a_value_and_shows_the_same() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![b'a'; 100],
            vec![b'a'; 101],
            [vec![b'a'; 100], vec![b'\n']].concat(),
            [vec![b'a'; 99], vec![b'\\', b'a']].concat(),
            vec![b'a'; 404],
            vec![b'a'; 405],
            vec![0xff; 404],
            vec![0xff; 405],
            "\u{1F600}".repeat(101).into_bytes(),
            "\u{1F600}".repeat(102).into_bytes(),
            [vec![b'a'; 403], "€".as_bytes().to_vec()].concat(),
            [vec![0x01; 99], vec![0xe2, 0x82, 0xac, b'z']].concat(),
            vec![b'\n'; 1 << 20],
        ];
        for v in cases {
            let full = text::escape_bytes(&v);
            let want: String = full.chars().take(SHOWN).collect();
            assert_eq!(
                preview(&v),
                (want, full.chars().count() > SHOWN),
                "{} bytes",
                v.len()
            );
        }
    }
}
