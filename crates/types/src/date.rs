//! IMAP dates: [`InternalDate`] (`date-time`) and [`ImapDate`] (`date`),
//! RFC 3501 §9.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike};

/// An error from parsing an IMAP date or date-time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// The text does not match the grammar.
    #[error("invalid date at offset {offset}: expected {expected}")]
    Syntax {
        /// Byte offset of the problem.
        offset: usize,
        /// What the grammar expected there.
        expected: &'static str,
    },
    /// Well-formed, but no such day or time (31-Feb, 25:00, zone +9999).
    #[error("date out of range")]
    OutOfRange,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month_from(s: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(s))
        .map(|i| i as u32 + 1)
}

fn digits(s: &[u8], at: usize, n: usize, expected: &'static str) -> Result<u32, DateError> {
    let part = s.get(at..at + n).ok_or(DateError::Syntax {
        offset: at,
        expected,
    })?;
    if !part.iter().all(u8::is_ascii_digit) {
        return Err(DateError::Syntax {
            offset: at,
            expected,
        });
    }
    Ok(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn expect_byte(s: &[u8], at: usize, b: u8, expected: &'static str) -> Result<(), DateError> {
    if s.get(at) == Some(&b) {
        Ok(())
    } else {
        Err(DateError::Syntax {
            offset: at,
            expected,
        })
    }
}

/// Parses `day-month-year` starting at 0, where the day is one or two
/// digits (or, with `space_pad`, a space then one digit). Returns the date
/// and the offset after it.
fn parse_day_month_year(s: &[u8], space_pad: bool) -> Result<(NaiveDate, usize), DateError> {
    let (day, mut at) = match s.first() {
        Some(b' ') if space_pad => (digits(s, 1, 1, "a digit")?, 2),
        _ => {
            if s.get(1).is_some_and(u8::is_ascii_digit) {
                (digits(s, 0, 2, "a two-digit day")?, 2)
            } else {
                (digits(s, 0, 1, "a day")?, 1)
            }
        }
    };
    expect_byte(s, at, b'-', "'-'")?;
    at += 1;
    let month = s
        .get(at..at + 3)
        .and_then(month_from)
        .ok_or(DateError::Syntax {
            offset: at,
            expected: "a month name such as Jan",
        })?;
    at += 3;
    expect_byte(s, at, b'-', "'-'")?;
    at += 1;
    let year = digits(s, at, 4, "a four-digit year")?;
    at += 4;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(DateError::OutOfRange)?;
    Ok((date, at))
}

/// A message's internal date: RFC 3501 `date-time`, such as
/// `17-Jul-1996 02:44:25 -0700`, with its zone kept.
///
/// ```
/// use postroom_types::InternalDate;
/// let d = InternalDate::parse_imap(" 7-Jul-1996 02:44:25 -0700")?;
/// assert_eq!(d.to_imap_string(), "07-Jul-1996 02:44:25 -0700");
/// # Ok::<(), postroom_types::DateError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InternalDate(pub DateTime<FixedOffset>);

impl InternalDate {
    /// Parses RFC 3501 `date-time` (without the surrounding quotes). The
    /// day may be one digit, space-padded or two digits; month names are
    /// case-insensitive.
    pub fn parse_imap(s: &str) -> Result<InternalDate, DateError> {
        let b = s.as_bytes();
        let (date, mut at) = parse_day_month_year(b, true)?;
        expect_byte(b, at, b' ', "a space")?;
        at += 1;
        let h = digits(b, at, 2, "two-digit hours")?;
        expect_byte(b, at + 2, b':', "':'")?;
        let m = digits(b, at + 3, 2, "two-digit minutes")?;
        expect_byte(b, at + 5, b':', "':'")?;
        let sec = digits(b, at + 6, 2, "two-digit seconds")?;
        at += 8;
        expect_byte(b, at, b' ', "a space")?;
        at += 1;
        let sign = match b.get(at) {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => {
                return Err(DateError::Syntax {
                    offset: at,
                    expected: "'+' or '-'",
                });
            }
        };
        let zh = digits(b, at + 1, 2, "zone hours")?;
        let zm = digits(b, at + 3, 2, "zone minutes")?;
        at += 5;
        if at != b.len() {
            return Err(DateError::Syntax {
                offset: at,
                expected: "end of date-time",
            });
        }
        if zm >= 60 {
            return Err(DateError::OutOfRange);
        }
        let zone = FixedOffset::east_opt(sign * (zh * 3600 + zm * 60) as i32)
            .ok_or(DateError::OutOfRange)?;
        let time = NaiveTime::from_hms_opt(h, m, sec).ok_or(DateError::OutOfRange)?;
        let dt = zone
            .from_local_datetime(&date.and_time(time))
            .single()
            .ok_or(DateError::OutOfRange)?;
        Ok(InternalDate(dt))
    }

    /// The RFC 3501 `date-time` text (two-digit day), without quotes.
    pub fn to_imap_string(&self) -> String {
        self.to_string()
    }

    /// The date and time with its zone.
    pub fn as_datetime(&self) -> DateTime<FixedOffset> {
        self.0
    }

    /// Seconds since the Unix epoch.
    pub fn timestamp(&self) -> i64 {
        self.0.timestamp()
    }
}

impl From<DateTime<FixedOffset>> for InternalDate {
    fn from(dt: DateTime<FixedOffset>) -> InternalDate {
        InternalDate(dt)
    }
}

impl fmt::Display for InternalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        let offset = d.offset().local_minus_utc();
        let sign = if offset < 0 { '-' } else { '+' };
        let off = offset.unsigned_abs();
        write!(
            f,
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            d.day(),
            MONTHS[d.month0() as usize],
            d.year(),
            d.hour(),
            d.minute(),
            d.second(),
            sign,
            off / 3600,
            off % 3600 / 60
        )
    }
}

