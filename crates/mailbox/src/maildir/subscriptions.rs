//! Subscription files: Courier's `courierimapsubscribed` (read and written:
//! one mailbox name per line, as sent on the wire in modified UTF-7, e.g.
//! `INBOX.Sent`) and Dovecot's `subscriptions` (read on import).

/// Most names read from one subscription file.
const MAX_NAMES: usize = 100_000;
/// Longest name accepted.
const MAX_NAME: usize = 4096;

/// Parses `courierimapsubscribed`: the non-empty lines, in order, without
/// duplicates.
pub fn parse_courier_subscriptions(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in bytes.split(|&b| b == b'\n').take(MAX_NAMES) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line.len() > MAX_NAME {
            continue;
        }
        if let Ok(s) = std::str::from_utf8(line) {
            if !s.chars().any(char::is_control) && !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
    }
    out
}

/// Serializes names as `courierimapsubscribed`.
pub fn courier_subscriptions_bytes(names: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names {
        out.extend_from_slice(n.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Parses Dovecot's `subscriptions` file into Courier-style names.
///
/// Version 2 files start with `V\t2` and an empty line and separate
/// hierarchy levels with a tab; older files list names with the namespace
/// separator. Dovecot's Maildir++ namespace usually has no `INBOX.` prefix,
/// so names not starting with `INBOX.` get it; `INBOX` in any case stays
/// `INBOX`.
pub fn parse_dovecot_subscriptions(bytes: &[u8]) -> Vec<String> {
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    let mut tab_separated = false;
    if lines.peek().is_some_and(|l| l.starts_with(b"V\t")) {
        tab_separated = true;
        lines.next();
    }
    let mut out: Vec<String> = Vec::new();
    for line in lines.take(MAX_NAMES) {
        if line.is_empty() || line.len() > MAX_NAME {
            continue;
        }
        let Ok(s) = std::str::from_utf8(line) else {
            continue;
        };
        let s = if tab_separated {
            s.replace('\t', ".")
        } else {
            s.to_owned()
        };
        if s.chars().any(char::is_control) {
            continue;
        }
        let name = if s.eq_ignore_ascii_case("INBOX") {
            "INBOX".to_owned()
        } else if let Some(rest) = s
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("INBOX."))
            .and(s.get(6..))
        {
            format!("INBOX.{rest}")
        } else {
            format!("INBOX.{s}")
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courier_round_trip() {
        let names = parse_courier_subscriptions(b"INBOX\nINBOX.Sent\n\nINBOX.Sent\nINBOX.&AOQ-\n");
        assert_eq!(names, vec!["INBOX", "INBOX.Sent", "INBOX.&AOQ-"]);
        assert_eq!(
            parse_courier_subscriptions(&courier_subscriptions_bytes(&names)),
            names
        );
    }

    #[test]
    fn fuzz_multibyte_at_prefix_boundary() {
        // Found by mailbox_uiddb: a character across byte 6 must not panic.
        assert_eq!(
            parse_dovecot_subscriptions("1 1 S\u{499}".as_bytes()),
            vec!["INBOX.1 1 S\u{499}"]
        );
        assert_eq!(parse_dovecot_subscriptions(b"inbox.x"), vec!["INBOX.x"]);
    }

    #[test]
    fn dovecot_v2_and_old() {
        assert_eq!(
            parse_dovecot_subscriptions(b"V\t2\n\nSent\nA\tB\ninbox\n"),
            vec!["INBOX.Sent", "INBOX.A.B", "INBOX"]
        );
        assert_eq!(
            parse_dovecot_subscriptions(b"Trash\nINBOX.Work\n"),
            vec!["INBOX.Trash", "INBOX.Work"]
        );
    }
}
