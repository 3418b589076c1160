//! RFC 5322 (RFC 2822) Date header parsing for the sent date (RFC 5256 §2.2).

/// Parses a raw Date header value into seconds since the Unix epoch (UTC),
/// following RFC 5256 §2.2:
///
/// - the date and time are normalised to UTC using the zone;
/// - an invalid or unknown zone is treated as UTC;
/// - an invalid or missing time is treated as 00:00:00 UTC;
/// - `None` when no date can be found at all, in which case the caller uses
///   the INTERNALDATE (see [`crate::KeyRecord`]).
///
/// Accepted forms are RFC 5322 `date-time` with the obsolete syntax of §4.3:
/// optional day name, two- and three-digit years (`20` → 2020, `99` → 1999,
/// `108` → 2008), alphabetic zones (`UT`, `GMT`, `EST` …), comments anywhere.
///
/// ```
/// use postroom_sort::parse_date;
/// assert_eq!(parse_date(b"Sun, 31 Dec 2000 16:01:33 -0800"), Some(978307293));
/// assert_eq!(parse_date(b"garbage"), None);
/// ```
pub fn parse_date(raw: &[u8]) -> Option<i64> {
    let mut p = Tokens { s: raw, i: 0 };
    let mut tok = p.next()?;
    // Optional day-of-week, with an optional comma.
    if tok.iter().all(u8::is_ascii_alphabetic) {
        tok = p.next()?;
        if tok == b"," {
            tok = p.next()?;
        }
    }
    let day = number(tok, 1, 2)?;
    let month = month(p.next()?)?;
    let year_tok = p.next()?;
    let year = match year_tok.len() {
        // RFC 5322 §4.3: obs-year.
        2 => {
            let y = number(year_tok, 2, 2)?;
            if y < 50 { 2000 + y } else { 1900 + y }
        }
        3 => 1900 + number(year_tok, 3, 3)?,
        _ => number(year_tok, 4, 4)?,
    };
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let midnight = days * 86_400;
    // Time: hh:mm[:ss]. Anything wrong here: 00:00:00 UTC (RFC 5256 §2.2).
    let Some(seconds) = time(&mut p) else {
        return Some(midnight);
    };
    let offset = zone(&mut p).unwrap_or(0);
    Some(midnight + seconds - offset)
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Splits a date into tokens: digit runs, letter runs, and single other
/// bytes; white space and comments separate tokens.
struct Tokens<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Tokens<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        self.i = crate::lex::skip_cfws(self.s, self.i);
        let s = self.s;
        let start = self.i;
        let first = *s.get(start)?;
        let len = if first.is_ascii_digit() {
            s[start..].iter().take_while(|b| b.is_ascii_digit()).count()
        } else if first.is_ascii_alphabetic() {
            s[start..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count()
        } else {
            1
        };
        self.i += len;
        Some(&s[start..start + len])
    }

    fn peek_byte(&self) -> Option<u8> {
        self.s.get(crate::lex::skip_cfws(self.s, self.i)).copied()
    }
}

