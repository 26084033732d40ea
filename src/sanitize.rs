//! Strings that come from the appliance are escaped before they reach a terminal: control
//! characters and bidirectional overrides become visible `\u{..}` escapes.

use std::borrow::Cow;
use std::fmt::Write as _;

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200E}' | '\u{200F}' | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}')
}

/// The string with every control and bidi character escaped; borrowed when nothing needs it.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A device name for messages: quoted when surrounding whitespace would otherwise be invisible.
pub fn quote_name(s: &str) -> String {
    let safe = terminal_safe(s);
    if s.trim() != s || s.is_empty() {
        format!("\"{safe}\"")
    } else {
        safe.into_owned()
    }
}

/// A device name as a word a POSIX shell will pass through unchanged.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '+'));
    if plain {
        terminal_safe(s).into_owned()
    } else {
        format!("'{}'", terminal_safe(&s.replace('\'', "'\\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_only() {
        assert_eq!(terminal_safe("rack-a-01"), "rack-a-01");
        assert_eq!(terminal_safe("serveur-été-03"), "serveur-été-03");
        assert_eq!(terminal_safe("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(terminal_safe("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(terminal_safe("line\nbreak"), "line\\u{a}break");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_name("IPIQ Target Device "), "\"IPIQ Target Device \"");
        assert_eq!(quote_name("db-07"), "db-07");
        assert_eq!(shell_quote("db-07"), "db-07");
        assert_eq!(shell_quote("IPIQ Target Device "), "'IPIQ Target Device '");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
