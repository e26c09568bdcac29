//! One membership change in the inventory's `etcd` group, made in the text so that the rest of
//! the file stays as the operator wrote it: add a host, comment one out, or remove one.
//!
//! [`apply`] is pure: it locates the group and its hosts from yaml-rust2's marked events, splices
//! the few bytes that change, and then verifies the result before anything is written:
//! - `before` and `after` are read with the project's own [`super::parse`] (no extra vars): the
//!   hosts after are the hosts before with exactly that one host added or gone, every other host
//!   has the same `etcd_seq`, parameters and origins, and `after` has no errors;
//! - the whole document is read with serde_yaml: it equals the document before with only that
//!   host's key added to or taken from the group's `hosts`, nothing else anywhere (a removed
//!   anchor, a block scalar cut short, a shared `&hosts` mapping would all show here).
//!
//! A layout the locator does not follow (a host key with a tag, a `? key`, hosts merged in with
//! `<<:`, an alias as the hosts) is refused with [`EditError::Unsupported`]; a text edit that would
//! mean something else than intended is refused with [`EditError::Mismatch`]. Either way there is
//! no result to write.
//!
//! Both shapes of the group are handled: at the top level or under `all: children: etcd:`; the
//! hosts in block style (one host per line, or a host over several lines) or in flow style
//! (`etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: {...} }`, also spread over lines).
//! - Add: block style gets a new line `<indent><ip>: { etcd_seq: N }` after the last host, at the
//!   hosts' indent; flow style gets `, <ip>: { etcd_seq: N }` after the last host in the braces.
//!   An IPv6 address is written quoted.
//! - Comment: block style prefixes every line of the host with `# ` at the host's indent and ends
//!   its first line with `  (etcd member removed by etcdeck)`. Flow style cannot hold a comment
//!   inside its braces on one line: the host is taken out of the braces and a full-line comment
//!   `# <ip>: { ... }  (etcd member removed by etcdeck)` goes on the line above the line that
//!   opens the hosts' braces, at that line's indent. Both are found again by [`commented_seqs`].
//! - Remove: the host's lines (block) or its `ip: {...}` entry and one comma (flow) go.
//!
//! No date or other varying text is written: the same edit of the same text gives the same bytes.
//! Line endings are the file's own (CRLF stays CRLF) and a file without a final newline keeps
//! none. An inventory with errors is not edited (fix it first); the last host of the group is
//! never commented out or removed (an empty etcd group makes the inventory invalid).
//!
//! [`write`] puts an [`Edited`] on disk: only if the file still holds `before`, after a backup of
//! it, atomically, keeping its mode and owner.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::ops::Range;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_yaml::Value;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use super::{locate, parse, Host, Inventory, Severity};

/// The marker that ends a host's line once etcdeck has commented it out.
pub const COMMENT_MARK: &str = "(etcd member removed by etcdeck)";

/// One change to the `etcd` group's hosts. Serialized with `op` as the tag, e.g.
/// `{"op":"add","ip":"10.10.10.13","seq":4}`, for a wizard's journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Edit {
    /// Add a host with this `etcd_seq`.
    Add { ip: IpAddr, seq: u32 },
    /// Comment a host out, so the file still tells it was a member and its `etcd_seq` is not
    /// reused.
    Comment { ip: IpAddr },
    /// Delete a host.
    Remove { ip: IpAddr },
}

impl Edit {
    /// The host the edit is about.
    pub fn ip(&self) -> IpAddr {
        match self {
            Edit::Add { ip, .. } | Edit::Comment { ip } | Edit::Remove { ip } => *ip,
        }
    }
}

/// The result of [`apply`]: both texts, a unified diff and one line saying what changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The text as it was read.
    pub before: String,
    /// The text with the edit made, verified.
    pub after: String,
    /// Unified diff, 3 lines of context, headers `a/<file>` and `b/<file>`.
    pub diff: String,
    /// E.g. `add 10.10.10.13 (etcd_seq 4) to the etcd group`.
    pub summary: String,
}

/// Why an edit was not made or not written; every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{file}: no etcd group found: expected a top-level `etcd:` group or `all: children: etcd:`; check that -i names the Pigsty inventory")]
    NoGroup { file: String },
    #[error("{file}: the etcd group has no `hosts`; write the first members by hand, e.g. hosts: {{ 10.10.10.10: {{ etcd_seq: 1 }} }}, then edit with etcdeck")]
    NoHosts { file: String },
    #[error("{file} has {count} error(s), first {first}; fix them first (`etcdeck inventory check`), then edit")]
    Invalid {
        file: String,
        count: usize,
        first: String,
    },
    #[error("{ip} is already a host of the etcd group (line {line}); nothing to add")]
    AlreadyHost { ip: IpAddr, line: usize },
    #[error("etcd_seq {seq} is already the seq of {ip}; etcd_seq is unique: use --seq {free}")]
    SeqTaken { seq: u32, ip: IpAddr, free: u32 },
    #[error("{ip} is not a host of the etcd group (its hosts: {hosts}); check the address")]
    NotAHost { ip: IpAddr, hosts: String },
    #[error("{ip} is the last host of the etcd group: an empty etcd group makes the inventory invalid; add the new member first, or remove the whole group by hand")]
    LastHost { ip: IpAddr },
    #[error("line {line}: {why}; make this change by hand")]
    Unsupported { line: usize, why: String },
    #[error(
        "the edit was checked and refused, nothing is written: {why}; make this change by hand"
    )]
    Mismatch { why: String },
    #[error("{}: the file changed since it was read; nothing is written: run the command again to edit the file as it is now", .path.display())]
    Changed { path: PathBuf },
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> EditError + 'a {
    move |source| EditError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

// ---- the text: lines and positions ----

/// Byte offsets of the lines of a text (lines split at `\n`; a `\r` before it is part of the
/// line ending).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    /// Number of lines (a text ending in `\n` has an empty last line).
    fn count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where 1-based `line` starts.
    fn start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Byte offset after the line's ending.
    fn end(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.text.len())
    }

    /// Byte offset where the line's ending (`\n` or `\r\n`) starts.
    fn content_end(&self, line: usize) -> usize {
        let (s, e) = (self.start(line), self.end(line));
        let l = &self.text[s..e];
        let l = l.strip_suffix('\n').unwrap_or(l);
        let l = l.strip_suffix('\r').unwrap_or(l);
        s + l.len()
    }

    fn content(&self, line: usize) -> &'a str {
        &self.text[self.start(line)..self.content_end(line)]
    }

    /// The line's own ending, empty for a last line without one.
    fn eol(&self, line: usize) -> &'a str {
        &self.text[self.content_end(line)..self.end(line)]
    }

    /// The file's line ending: that of its first line, `\n` for a one-line file.
    fn file_eol(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) if i > 0 && self.text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Byte offset of a marker: 1-based line, 0-based column in characters.
    fn offset(&self, (line, col): (usize, usize)) -> usize {
        let s = self.start(line);
        let rest = &self.text[s..self.end(line)];
        s + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i)
    }

    /// Leading spaces of a line.
    fn indent(&self, line: usize) -> usize {
        self.content(line).len() - self.content(line).trim_start_matches(' ').len()
    }

    /// Whether the line is blank or holds only a comment.
    fn is_blank_or_comment(&self, line: usize) -> bool {
        let t = self.content(line).trim_start();
        t.is_empty() || t.starts_with('#')
    }
}

// ---- the document's structure, from yaml-rust2's events ----

/// A position as yaml-rust2 marks it: 1-based line, 0-based column in characters.
type Mark = (usize, usize);

#[derive(Debug)]
enum Kind {
    Scalar(String, TScalarStyle),
    Alias,
    /// Entries (key node, value node); `flow` when written in braces.
    Map {
        entries: Vec<(usize, usize)>,
        flow: bool,
    },
    Seq,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// A scalar's first character (its quote when quoted), an alias's `*`, a flow
    /// collection's opening bracket; for a block collection, not used.
    start: Mark,
    /// A flow collection's closing bracket; for a block collection, where the next token
    /// after it starts.
    end: Option<Mark>,
    /// Has an anchor or a tag.
    decorated: bool,
}

struct Doc {
    nodes: Vec<Node>,
    root: Option<usize>,
}

