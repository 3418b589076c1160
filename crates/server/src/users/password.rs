//! Stored passwords: Dovecot's `{SCHEME}value` field, verification and hashing.

use std::fmt;
use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use password_hash::SaltString;
use password_hash::rand_core::{OsRng, RngCore};
use postroom_types::Secret;
use sha_crypt::{Sha256Params, Sha512Params};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// A password scheme a [`StoredPassword`] can hold.
///
/// The names are Dovecot's (`doveadm pw -l`). `CRYPT` is not a scheme of its
/// own here: a `{CRYPT}` value (or a value without a `{SCHEME}` prefix, which
/// Dovecot's passwd-file reads as `CRYPT`) is classified by its `$id$` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `{PLAIN}` (also `{CLEAR}`, `{CLEARTEXT}`): the password itself. The
    /// only scheme that allows APOP and other challenge-response methods.
    Plain,
    /// `{SHA512-CRYPT}`: glibc's `$6$` SHA-crypt.
    Sha512Crypt,
    /// `{SHA256-CRYPT}`: glibc's `$5$` SHA-crypt.
    Sha256Crypt,
    /// `{ARGON2ID}`: a PHC string `$argon2id$v=19$m=..,t=..,p=..$salt$hash`.
    /// The default for new passwords.
    Argon2id,
    /// `{ARGON2I}`: a PHC string `$argon2i$...`.
    Argon2i,
}

impl Scheme {
    /// Dovecot's name for the scheme, as written between braces.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::Plain => "PLAIN",
            Scheme::Sha512Crypt => "SHA512-CRYPT",
            Scheme::Sha256Crypt => "SHA256-CRYPT",
            Scheme::Argon2id => "ARGON2ID",
            Scheme::Argon2i => "ARGON2I",
        }
    }

    /// Looks a scheme up by its Dovecot name, ignoring ASCII case. `CRYPT`
    /// is not accepted here because it depends on the value; see
    /// [`StoredPassword::parse`].
    pub fn from_name(name: &str) -> Option<Scheme> {
        const NAMES: [(&str, Scheme); 7] = [
            ("PLAIN", Scheme::Plain),
            ("CLEAR", Scheme::Plain),
            ("CLEARTEXT", Scheme::Plain),
            ("SHA512-CRYPT", Scheme::Sha512Crypt),
            ("SHA256-CRYPT", Scheme::Sha256Crypt),
            ("ARGON2ID", Scheme::Argon2id),
            ("ARGON2I", Scheme::Argon2i),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, s)| s)
    }

    /// Classifies a crypt(3)-style value by its `$id$` prefix.
    fn from_crypt_value(value: &str) -> Option<Scheme> {
        if value.starts_with("$6$") {
            Some(Scheme::Sha512Crypt)
        } else if value.starts_with("$5$") {
            Some(Scheme::Sha256Crypt)
        } else if value.starts_with("$argon2id$") {
            Some(Scheme::Argon2id)
        } else if value.starts_with("$argon2i$") {
            Some(Scheme::Argon2i)
        } else {
            None
        }
    }
}

impl Default for Scheme {
    /// [`Scheme::Argon2id`], the scheme `useradd` writes.
    fn default() -> Self {
        Scheme::Argon2id
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a password field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// `{` without a closing `}`.
    #[error("password field: expected `}}` closing the scheme name")]
    UnclosedScheme,
    /// A scheme this crate cannot verify (for example `SSHA`, `MD5-CRYPT`,
    /// `BLF-CRYPT`, or an encoding suffix such as `PLAIN.b64`).
    #[error(
        "password field: unsupported scheme {0:?} (expected PLAIN, CRYPT, SHA512-CRYPT, SHA256-CRYPT, ARGON2ID or ARGON2I)"
    )]
    UnsupportedScheme(String),
    /// A `CRYPT` value whose `$id$` is not `$5$`, `$6$`, `$argon2id$` or `$argon2i$`.
    #[error(
        "password field: unsupported crypt value (expected a `$5$`, `$6$`, `$argon2id$` or `$argon2i$` prefix)"
    )]
    UnsupportedCrypt,
    /// The value does not have the form its scheme requires.
    #[error("password field: malformed {scheme} value: {reason}")]
    Malformed {
        /// The scheme the value was read as.
        scheme: Scheme,
        /// What was expected.
        reason: &'static str,
    },
}

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// A `PLAIN` password must be UTF-8 without `:`, CR, LF or NUL to fit a
    /// passwd-file line.
    #[error("a PLAIN password must be UTF-8 without `:`, CR, LF or NUL")]
    PlainNotStorable,
    /// The hash function failed (out of memory, invalid parameters).
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// A stored password: a [`Scheme`] and its value, as read from the password
/// field of a passwd-file line.
///
/// `Debug` prints the scheme only.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPassword {
    scheme: Scheme,
    value: Secret<String>,
}

