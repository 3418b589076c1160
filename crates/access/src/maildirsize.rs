//! The Maildir++ `maildirsize` file: parse, print, append, decide when to
//! recalculate, and recalculate from a directory listing the caller
//! supplies.
//!
//! The file's first line is the quota definition, `<n>S` (bytes) and/or
//! `<n>C` (messages), comma separated; every further line is a delta,
//! `<bytes> <messages>`, and usage is their sum. Courier pads deltas to
//! `%12s %12s\n`; Dovecot writes them unpadded. Both are read here.
//!
//! A recalculation is due (Courier `maildirquota.c`, Dovecot
//! `quota-maildir.c`) when the file is missing, is 5120 bytes or larger,
//! sums to a negative total, or — only when the addition would go over
//! quota — has more than one delta line or was last modified 15 minutes ago
//! or earlier. This reader also asks for one when a line is malformed or the
//! last line is unterminated (Dovecot's rule for a file being written).

use std::fmt::Write as _;

/// The file name, at the top of the Maildir (subfolders, marked by a
/// `maildirfolder` file, use their parent's).
pub const FILE_NAME: &str = "maildirsize";

/// A file this large or larger is recalculated (Courier reads at most this
/// many bytes).
pub const RECALCULATE_AT_BYTES: usize = 5120;

/// A file modified this many seconds ago or earlier is recalculated when
/// the addition would go over quota (`MAILDIRSIZE_STALE_SECS`).
pub const STALE_AFTER_SECS: u64 = 15 * 60;

/// The quota definition line. Zero means "no limit", as both Courier and
/// Dovecot read it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QuotaDefinition {
    /// Byte limit (`S`); 0 = none.
    pub bytes: u64,
    /// Message limit (`C`); 0 = none.
    pub messages: u64,
}

/// Which program's output to reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Writer {
    /// Courier: deltas as `%12s %12s\n`; no limits is an empty definition.
    #[default]
    Courier,
    /// Dovecot: deltas as `%d %d\n`; no limits is `0S`.
    Dovecot,
}

impl QuotaDefinition {
    /// Parses a definition the way Courier's `parsequotastr` does: each run
    /// of digits followed by `S` or `C` sets that limit; anything else is
    /// skipped. Numbers too large saturate.
    pub fn parse(line: &[u8]) -> QuotaDefinition {
        let mut def = QuotaDefinition::default();
        let mut i = 0;
        while i < line.len() {
            if !line[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let mut n: u64 = 0;
            while i < line.len() && line[i].is_ascii_digit() {
                n = n
                    .saturating_mul(10)
                    .saturating_add(u64::from(line[i] - b'0'));
                i += 1;
            }
            match line.get(i) {
                Some(b'S') => def.bytes = n,
                Some(b'C') => def.messages = n,
                _ => {}
            }
        }
        def
    }

    /// Whether neither limit is set.
    pub const fn is_unlimited(self) -> bool {
        self.bytes == 0 && self.messages == 0
    }

    /// The definition line without `\n`, as `writer` writes it.
    pub fn to_line(self, writer: Writer) -> String {
        let mut out = String::new();
        let with_bytes = match writer {
            Writer::Courier => self.bytes > 0,
            Writer::Dovecot => self.bytes > 0 || self.messages == 0,
        };
        if with_bytes {
            let _ = write!(out, "{}S", self.bytes);
        }
        if self.messages > 0 {
            if !out.is_empty() {
                out.push(',');
            }
            let _ = write!(out, "{}C", self.messages);
        }
        out
    }

    /// Whether `bytes` and `messages` of usage exceed a limit (Courier's
    /// `checkQuota`: strictly greater is over), and the usage in percent
    /// of the tighter limit (0 when unlimited; 100 when over).
    pub fn evaluate(self, bytes: i64, messages: i64) -> (bool, u32) {
        let (b_over, b_pct) = one_quota(bytes, self.bytes);
        let (m_over, m_pct) = one_quota(messages, self.messages);
        if b_over || m_over {
            (true, 100)
        } else {
            (false, b_pct.max(m_pct))
        }
    }
}

fn one_quota(size: i64, quota: u64) -> (bool, u32) {
    if quota == 0 {
        return (false, 0);
    }
    let quota = i128::from(quota);
    let size = i128::from(size);
    if size > quota {
        return (true, 100);
    }
    // Courier divides both by 1024 above 20,000,000 to avoid overflow; the
    // same arithmetic keeps its percentages.
    let x = if quota > 20_000_000 { 1024 } else { 1 };
    let q = quota / x;
    let pct = if q > 0 { (size / x) * 100 / q } else { 0 };
    (false, u32::try_from(pct.max(0)).unwrap_or(u32::MAX))
}

/// Why a `maildirsize` must be rebuilt regardless of the addition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecalculateReason {
    /// 5120 bytes or larger.
    TooLarge,
    /// The byte or message total is negative.
    NegativeTotal,
    /// A delta line could not be read.
    MalformedLine {
        /// Its 1-based line number.
        line: usize,
        /// Byte offset of its start.
        offset: usize,
    },
    /// The last line has no `\n` (a writer may be appending).
    Unterminated,
    /// A total overflowed 64 bits.
    Overflow,
}