fn number(t: &[u8], min: usize, max: usize) -> Option<u32> {
    if t.len() < min || t.len() > max || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(t.iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0')))
}

fn month(t: &[u8]) -> Option<u32> {
    const NAMES: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    if t.len() < 3 {
        return None;
    }
    let m = NAMES.iter().position(|n| t[..3].eq_ignore_ascii_case(n))?;
    // Accept the full English name too ("February"), but nothing else.
    const FULL: [&[u8]; 12] = [
        b"january",
        b"february",
        b"march",
        b"april",
        b"may",
        b"june",
        b"july",
        b"august",
        b"september",
        b"october",
        b"november",
        b"december",
    ];
    if t.len() > 3 && !t.eq_ignore_ascii_case(FULL[m]) && !t.eq_ignore_ascii_case(b"sept") {
        return None;
    }
    Some(m as u32 + 1)
}

/// `hh:mm[:ss]` as seconds after midnight, or `None` if invalid.
fn time(p: &mut Tokens<'_>) -> Option<i64> {
    let h = number(p.next()?, 1, 2)?;
    if p.next()? != b":" {
        return None;
    }
    let m = number(p.next()?, 1, 2)?;
    let mut s = 0;
    if p.peek_byte() == Some(b':') {
        p.next();
        s = number(p.next()?, 1, 2)?;
    }
    // A leap second (60) is allowed by RFC 5322 §3.3.
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(i64::from(h * 3600 + m * 60 + s))
}

/// The zone offset in seconds east of UTC; `None` when invalid or unknown
/// (then UTC is used, RFC 5256 §2.2).
fn zone(p: &mut Tokens<'_>) -> Option<i64> {
    let t = p.next()?;
    if t == b"+" || t == b"-" {
        let sign = if t == b"-" { -1 } else { 1 };
        let digits = p.next()?;
        let hhmm = i64::from(number(digits, 4, 4)?);
        let (hh, mm) = (hhmm / 100, hhmm % 100);
        if mm > 59 {
            return None;
        }
        return Some(sign * (hh * 3600 + mm * 60));
    }
    let name = t.to_ascii_uppercase();
    let hours: i64 = match name.as_slice() {
        b"UT" | b"UTC" | b"GMT" | b"Z" => 0,
        b"EDT" => -4,
        b"EST" | b"CDT" => -5,
        b"CST" | b"MDT" => -6,
        b"MST" | b"PDT" => -7,
        b"PST" => -8,
        // RFC 5322 §4.3: military zones are to be treated as -0000.
        [c] if c.is_ascii_alphabetic() => 0,
        _ => return None,
    };
    Some(hours * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
    }

    #[test]
    fn civil() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn known_answers() {
        let table: &[(&[u8], Option<i64>)] = &[
            (
                b"Sun, 31 Dec 2000 16:01:33 -0800",
                Some(ts(2001, 1, 1, 0, 1, 33)),
            ),
            (
                b"31 Dec 2000 16:01:33 -0800",
                Some(ts(2001, 1, 1, 0, 1, 33)),
            ),
            (
                b"Fri, 22 Feb 2008 00:00:00 +0200",
                Some(ts(2008, 2, 21, 22, 0, 0)),
            ),
            (
                b"Fri, 22 Feb 2008 00:30:00 XYZ",
                Some(ts(2008, 2, 22, 0, 30, 0)),
            ),
            (
                b"Wed, 01 Jan 2020 25:61:00 +0000",
                Some(ts(2020, 1, 1, 0, 0, 0)),
            ),
            (
                b"Wed, 01 Jan 2020 11:00:00 +9999",
                Some(ts(2020, 1, 1, 11, 0, 0)),
            ),
            (
                b"Wed, 01 Jan 20 12:00:00 +0000",
                Some(ts(2020, 1, 1, 12, 0, 0)),
            ),
            (
                b"Wed, 01 Jan 99 12:00:00 +0000",
                Some(ts(1999, 1, 1, 12, 0, 0)),
            ),
            (
                b"Wed, 01 Jan 108 12:00:00 +0000",
                Some(ts(2008, 1, 1, 12, 0, 0)),
            ),
            (
                b"Wed, 01 Jan 2020 07:30:00 EST",
                Some(ts(2020, 1, 1, 12, 30, 0)),
            ),
            (
                b"Wed, 01 Jan 2020 07:30 PDT",
                Some(ts(2020, 1, 1, 14, 30, 0)),
            ),
            (b"Wed, 01 Jan 2020 07:30:00", Some(ts(2020, 1, 1, 7, 30, 0))),
            (b"Wed, 01 Jan 2020", Some(ts(2020, 1, 1, 0, 0, 0))),
            (
                b"Mon, 01 Jan 2024 10:00:00 +0000 (UTC)",
                Some(ts(2024, 1, 1, 10, 0, 0)),
            ),
            (
                b"  Mon,1 Jan 2024 10:00:00 -0130",
                Some(ts(2024, 1, 1, 11, 30, 0)),
            ),
            (
                b"1 February 2024 10:00:00 +0100",
                Some(ts(2024, 2, 1, 9, 0, 0)),
            ),
            (
                b"29 Feb 2024 00:00:00 +0000",
                Some(ts(2024, 2, 29, 0, 0, 0)),
            ),
            (b"Thu, 01 Jan 1970 00:00:00 +0000", Some(0)),
            (b"29 Feb 2023 00:00:00 +0000", None),
            (b"garbage", None),
            (b"", None),
            (b"Mon, 32 Jan 2024", None),
            (b"Mon, 1 Foo 2024", None),
            (b"Mon, 1 Jan 12345 10:00", None),
            (b"Mon 1 Jan", None),
        ];
        for (raw, want) in table {
            assert_eq!(parse_date(raw), *want, "{}", String::from_utf8_lossy(raw));
        }
    }
}
