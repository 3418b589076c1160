//! The per-connection loop: moves bytes between a stream and a [`Protocol`].

use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::debug;

use super::{Action, DriverConfig, Protocol, ShutdownPhase, ShutdownToken};

/// The longest [`Action::Delay`] honoured.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// What [`drive`] needs besides the stream and the protocol.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DriveOptions {
    /// Timeouts and buffer sizes.
    pub config: DriverConfig,
    /// The TLS config for [`Action::StartTls`]; `None` refuses it.
    pub starttls: Option<Arc<ServerConfig>>,
    /// The server's shutdown signal.
    pub shutdown: ShutdownToken,
}

impl DriveOptions {
    /// Options with `config`, no STARTTLS and no shutdown signal.
    pub fn new(config: DriverConfig) -> DriveOptions {
        DriveOptions {
            config,
            starttls: None,
            shutdown: ShutdownToken::never(),
        }
    }

    /// Allows [`Action::StartTls`] with `tls`.
    pub fn with_starttls(mut self, tls: Arc<ServerConfig>) -> DriveOptions {
        self.starttls = Some(tls);
        self
    }

    /// Follows `shutdown`.
    pub fn with_shutdown(mut self, shutdown: ShutdownToken) -> DriveOptions {
        self.shutdown = shutdown;
        self
    }
}

/// Why a connection ended normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its side (end of input); queued output was sent
    /// first where possible.
    PeerClosed,
    /// The protocol returned [`Action::Close`].
    Protocol,
    /// No input for [`DriverConfig::idle_timeout`].
    IdleTimeout,
    /// The server's shutdown grace period ended.
    Shutdown,
}