/// A parsed `maildirsize` file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Maildirsize {
    /// The quota definition (first line).
    pub definition: QuotaDefinition,
    /// Sum of the byte deltas.
    pub bytes: i64,
    /// Sum of the message deltas.
    pub messages: i64,
    /// Number of lines after the definition (Courier's `nlines`).
    pub delta_lines: usize,
    /// Set when the file must be rebuilt whatever is added.
    pub recalculate: Option<RecalculateReason>,
}

/// What to do before adding messages, from [`Maildirsize::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaildirQuotaCheck {
    /// Under quota after the addition; usage in percent of the tighter
    /// limit (for soft warnings).
    Within {
        /// Percent of the tighter limit used after the addition.
        percent: u32,
    },
    /// Over quota, and the file is fresh enough to trust: refuse
    /// (`NO [OVERQUOTA]`, deliverquota's exit 77).
    Over,
    /// Rebuild the file from a listing ([`recalculate`]), then decide with
    /// [`QuotaDefinition::evaluate`] on the new totals.
    Recalculate,
}

impl Maildirsize {
    /// Reads a `maildirsize` file. Never fails: problems set
    /// [`Maildirsize::recalculate`]. Reads at most [`RECALCULATE_AT_BYTES`]
    /// bytes beyond the first line, like Courier.
    ///
    /// ```
    /// use postroom_access::maildirsize::Maildirsize;
    /// let f = Maildirsize::parse(b"1024S,3C\n0 0\n314 1\n314 1\n314 1\n");
    /// assert_eq!((f.definition.bytes, f.definition.messages), (1024, 3));
    /// assert_eq!((f.bytes, f.messages), (942, 3));
    /// ```
    pub fn parse(file: &[u8]) -> Maildirsize {
        let mut out = Maildirsize::default();
        let first_end = file.iter().position(|&b| b == b'\n');
        let first = &file[..first_end.unwrap_or(file.len())];
        out.definition = QuotaDefinition::parse(first);
        if file.len() >= RECALCULATE_AT_BYTES {
            out.recalculate = Some(RecalculateReason::TooLarge);
            return out;
        }
        let Some(first_end) = first_end else {
            if !file.is_empty() {
                out.recalculate = Some(RecalculateReason::Unterminated);
            }
            return out;
        };
        let mut offset = first_end + 1;
        let mut line_no = 1usize;
        while offset < file.len() {
            line_no += 1;
            let rest = &file[offset..];
            let (line, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(p) => (&rest[..p], offset + p + 1),
                None => {
                    out.recalculate
                        .get_or_insert(RecalculateReason::Unterminated);
                    (rest, file.len())
                }
            };
            out.delta_lines += 1;
            match parse_delta(line) {
                Some((b, m)) => match (out.bytes.checked_add(b), out.messages.checked_add(m)) {
                    (Some(nb), Some(nm)) => {
                        out.bytes = nb;
                        out.messages = nm;
                    }
                    _ => {
                        out.recalculate.get_or_insert(RecalculateReason::Overflow);
                    }
                },
                None if line.iter().all(u8::is_ascii_whitespace) => {}
                None => {
                    out.recalculate
                        .get_or_insert(RecalculateReason::MalformedLine {
                            line: line_no,
                            offset,
                        });
                }
            }
            offset = next;
        }
        if out.recalculate.is_none() && (out.bytes < 0 || out.messages < 0) {
            out.recalculate = Some(RecalculateReason::NegativeTotal);
        }
        out
    }

    /// The totals, with negative sums (a file due for recalculation) read
    /// as zero.
    pub fn totals(&self) -> Totals {
        Totals {
            bytes: u64::try_from(self.bytes).unwrap_or(0),
            messages: u64::try_from(self.messages).unwrap_or(0),
        }
    }