impl fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredPassword")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl StoredPassword {
    /// Reads a password field: `{SCHEME}value`, or a bare crypt(3) value
    /// (Dovecot's passwd-file default scheme is `CRYPT`). `{CRYPT}` values
    /// are classified by their `$id$` prefix. Hashed values are checked for
    /// their form here, so a broken line is reported when the file is read
    /// rather than when the user logs in.
    pub fn parse(field: &str) -> Result<StoredPassword, PasswordError> {
        let (scheme, value) = match field.strip_prefix('{') {
            Some(rest) => {
                let close = rest.find('}').ok_or(PasswordError::UnclosedScheme)?;
                let name = &rest[..close];
                let value = &rest[close + 1..];
                if name.eq_ignore_ascii_case("CRYPT") {
                    let scheme =
                        Scheme::from_crypt_value(value).ok_or(PasswordError::UnsupportedCrypt)?;
                    (scheme, value)
                } else {
                    let scheme = Scheme::from_name(name)
                        .ok_or_else(|| PasswordError::UnsupportedScheme(name.to_owned()))?;
                    (scheme, value)
                }
            }
            None => (
                Scheme::from_crypt_value(field).ok_or(PasswordError::UnsupportedCrypt)?,
                field,
            ),
        };
        validate_value(scheme, value)?;
        Ok(StoredPassword {
            scheme,
            value: Secret::new(value.to_owned()),
        })
    }

    /// Hashes `password` with `scheme` and a fresh random salt. ARGON2ID
    /// (the recommended default) uses the `argon2` crate's default cost
    /// (19 MiB, 2 passes, 1 lane); SHA-crypt uses 5000 rounds.
    pub fn hash(scheme: Scheme, password: &[u8]) -> Result<StoredPassword, HashError> {
        let value = match scheme {
            Scheme::Plain => {
                let text =
                    std::str::from_utf8(password).map_err(|_| HashError::PlainNotStorable)?;
                if text.contains([':', '\r', '\n', '\0']) {
                    return Err(HashError::PlainNotStorable);
                }
                text.to_owned()
            }
            Scheme::Sha512Crypt | Scheme::Sha256Crypt => {
                let salt = random_crypt_salt();
                let hash = sha_crypt_b64(scheme, password, salt.as_bytes(), None)
                    .map_err(HashError::Hash)?;
                let id = if scheme == Scheme::Sha512Crypt { 6 } else { 5 };
                format!("${id}${salt}${hash}")
            }
            Scheme::Argon2id | Scheme::Argon2i => {
                let algorithm = if scheme == Scheme::Argon2id {
                    Algorithm::Argon2id
                } else {
                    Algorithm::Argon2i
                };
                let hasher = Argon2::new(algorithm, argon2::Version::V0x13, Default::default());
                let salt = SaltString::generate(&mut OsRng);
                hasher
                    .hash_password(password, &salt)
                    .map_err(|e| HashError::Hash(e.to_string()))?
                    .to_string()
            }
        };
        Ok(StoredPassword {
            scheme,
            value: Secret::new(value),
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Checks `password` against the stored value. `PLAIN` values are
    /// compared in constant time (as SHA-512 digests, so the length does
    /// not leak either); hashed values are recomputed and compared in
    /// constant time.
    pub fn verify(&self, password: &[u8]) -> bool {
        let value = self.value.expose_secret().as_str();
        match self.scheme {
            Scheme::Plain => {
                let stored = Sha512::digest(value.as_bytes());
                let given = Sha512::digest(password);
                stored.ct_eq(&given).into()
            }
            Scheme::Sha512Crypt | Scheme::Sha256Crypt => {
                let Ok(parts) = CryptParts::parse(value) else {
                    return false;
                };
                match sha_crypt_b64(self.scheme, password, parts.salt.as_bytes(), parts.rounds) {
                    Ok(computed) => computed.as_bytes().ct_eq(parts.hash.as_bytes()).into(),
                    Err(_) => false,
                }
            }
            Scheme::Argon2id | Scheme::Argon2i => match PasswordHash::new(value) {
                // The parameters and the algorithm come from the PHC string.
                Ok(hash) => Argon2::default().verify_password(password, &hash).is_ok(),
                Err(_) => false,
            },
        }
    }

    /// The password itself, for a `PLAIN` value (needed by APOP and CRAM-style
    /// mechanisms); `None` for hashed values.
    pub fn plaintext(&self) -> Option<&str> {
        (self.scheme == Scheme::Plain).then(|| self.value.expose_secret().as_str())
    }

    /// The password field as written in a passwd-file: `{SCHEME}value`.
    pub fn to_field(&self) -> String {
        format!("{{{}}}{}", self.scheme.name(), self.value.expose_secret())
    }

    /// A hash of a random password with the default scheme and cost, checked
    /// for unknown users so that a failed lookup costs as much as a failed
    /// password check. Computed once per process.
    pub(crate) fn dummy() -> &'static StoredPassword {
        static DUMMY: OnceLock<StoredPassword> = OnceLock::new();
        DUMMY.get_or_init(|| {
            let mut random = [0u8; 16];
            OsRng.fill_bytes(&mut random);
            // Hashing with the default Argon2 parameters and a fresh salt
            // cannot fail; fall back to a PLAIN value that no input matches
            // in constant time only to avoid a panic path.
            StoredPassword::hash(Scheme::Argon2id, &random).unwrap_or(StoredPassword {
                scheme: Scheme::Plain,
                value: Secret::new(String::from("\0unusable")),
            })
        })
    }
}

/// The pieces of `$5$[rounds=N$]salt$hash` / `$6$...`.
struct CryptParts<'a> {
    rounds: Option<usize>,
    salt: &'a str,
    hash: &'a str,
}