impl Doc {
    /// The first document's nodes. A text yaml-rust2 cannot read is [`EditError::Unsupported`].
    fn read(text: &str, lines: &Lines) -> Result<Doc, EditError> {
        if let Some((line, _)) = locate::flow_too_deep(text) {
            return Err(EditError::Unsupported {
                line,
                why: "the YAML nests too deep".into(),
            });
        }
        let mut doc = Doc {
            nodes: Vec::new(),
            root: None,
        };
        // (node, key waiting for its value) of each open collection.
        let mut stack: Vec<(usize, Option<usize>)> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        let char_at = |m: Mark| text[lines.offset(m)..].chars().next();
        loop {
            let (ev, mark) = parser.next_token().map_err(|e| EditError::Unsupported {
                line: e.marker().line(),
                why: format!("the YAML cannot be followed: {e}"),
            })?;
            let m = (mark.line(), mark.col());
            let new = |kind, decorated| Node {
                kind,
                start: m,
                end: None,
                decorated,
            };
            let node = match ev {
                Event::StreamEnd | Event::DocumentEnd => break,
                Event::Scalar(s, style, anchor, tag) => {
                    new(Kind::Scalar(s, style), anchor != 0 || tag.is_some())
                }
                Event::Alias(_) => new(Kind::Alias, false),
                Event::MappingStart(anchor, tag) => new(
                    Kind::Map {
                        entries: Vec::new(),
                        flow: char_at(m) == Some('{'),
                    },
                    anchor != 0 || tag.is_some(),
                ),
                Event::SequenceStart(anchor, tag) => new(Kind::Seq, anchor != 0 || tag.is_some()),
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some((n, _)) = stack.pop() {
                        let closed = &mut doc.nodes[n];
                        closed.end = Some(m);
                        if let Kind::Map { flow, .. } = &mut closed.kind {
                            *flow = *flow && char_at(m) == Some('}');
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            let id = doc.nodes.len();
            let opens = matches!(node.kind, Kind::Map { .. } | Kind::Seq);
            doc.nodes.push(node);
            match stack.last_mut() {
                None => {
                    doc.root.get_or_insert(id);
                }
                Some((parent, key)) => {
                    if let Kind::Map { entries, .. } = &mut doc.nodes[*parent].kind {
                        match key.take() {
                            None => *key = Some(id),
                            Some(k) => entries.push((k, id)),
                        }
                    }
                }
            }
            if opens {
                stack.push((id, None));
                if stack.len() > locate::MAX_DEPTH {
                    return Err(EditError::Unsupported {
                        line: m.0,
                        why: "the YAML nests too deep".into(),
                    });
                }
            }
        }
        Ok(doc)
    }

    fn entries(&self, n: usize) -> &[(usize, usize)] {
        match &self.nodes[n].kind {
            Kind::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    /// The entry of mapping `n` whose key is the plain text `key`.
    fn get(&self, n: usize, key: &str) -> Option<(usize, usize)> {
        self.entries(n)
            .iter()
            .copied()
            .find(|&(k, _)| matches!(&self.nodes[k].kind, Kind::Scalar(s, _) if s == key))
    }

    /// The `etcd` group as the validator reads it: the top-level one, else
    /// `all.children.etcd`. (key node, value node).
    fn group(&self) -> Option<(usize, usize)> {
        let root = self.root?;
        self.get(root, "etcd").or_else(|| {
            let (_, all) = self.get(root, "all")?;
            let (_, children) = self.get(all, "children")?;
            self.get(children, "etcd")
        })
    }
}

/// One host of the group as written.
#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    /// The key's first character.
    key: Mark,
    /// Flow style: the end of the host's value (after its `}`), as a byte offset.
    value_end: Option<usize>,
}

/// The group's `hosts` mapping as written.
#[derive(Debug)]
struct Hosts {
    flow: bool,
    /// Flow style: the opening brace. Block style: not used.
    open: Mark,
    /// Flow style: the closing brace. Block style: where the next token after the hosts starts.
    close: Mark,
    entries: Vec<Entry>,
}

/// The group's hosts, or why they cannot be edited here. `Ok(None)`: the group has no hosts.
fn hosts_of(doc: &Doc, lines: &Lines, group: usize) -> Result<Option<Hosts>, EditError> {
    let Some((hkey, hosts)) = doc.get(group, "hosts") else {
        return Ok(None);
    };
    let node = &doc.nodes[hosts];
    let unsupported = |line, why: &str| EditError::Unsupported {
        line,
        why: why.to_string(),
    };
    let flow = match &node.kind {
        Kind::Map { entries, .. } if entries.is_empty() => return Ok(None),
        Kind::Map { flow, .. } => *flow,
        Kind::Scalar(s, TScalarStyle::Plain) if s.is_empty() || s == "~" || s == "null" => {
            return Ok(None)
        }
        Kind::Alias => {
            return Err(unsupported(
                doc.nodes[hkey].start.0,
                "the etcd group's hosts are given through an alias (`*name`), which etcdeck does not edit",
            ))
        }
        _ => {
            return Err(unsupported(
                doc.nodes[hkey].start.0,
                "the etcd group's hosts are not a mapping",
            ))
        }
    };
    let Some(close) = node.end else {
        return Err(unsupported(
            doc.nodes[hkey].start.0,
            "the end of the etcd group's hosts was not found",
        ));
    };
    let mut entries = Vec::new();
    for &(k, v) in doc.entries(hosts) {
        let key = &doc.nodes[k];
        let line = key.start.0;
        let Kind::Scalar(text, _) = &key.kind else {
            return Err(unsupported(line, "a host key is not a plain address"));
        };
        if text == "<<" {
            return Err(unsupported(
                line,
                "the etcd group's hosts are merged in with `<<:`, which etcdeck does not edit",
            ));
        }
        if key.decorated {
            return Err(unsupported(
                line,
                &format!("host key {text} has a YAML tag or anchor, which etcdeck does not edit"),
            ));
        }
        let Ok(ip) = text.parse::<IpAddr>() else {
            return Err(unsupported(
                line,
                &format!("host key {text} is not an IP address"),
            ));
        };
        if !flow && key.start.1 != lines.indent(line) {
            return Err(unsupported(
                line,
                &format!("host {text} does not start its line (written as `? key`, after a tag, or beside other text)"),
            ));
        }
        let value = &doc.nodes[v];
        let value_end = match (&value.kind, value.end) {
            (Kind::Map { flow: true, .. }, Some(end)) => Some(lines.offset(end) + 1),
            _ if flow => {
                return Err(unsupported(
                    line,
                    &format!("host {text} in braces is not written as {text}: {{ ... }}"),
                ))
            }
            _ => None,
        };
        entries.push(Entry {
            ip,
            key: key.start,
            value_end,
        });
    }
    Ok(Some(Hosts {
        flow,
        open: node.start,
        close,
        entries,
    }))
}

// ---- splicing ----

/// Replace byte ranges of `text` (ranges must not overlap).
fn splice(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (r, with) in edits {
        debug_assert!(r.start >= at, "overlapping splices");
        out.push_str(&text[at..r.start]);
        out.push_str(&with);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// How an address is written as a host key: IPv6 quoted (its colons), IPv4 plain.
fn key_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"{v6}\""),
    }
}

/// Lines `first..=last` of block host `i`: from its key's line to the line before the next
/// token, trailing blank and comment-only lines left out; and the host's indent.
fn block_lines(lines: &Lines, hosts: &Hosts, i: usize) -> Result<(usize, usize, usize), EditError> {
    let first = hosts.entries[i].key.0;
    let indent = lines.indent(first);
    let next = hosts.entries.get(i + 1).map_or(hosts.close, |e| e.key);
    let next_off = lines.offset(next);
    let before_next = &lines.text[lines.start(next.0)..next_off];
    let mut last = if before_next.trim().is_empty() {
        next.0 - 1
    } else {
        next.0
    };
    last = last.min(lines.count());
    while last > first && lines.is_blank_or_comment(last) {
        last -= 1;
    }
    if last < first {
        last = first;
    }
    Ok((first, last, indent))
}

/// The byte range that deletes whole lines `first..=last`; at the end of a file without a final
/// newline the previous line's ending goes instead, so the file still ends without one.
fn delete_lines(lines: &Lines, first: usize, last: usize) -> Range<usize> {
    let end = lines.end(last);
    if lines.eol(last).is_empty() && first > 1 {
        lines.content_end(first - 1)..end
    } else {
        lines.start(first)..end
    }
}

/// Skip spaces, tabs, line breaks and comments from `at`.
fn skip_blank(text: &str, mut at: usize) -> usize {
    let b = text.as_bytes();
    while at < b.len() {
        match b[at] {
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            b'#' if at == 0 || matches!(b[at - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                while at < b.len() && b[at] != b'\n' {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    at
}

/// Flow style: the byte ranges that take host `i` and one comma out of the braces.
fn flow_delete(lines: &Lines, hosts: &Hosts, i: usize) -> Result<Vec<Range<usize>>, EditError> {
    let text = lines.text;
    let e = &hosts.entries[i];
    let key_off = lines.offset(e.key);
    let end = e.value_end.unwrap_or(key_off);
    let missing_comma = || EditError::Unsupported {
        line: e.key.0,
        why: format!("the comma beside host {} was not found", e.ip),
    };
    if let Some(next) = hosts.entries.get(i + 1) {
        // Everything up to the next host: the entry, its comma, and what stands between.
        let next_off = lines.offset(next.key);
        if text[end..next_off].trim_start().starts_with(',') {
            return Ok(std::iter::once(key_off..next_off).collect());
        }
        return Err(missing_comma());
    }
    let prev = &hosts.entries[i - 1];
    let prev_end = prev.value_end.unwrap_or(key_off);
    let comma = skip_blank(text, prev_end);
    if text.as_bytes().get(comma) != Some(&b',') {
        return Err(missing_comma());
    }
    let between = &text[prev_end..key_off];
    if !between.contains('\n') {
        // One line: `A: {..}, B: {..}` loses `, B: {..}`.
        return Ok(std::iter::once(prev_end..end).collect());
    }
    // Over lines: the comma goes, and the host's own line when it holds nothing else.
    let line = e.key.0;
    let alone_before = lines.text[lines.start(line)..key_off].trim().is_empty();
    let alone_after = text[end..lines.content_end(line)].trim().is_empty();
    let host = if alone_before && alone_after {
        lines.start(line)..lines.end(line)
    } else if alone_before {
        // `    B: {..} }`: the indent stays before the closing brace.
        key_off..end
    } else {
        let ws = text[lines.start(line)..key_off]
            .trim_end_matches([' ', '\t'])
            .len();
        lines.start(line) + ws..end
    };
    Ok(vec![comma..comma + 1, host])
}

/// The edited text, before verification.
fn edit_text(lines: &Lines, hosts: &Hosts, edit: &Edit) -> Result<String, EditError> {
    let text = lines.text;
    let n = hosts.entries.len();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    match *edit {
        Edit::Add { ip, seq } => {
            let new = format!("{}: {{ etcd_seq: {seq} }}", key_text(ip));
            if hosts.flow {
                let end = hosts.entries[n - 1].value_end.unwrap_or(0);
                edits.push((end..end, format!(", {new}")));
            } else {
                let (_, last, indent) = block_lines(lines, hosts, n - 1)?;
                let eol = match lines.eol(last) {
                    "" => lines.file_eol(),
                    own => own,
                };
                let at = lines.content_end(last);
                edits.push((at..at, format!("{eol}{}{new}", " ".repeat(indent))));
            }
        }
        Edit::Comment { ip } | Edit::Remove { ip } => {
            let i = hosts
                .entries
                .iter()
                .position(|e| e.ip == ip)
                .expect("checked by the caller");
            let comment = matches!(edit, Edit::Comment { .. });
            if hosts.flow {
                for r in flow_delete(lines, hosts, i)? {
                    edits.push((r, String::new()));
                }
                if comment {
                    let e = &hosts.entries[i];
                    let from = lines.offset(e.key);
                    let host = text[from..e.value_end.unwrap_or(from)]
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    let line = hosts.open.0;
                    let eol = match lines.eol(line) {
                        "" => lines.file_eol(),
                        own => own,
                    };
                    let at = lines.start(line);
                    edits.push((
                        at..at,
                        format!(
                            "{}# {host}  {COMMENT_MARK}{eol}",
                            " ".repeat(lines.indent(line))
                        ),
                    ));
                }
            } else {
                let (first, last, indent) = block_lines(lines, hosts, i)?;
                if comment {
                    let mut out = String::new();
                    for l in first..=last {
                        let content = lines.content(l);
                        if content.trim().is_empty() {
                            out.push_str(content);
                        } else if lines.indent(l) >= indent {
                            out.push_str(&content[..indent]);
                            out.push_str("# ");
                            out.push_str(&content[indent..]);
                        } else if content.trim_start().starts_with('#') {
                            out.push_str(content);
                        } else {
                            return Err(EditError::Unsupported {
                                line: l,
                                why: format!("a line of host {ip} is indented less than its key"),
                            });
                        }
                        if l == first {
                            out.push_str("  ");
                            out.push_str(COMMENT_MARK);
                        }
                        out.push_str(lines.eol(l));
                    }
                    edits.push((lines.start(first)..lines.end(last), out));
                } else {
                    edits.push((delete_lines(lines, first, last), String::new()));
                }
            }
        }
    }
    Ok(splice(text, edits))
}

// ---- apply and verify ----

fn errors_of(diags: &[super::Diagnostic]) -> (usize, String) {
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let first = errors.first().map_or(String::new(), |d| {
        format!("at line {}:{}: {}", d.line, d.column, d.message)
    });
    (errors.len(), first)
}

/// The next `etcd_seq` never used in the group: 1 + the highest of the hosts' and of the
/// commented-out hosts' ([`commented_seqs`]); 1 for a group without either.
pub fn next_seq(inv: &Inventory, text: &str) -> u32 {
    inv.hosts
        .iter()
        .map(|h| h.seq)
        .chain(commented_seqs(text).into_iter().map(|(_, s)| s))
        .max()
        .map_or(1, |m| m.saturating_add(1))
}

/// Make `edit` in `text` (the inventory named `file` in messages and diff headers), verify it,
/// and return both texts, the diff and a summary. Pure: nothing is read or written.
pub fn apply(text: &str, file: &str, edit: &Edit) -> Result<Edited, EditError> {
    let lines = Lines::new(text);
    let before = match parse(text, file, &[]) {
        Ok(inv) => inv,
        Err(diags) => {
            // Missing group or hosts said in the edit's own words.
            if let Ok(doc) = Doc::read(text, &lines) {
                match doc.group() {
                    None => {
                        return Err(EditError::NoGroup {
                            file: file.to_string(),
                        })
                    }
                    Some((_, g)) => {
                        if let Ok(None) = hosts_of(&doc, &lines, g) {
                            return Err(EditError::NoHosts {
                                file: file.to_string(),
                            });
                        }
                    }
                }
            }
            let (count, first) = errors_of(&diags);
            return Err(EditError::Invalid {
                file: file.to_string(),
                count,
                first,
            });
        }
    };
    let doc = Doc::read(text, &lines)?;
    let (_, group) = doc.group().ok_or_else(|| EditError::NoGroup {
        file: file.to_string(),
    })?;
    let hosts = hosts_of(&doc, &lines, group)?.ok_or_else(|| EditError::NoHosts {
        file: file.to_string(),
    })?;
    let find = |ip: IpAddr| before.hosts.iter().find(|h| h.ip == ip);
    let summary = match *edit {
        Edit::Add { ip, seq } => {
            if let Some(h) = find(ip) {
                return Err(EditError::AlreadyHost { ip, line: h.line });
            }
            if let Some(h) = before.hosts.iter().find(|h| h.seq == seq) {
                return Err(EditError::SeqTaken {
                    seq,
                    ip: h.ip,
                    free: next_seq(&before, text),
                });
            }
            format!("add {ip} (etcd_seq {seq}) to the etcd group")
        }
        Edit::Comment { ip } | Edit::Remove { ip } => {
            let Some(h) = find(ip) else {
                let hosts = before
                    .hosts
                    .iter()
                    .map(|h| h.ip.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(EditError::NotAHost { ip, hosts });
            };
            if before.hosts.len() == 1 {
                return Err(EditError::LastHost { ip });
            }
            if !hosts.entries.iter().any(|e| e.ip == ip) {
                return Err(EditError::Unsupported {
                    line: h.line,
                    why: format!(
                        "host {ip} is not written among the etcd group's hosts (it comes in through an alias or a merge key)"
                    ),
                });
            }
            if matches!(edit, Edit::Comment { .. }) {
                format!("comment out {ip} (etcd_seq {}) in the etcd group", h.seq)
            } else {
                format!("remove {ip} (etcd_seq {}) from the etcd group", h.seq)
            }
        }
    };
    let after = edit_text(&lines, &hosts, edit)?;
    verify(text, &after, file, edit, &before)?;
    let diff = similar::TextDiff::from_lines(text, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string();
    Ok(Edited {
        before: text.to_string(),
        after,
        diff,
        summary,
    })
}

/// Whether `after` is `before` with exactly `edit` made (see the module's docs).
fn verify(
    before_text: &str,
    after_text: &str,
    file: &str,
    edit: &Edit,
    before: &Inventory,
) -> Result<(), EditError> {
    let mismatch = |why: String| EditError::Mismatch { why };
    let after = parse(after_text, file, &[]).map_err(|d| {
        let (count, first) = errors_of(&d);
        mismatch(format!(
            "the edited inventory would have {count} error(s), first {first}"
        ))
    })?;
    let ip = edit.ip();
    // The hosts, as the project reads them.
    let same =
        |a: &Host, b: &Host| a.seq == b.seq && a.params == b.params && a.origins == b.origins;
    let kept: Vec<&Host> = before.hosts.iter().filter(|h| h.ip != ip).collect();
    let expected = kept.len() + usize::from(matches!(edit, Edit::Add { .. }));
    if after.hosts.len() != expected {
        return Err(mismatch(format!(
            "the edited group would have {} host(s) instead of {expected}",
            after.hosts.len()
        )));
    }
    for h in &kept {
        match after.hosts.iter().find(|a| a.ip == h.ip) {
            Some(a) if same(h, a) => {}
            Some(_) => {
                return Err(mismatch(format!(
                    "host {} would read differently after the edit",
                    h.ip
                )))
            }
            None => {
                return Err(mismatch(format!(
                    "host {} would no longer be in the group",
                    h.ip
                )))
            }
        }
    }
    match edit {
        Edit::Add { seq, .. } => match after.hosts.iter().find(|a| a.ip == ip) {
            Some(a)
                if a.seq == *seq
                    && a
                        .origins
                        .iter()
                        .all(|(k, o)| k == "etcd_seq" || *o != super::Origin::Host) => {}
            _ => {
                return Err(mismatch(format!(
                    "the new host {ip} would not read as {ip} with etcd_seq {seq} and the group's parameters"
                )))
            }
        },
        Edit::Comment { .. } | Edit::Remove { .. } => {
            if after.hosts.iter().any(|a| a.ip == ip) {
                return Err(mismatch(format!("host {ip} would still be in the group")));
            }
        }
    }
    // The whole document: only the group's hosts key of that address differs.
    let doc_before: Value = serde_yaml::from_str(before_text)
        .map_err(|e| mismatch(format!("the inventory does not read as YAML: {e}")))?;
    let doc_after: Value = serde_yaml::from_str(after_text)
        .map_err(|e| mismatch(format!("the edited text would not read as YAML: {e}")))?;
    let mut wanted = doc_before;
    let hosts = group_hosts(&mut wanted)
        .ok_or_else(|| mismatch("the etcd group's hosts were not found in the document".into()))?;
    let key = hosts
        .keys()
        .find(|k| k.as_str().and_then(|s| s.parse::<IpAddr>().ok()) == Some(ip))
        .cloned();
    match edit {
        Edit::Add { seq, .. } => {
            let mut vars = serde_yaml::Mapping::new();
            vars.insert("etcd_seq".into(), Value::Number((*seq).into()));
            hosts.insert(Value::String(ip.to_string()), Value::Mapping(vars));
        }
        Edit::Comment { .. } | Edit::Remove { .. } => {
            if let Some(k) = key {
                hosts.shift_remove(&k);
            }
        }
    }
    if let Some(at) = first_difference(&wanted, &doc_after, &mut Vec::new()) {
        return Err(mismatch(format!(
            "the edited text would also change {at}, not only the etcd group's host {ip}"
        )));
    }
    Ok(())
}

/// The group's `hosts` mapping in a document, chosen as the validator chooses the group.
fn group_hosts(doc: &mut Value) -> Option<&mut serde_yaml::Mapping> {
    let top = doc.get("etcd").is_some();
    let group = if top {
        doc.get_mut("etcd")?
    } else {
        doc.get_mut("all")?.get_mut("children")?.get_mut("etcd")?
    };
    group.get_mut("hosts")?.as_mapping_mut()
}

/// The first path (`a.b.0.c`) where two documents differ, mapping order included.
fn first_difference(a: &Value, b: &Value, path: &mut Vec<String>) -> Option<String> {
    let here = |path: &[String]| {
        if path.is_empty() {
            "the document".to_string()
        } else {
            format!("`{}`", path.join("."))
        }
    };
    match (a, b) {
        (Value::Mapping(x), Value::Mapping(y)) => {
            if x.len() != y.len() || x.keys().zip(y.keys()).any(|(p, q)| p != q) {
                return Some(here(path));
            }
            for ((k, va), vb) in x.iter().zip(y.values()) {
                path.push(match k {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                });
                if let Some(d) = first_difference(va, vb, path) {
                    return Some(d);
                }
                path.pop();
            }
            None
        }
        (Value::Sequence(x), Value::Sequence(y)) => {
            if x.len() != y.len() {
                return Some(here(path));
            }
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                path.push(i.to_string());
                if let Some(d) = first_difference(va, vb, path) {
                    return Some(d);
                }
                path.pop();
            }
            None
        }
        (Value::Tagged(x), Value::Tagged(y)) => {
            if x.tag != y.tag {
                return Some(here(path));
            }
            first_difference(&x.value, &y.value, path)
        }
        // Scalars: NaN equals NaN here (an unchanged `.nan` is no difference).
        (Value::Number(x), Value::Number(y)) if x.to_string() == y.to_string() => None,
        _ if a == b => None,
        _ => Some(here(path)),
    }
}

// ---- hosts commented out ----

/// A commented-out host line `# <ip>: ...`: the address, and the text after its key.
fn commented_key(line: &str) -> Option<(IpAddr, &str)> {
    let t = line.trim_start().strip_prefix('#')?.trim_start();
    let (key, rest) = if let Some(q) = t.strip_prefix(['"', '\'']) {
        let close = q.find(['"', '\''])?;
        (&q[..close], q[close + 1..].strip_prefix(':')?)
    } else {
        // The key ends at the first `: ` (or a final `:`): an IPv6 address holds colons too.
        let end = t.find(": ").or_else(|| t.strip_suffix(':').map(str::len))?;
        (&t[..end], &t[end + 1..])
    };
    Some((key.trim().parse().ok()?, rest))
}

/// `etcd_seq: N` (or `etcd_seq : N`) in `s`.
fn seq_in(s: &str) -> Option<u32> {
    let at = s.find("etcd_seq")?;
    let rest = s[at + "etcd_seq".len()..].trim_start().strip_prefix(':')?;
    let rest = rest.trim_start();
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    rest[..digits].parse().ok()
}

/// Hosts commented out in the `etcd` group, by an earlier edit or by hand: comment lines shaped
/// `# <ip>: { etcd_seq: N ... }` (also `#<ip>:` as Pigsty's templates write them), or a comment
/// line `# <ip>:` followed by deeper comment lines holding `etcd_seq: N`. Searched from the
/// group's key to its end, and in the comment lines etcdeck wrote just above the key (see
/// [`Edit::Comment`] in flow style). In file order; a text whose
/// group is not found gives none. The wizard takes these into account so that an `etcd_seq` is
/// never reused.
pub fn commented_seqs(text: &str) -> Vec<(String, u32)> {
    let lines = Lines::new(text);
    let Ok(doc) = Doc::read(text, &lines) else {
        return Vec::new();
    };
    let Some((key, value)) = doc.group() else {
        return Vec::new();
    };
    // Above the group's key, only the lines etcdeck wrote there (flow style): a comment above a
    // group may be about the group before it.
    let key_line = doc.nodes[key].start.0;
    let mut first = key_line;
    while first > 1 && {
        let c = lines.content(first - 1).trim_start();
        c.starts_with('#') && c.ends_with(COMMENT_MARK)
    } {
        first -= 1;
    }
    let v = &doc.nodes[value];
    let last = match (&v.kind, v.end) {
        (Kind::Map { flow: true, .. } | Kind::Seq, Some(end)) => end.0,
        // Block style: the line of the next token (a comment line is not one).
        (_, Some(end)) => end.0,
        _ => v.start.0,
    }
    .min(lines.count());
    let mut found = Vec::new();
    let mut l = first;
    while l <= last {
        let content = lines.content(l);
        if let Some((ip, rest)) = commented_key(content) {
            let rest = rest.trim_start();
            if rest.starts_with('{') {
                if let Some(seq) = rest.find('}').and_then(|c| seq_in(&rest[..c])) {
                    found.push((ip.to_string(), seq));
                }
            } else if rest.is_empty() || rest.starts_with('#') || rest.starts_with(COMMENT_MARK) {
                // A host over several lines: deeper comment lines below, `#` in the same column.
                let hash = content.len() - content.trim_start().len();
                let depth = |c: &str| {
                    let after = &c[hash + 1..];
                    after.len() - after.trim_start().len()
                };
                let own = depth(content);
                let mut m = l + 1;
                while m <= last {
                    let c = lines.content(m);
                    if c.len() <= hash + 1 || c.as_bytes()[hash] != b'#' || depth(c) <= own {
                        break;
                    }
                    if let Some(seq) = seq_in(&c[hash + 1..]) {
                        found.push((ip.to_string(), seq));
                        break;
                    }
                    m += 1;
                }
            }
        }
        l += 1;
    }
    found
}

// ---- writing ----

/// `<file>.etcdeck-<unix-seconds>.bak` beside the file; `-2`, `-3`, ... before `.bak` when that
/// name is taken (a backup is never overwritten).
fn backup_name(dir: &Path, name: &str, secs: u64, n: u32) -> PathBuf {
    if n == 1 {
        dir.join(format!("{name}.etcdeck-{secs}.bak"))
    } else {
        dir.join(format!("{name}.etcdeck-{secs}-{n}.bak"))
    }
}

/// A new file (never an existing one) with `bytes`, the mode and owner of `like`, synced.
fn write_new(path: &Path, bytes: &[u8], like: &fs::Metadata) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    let done = (|| {
        if (f.metadata()?.uid(), f.metadata()?.gid()) != (like.uid(), like.gid()) {
            std::os::unix::fs::fchown(&f, Some(like.uid()), Some(like.gid()))?;
        }
        f.set_permissions(fs::Permissions::from_mode(like.mode() & 0o7777))?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if done.is_err() {
        let _ = fs::remove_file(path);
    }
    done
}

/// Write `edited.after` to `path`: refused when the file no longer holds `edited.before`; the
/// old file is kept as `<file>.etcdeck-<unix-seconds>.bak` beside it (same mode and owner, never
/// overwriting an older backup); the new text goes to a temporary file in the same directory,
/// is synced, renamed over the file, and the directory is synced. The file keeps its mode and
/// owner (changing the owner back needs root when the file is not yours). A symbolic link is
/// followed: the file it points to is edited and backed up beside it. Returns the backup's
/// path.
pub fn write(path: &Path, edited: &Edited) -> Result<PathBuf, EditError> {
    let real = fs::canonicalize(path).map_err(io_err("cannot find", path))?;
    let meta = fs::metadata(&real).map_err(io_err("cannot read", &real))?;
    if !meta.is_file() {
        return Err(EditError::Io {
            action: "cannot edit",
            path: real,
            source: io::Error::other("not a regular file"),
        });
    }
    let current = fs::read(&real).map_err(io_err("cannot read", &real))?;
    if current != edited.before.as_bytes() {
        return Err(EditError::Changed { path: real });
    }
    let dir = real.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut n = 1;
    let backup = loop {
        let candidate = backup_name(&dir, &name, secs, n);
        match write_new(&candidate, &current, &meta) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(io_err("cannot write the backup", &candidate)(e)),
        }
    };
    let mut n = 0;
    let temp = loop {
        let candidate = dir.join(format!(".{name}.etcdeck-{}-{n}.tmp", std::process::id()));
        match write_new(&candidate, edited.after.as_bytes(), &meta) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => {
                let _ = fs::remove_file(&backup);
                return Err(io_err("cannot write", &candidate)(e));
            }
        }
    };
    // Once more, just before the rename: someone may have saved the file meanwhile.
    let still = fs::read(&real).map_err(io_err("cannot read", &real));
    if !matches!(&still, Ok(b) if b == edited.before.as_bytes()) {
        let _ = fs::remove_file(&temp);
        let _ = fs::remove_file(&backup);
        return Err(still.err().unwrap_or(EditError::Changed { path: real }));
    }
    if let Err(e) = fs::rename(&temp, &real) {
        let _ = fs::remove_file(&temp);
        return Err(io_err("cannot replace", &real)(e));
    }
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("cannot sync the directory", &dir))?;
    Ok(backup)
}

/// The unified diff's lines, each escaped for a terminal ([`crate::text::escape`]); line endings
/// are left out (a CRLF file's `\r` is not shown).
pub fn diff_for_terminal(diff: &str) -> String {
    let mut out = String::new();
    for l in diff.lines() {
        let l = l.strip_suffix('\r').unwrap_or(l);
        let _ = writeln!(out, "{}", crate::text::escape(l));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn add(a: &str, seq: u32) -> Edit {
        Edit::Add { ip: ip(a), seq }
    }

    fn comment(a: &str) -> Edit {
        Edit::Comment { ip: ip(a) }
    }

    fn remove(a: &str) -> Edit {
        Edit::Remove { ip: ip(a) }
    }

    fn after(text: &str, edit: &Edit) -> String {
        match apply(text, "pigsty.yml", edit) {
            Ok(e) => e.after,
            Err(e) => panic!("{edit:?}: {e}"),
        }
    }

    fn refused(text: &str, edit: &Edit) -> EditError {
        match apply(text, "pigsty.yml", edit) {
            Ok(e) => panic!("{edit:?} was made:\n{}", e.diff),
            Err(e) => e,
        }
    }

    /// The lines taken out and put in, as a line-by-line comparison sees them.
    fn changed(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
        let diff = similar::TextDiff::from_lines(before, after);
        let (mut gone, mut new) = (Vec::new(), Vec::new());
        for c in diff.iter_all_changes() {
            match c.tag() {
                similar::ChangeTag::Delete => gone.push(c.value().to_string()),
                similar::ChangeTag::Insert => new.push(c.value().to_string()),
                similar::ChangeTag::Equal => {}
            }
        }
        (gone, new)
    }

    fn hosts(text: &str) -> Vec<(IpAddr, u32)> {
        let inv = parse(text, "pigsty.yml", &[]).expect("parses");
        let mut h: Vec<_> = inv.hosts.iter().map(|h| (h.ip, h.seq)).collect();
        h.sort();
        h
    }

    const TOP: &str = "\
# the etcd members
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }   # first, 'quoted' \"text\"
    \"10.10.10.11\":    {etcd_seq: 2}
    10.10.10.12: { etcd_seq: 3 }

  # keep this comment
  vars: { etcd_cluster: etcd,  etcd_port: 2379 }
";

    #[test]
    fn block_add_goes_after_the_last_host_at_its_indent_without_its_comment() {
        let out = after(TOP, &add("10.10.10.13", 4));
        assert_eq!(
            out,
            TOP.replace(
                "    10.10.10.12: { etcd_seq: 3 }\n",
                "    10.10.10.12: { etcd_seq: 3 }\n    10.10.10.13: { etcd_seq: 4 }\n"
            )
        );
        let e = apply(TOP, "pigsty.yml", &add("10.10.10.13", 4)).unwrap();
        assert_eq!(e.summary, "add 10.10.10.13 (etcd_seq 4) to the etcd group");
        assert_eq!(e.before, TOP);
        assert!(
            e.diff
                .starts_with("--- a/pigsty.yml\n+++ b/pigsty.yml\n@@ "),
            "{}",
            e.diff
        );
        assert!(
            e.diff.contains("\n+    10.10.10.13: { etcd_seq: 4 }\n"),
            "{}",
            e.diff
        );
        // 3 lines of context each side.
        assert!(
            e.diff
                .contains("\n     \"10.10.10.11\":    {etcd_seq: 2}\n"),
            "{}",
            e.diff
        );
        assert!(!e.diff.contains("# the etcd members"), "{}", e.diff);

        // After a last host with a trailing comment, the comment stays on its line.
        let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }  # only one\n";
        assert_eq!(
            after(text, &add("10.10.10.11", 2)),
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }  # only one\n    10.10.10.11: { etcd_seq: 2 }\n"
        );
    }

    #[test]
    fn block_comment_and_remove_touch_only_that_hosts_line() {
        let out = after(TOP, &comment("10.10.10.11"));
        assert_eq!(
            changed(TOP, &out),
            (
                vec!["    \"10.10.10.11\":    {etcd_seq: 2}\n".to_string()],
                vec![
                    "    # \"10.10.10.11\":    {etcd_seq: 2}  (etcd member removed by etcdeck)\n"
                        .to_string()
                ]
            )
        );
        assert_eq!(
            hosts(&out),
            [(ip("10.10.10.10"), 1), (ip("10.10.10.12"), 3)]
        );
        assert_eq!(commented_seqs(&out), [("10.10.10.11".to_string(), 2)]);

        let out = after(TOP, &remove("10.10.10.10"));
        assert_eq!(
            out,
            TOP.replace(
                "    10.10.10.10: { etcd_seq: 1 }   # first, 'quoted' \"text\"\n",
                ""
            )
        );
        let e = apply(TOP, "pigsty.yml", &remove("10.10.10.12")).unwrap();
        assert_eq!(
            e.summary,
            "remove 10.10.10.12 (etcd_seq 3) from the etcd group"
        );
        assert_eq!(
            e.after,
            TOP.replace("    10.10.10.12: { etcd_seq: 3 }\n", "")
        );
        let e = apply(TOP, "pigsty.yml", &comment("10.10.10.12")).unwrap();
        assert_eq!(
            e.summary,
            "comment out 10.10.10.12 (etcd_seq 3) in the etcd group"
        );
    }

    const NESTED: &str = "\
all:
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd:
      hosts:
        10.10.10.10: { etcd_seq: 1 }
        10.10.10.17:
          etcd_seq: 8
          etcd_learner: true   # joined later

        10.10.10.12: { etcd_seq: 3 }
        10.10.10.18:
          etcd_seq: 9
      vars:
        etcd_cluster: etcd
  vars:
    admin_ip: 10.10.10.10
";

    #[test]
    fn a_host_over_several_lines_is_commented_and_removed_whole() {
        let out = after(NESTED, &comment("10.10.10.17"));
        assert_eq!(
            out,
            NESTED.replace(
                "        10.10.10.17:\n          etcd_seq: 8\n          etcd_learner: true   # joined later\n",
                "        # 10.10.10.17:  (etcd member removed by etcdeck)\n        #   etcd_seq: 8\n        #   etcd_learner: true   # joined later\n"
            )
        );
        assert_eq!(commented_seqs(&out), [("10.10.10.17".to_string(), 8)]);
        assert_eq!(
            hosts(&out),
            [
                (ip("10.10.10.10"), 1),
                (ip("10.10.10.12"), 3),
                (ip("10.10.10.18"), 9)
            ]
        );

        let out = after(NESTED, &remove("10.10.10.17"));
        assert_eq!(
            out,
            NESTED.replace(
                "        10.10.10.17:\n          etcd_seq: 8\n          etcd_learner: true   # joined later\n",
                ""
            ),
            "the blank line after the host is not the host's"
        );
        // The last host over two lines: the new host goes after both.
        let out = after(NESTED, &add("10.10.10.19", 10));
        assert_eq!(
            out,
            NESTED.replace(
                "          etcd_seq: 9\n",
                "          etcd_seq: 9\n        10.10.10.19: { etcd_seq: 10 }\n"
            )
        );
        let out = after(NESTED, &remove("10.10.10.18"));
        assert_eq!(
            out,
            NESTED.replace("        10.10.10.18:\n          etcd_seq: 9\n", "")
        );
    }

    const FLOW: &str = "all:\n  children:\n    etcd:  { hosts: { 10.10.10.10: { etcd_seq: 1  }, 10.10.10.11: {etcd_seq: 2}} ,vars: { etcd_cluster: etcd  }}\n    minio: { hosts: { 10.10.10.10: { minio_seq: 1 } } }\n";

    #[test]
    fn flow_style_on_one_line() {
        assert_eq!(
            after(FLOW, &add("10.10.10.12", 3)),
            FLOW.replace(
                "{etcd_seq: 2}}",
                "{etcd_seq: 2}, 10.10.10.12: { etcd_seq: 3 }}"
            )
        );
        assert_eq!(
            after(FLOW, &remove("10.10.10.10")),
            FLOW.replace("10.10.10.10: { etcd_seq: 1  }, 10.10.10.11", "10.10.10.11")
        );
        assert_eq!(
            after(FLOW, &remove("10.10.10.11")),
            FLOW.replace(", 10.10.10.11: {etcd_seq: 2}", "")
        );
        // A comment cannot stand inside the braces: the host leaves them and a comment line
        // above the group's line keeps it, at that line's indent.
        assert_eq!(
            after(FLOW, &comment("10.10.10.11")),
            "all:\n  children:\n    # 10.10.10.11: {etcd_seq: 2}  (etcd member removed by etcdeck)\n    etcd:  { hosts: { 10.10.10.10: { etcd_seq: 1  }} ,vars: { etcd_cluster: etcd  }}\n    minio: { hosts: { 10.10.10.10: { minio_seq: 1 } } }\n"
        );
        let out = after(FLOW, &comment("10.10.10.10"));
        assert_eq!(commented_seqs(&out), [("10.10.10.10".to_string(), 1)]);
        assert_eq!(hosts(&out), [(ip("10.10.10.11"), 2)]);
        // Add then remove gives the file back.
        let added = after(FLOW, &add("10.10.10.12", 3));
        assert_eq!(after(&added, &remove("10.10.10.12")), FLOW);
    }

    const FLOW_LINES: &str = "\
etcd:
  hosts: {
    10.10.10.10: { etcd_seq: 1 },   # one
    10.10.10.11: { etcd_seq: 2 },
    10.10.10.12: { etcd_seq: 3 } }
  vars: { etcd_cluster: etcd }
";

    #[test]
    fn flow_style_over_several_lines() {
        assert_eq!(
            after(FLOW_LINES, &remove("10.10.10.11")),
            FLOW_LINES.replace("    10.10.10.11: { etcd_seq: 2 },\n", "")
        );
        assert_eq!(
            after(FLOW_LINES, &remove("10.10.10.12")),
            FLOW_LINES.replace(
                "{ etcd_seq: 2 },\n    10.10.10.12: { etcd_seq: 3 } }",
                "{ etcd_seq: 2 }\n     }"
            )
        );
        assert_eq!(
            after(FLOW_LINES, &add("10.10.10.13", 4)),
            FLOW_LINES.replace(
                "{ etcd_seq: 3 } }",
                "{ etcd_seq: 3 }, 10.10.10.13: { etcd_seq: 4 } }"
            )
        );
        let out = after(FLOW_LINES, &comment("10.10.10.10"));
        assert_eq!(
            out,
            "etcd:\n  # 10.10.10.10: { etcd_seq: 1 }  (etcd member removed by etcdeck)\n  hosts: {\n    10.10.10.11: { etcd_seq: 2 },\n    10.10.10.12: { etcd_seq: 3 } }\n  vars: { etcd_cluster: etcd }\n"
        );
        assert_eq!(commented_seqs(&out), [("10.10.10.10".to_string(), 1)]);

        // The last host on a line of its own, the brace on the next.
        let own = "etcd:\n  hosts: {\n    10.10.10.10: { etcd_seq: 1 },  # one\n    10.10.10.11: { etcd_seq: 2 }\n    }\n";
        assert_eq!(
            after(own, &remove("10.10.10.11")),
            "etcd:\n  hosts: {\n    10.10.10.10: { etcd_seq: 1 }  # one\n    }\n"
        );
    }

    #[test]
    fn crlf_stays_crlf() {
        let text = TOP.replace('\n', "\r\n");
        let out = after(&text, &add("10.10.10.13", 4));
        assert_eq!(
            out,
            text.replace(
                "    10.10.10.12: { etcd_seq: 3 }\r\n",
                "    10.10.10.12: { etcd_seq: 3 }\r\n    10.10.10.13: { etcd_seq: 4 }\r\n"
            )
        );
        let out = after(&text, &comment("10.10.10.12"));
        assert_eq!(
            out,
            text.replace(
                "    10.10.10.12: { etcd_seq: 3 }\r\n",
                "    # 10.10.10.12: { etcd_seq: 3 }  (etcd member removed by etcdeck)\r\n"
            )
        );
        assert_eq!(commented_seqs(&out), [("10.10.10.12".to_string(), 3)]);
        let nested = NESTED.replace('\n', "\r\n");
        let out = after(&nested, &remove("10.10.10.17"));
        assert_eq!(
            out,
            nested.replace(
                "        10.10.10.17:\r\n          etcd_seq: 8\r\n          etcd_learner: true   # joined later\r\n",
                ""
            )
        );
        let flow = FLOW.replace('\n', "\r\n");
        let out = after(&flow, &comment("10.10.10.10"));
        assert!(out.starts_with("all:\r\n  children:\r\n    # 10.10.10.10: { etcd_seq: 1 }  (etcd member removed by etcdeck)\r\n    etcd:"), "{out:?}");
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
    }

    #[test]
    fn a_file_without_a_final_newline_keeps_none() {
        let text = "etcd:\n  vars: { etcd_cluster: etcd }\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2 }";
        assert_eq!(
            after(text, &add("10.10.10.12", 3)),
            format!("{text}\n    10.10.10.12: {{ etcd_seq: 3 }}")
        );
        assert_eq!(
            after(text, &remove("10.10.10.11")),
            "etcd:\n  vars: { etcd_cluster: etcd }\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }"
        );
        assert_eq!(
            after(text, &comment("10.10.10.11")),
            format!(
                "{}  (etcd member removed by etcdeck)",
                text.replace("    10.10.10.11", "    # 10.10.10.11")
            )
        );
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(
            after(&crlf, &add("10.10.10.12", 3)),
            format!("{crlf}\r\n    10.10.10.12: {{ etcd_seq: 3 }}")
        );
        let flow = "etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }";
        assert_eq!(
            after(flow, &add("10.10.10.11", 2)),
            "etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 }, 10.10.10.11: { etcd_seq: 2 } } }"
        );
    }

    #[test]
    fn ipv6_hosts_are_written_quoted_and_found_again() {
        let text = "etcd:\n  hosts:\n    \"fd00::10\": { etcd_seq: 1 }\n";
        let out = after(text, &add("fd00::11", 2));
        assert_eq!(out, format!("{text}    \"fd00::11\": {{ etcd_seq: 2 }}\n"));
        assert_eq!(hosts(&out), [(ip("fd00::10"), 1), (ip("fd00::11"), 2)]);
        let out = after(&out, &comment("fd00::11"));
        assert_eq!(commented_seqs(&out), [("fd00::11".to_string(), 2)]);
    }

    #[test]
    fn refusals_say_why_and_what_to_do() {
        let e = refused(TOP, &add("10.10.10.11", 4));
        assert!(matches!(e, EditError::AlreadyHost { line: 5, .. }), "{e:?}");
        let e = refused(TOP, &add("10.10.10.13", 2));
        assert!(
            matches!(
                e,
                EditError::SeqTaken {
                    seq: 2,
                    free: 4,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("use --seq 4"), "{e}");
        let e = refused(TOP, &remove("10.10.10.99"));
        assert_eq!(
            e.to_string(),
            "10.10.10.99 is not a host of the etcd group (its hosts: 10.10.10.10, 10.10.10.11, 10.10.10.12); check the address"
        );
        assert!(matches!(
            refused(TOP, &comment("10.10.10.99")),
            EditError::NotAHost { .. }
        ));

        let one = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n";
        for edit in [comment("10.10.10.10"), remove("10.10.10.10")] {
            let e = refused(one, &edit);
            assert!(matches!(e, EditError::LastHost { .. }), "{e:?}");
            assert!(
                e.to_string()
                    .contains("an empty etcd group makes the inventory invalid"),
                "{e}"
            );
        }

        for no_hosts in [
            "etcd:\n  vars: { etcd_cluster: etcd }\n",
            "etcd:\n  hosts:\n  vars: { etcd_cluster: etcd }\n",
            "all: { children: { etcd: { hosts: {} } } }\n",
        ] {
            let e = refused(no_hosts, &add("10.10.10.10", 1));
            assert!(matches!(e, EditError::NoHosts { .. }), "{no_hosts}: {e:?}");
        }
        let e = refused(
            "all:\n  children:\n    pg-meta: { hosts: { 10.10.10.10: { pg_seq: 1 } } }\n",
            &add("10.10.10.10", 1),
        );
        assert!(matches!(e, EditError::NoGroup { .. }), "{e:?}");

        // An inventory with errors is fixed first.
        let bad =
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 1 }\n";
        let e = refused(bad, &add("10.10.10.12", 3));
        assert_eq!(
            e.to_string(),
            "pigsty.yml has 1 error(s), first at line 4:30: duplicate etcd_seq 1: host 10.10.10.10 on line 3 has it too; fix them first (`etcdeck inventory check`), then edit"
        );
    }

    #[test]
    fn layouts_the_locator_does_not_follow_are_refused() {
        let cases = [
            // A host key with a YAML tag.
            ("etcd:\n  hosts:\n    !!str 10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2 }\n", "YAML tag"),
            // A complex key.
            ("etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    ? 10.10.10.11\n    : { etcd_seq: 2 }\n", "does not start its line"),
            // Hosts merged in from an anchor.
            ("base: &base\n  10.10.10.10: { etcd_seq: 1 }\netcd:\n  hosts:\n    <<: *base\n    10.10.10.11: { etcd_seq: 2 }\n", "merged in"),
            // The whole hosts mapping through an alias.
            ("base: &base\n  10.10.10.10: { etcd_seq: 1 }\n  10.10.10.11: { etcd_seq: 2 }\netcd:\n  hosts: *base\n", "alias"),
        ];
        for (text, why) in cases {
            assert!(
                parse(text, "pigsty.yml", &[]).is_ok(),
                "a valid inventory: {text}"
            );
            for edit in [
                add("10.10.10.12", 3),
                comment("10.10.10.11"),
                remove("10.10.10.11"),
            ] {
                let e = refused(text, &edit);
                assert!(
                    matches!(&e, EditError::Unsupported { why: w, .. } if w.contains(why)),
                    "{text}: {edit:?}: {e:?}"
                );
                assert!(e.to_string().ends_with("make this change by hand"), "{e}");
            }
        }
    }

    #[test]
    fn a_text_edit_that_would_change_more_than_the_host_is_caught_and_gives_nothing_to_write() {
        // Removing the host that carries an anchor another group uses would break the alias.
        let anchored = "etcd:\n  hosts:\n    10.10.10.10: &node { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2 }\nmonitor:\n  hosts:\n    10.10.10.10: *node\n";
        for edit in [remove("10.10.10.10"), comment("10.10.10.10")] {
            let e = refused(anchored, &edit);
            let EditError::Mismatch { why } = &e else {
                panic!("{e:?}")
            };
            assert!(why.contains("unknown anchor"), "{why}");
        }
        // The hosts mapping is shared through an anchor: adding to it adds to `monitor` too.
        let shared = "etcd:\n  hosts: &members\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2 }\nmonitor:\n  hosts: *members\n";
        let e = refused(shared, &add("10.10.10.12", 3));
        let EditError::Mismatch { why } = &e else {
            panic!("{e:?}")
        };
        assert!(why.contains("`monitor.hosts`"), "{why}");
        // A block scalar whose text looks like a comment: the line goes between the `|` and its
        // text, which the host list alone would not show.
        let scalar = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11:\n      etcd_seq: 2\n      note: |\n        # rack 4\n  vars: { etcd_cluster: etcd }\n";
        let e = refused(scalar, &add("10.10.10.12", 3));
        let EditError::Mismatch { why } = &e else {
            panic!("{e:?}")
        };
        assert!(why.contains("`etcd.hosts.10.10.10.11.note`"), "{why}");
        assert!(
            e.to_string()
                .starts_with("the edit was checked and refused, nothing is written"),
            "{e}"
        );
    }

    #[test]
    fn commented_hosts_of_the_group_are_found_and_no_others() {
        let text = "\
infra:
  hosts:
    #10.10.10.20: { infra_seq: 2, etcd_seq: 7 }
# 10.10.10.9: { etcd_seq: 11 }  (etcd member removed by etcdeck)
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }
    #10.10.10.11: { etcd_seq: 2 }  # assign from 1 ~ n
    # \"10.10.10.12\": { etcd_seq : 5, etcd_port: 2379 }
    # fd00::1: { etcd_seq: 6 }
    #10.10.10.13:
    #  etcd_seq: 12
    # 10.10.10.14: a note, not a host
    # etcd_seq: 99 is not a host either
  vars: { etcd_cluster: etcd }
pg-meta:
  hosts:
    # 10.10.10.30: { etcd_seq: 30 }
";
        assert_eq!(
            commented_seqs(text),
            [
                ("10.10.10.9".to_string(), 11),
                ("10.10.10.11".to_string(), 2),
                ("10.10.10.12".to_string(), 5),
                ("fd00::1".to_string(), 6),
                ("10.10.10.13".to_string(), 12),
            ]
        );
        let inv = parse(text, "pigsty.yml", &[]).unwrap();
        assert_eq!(next_seq(&inv, text), 13);
        let plain =
            "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2 }\n";
        assert_eq!(next_seq(&parse(plain, "p", &[]).unwrap(), plain), 3);
        assert!(commented_seqs("not: [yaml").is_empty());
    }

    #[test]
    fn an_edit_is_stored_as_json_with_its_op() {
        for (edit, json) in [
            (
                add("10.10.10.13", 4),
                r#"{"op":"add","ip":"10.10.10.13","seq":4}"#,
            ),
            (
                comment("10.10.10.12"),
                r#"{"op":"comment","ip":"10.10.10.12"}"#,
            ),
            (remove("fd00::1"), r#"{"op":"remove","ip":"fd00::1"}"#),
        ] {
            assert_eq!(serde_json::to_string(&edit).unwrap(), json);
            assert_eq!(serde_json::from_str::<Edit>(json).unwrap(), edit);
        }
    }

    #[test]
    fn the_same_edit_gives_the_same_bytes() {
        for edit in [
            add("10.10.10.13", 4),
            comment("10.10.10.11"),
            remove("10.10.10.11"),
        ] {
            assert_eq!(
                apply(TOP, "pigsty.yml", &edit).unwrap(),
                apply(TOP, "pigsty.yml", &edit).unwrap()
            );
        }
    }

    // ---- real Pigsty inventories ----

    fn pigsty(name: &str) -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/inventory/pigsty")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn pigsty_ha_trio_block_style_with_comments() {
        let text = pigsty("ha-trio.yml");
        let inv = parse(&text, "ha-trio.yml", &[]).unwrap();
        assert_eq!(next_seq(&inv, &text), 4);
        let out = after(&text, &add("10.10.10.13", 4));
        assert_eq!(
            changed(&text, &out),
            (
                vec![],
                vec!["        10.10.10.13: { etcd_seq: 4 }\n".to_string()]
            )
        );
        assert_eq!(hosts(&out).len(), 4);
        let out = after(&text, &comment("10.10.10.12"));
        assert_eq!(
            changed(&text, &out),
            (
                vec!["        10.10.10.12: { etcd_seq: 3 }  # three-member cluster keeps an odd voter count\n".to_string()],
                vec!["        # 10.10.10.12: { etcd_seq: 3 }  # three-member cluster keeps an odd voter count  (etcd member removed by etcdeck)\n".to_string()]
            )
        );
        assert_eq!(
            hosts(&out),
            [(ip("10.10.10.10"), 1), (ip("10.10.10.11"), 2)]
        );
        assert_eq!(
            next_seq(&parse(&out, "t", &[]).unwrap(), &out),
            4,
            "3 is not reused"
        );
        let out = after(&text, &remove("10.10.10.11"));
        assert_eq!(
            changed(&text, &out),
            (
                vec!["        10.10.10.11: { etcd_seq: 2 }  # assign from 1 ~ n\n".to_string()],
                vec![]
            )
        );
        assert_eq!(
            hosts(&out),
            [(ip("10.10.10.10"), 1), (ip("10.10.10.12"), 3)]
        );
    }

    #[test]
    fn pigsty_slim_with_hosts_commented_out_by_hand() {
        let text = pigsty("slim.yml");
        assert_eq!(
            commented_seqs(&text),
            [
                ("10.10.10.11".to_string(), 2),
                ("10.10.10.12".to_string(), 3)
            ]
        );
        let inv = parse(&text, "slim.yml", &[]).unwrap();
        assert_eq!(
            next_seq(&inv, &text),
            4,
            "the commented seqs 2 and 3 are skipped"
        );
        let out = after(&text, &add("10.10.10.13", 4));
        assert_eq!(
            changed(&text, &out),
            (
                vec![],
                vec!["        10.10.10.13: { etcd_seq: 4 }\n".to_string()]
            )
        );
        assert_eq!(
            hosts(&out),
            [(ip("10.10.10.10"), 1), (ip("10.10.10.13"), 4)]
        );
        assert!(matches!(
            refused(&text, &remove("10.10.10.10")),
            EditError::LastHost { .. }
        ));
        assert!(matches!(
            refused(&text, &comment("10.10.10.10")),
            EditError::LastHost { .. }
        ));
        // Once the new member is in, the first can go.
        let out = after(&out, &comment("10.10.10.10"));
        assert_eq!(hosts(&out), [(ip("10.10.10.13"), 4)]);
        assert_eq!(commented_seqs(&out).len(), 3);
        let out = after(
            &after(&text, &add("10.10.10.13", 4)),
            &remove("10.10.10.10"),
        );
        assert_eq!(hosts(&out), [(ip("10.10.10.13"), 4)]);
    }

    #[test]
    fn pigsty_one_line_groups() {
        for (name, line) in [
            ("ha-dual.yml", "    etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }\n"),
            ("pgsql.yml", "    etcd:  { hosts: { 10.10.10.10: { etcd_seq: 1  }} ,vars: { etcd_cluster: etcd  }}\n"),
        ] {
            let text = pigsty(name);
            assert!(text.contains(line), "{name}");
            let grown = after(&text, &add("10.10.10.11", 2));
            let (gone, new) = changed(&text, &grown);
            assert_eq!(gone, [line.to_string()], "{name}");
            assert_eq!(new.len(), 1, "{name}");
            assert!(new[0].contains("{ etcd_seq: 1 }, 10.10.10.11: { etcd_seq: 2 }") || new[0].contains("{ etcd_seq: 1  }, 10.10.10.11: { etcd_seq: 2 }"), "{name}: {new:?}");
            assert_eq!(hosts(&grown), [(ip("10.10.10.10"), 1), (ip("10.10.10.11"), 2)]);
            assert!(matches!(refused(&text, &comment("10.10.10.10")), EditError::LastHost { .. }));
            assert!(matches!(refused(&text, &remove("10.10.10.10")), EditError::LastHost { .. }));
            // Comment the first out: the line loses it, a comment line above keeps it.
            let out = after(&grown, &comment("10.10.10.10"));
            let (gone, new) = changed(&grown, &out);
            assert_eq!(gone.len(), 1, "{name}");
            assert_eq!(new[0], "    # 10.10.10.10: { etcd_seq: 1 }  (etcd member removed by etcdeck)\n", "{name}");
            assert_eq!(hosts(&out), [(ip("10.10.10.11"), 2)]);
            assert_eq!(commented_seqs(&out), [("10.10.10.10".to_string(), 1)]);
            // Removing what was added gives Pigsty's file back, byte for byte.
            assert_eq!(after(&grown, &remove("10.10.10.11")), text, "{name}");
        }
    }

    // ---- writing ----

    fn edited(dir: &Path, mode: u32) -> (PathBuf, Edited) {
        let path = dir.join("pigsty.yml");
        fs::write(&path, TOP).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let e = apply(TOP, "pigsty.yml", &add("10.10.10.13", 4)).unwrap();
        (path, e)
    }

    #[test]
    fn write_keeps_mode_and_a_backup_of_the_old_bytes() {
        let dir = tempfile::TempDir::new().unwrap();
        let (path, e) = edited(dir.path(), 0o640);
        let backup = write(&path, &e).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), e.after);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(fs::read(&backup).unwrap(), TOP.as_bytes());
        assert_eq!(fs::metadata(&backup).unwrap().mode() & 0o7777, 0o640);
        let name = backup.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            name.starts_with("pigsty.yml.etcdeck-") && name.ends_with(".bak"),
            "{name}"
        );
        assert_eq!(
            backup.parent(),
            fs::canonicalize(dir.path()).ok().as_deref()
        );
        // Nothing else is left in the directory (no temporary file).
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["pigsty.yml".to_string(), name.clone()]);

        // A second edit in the same second gets a backup of its own.
        let again = apply(&e.after, "pigsty.yml", &remove("10.10.10.13")).unwrap();
        let second = write(&path, &again).unwrap();
        assert_ne!(second, backup);
        assert_eq!(
            fs::read(&backup).unwrap(),
            TOP.as_bytes(),
            "the first backup is kept"
        );
        assert_eq!(fs::read_to_string(&second).unwrap(), e.after);
        assert_eq!(fs::read_to_string(&path).unwrap(), TOP);
    }

    #[test]
    fn write_refuses_a_file_changed_meanwhile_and_leaves_it_alone() {
        let dir = tempfile::TempDir::new().unwrap();
        let (path, e) = edited(dir.path(), 0o600);
        let theirs = format!("{TOP}# saved by someone else\n");
        fs::write(&path, &theirs).unwrap();
        let err = write(&path, &e).unwrap_err();
        assert!(matches!(err, EditError::Changed { .. }), "{err:?}");
        assert!(
            err.to_string().contains("changed since it was read"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no backup, no temporary file"
        );
    }

    #[test]
    fn write_through_a_link_edits_the_file_it_points_to() {
        let dir = tempfile::TempDir::new().unwrap();
        let real = dir.path().join("conf");
        fs::create_dir(&real).unwrap();
        let (path, e) = edited(&real, 0o644);
        let link = dir.path().join("pigsty.yml");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let backup = write(&link, &e).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&path).unwrap(), e.after);
        assert_eq!(backup.parent(), fs::canonicalize(&real).ok().as_deref());
    }
}