    /// Decides an addition of `bytes` and `messages` (negative for
    /// removals), given how many seconds ago the file was last modified
    /// (Courier `docheckquota`).
    pub fn check(&self, bytes: i64, messages: i64, file_age_secs: u64) -> MaildirQuotaCheck {
        let after_b = self.bytes.saturating_add(bytes);
        let after_m = self.messages.saturating_add(messages);
        let (over, percent) = self.definition.evaluate(after_b, after_m);
        if self.recalculate.is_some() {
            return MaildirQuotaCheck::Recalculate;
        }
        if !over {
            return MaildirQuotaCheck::Within { percent };
        }
        if self.delta_lines == 1 && file_age_secs < STALE_AFTER_SECS {
            MaildirQuotaCheck::Over
        } else {
            MaildirQuotaCheck::Recalculate
        }
    }
}

/// One delta line: optional whitespace, an optional `-`, digits, whitespace,
/// an optional `-`, digits, optional trailing whitespace.
fn parse_delta(line: &[u8]) -> Option<(i64, i64)> {
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < line.len() && line[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let num = |i: &mut usize| -> Option<i64> {
        let neg = line.get(*i) == Some(&b'-');
        if neg {
            *i += 1;
        }
        let start = *i;
        let mut n: i64 = 0;
        while *i < line.len() && line[*i].is_ascii_digit() {
            n = n.checked_mul(10)?.checked_add(i64::from(line[*i] - b'0'))?;
            *i += 1;
        }
        if *i == start {
            return None;
        }
        Some(if neg { -n } else { n })
    };
    ws(&mut i);
    let b = num(&mut i)?;
    let before = i;
    ws(&mut i);
    if i == before {
        return None;
    }
    let m = num(&mut i)?;
    ws(&mut i);
    (i == line.len()).then_some((b, m))
}

/// A delta line (with `\n`) as `writer` appends it after a delivery
/// (`size 1`) or a removal (`-size -1`).
///
/// ```
/// use postroom_access::maildirsize::{delta_line, Writer};
/// assert_eq!(delta_line(314, 1, Writer::Dovecot), "314 1\n");
/// assert_eq!(delta_line(-314, -1, Writer::Courier), "        -314           -1\n");
/// ```
pub fn delta_line(bytes: i64, messages: i64, writer: Writer) -> String {
    match writer {
        Writer::Courier => format!("{bytes:>12} {messages:>12}\n"),
        Writer::Dovecot => format!("{bytes} {messages}\n"),
    }
}

/// A whole new file, as written after a recalculation: the definition line
/// and one line with the totals.
pub fn print_file(definition: QuotaDefinition, totals: Totals, writer: Writer) -> Vec<u8> {
    let mut out = definition.to_line(writer);
    out.push('\n');
    out.push_str(&delta_line(
        i64::try_from(totals.bytes).unwrap_or(i64::MAX),
        i64::try_from(totals.messages).unwrap_or(i64::MAX),
        writer,
    ));
    out.into_bytes()
}

/// Usage totals from a recalculation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Totals {
    /// Bytes.
    pub bytes: u64,
    /// Messages.
    pub messages: u64,
}

/// What a recalculation counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecalcSettings {
    /// Whether messages in the `.Trash` folder count.
    pub count_trash: bool,
    /// Whether messages flagged `\Deleted` (`T` in the info suffix) count.
    pub count_deleted: bool,
}

impl RecalcSettings {
    /// Courier's default build: Trash and deleted messages are left out.
    pub const COURIER: RecalcSettings = RecalcSettings {
        count_trash: false,
        count_deleted: false,
    };
    /// Dovecot: everything counts (exclude Trash with a quota rule instead).
    pub const DOVECOT: RecalcSettings = RecalcSettings {
        count_trash: true,
        count_deleted: true,
    };
}

/// One message file from the caller's listing of `new/` and `cur/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListedFile<'a> {
    /// The Maildir++ folder directory: `""` for the top (INBOX), `.Sent`,
    /// `.Trash`, `.a.b`.
    pub folder: &'a str,
    /// The file name in `new/` or `cur/`.
    pub name: &'a str,
    /// The size from `stat()`, if the caller has it; used only when the
    /// name has no `S=`. `None` and no `S=`: the file is skipped (it
    /// vanished).
    pub stat_size: Option<u64>,
}

