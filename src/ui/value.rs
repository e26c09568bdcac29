//! A value from etcd as lines to show: JSON pretty-printed and coloured, text as it is, anything
//! else as a hex dump. Every byte that came from etcd is escaped: control characters and escape
//! sequences are shown, never sent to the terminal.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use serde_json::Value;

use crate::app::config::Theme;
use crate::text::escape;

/// Values larger than this are shown in part (copy them whole with the clipboard key).
pub const SHOW_AT_MOST: usize = 64 * 1024;

/// The kind of the value (`empty`, `JSON`, `text`, `binary`) and its lines, from one parse.
pub fn show(bytes: &[u8], t: &Theme) -> (&'static str, Vec<Line<'static>>) {
    let dim = Style::new().fg(t.dim);
    let (shown, cut) = if bytes.len() > SHOW_AT_MOST {
        (&bytes[..SHOW_AT_MOST], bytes.len() - SHOW_AT_MOST)
    } else {
        (bytes, 0)
    };
    let json_value = if cut == 0 && !bytes.is_empty() {
        serde_json::from_slice::<Value>(shown).ok()
    } else {
        None
    };
    let utf8 = std::str::from_utf8(shown);
    let kind = if bytes.is_empty() {
        "empty"
    } else if json_value.is_some() {
        "JSON"
    } else if (cut == 0 && utf8.is_ok()) || (cut > 0 && std::str::from_utf8(bytes).is_ok()) {
        "text"
    } else {
        "binary"
    };
    let mut out = Vec::new();
    if let Some(v) = json_value.filter(|v| v.is_object() || v.is_array()) {
        json(&v, 0, None, false, t, &mut out);
        return (kind, out);
    }
    match utf8 {
        Ok(text) => {
            for l in text.split('\n') {
                out.push(Line::raw(escape(l).into_owned()));
            }
        }
        Err(e) if cut > 0 && e.error_len().is_none() => {
            // A large UTF-8 value cut inside a character.
            let text = String::from_utf8_lossy(&shown[..e.valid_up_to()]);
            for l in text.split('\n') {
                out.push(Line::raw(escape(l).into_owned()));
            }
        }
        Err(_) => hex(shown, t, &mut out),
    }
    if cut > 0 {
        out.push(Line::styled(
            format!("… {cut} more bytes not shown (copy the value to see it all)"),
            dim,
        ));
    }
    (kind, out)
}

/// `0000  7b 22 61 22 ...  {"a"...`
fn hex(bytes: &[u8], t: &Theme, out: &mut Vec<Line<'static>>) {
    let dim = Style::new().fg(t.dim);
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hexes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() || *b == b' ' {
                    *b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push(Line::from(vec![
            Span::styled(format!("{:04x}  ", i * 16), dim),
            Span::raw(format!("{:<48}", hexes.join(" "))),
            Span::styled(format!(" {ascii}"), dim),
        ]));
    }
}

fn json(
    v: &Value,
    depth: usize,
    key: Option<&str>,
    comma: bool,
    t: &Theme,
    out: &mut Vec<Line<'static>>,
) {
    let indent = "  ".repeat(depth);
    let mut spans = vec![Span::raw(indent.clone())];
    if let Some(k) = key {
        spans.push(Span::styled(
            format!("\"{}\"", escape(k)),
            Style::new().fg(t.accent),
        ));
        spans.push(Span::raw(": "));
    }
    let tail = if comma { "," } else { "" };
    match v {
        Value::Object(map) if !map.is_empty() => {
            spans.push(Span::raw("{"));
            out.push(Line::from(spans));
            let n = map.len();
            for (i, (k, child)) in map.iter().enumerate() {
                json(child, depth + 1, Some(k), i + 1 < n, t, out);
            }
            out.push(Line::raw(format!("{indent}}}{tail}")));
        }
        Value::Array(items) if !items.is_empty() => {
            spans.push(Span::raw("["));
            out.push(Line::from(spans));
            let n = items.len();
            for (i, child) in items.iter().enumerate() {
                json(child, depth + 1, None, i + 1 < n, t, out);
            }
            out.push(Line::raw(format!("{indent}]{tail}")));
        }
        scalar => {
            let (text, style) = match scalar {
                Value::String(s) => (format!("\"{}\"", escape(s)), Style::new().fg(t.ok)),
                Value::Number(n) => (n.to_string(), Style::new().fg(t.warn)),
                Value::Bool(b) => (b.to_string(), Style::new().add_modifier(Modifier::BOLD)),
                Value::Null => ("null".into(), Style::new().fg(t.dim)),
                Value::Object(_) => ("{}".into(), Style::new()),
                Value::Array(_) => ("[]".into(), Style::new()),
            };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(tail.to_string()));
            out.push(Line::from(spans));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> &'static str {
        show(bytes, &Theme::monochrome()).0
    }

    fn lines(bytes: &[u8], t: &Theme) -> Vec<Line<'static>> {
        show(bytes, t).1
    }

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn json_is_pretty_printed_with_escapes() {
        let t = crate::app::config::Theme::monochrome();
        let v = br#"{"role":"replica","tags":{"nofailover":false},"lsn":[1,2],"bad":"\u001b[2J"}"#;
        assert_eq!(kind(v), "JSON");
        assert_eq!(
            plain(&lines(v, &t)),
            [
                "{",
                "  \"bad\": \"\\e[2J\",",
                "  \"lsn\": [",
                "    1,",
                "    2",
                "  ],",
                "  \"role\": \"replica\",",
                "  \"tags\": {",
                "    \"nofailover\": false",
                "  }",
                "}",
            ]
        );
    }

    #[test]
    fn text_binary_and_large_values() {
        let t = crate::app::config::Theme::monochrome();
        assert_eq!(plain(&lines(b"pg-meta-2", &t)), ["pg-meta-2"]);
        assert_eq!(kind(b"pg-meta-2"), "text");
        assert_eq!(
            plain(&lines(b"a\x1b]0;x\x07\nb", &t)),
            ["a\\e]0;x\\x07", "b"]
        );
        let bin = [0u8, 159, 146, 150, b'A'];
        assert_eq!(kind(&bin), "binary");
        assert_eq!(
            plain(&lines(&bin, &t)),
            [format!("0000  {:<48} ....A", "00 9f 92 96 41")]
        );
        let big = vec![b'x'; SHOW_AT_MOST + 10];
        let l = plain(&lines(&big, &t));
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[1],
            "… 10 more bytes not shown (copy the value to see it all)"
        );
    }
}
