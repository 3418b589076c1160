//! A socket-free harness for `postroom_server::imap::Session`.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use postroom_access::maildirsize::QuotaDefinition;
use postroom_server::imap::{
    Directory, MaildirsizeQuota, PlaintextLogin, ServiceConfig, Session, SessionAction, Transport,
};
use postroom_server::users::UserDb;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: Arc<ServiceConfig>,
}

impl Env {
    pub fn new(users: &str) -> Env {
        Env::with_quota(users, QuotaDefinition::default())
    }

    pub fn with_quota(users: &str, quota: QuotaDefinition) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = UserDb::parse(users.as_bytes()).unwrap();
        let directory = Directory::new(db, dir.path().join("mail"), MaildirsizeQuota::new(quota));
        let mut config = ServiceConfig::new(Arc::new(directory));
        config.plaintext_login = PlaintextLogin::LoopbackOnly;
        Env {
            dir,
            config: Arc::new(config),
        }
    }

    pub fn client(&self) -> Client {
        self.client_from("127.0.0.1:40000", Transport::Plain { starttls: true })
    }

    pub fn client_from(&self, peer: &str, transport: Transport) -> Client {
        let peer: SocketAddr = peer.parse().unwrap();
        let mut c = Client {
            s: Session::new(Arc::clone(&self.config), Some(peer), transport),
            actions: Vec::new(),
        };
        let greeting = c.read();
        assert!(
            greeting.starts_with("* OK [CAPABILITY IMAP4rev1"),
            "{greeting}"
        );
        c
    }

    pub fn login(&self, user: &str, pass: &str) -> Client {
        let mut c = self.client();
        let r = c.cmd(&format!("L1 LOGIN {user} {pass}"));
        assert!(r.contains("L1 OK"), "{r}");
        c
    }

    pub fn maildir(&self, user: &str) -> std::path::PathBuf {
        self.config.directory.maildir_root(user).unwrap()
    }
}

pub struct Client {
    pub s: Session,
    pub actions: Vec<SessionAction>,
}

impl Client {
    /// Everything the session has queued.
    pub fn read(&mut self) -> String {
        let mut out = Vec::new();
        // A long FETCH is answered in parts as output is taken.
        while self.s.poll_transmit(&mut out) > 0 {}
        while let Some(a) = self.s.poll_action() {
            self.actions.push(a);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub fn send(&mut self, bytes: &[u8]) -> String {
        self.s.handle_input(bytes);
        self.read()
    }

    /// Sends one command line (CRLF added) and returns the output.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes())
    }

    /// Runs the session's timers at `now`.
    pub fn tick(&mut self, now: Instant) -> String {
        self.s.handle_timeout(now);
        self.read()
    }
}

pub fn message(subject: &str, body: &str) -> String {
    format!(
        "From: Fred Foobar <foobar@Blurdybloop.example>\r\nTo: mooch@owatagu.example\r\nSubject: {subject}\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-Id: <{subject}@example>\r\n\r\n{body}\r\n"
    )
}

/// `APPEND` with a LITERAL+ literal.
pub fn append_cmd(tag: &str, mailbox: &str, flags: &str, msg: &str) -> String {
    format!(
        "{tag} APPEND {mailbox} {flags} {{{}+}}\r\n{msg}\r\n",
        msg.len()
    )
}