/// The size in a Maildir++ file name: the digits after the last `,S=`
/// before the info suffix (`1795634785.M866944P22988.vm,S=314,W=317:2,S`
/// → 314).
pub fn size_from_name(name: &str) -> Option<u64> {
    let base = name.split(':').next().unwrap_or(name);
    let at = base.rfind(",S=")?;
    let digits = &base[at + 3..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Whether a file name carries the `T` (trashed, `\Deleted`) flag in its
/// `:2,` info suffix.
pub fn is_deleted_name(name: &str) -> bool {
    match name.find(":2,") {
        Some(p) => name[p + 3..]
            .bytes()
            .take_while(u8::is_ascii_uppercase)
            .any(|b| b == b'T'),
        None => false,
    }
}

/// Rebuilds the totals from a listing (Courier's recalculation): every file
/// of `new/` and `cur/` of the Maildir and its folders, sized from `S=` or
/// the caller's `stat`, skipping dot files, and Trash and deleted messages
/// unless `settings` count them. Sums saturate.
///
/// The caller must still check that no directory changed during its scan
/// (Courier compares directory mtimes before and after) and rescan if one
/// did.
pub fn recalculate<'a>(
    files: impl IntoIterator<Item = ListedFile<'a>>,
    settings: RecalcSettings,
) -> Totals {
    let mut t = Totals::default();
    for f in files {
        if f.name.starts_with('.') {
            continue;
        }
        if !settings.count_trash && f.folder == ".Trash" {
            continue;
        }
        if !settings.count_deleted && is_deleted_name(f.name) {
            continue;
        }
        let Some(size) = size_from_name(f.name).or(f.stat_size) else {
            continue;
        };
        t.bytes = t.bytes.saturating_add(size);
        t.messages = t.messages.saturating_add(1);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_forms() {
        let d = QuotaDefinition::parse(b"10000000S,1000C");
        assert_eq!((d.bytes, d.messages), (10_000_000, 1000));
        assert_eq!(d.to_line(Writer::Courier), "10000000S,1000C");
        assert_eq!(d.to_line(Writer::Dovecot), "10000000S,1000C");
        let c = QuotaDefinition::parse(b"1000C");
        assert_eq!(c.to_line(Writer::Courier), "1000C");
        assert_eq!(c.to_line(Writer::Dovecot), "1000C");
        let none = QuotaDefinition::default();
        assert_eq!(none.to_line(Writer::Courier), "");
        assert_eq!(none.to_line(Writer::Dovecot), "0S");
        assert_eq!(QuotaDefinition::parse(b"0S"), none);
        assert_eq!(
            QuotaDefinition::parse(b"12X,5S"),
            QuotaDefinition {
                bytes: 5,
                messages: 0
            }
        );
        assert_eq!(
            QuotaDefinition::parse(b"99999999999999999999999S").bytes,
            u64::MAX
        );
    }

    #[test]
    fn delta_parsing() {
        assert_eq!(parse_delta(b"314 1"), Some((314, 1)));
        assert_eq!(parse_delta(b"  -314\t -1  "), Some((-314, -1)));
        assert_eq!(parse_delta(b"314"), None);
        assert_eq!(parse_delta(b"314 1 x"), None);
        assert_eq!(parse_delta(b"3141"), None);
        assert_eq!(parse_delta(b"- 1"), None);
        assert_eq!(parse_delta(b"99999999999999999999 1"), None);
    }

    #[test]
    fn names() {
        assert_eq!(
            size_from_name("1795634785.M866944P22988.vm,S=314,W=317:2,S"),
            Some(314)
        );
        assert_eq!(size_from_name("123.abc,S=42"), Some(42));
        assert_eq!(size_from_name("123.abc:2,S"), None);
        assert_eq!(size_from_name("123.abc:2,S=5"), None);
        assert_eq!(size_from_name("x,S=:2,"), None);
        assert!(is_deleted_name("a,S=1:2,ST"));
        assert!(is_deleted_name("a:2,T"));
        assert!(!is_deleted_name("a:2,S"));
        assert!(!is_deleted_name("aT"));
        assert!(!is_deleted_name("a:2,Sa T"));
    }

    #[test]
    fn totals_clamp() {
        let f = Maildirsize::parse(b"100S\n5 1\n-10 -2\n");
        assert_eq!((f.bytes, f.messages), (-5, -1));
        assert_eq!(f.totals(), Totals::default());
        let f = Maildirsize::parse(b"100S\n5 1\n");
        assert_eq!(
            f.totals(),
            Totals {
                bytes: 5,
                messages: 1
            }
        );
    }

    #[test]
    fn percent_like_courier() {
        let d = QuotaDefinition {
            bytes: 1000,
            messages: 10,
        };
        assert_eq!(d.evaluate(500, 9), (false, 90));
        assert_eq!(d.evaluate(1000, 10), (false, 100));
        assert_eq!(d.evaluate(1001, 1), (true, 100));
        let big = QuotaDefinition {
            bytes: 40_000_000,
            messages: 0,
        };
        assert_eq!(big.evaluate(20_000_000, 5), (false, 50));
        assert_eq!(
            QuotaDefinition::default().evaluate(i64::MAX, i64::MAX),
            (false, 0)
        );
    }
}