impl<'a> CryptParts<'a> {
    fn parse(value: &'a str) -> Result<CryptParts<'a>, &'static str> {
        // "$6$" or "$5$": the scheme was chosen from this prefix.
        let rest = value.get(3..).ok_or("expected `$id$`")?;
        let (rounds, rest) = match rest.strip_prefix("rounds=") {
            Some(r) => {
                let end = r.find('$').ok_or("expected `$` after rounds")?;
                let n: usize = r[..end]
                    .parse()
                    .map_err(|_| "expected a decimal rounds count")?;
                // Drepper's specification clamps out-of-range counts.
                let n = n.clamp(sha_crypt::ROUNDS_MIN, sha_crypt::ROUNDS_MAX);
                (Some(n), &r[end + 1..])
            }
            None => (None, rest),
        };
        let end = rest.find('$').ok_or("expected `$` between salt and hash")?;
        let salt = &rest[..end];
        let hash = &rest[end + 1..];
        // The specification uses at most 16 salt characters.
        let salt = salt.get(..16.min(salt.len())).ok_or("salt is not ASCII")?;
        let b64 = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
        if !hash.chars().all(b64) || hash.is_empty() {
            return Err("expected a crypt base64 hash after the salt");
        }
        Ok(CryptParts { rounds, salt, hash })
    }
}

fn sha_crypt_b64(
    scheme: Scheme,
    password: &[u8],
    salt: &[u8],
    rounds: Option<usize>,
) -> Result<String, String> {
    let rounds = rounds.unwrap_or(sha_crypt::ROUNDS_DEFAULT);
    let result = if scheme == Scheme::Sha512Crypt {
        Sha512Params::new(rounds)
            .and_then(|params| sha_crypt::sha512_crypt_b64(password, salt, &params))
    } else {
        Sha256Params::new(rounds)
            .and_then(|params| sha_crypt::sha256_crypt_b64(password, salt, &params))
    };
    result.map_err(|e| format!("{e:?}"))
}

fn random_crypt_salt() -> String {
    const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect()
}

