//! Message numbers: [`Uid`], [`SeqNum`], [`UidValidity`] (RFC 3501 §2.3.1).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

/// An error from parsing a message number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// Not a decimal number of 1 to 4294967295 without sign or leading zero.
    #[error("expected a non-zero 32-bit decimal number, found {found:?}")]
    Invalid {
        /// The text that was found.
        found: String,
    },
}

/// Parses an RFC 3501 `nz-number`: digits, no leading zero, fits u32.
pub(crate) fn parse_nz_number(s: &str) -> Option<NonZeroU32> {
    let b = s.as_bytes();
    if b.is_empty() || b[0] == b'0' || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.parse::<u32>().ok().and_then(NonZeroU32::new)
}

macro_rules! nz_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(NonZeroU32);

        impl $name {
            /// The smallest value, 1.
            pub const MIN: $name = $name(NonZeroU32::MIN);
            /// The largest value, 4294967295.
            pub const MAX: $name = $name(NonZeroU32::MAX);

            /// The value for `n`, or `None` for 0.
            pub const fn new(n: u32) -> Option<$name> {
                match NonZeroU32::new(n) {
                    Some(v) => Some($name(v)),
                    None => None,
                }
            }

            /// The number.
            pub const fn get(self) -> u32 {
                self.0.get()
            }
        }

        impl From<NonZeroU32> for $name {
            fn from(n: NonZeroU32) -> $name {
                $name(n)
            }
        }

        impl From<$name> for NonZeroU32 {
            fn from(n: $name) -> NonZeroU32 {
                n.0
            }
        }

        impl From<$name> for u32 {
            fn from(n: $name) -> u32 {
                n.0.get()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = NumberError;

            /// Parses an RFC 3501 `nz-number`.
            fn from_str(s: &str) -> Result<$name, NumberError> {
                parse_nz_number(s).map($name).ok_or_else(|| NumberError::Invalid {
                    found: s.chars().take(32).collect(),
                })
            }
        }
    };
}

nz_newtype!(
    /// A message's unique identifier within a mailbox (RFC 3501 §2.3.1.1):
    /// non-zero, strictly ascending, never reused under one [`UidValidity`].
    ///
    /// ```
    /// use postroom_types::Uid;
    /// assert_eq!("42".parse::<Uid>().unwrap().get(), 42);
    /// assert!("0".parse::<Uid>().is_err());
    /// assert!(Uid::new(0).is_none());
    /// ```
    Uid
);

nz_newtype!(
    /// A message sequence number (RFC 3501 §2.3.1.2): the 1-based position of
    /// a message in a session's view of a mailbox.
    SeqNum
);

nz_newtype!(
    /// A mailbox's UIDVALIDITY (RFC 3501 §2.3.1.1): when it changes, every
    /// UID a client cached for the mailbox is void.
    UidValidity
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_bounds() {
        assert_eq!("4294967295".parse::<Uid>().unwrap(), Uid::MAX);
        assert!("4294967296".parse::<Uid>().is_err());
        assert!("01".parse::<SeqNum>().is_err());
        assert!("+1".parse::<SeqNum>().is_err());
        assert!("".parse::<UidValidity>().is_err());
        assert!("1 ".parse::<Uid>().is_err());
        assert_eq!("1".parse::<SeqNum>().unwrap(), SeqNum::MIN);
        assert_eq!(Uid::new(7).unwrap().to_string(), "7");
        assert_eq!(u32::from(UidValidity::new(9).unwrap()), 9);
    }

    #[test]
    fn ordering() {
        assert!(Uid::new(2) > Uid::new(1));
    }
}
