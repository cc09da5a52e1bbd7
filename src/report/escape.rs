//! Escaping for terminals: scanned paths and file contents are hostile.
//!
//! Control characters (C0, DEL, C1), bidirectional overrides and zero-width characters are
//! shown as `\u{..}` (or `\n`, `\t`, `\r`), so a file name or secret cannot move the cursor,
//! recolour the terminal or reorder what the user reads.

/// Escapes `s` for display on a terminal.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push('\\'),
            c if is_dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn is_dangerous(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || (0x200b..=0x200f).contains(&u)
        || (0x202a..=0x202e).contains(&u)
        || (0x2066..=0x2069).contains(&u)
        || u == 0xfeff
        || u == 0x061c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_bidi_and_zero_width() {
        assert_eq!(for_terminal("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(for_terminal("x\ny"), "x\\ny");
        assert_eq!(for_terminal("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(for_terminal("z\u{200b}w"), "z\\u{200b}w");
        assert_eq!(for_terminal("plain/path.rs"), "plain/path.rs");
        assert_eq!(for_terminal("\u{9b}"), "\\u{9b}");
    }
}