/// Why a connection ended with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// Reading or writing the socket failed.
    #[error("connection i/o failed: {0}")]
    Io(#[source] io::Error),
    /// The TLS handshake failed (implicit TLS or after STARTTLS).
    #[error("tls handshake failed: {0}")]
    TlsHandshake(#[source] io::Error),
    /// The TLS handshake took longer than [`DriverConfig::tls_handshake_timeout`].
    #[error("tls handshake timed out after {0:?}")]
    TlsHandshakeTimeout(Duration),
    /// The protocol returned [`Action::StartTls`] where TLS is not
    /// available or already on.
    #[error("the protocol asked for STARTTLS, which this connection does not offer")]
    StartTlsUnavailable,
    /// The last output could not be sent within [`DriverConfig::close_timeout`].
    #[error("sending the last output timed out")]
    CloseTimeout,
}

/// Runs `protocol` on `stream` until the connection ends.
///
/// Every byte read is handed to the protocol at once (the driver keeps no
/// input of its own), so after [`Action::StartTls`] the only plaintext that
/// was read past the STARTTLS command is what the protocol received and
/// discarded; the TLS handshake reads the socket directly. Output is sent in
/// order; input is not read while more than
/// [`DriverConfig::write_high_water`] bytes wait to be sent.
pub async fn drive<S, P>(
    stream: S,
    protocol: P,
    options: DriveOptions,
) -> Result<CloseReason, DriveError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    P: Protocol,
{
    let mut protocol = protocol;
    let DriveOptions {
        config,
        starttls,
        mut shutdown,
    } = options;
    let mut conn = Conn::Plain(stream);
    let mut out: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; config.read_buffer.max(1)];
    let mut unflushed = false;
    let mut idle_deadline = Instant::now() + config.idle_timeout;
    let mut closing: Option<(CloseReason, Instant)> = None;

    let mut phase = shutdown.phase();
    if phase >= ShutdownPhase::Draining {
        protocol.handle_shutdown();
    }
    if phase >= ShutdownPhase::Closing {
        closing = Some((CloseReason::Shutdown, Instant::now() + config.close_timeout));
    }

    loop {
        while let Some(action) = protocol.poll_action() {
            match action {
                Action::Delay(delay) => {
                    debug!(?delay, "delaying connection");
                    sleep(delay.min(MAX_DELAY)).await;
                }
                Action::Close => {
                    if closing.is_none() {
                        closing =
                            Some((CloseReason::Protocol, Instant::now() + config.close_timeout));
                    }
                }
                Action::StartTls => {
                    let Some(tls) = &starttls else {
                        return Err(DriveError::StartTlsUnavailable);
                    };
                    // RFC 3207 §4 / RFC 2595 §4: the positive answer goes
                    // out in plaintext, then the handshake starts.
                    fill(&mut protocol, &mut out, usize::MAX);
                    let sent = timeout(config.close_timeout, async {
                        conn.write_all(&out).await?;
                        conn.flush().await
                    })
                    .await;
                    match sent {
                        Ok(Ok(())) => out.clear(),
                        Ok(Err(e)) => return Err(DriveError::Io(e)),
                        Err(_) => return Err(DriveError::CloseTimeout),
                    }
                    let plain = match std::mem::replace(&mut conn, Conn::Gone) {
                        Conn::Plain(s) => s,
                        _ => return Err(DriveError::StartTlsUnavailable),
                    };
                    let acceptor = TlsAcceptor::from(Arc::clone(tls));
                    let upgraded = timeout(config.tls_handshake_timeout, acceptor.accept(plain))
                        .await
                        .map_err(|_| DriveError::TlsHandshakeTimeout(config.tls_handshake_timeout))?
                        .map_err(DriveError::TlsHandshake)?;
                    conn = Conn::Tls(Box::new(upgraded));
                    debug!("tls established after starttls");
                    idle_deadline = Instant::now() + config.idle_timeout;
                    protocol.handle_tls_established();
                }
            }
        }

        fill(&mut protocol, &mut out, config.write_high_water);

        if let Some((reason, deadline)) = closing {
            if out.is_empty() {
                // Flushes, sends a TLS close_notify, then shuts down the
                // write side.
                let _ = timeout_at(deadline, conn.shutdown()).await;
                return Ok(reason);
            }
        }

        let protocol_deadline = protocol.next_timeout().map(Instant::from_std);
        let deadline = closing.map_or(idle_deadline, |(_, d)| d);
        let timer = protocol_deadline.map_or(deadline, |t| t.min(deadline));
        let notify = protocol.wakeup();
        let want_read = closing.is_none() && out.len() < config.write_high_water;
        let next_phase = if phase == ShutdownPhase::Running {
            ShutdownPhase::Draining
        } else {
            ShutdownPhase::Closing
        };

        let event = tokio::select! {
            biased;
            r = io_event(&mut conn, &out, unflushed, &mut buf, want_read) => r,
            () = sleep_until(timer) => Ok(Event::Timer),
            () = async {
                match &notify {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            } => Ok(Event::Wakeup),
            () = shutdown.reached(next_phase), if phase < ShutdownPhase::Closing => Ok(Event::Shutdown),
        };
        let event = match (event, closing) {
            (Ok(event), _) => event,
            // The peer may be gone while the last output is sent.
            (Err(e), Some((reason, _))) => {
                debug!(error = %e, "i/o error while closing");
                return Ok(reason);
            }
            (Err(e), None) => return Err(DriveError::Io(e)),
        };

        match event {
            Event::Wrote(n) => {
                out.drain(..n);
                unflushed = true;
            }
            Event::Flushed => unflushed = false,
            Event::Read(0) => {
                debug!("peer closed its side");
                closing = Some((
                    CloseReason::PeerClosed,
                    Instant::now() + config.close_timeout,
                ));
            }
            Event::Read(n) => {
                idle_deadline = Instant::now() + config.idle_timeout;
                protocol.handle_input(&buf[..n]);
            }
            Event::Timer => {
                let now = Instant::now();
                match closing {
                    Some((_, d)) if now >= d => return Err(DriveError::CloseTimeout),
                    None if now >= idle_deadline => {
                        debug!("idle timeout");
                        protocol.handle_idle_timeout();
                        closing = Some((CloseReason::IdleTimeout, now + config.close_timeout));
                    }
                    _ => {}
                }
                if protocol_deadline.is_some_and(|t| now >= t) {
                    protocol.handle_timeout(now.into_std());
                }
            }
            Event::Wakeup => protocol.handle_wakeup(),
            Event::Shutdown => {
                let new_phase = shutdown.phase();
                if phase == ShutdownPhase::Running {
                    debug!("server draining");
                    protocol.handle_shutdown();
                }
                if new_phase >= ShutdownPhase::Closing && closing.is_none() {
                    debug!("shutdown grace period over");
                    closing = Some((CloseReason::Shutdown, Instant::now() + config.close_timeout));
                }
                phase = new_phase;
            }
        }
    }
}

/// Moves the protocol's output into `out` until it stops producing or `out`
/// reaches `limit` bytes.
fn fill<P: Protocol>(protocol: &mut P, out: &mut Vec<u8>, limit: usize) {
    while out.len() < limit {
        let before = out.len();
        protocol.poll_transmit(out);
        if out.len() == before {
            break;
        }
    }
}

enum Event {
    Wrote(usize),
    Flushed,
    Read(usize),
    Timer,
    Wakeup,
    Shutdown,
}

/// Writes pending output (or flushes it) and reads input, whichever can go
/// first, without splitting the stream.
fn io_event<'a, S>(
    conn: &'a mut Conn<S>,
    out: &'a [u8],
    unflushed: bool,
    buf: &'a mut [u8],
    want_read: bool,
) -> impl Future<Output = io::Result<Event>> + 'a
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    poll_fn(move |cx| {
        if !out.is_empty() {
            match Pin::new(&mut *conn).poll_write(cx, out) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => return Poll::Ready(Ok(Event::Wrote(n))),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        } else if unflushed {
            match Pin::new(&mut *conn).poll_flush(cx) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(Event::Flushed)),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if want_read {
            let mut read_buf = ReadBuf::new(&mut *buf);
            match Pin::new(&mut *conn).poll_read(cx, &mut read_buf) {
                Poll::Ready(Ok(())) => {
                    return Poll::Ready(Ok(Event::Read(read_buf.filled().len())));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
}

/// The connection's stream: as accepted, or upgraded to TLS in place.
enum Conn<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
    /// Only while the upgrade is in progress.
    Gone,
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "stream taken for the tls upgrade",
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Conn<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }
}