fn validate_value(scheme: Scheme, value: &str) -> Result<(), PasswordError> {
    let malformed = |reason| PasswordError::Malformed { scheme, reason };
    match scheme {
        Scheme::Plain => Ok(()),
        Scheme::Sha512Crypt | Scheme::Sha256Crypt => {
            let prefix = if scheme == Scheme::Sha512Crypt {
                "$6$"
            } else {
                "$5$"
            };
            if !value.starts_with(prefix) {
                return Err(malformed(
                    "expected the `$6$` or `$5$` prefix of the scheme",
                ));
            }
            CryptParts::parse(value).map(|_| ()).map_err(malformed)
        }
        Scheme::Argon2id | Scheme::Argon2i => {
            let hash = PasswordHash::new(value).map_err(|_| malformed("expected a PHC string"))?;
            let ident = if scheme == Scheme::Argon2id {
                "argon2id"
            } else {
                "argon2i"
            };
            if hash.algorithm.as_str() != ident {
                return Err(malformed("the PHC algorithm does not match the scheme"));
            }
            if hash.hash.is_none() || hash.salt.is_none() {
                return Err(malformed("expected a salt and a hash"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_round_trip() {
        for s in [
            Scheme::Plain,
            Scheme::Sha512Crypt,
            Scheme::Sha256Crypt,
            Scheme::Argon2id,
            Scheme::Argon2i,
        ] {
            assert_eq!(Scheme::from_name(s.name()), Some(s));
            assert_eq!(Scheme::from_name(&s.name().to_lowercase()), Some(s));
        }
        assert_eq!(Scheme::from_name("CLEARTEXT"), Some(Scheme::Plain));
        assert_eq!(Scheme::from_name("SSHA"), None);
    }

    #[test]
    fn parse_classifies_crypt_values() {
        let sha = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";
        assert_eq!(
            StoredPassword::parse(sha).unwrap().scheme(),
            Scheme::Sha512Crypt
        );
        assert_eq!(
            StoredPassword::parse(&format!("{{CRYPT}}{sha}"))
                .unwrap()
                .scheme(),
            Scheme::Sha512Crypt
        );
        assert_eq!(
            StoredPassword::parse("{crypt}$1$abc$def"),
            Err(PasswordError::UnsupportedCrypt)
        );
        assert_eq!(
            StoredPassword::parse("{SSHA}abcd"),
            Err(PasswordError::UnsupportedScheme("SSHA".into()))
        );
        assert_eq!(
            StoredPassword::parse("{PLAIN"),
            Err(PasswordError::UnclosedScheme)
        );
        assert!(matches!(
            StoredPassword::parse("{SHA512-CRYPT}$5$salt$hash"),
            Err(PasswordError::Malformed { .. })
        ));
        assert!(matches!(
            StoredPassword::parse("{ARGON2ID}$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g"),
            Err(PasswordError::Malformed { .. })
        ));
    }

    #[test]
    fn plain_compares_whole_value() {
        let p = StoredPassword::parse("{PLAIN}secret").unwrap();
        assert!(p.verify(b"secret"));
        assert!(!p.verify(b"secre"));
        assert!(!p.verify(b"secret "));
        assert!(!p.verify(b""));
        assert_eq!(p.plaintext(), Some("secret"));
        assert_eq!(p.to_field(), "{PLAIN}secret");
        // An empty PLAIN password matches only the empty input.
        let empty = StoredPassword::parse("{PLAIN}").unwrap();
        assert!(empty.verify(b""));
        assert!(!empty.verify(b"x"));
    }

    #[test]
    fn sha_crypt_hash_and_verify() {
        for scheme in [Scheme::Sha512Crypt, Scheme::Sha256Crypt] {
            let p = StoredPassword::hash(scheme, "pässword".as_bytes()).unwrap();
            assert!(p.verify("pässword".as_bytes()));
            assert!(!p.verify(b"password"));
            assert_eq!(p.plaintext(), None);
            // The field reads back as the same password.
            let again = StoredPassword::parse(&p.to_field()).unwrap();
            assert_eq!(again, p);
        }
    }

    #[test]
    fn rounds_are_clamped_and_parsed() {
        let parts = CryptParts::parse("$6$rounds=10$abc$def").unwrap();
        assert_eq!(parts.rounds, Some(1000));
        assert_eq!(parts.salt, "abc");
        let parts = CryptParts::parse("$5$0123456789abcdefXYZ$def").unwrap();
        assert_eq!(parts.salt, "0123456789abcdef");
        assert!(CryptParts::parse("$6$rounds=x$abc$def").is_err());
        assert!(CryptParts::parse("$6$abcdef").is_err());
    }

    #[test]
    fn plain_hash_refuses_unstorable() {
        assert_eq!(
            StoredPassword::hash(Scheme::Plain, b"a:b"),
            Err(HashError::PlainNotStorable)
        );
        assert_eq!(
            StoredPassword::hash(Scheme::Plain, &[0xff]),
            Err(HashError::PlainNotStorable)
        );
    }

    #[test]
    fn debug_hides_value() {
        let p = StoredPassword::parse("{PLAIN}topsecret").unwrap();
        assert!(!format!("{p:?}").contains("topsecret"));
    }
}
