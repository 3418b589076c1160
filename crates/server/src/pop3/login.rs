//! The slow part of a login, as a job a driver may run off its async
//! threads: checking the credentials (an ARGON2ID hash costs tens of
//! milliseconds of CPU) and opening the maildrop (a rescan of the folder and
//! a size for every message).

use std::fmt;
use std::sync::Arc;

use postroom_mailbox::MailboxError;
use postroom_pop3::ApopDigest;
use postroom_types::Secret;

use super::MailStorage;
use super::auth::apop_matches;
use super::maildrop::{Maildrop, OpenError};
use crate::users::{UserDb, UserEntry};

/// A login to check, taken from [`Session::poll_login_job`](super::Session::poll_login_job)
/// when [`Config::offload_logins`](super::Config::offload_logins) is set.
/// [`LoginJob::run`] may block; hand its result to
/// [`Session::handle_login_done`](super::Session::handle_login_done).
pub struct LoginJob {
    pub(crate) users: Arc<UserDb>,
    pub(crate) storage: Arc<dyn MailStorage>,
    pub(crate) credentials: Credentials,
    pub(crate) method: &'static str,
}

/// What the client sent.
pub(crate) enum Credentials {
    /// USER/PASS, SASL PLAIN or LOGIN.
    Password {
        name: String,
        password: Secret<Vec<u8>>,
    },
    /// APOP against the greeting's timestamp.
    Apop {
        name: String,
        digest: ApopDigest,
        timestamp: String,
    },
}

/// The result of a [`LoginJob`].
pub struct LoginOutcome {
    pub(crate) name: String,
    pub(crate) method: &'static str,
    pub(crate) result: LoginResult,
}

pub(crate) enum LoginResult {
    /// Wrong user name or credentials.
    BadCredentials,
    /// Logged in; the maildrop is locked and open.
    Opened(Box<UserEntry>, Maildrop),
    /// Good credentials, but another POP3 session holds the maildrop.
    InUse,
    /// Good credentials, but the store failed.
    Store(MailboxError),
}

impl LoginJob {
    /// Checks the credentials and, when they are good, locks and opens the
    /// user's maildrop. May block on hashing and file I/O.
    pub fn run(self) -> LoginOutcome {
        let entry = match &self.credentials {
            Credentials::Password { name, password } => {
                self.users.verify(name, password.expose_secret()).cloned()
            }
            Credentials::Apop {
                name,
                digest,
                timestamp,
            } => self
                .users
                .plaintext_secret(name)
                .filter(|secret| apop_matches(timestamp, secret, digest))
                .and_then(|_| self.users.get(name).cloned()),
        };
        let name = match self.credentials {
            Credentials::Password { name, .. } | Credentials::Apop { name, .. } => name,
        };
        let result = match entry {
            None => LoginResult::BadCredentials,
            Some(entry) => match self
                .storage
                .open_inbox(&entry)
                .map_err(OpenError::Store)
                .and_then(Maildrop::open)
            {
                Ok(maildrop) => LoginResult::Opened(Box::new(entry), maildrop),
                Err(OpenError::InUse) => LoginResult::InUse,
                Err(OpenError::Store(e)) => LoginResult::Store(e),
            },
        };
        LoginOutcome {
            name,
            method: self.method,
            result,
        }
    }
}

impl fmt::Debug for LoginJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.credentials {
            Credentials::Password { name, .. } | Credentials::Apop { name, .. } => name,
        };
        f.debug_struct("LoginJob")
            .field("user", name)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let result = match &self.result {
            LoginResult::BadCredentials => "bad credentials",
            LoginResult::Opened(..) => "opened",
            LoginResult::InUse => "in use",
            LoginResult::Store(_) => "store error",
        };
        f.debug_struct("LoginOutcome")
            .field("user", &self.name)
            .field("method", &self.method)
            .field("result", &result)
            .finish()
    }
}
