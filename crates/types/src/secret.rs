//! [`Secret`]: a value that never shows up in logs.

use std::fmt;

/// A value (a password, a SASL response) that must not be printed.
///
/// `Debug` prints `Secret(..)` whatever the contents, so a `Secret` can sit in
/// a command or event that is logged with `{:?}`. Reach the value with
/// [`Secret::expose_secret`], which makes every use visible in review.
///
/// ```
/// use postroom_types::Secret;
/// let s = Secret::new(String::from("hunter2"));
/// assert_eq!(format!("{s:?}"), "Secret(..)");
/// assert_eq!(s.expose_secret(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// Borrows the secret value.
    pub fn expose_secret(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_contents() {
        let s = Secret::new(b"pa55word".to_vec());
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("112"), "bytes leaked: {shown}");
        assert_eq!(shown, "Secret(..) Secret(..)");
    }

    #[test]
    fn exposes_and_unwraps() {
        let s: Secret<&str> = "x".into();
        assert_eq!(*s.expose_secret(), "x");
        assert_eq!(s.into_inner(), "x");
    }
}
