//! Text that comes from etcd (keys, values, member names) is shown with every control character
//! escaped, so a value can never drive the terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// Escape bytes for display: printable UTF-8 is kept, control characters (C0, DEL, C1) are shown as
/// `\n`, `\t`, `\e`, `\xNN` or `\u{NNNN}`, invisible and format characters ([`is_invisible`])
/// as `\u{NNNN}`, and bytes that are not valid UTF-8 as `\xNN`.
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
    c.is_control() || c == '\\' || is_invisible(c)
}

/// Code points that show nothing, or change how what is around them shows, so that two names
/// that read the same differ (`pg\u{200b}-meta` and `pg-meta`) or the text is reordered or
/// broken across lines: every default-ignorable code point (Unicode's
/// `Default_Ignorable_Code_Point`: zero-width spaces and joiners, word joiner, BOM, variation
/// selectors, Hangul fillers, tags), every format character (general category Cf: bidi marks,
/// embeddings, overrides and isolates, U+061C, the Arabic number signs, U+FFF9-FFFB), and the
/// line and paragraph separators U+2028 and U+2029. They are shown as `\u{NNNN}`.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// Whether `s` holds a code point [`is_invisible`] or a control character: a name that holds one
/// can pass for another.
pub fn has_hidden(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_invisible(c))
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

/// JSON for a terminal or a log: as serde_json writes it, and besides every character
/// [`escape`] would show as a code point (C1 and DEL controls, invisible, format and separator
/// characters) written as a `\uNNNN` escape, so that a `--json` document read in a terminal
/// cannot drive it, and a name cannot pass for another. The document means the same.
struct SafeJson<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeJson<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c == '\u{7f}' || c.is_control() || is_invisible(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", u)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `serde_json::to_string_pretty`, with the escapes of [`SafeJson`]: every `--json` output.
pub fn json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        SafeJson(serde_json::ser::PrettyFormatter::new()),
    );
    value.serialize(&mut ser)?;
    // Only UTF-8 is written: serde_json's own text and whole fragments of `&str`s.
    Ok(String::from_utf8(out).expect("JSON is UTF-8"))
}

/// `serde_json::to_writer` (compact), with the escapes of [`SafeJson`].
pub fn json_write<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser =
        serde_json::Serializer::with_formatter(w, SafeJson(serde_json::ser::CompactFormatter));
    value.serialize(&mut ser)
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

    #[test]
    fn json_escapes_c1_bidi_and_invisible_characters_and_means_the_same() {
        let evil = "pg\u{200b}-meta \u{9b}31m \u{202e}x \u{2028} \u{7f} \u{e0041} é 集 \n\"";
        let doc = serde_json::json!({ "key": evil, "list": [evil, 1] });
        let out = json_pretty(&doc).unwrap();
        for raw in [
            '\u{200b}',
            '\u{9b}',
            '\u{202e}',
            '\u{2028}',
            '\u{7f}',
            '\u{e0041}',
        ] {
            assert!(!out.contains(raw), "U+{:04X} raw in {out}", raw as u32);
        }
        assert!(
            out.contains(
                "pg\\u200b-meta \\u009b31m \\u202ex \\u2028 \\u007f \\udb40\\udc41 é 集 \\n\\\""
            ),
            "{out}"
        );
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, doc);
        // Pretty as serde_json prints it.
        assert_eq!(
            json_pretty(&serde_json::json!({"a": [1, "b"]})).unwrap(),
            serde_json::to_string_pretty(&serde_json::json!({"a": [1, "b"]})).unwrap()
        );
        let mut compact = Vec::new();
        json_write(&mut compact, "a\u{9b}").unwrap();
        assert_eq!(compact, b"\"a\\u009b\"");
    }

    #[test]
    fn invisible_and_format_characters_and_separators_are_shown_as_code_points() {
        for (c, shown) in [
            ('\u{200b}', "\\u{200b}"),
            ('\u{200c}', "\\u{200c}"),
            ('\u{200d}', "\\u{200d}"),
            ('\u{2060}', "\\u{2060}"),
            ('\u{feff}', "\\u{feff}"),
            ('\u{2028}', "\\u{2028}"),
            ('\u{2029}', "\\u{2029}"),
            ('\u{061c}', "\\u{061c}"),
            ('\u{00ad}', "\\xad"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{fe0f}', "\\u{fe0f}"),
            ('\u{e0041}', "\\u{e0041}"),
            ('\u{0600}', "\\u{0600}"),
        ] {
            let s = format!("pg{c}-meta");
            assert_eq!(escape(&s), format!("pg{shown}-meta"), "U+{:04X}", c as u32);
            assert!(has_hidden(&s));
        }
        // Visible non-ASCII text is kept as it is.
        for s in ["données", "集群-1", "Ελλάδα", "שלום", "😀"] {
            assert!(matches!(escape(s), Cow::Borrowed(_)), "{s}");
            assert!(!has_hidden(s));
        }
    }
}
