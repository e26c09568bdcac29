//! Text that comes from etcd (keys, values, member names) is shown with every control character
//! escaped, so a value can never drive the terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// Escape bytes for display: printable UTF-8 is kept, control characters (C0, DEL, C1) are shown as
/// `\n`, `\t`, `\e`, `\xNN` or `\u{NNNN}`, and bytes that are not valid UTF-8 as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => escape(s),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                push_escaped(&mut out, chunk.valid());
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

/// Standard base64 with padding (for OSC 52 clipboard writes).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escape a string for display; borrows when nothing needs escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    push_escaped(&mut out, s);
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\\' || is_bidi_control(c)
}

/// Bidirectional overrides can reorder what the operator reads; show them as code points.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{1b}' => out.push_str("\\e"),
            c if (c as u32) < 0x100 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"/pg/pg-meta/leader"), "L3BnL3BnLW1ldGEvbGVhZGVy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(escape("etcd-1"), Cow::Borrowed("etcd-1")));
        assert_eq!(
            escape("pg-meta/members/pg-meta-1"),
            "pg-meta/members/pg-meta-1"
        );
    }

    #[test]
    fn escape_sequences_are_shown_not_executed() {
        let evil = "x\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\r\n\u{9b}31m";
        let shown = escape(evil);
        assert_eq!(shown, "x\\e]52;c;aGk=\\x07\\e[2J\\r\\n\\x9b31m");
        assert!(!shown.chars().any(|c| c.is_control()));
    }

    #[test]
    fn invalid_utf8_becomes_hex_and_backslash_is_unambiguous() {
        assert_eq!(escape_bytes(b"ok\xff\xfe-\\"), "ok\\xff\\xfe-\\\\");
        assert_eq!(escape("a\u{202e}b"), "a\\u{202e}b");
    }
}
