//! The IMAP [`Session`] on the tokio driver (feature `tokio`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{PasswordChecked, ServiceConfig, Session, SessionAction, Transport};
use crate::net::{self, BlockingJob, BlockingOutput, ConnectionInfo, UserClaim};

/// An IMAP session as a [`net::Protocol`]: adds the failed-login delay per
/// client address and the per-user connection limit of the listener it runs
/// under, and checks password hashes on the blocking thread pool.
///
/// ```no_run
/// # async fn run(config: std::sync::Arc<postroom_server::imap::ServiceConfig>) -> std::io::Result<()> {
/// use postroom_server::imap::Connection;
/// use postroom_server::net::{ConnectionLimits, ListenerConfig, Server};
///
/// let server = Server::new(ConnectionLimits::default());
/// let listener = ListenerConfig::plain("imap", "127.0.0.1:1143".parse().unwrap(), None);
/// let addr = server.listen(listener, move |info| Connection::new(config.clone(), &info)).await?;
/// println!("IMAP on {addr}");
/// # Ok(()) }
/// ```
pub struct Connection {
    session: Session,
    info: ConnectionInfo,
    claims: Arc<Mutex<Vec<UserClaim>>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A session for the connection `info` describes (peer address, TLS or
    /// STARTTLS).
    pub fn new(config: Arc<ServiceConfig>, info: &ConnectionInfo) -> Connection {
        let transport = if info.tls {
            Transport::Tls
        } else {
            Transport::Plain {
                starttls: info.starttls,
            }
        };
        let mut session = Session::new(config, Some(info.peer), transport);
        session.set_deferred_password_checks(true);
        let claims: Arc<Mutex<Vec<UserClaim>>> = Arc::default();
        let held = Arc::clone(&claims);
        let guard_info = info.clone();
        session.set_login_guard(Box::new(move |user| match guard_info.claim_user(user) {
            Ok(claim) => {
                held.lock().unwrap_or_else(|e| e.into_inner()).push(claim);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }));
        Connection {
            session,
            info: info.clone(),
            claims,
        }
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl net::Protocol for Connection {
    fn handle_input(&mut self, input: &[u8]) {
        self.session.handle_input(input);
        if self.session.is_idling() && self.session.next_timeout().is_none() {
            // IDLE just began: start its timers.
            self.session.handle_timeout(Instant::now());
        }
    }

    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        self.session.poll_transmit(out);
    }

    fn transmit_blocks(&self) -> bool {
        self.session.is_fetching()
    }

    fn poll_action(&mut self) -> Option<net::Action> {
        loop {
            match self.session.poll_action()? {
                SessionAction::StartTls => return Some(net::Action::StartTls),
                SessionAction::Close => {
                    self.claims
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .clear();
                    return Some(net::Action::Close);
                }
                SessionAction::LoginFailed { user } => {
                    // In the connection's span (listener, peer).
                    tracing::info!(%user, "login failed");
                    return Some(self.info.login_failed());
                }
                SessionAction::LoggedIn { user } => {
                    net::record_user(&user);
                    tracing::info!(%user, "logged in");
                    self.info.login_succeeded();
                }
            }
        }
    }

    fn poll_blocking(&mut self) -> Option<BlockingJob> {
        let check = self.session.poll_password_check()?;
        Some(Box::new(move || Box::new(check.run()) as BlockingOutput))
    }

    fn handle_blocking_done(&mut self, output: BlockingOutput) {
        if let Ok(verdict) = output.downcast::<PasswordChecked>() {
            self.session.handle_password_checked(*verdict);
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        self.session.next_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }

    fn handle_tls_established(&mut self) {
        self.session.handle_tls_established();
    }

    /// RFC 3501 §5.4: `* BYE` after the autologout timer.
    fn handle_idle_timeout(&mut self) {
        self.session.handle_autologout();
    }

    fn handle_shutdown(&mut self) {
        self.session.handle_shutdown();
    }
}
