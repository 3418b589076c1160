//! [`Session`] as a [`crate::net::Protocol`], so the tokio driver and
//! listeners run it (feature `tokio`).

use std::time::Instant;

use super::{Action, LoginOutcome, Notice, Session};
use crate::net;

impl net::Protocol for Session {
    fn handle_input(&mut self, input: &[u8]) {
        Session::handle_input(self, Instant::now(), input);
    }

    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        Session::poll_transmit(self, out);
    }

    fn poll_action(&mut self) -> Option<net::Action> {
        // Logged in the connection's span (listener, peer).
        while let Some(notice) = self.poll_notice() {
            match notice {
                Notice::LoggedIn { user, method } => {
                    net::record_user(&user);
                    tracing::info!(%user, method, "logged in");
                }
                Notice::LoginFailed { user, method } => {
                    let user = user.unwrap_or_default();
                    tracing::info!(%user, method, "login failed");
                }
                Notice::StoreError { context, error } => {
                    tracing::warn!(context, %error, "store error");
                }
                Notice::Updated { removed } => tracing::info!(removed, "update"),
                Notice::Autologout => tracing::info!("autologout"),
            }
        }
        Session::poll_action(self).map(|action| match action {
            Action::StartTls => net::Action::StartTls,
            Action::Close => net::Action::Close,
            Action::Delay(d) => net::Action::Delay(d),
        })
    }

    fn next_timeout(&self) -> Option<Instant> {
        Session::next_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Session::handle_timeout(self, now);
    }

    fn poll_blocking(&mut self) -> Option<net::BlockingJob> {
        let job = self.poll_login_job()?;
        Some(Box::new(move || Box::new(job.run()) as net::BlockingOutput))
    }

    fn handle_blocking_done(&mut self, output: net::BlockingOutput) {
        // The only job this session hands out is a login.
        if let Ok(outcome) = output.downcast::<LoginOutcome>() {
            self.handle_login_done(*outcome);
        }
    }

    fn handle_tls_established(&mut self) {
        self.handle_tls_started();
    }

    /// RFC 1939 §3: the autologout timer closes the session silently and
    /// without UPDATE.
    fn handle_idle_timeout(&mut self) {
        self.notices.push_back(Notice::Autologout);
        self.close();
    }

    /// A shutdown ends the session without UPDATE (nothing marked is
    /// deleted; the client may log in again later).
    fn handle_shutdown(&mut self) {
        self.close();
    }
}
