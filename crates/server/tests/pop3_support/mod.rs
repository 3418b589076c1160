//! Shared helpers of the POP3 session tests: a test driver without sockets.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postroom_mailbox::{Mailbox, MailboxError, Store};
use postroom_pop3::DotUnstuffer;
use postroom_server::pop3::{Action, Config, ConnectionContext, Session};
use postroom_server::users::UserDb;
use postroom_types::MailboxName;

/// Every user has a PLAIN secret, so APOP works for all and the tests do
/// not spend time hashing (password schemes are the users module's tests).
pub const USERS: &[u8] = b"alice:{PLAIN}secret\nmrose:{PLAIN}tanstaaf\nbob:{PLAIN}hunter2\n";

pub fn loopback() -> SocketAddr {
    "127.0.0.1:50000".parse().expect("valid address")
}

pub fn remote() -> SocketAddr {
    "192.0.2.7:50000".parse().expect("valid address")
}

/// A config whose INBOX is the given store's, for every user.
pub fn config_for(store: Arc<dyn Store>) -> Config {
    let users = UserDb::parse(USERS).expect("valid user file");
    let mut config = Config::new(
        Arc::new(users),
        move |_user: &postroom_server::users::UserEntry| -> Result<Arc<Mailbox>, MailboxError> {
            store.open(&MailboxName::inbox())
        },
    );
    config.login_delay = Duration::from_millis(1500);
    config
}

/// A session and its clock, driven like a driver would.
pub struct Client {
    pub session: Session,
    pub now: Instant,
    /// Actions taken so far, in order.
    pub actions: Vec<Action>,
}

impl Client {
    pub fn new(config: Config, context: ConnectionContext) -> Client {
        let now = Instant::now();
        Client {
            session: Session::new(Arc::new(config), context, now),
            now,
            actions: Vec::new(),
        }
    }

    /// Takes the actions, then sends everything queued, as a driver does.
    pub fn drain(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            while let Some(action) = self.session.poll_action() {
                self.actions.push(action);
            }
            if self.session.poll_transmit(&mut out) == 0 {
                break;
            }
        }
        while let Some(action) = self.session.poll_action() {
            self.actions.push(action);
        }
        out
    }

    /// The drained output as text.
    pub fn text(&mut self) -> String {
        String::from_utf8(self.drain()).expect("the tests send text")
    }

    /// Sends `input` and returns everything the session answers.
    pub fn send(&mut self, input: &str) -> String {
        self.session.handle_input(self.now, input.as_bytes());
        self.text()
    }

    /// The greeting.
    pub fn greeting(&mut self) -> String {
        self.text()
    }

    /// Logs in with USER/PASS; panics unless it succeeds.
    pub fn login(&mut self, user: &str, password: &str) -> String {
        let answer = self.send(&format!("USER {user}\r\nPASS {password}\r\n"));
        assert!(
            answer.starts_with("+OK") && answer.contains("\r\n+OK maildrop has"),
            "login failed: {answer:?}"
        );
        answer
    }

    /// Sends a command with a multi-line answer and returns the first line
    /// and the unstuffed body.
    pub fn multiline(&mut self, command: &str) -> (String, Vec<u8>) {
        let out = self.send(command).into_bytes();
        split_multiline(&out)
    }
}

/// Splits `+OK ...\r\n<body>.\r\n` into the status line and the unstuffed
/// body; panics if the terminator is missing or bytes follow it.
pub fn split_multiline(out: &[u8]) -> (String, Vec<u8>) {
    let lf = out.iter().position(|&b| b == b'\n').expect("a status line");
    let status = String::from_utf8(out[..=lf].to_vec()).expect("text status");
    let mut unstuffer = DotUnstuffer::new();
    let mut body = Vec::new();
    let done = unstuffer.decode(&out[lf + 1..], &mut body);
    assert!(done.finished, "no terminator in {out:?}");
    assert_eq!(
        lf + 1 + done.consumed,
        out.len(),
        "bytes after the terminator"
    );
    (status, body)
}