/// A calendar date as SEARCH uses it: RFC 3501 `date`, such as `1-Feb-1994`.
///
/// ```
/// use postroom_types::ImapDate;
/// let d = ImapDate::parse_imap("1-Feb-1994")?;
/// assert_eq!(d.to_imap_string(), "1-Feb-1994");
/// # Ok::<(), postroom_types::DateError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImapDate(pub NaiveDate);

impl ImapDate {
    /// Parses RFC 3501 `date-text` (one- or two-digit day, month name in any
    /// case, four-digit year), without quotes.
    pub fn parse_imap(s: &str) -> Result<ImapDate, DateError> {
        let (date, at) = parse_day_month_year(s.as_bytes(), false)?;
        if at != s.len() {
            return Err(DateError::Syntax {
                offset: at,
                expected: "end of date",
            });
        }
        Ok(ImapDate(date))
    }

    /// The `date-text` form with a day without leading zero.
    pub fn to_imap_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ImapDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(
            f,
            "{}-{}-{:04}",
            d.day(),
            MONTHS[d.month0() as usize],
            d.year()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3501_date_time() {
        let d = InternalDate::parse_imap("17-Jul-1996 02:44:25 -0700").unwrap();
        assert_eq!(d.timestamp(), 837_596_665);
        assert_eq!(d.to_imap_string(), "17-Jul-1996 02:44:25 -0700");
        let d = InternalDate::parse_imap(" 1-jan-2000 00:00:00 +0530").unwrap();
        assert_eq!(d.to_imap_string(), "01-Jan-2000 00:00:00 +0530");
        assert!(InternalDate::parse_imap("1-Jan-2000 00:00:00 +0000").is_ok());
    }

    #[test]
    fn bad_date_times_say_where() {
        for (s, off) in [
            ("17-Jul-1996 02:44:25", 20),
            ("17-Jux-1996 02:44:25 -0700", 3),
            ("17-Jul-96 02:44:25 -0700", 7),
            ("17-Jul-1996 2:44:25 -0700", 12),
            ("17-Jul-1996 02:44:25 0700", 21),
            ("17-Jul-1996 02:44:25 -0700 ", 26),
        ] {
            match InternalDate::parse_imap(s) {
                Err(DateError::Syntax { offset, .. }) => assert_eq!(offset, off, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
        assert_eq!(
            InternalDate::parse_imap("31-Feb-1996 02:44:25 -0700"),
            Err(DateError::OutOfRange)
        );
        assert_eq!(
            InternalDate::parse_imap("01-Feb-1996 24:00:00 -0700"),
            Err(DateError::OutOfRange)
        );
        assert_eq!(
            InternalDate::parse_imap("01-Feb-1996 12:00:00 -0775"),
            Err(DateError::OutOfRange)
        );
    }

    #[test]
    fn search_dates() {
        assert_eq!(
            ImapDate::parse_imap("1-Feb-1994").unwrap().to_string(),
            "1-Feb-1994"
        );
        assert_eq!(
            ImapDate::parse_imap("01-FEB-1994").unwrap().to_string(),
            "1-Feb-1994"
        );
        assert!(ImapDate::parse_imap(" 1-Feb-1994").is_err());
        assert!(ImapDate::parse_imap("1-Feb-1994x").is_err());
        assert!(ImapDate::parse_imap("").is_err());
        assert!(ImapDate::parse_imap("123-Feb-1994").is_err());
    }

    proptest! {
        #[test]
        fn date_time_round_trip(secs in 0i64..4_000_000_000, zone_min in -(23*60+59)..(23*60+59)) {
            let zone = FixedOffset::east_opt(zone_min * 60).unwrap();
            let dt = DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&zone);
            let d = InternalDate(dt);
            let back = InternalDate::parse_imap(&d.to_imap_string()).unwrap();
            prop_assert_eq!(back, d);
            prop_assert_eq!(*back.as_datetime().offset(), *d.as_datetime().offset());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = InternalDate::parse_imap(&s);
            let _ = ImapDate::parse_imap(&s);
        }
    }
}
