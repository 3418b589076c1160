//! Courier's POP3 list, `courierpop3dsizelist` (read only): the UIDLs
//! Courier's pop3d gave, so they stay the same when a Maildir moves to
//! postroom.
//!
//! The first line is `/<version> <nextuid> <uidv>` (versions 2 and 3);
//! each further line is `<filename> <size> <n>:<uidv>[:<utf8>]`, split at
//! its last two spaces. The filename is matched up to its info part. The
//! UIDL Courier sends is `UID<n>-<uidv>`, or `UID<n>` when `uidv` is 0.

/// The file name, in INBOX (the Maildir root).
pub const POP3_LIST: &str = "courierpop3dsizelist";

/// Most lines read.
const MAX_LINES: usize = 1_000_000;

/// One message of a `courierpop3dsizelist`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourierPop3Entry {
    /// The message's base name (the file name before its last `:`).
    pub base: String,
    /// The UIDL Courier's pop3d reports for it.
    pub uidl: String,
}

/// Parses `courierpop3dsizelist`; an unknown header gives no entries
/// (Courier then starts over too).
pub fn parse_courier_pop3_list(bytes: &[u8]) -> Vec<CourierPop3Entry> {
    let mut lines = bytes.split(|&b| b == b'\n');
    let Some(header) = lines.next().and_then(|h| std::str::from_utf8(h).ok()) else {
        return Vec::new();
    };
    let Some(rest) = header.strip_prefix('/') else {
        return Vec::new();
    };
    if !matches!(rest.split_ascii_whitespace().next(), Some("2" | "3")) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for line in lines.take(MAX_LINES) {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((head, ids)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((filename, size)) = head.rsplit_once(' ') else {
            continue;
        };
        if filename.is_empty() || size.parse::<u64>().is_err() {
            continue;
        }
        let mut parts = ids.split(':');
        let (Some(n), Some(v)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(n), Ok(v)) = (n.parse::<u64>(), v.parse::<u64>()) else {
            continue;
        };
        if n == 0 {
            continue;
        }
        let uidl = if v == 0 {
            format!("UID{n}")
        } else {
            format!("UID{n}-{v}")
        };
        let base = filename.rsplit_once(':').map_or(filename, |(b, _)| b);
        out.push(CourierPop3Entry {
            base: base.to_owned(),
            uidl,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_two_and_three() {
        let v3 = parse_courier_pop3_list(b"/3 4 1700000000\n1690000000.M1P1.h:2,S 120 1:1700000000:0\n1690000001.M2P1.h 55 3:0:1\nbroken\n");
        assert_eq!(
            v3,
            vec![
                CourierPop3Entry {
                    base: "1690000000.M1P1.h".into(),
                    uidl: "UID1-1700000000".into()
                },
                CourierPop3Entry {
                    base: "1690000001.M2P1.h".into(),
                    uidl: "UID3".into()
                },
            ]
        );
        let v2 = parse_courier_pop3_list(b"/2 2 9\nname with space:2, 7 1:9\n");
        assert_eq!(v2[0].base, "name with space");
        assert!(parse_courier_pop3_list(b"/1 2 3\na 1 1:1\n").is_empty());
        assert!(parse_courier_pop3_list(b"").is_empty());
    }
}
