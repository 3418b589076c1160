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
use tracing::{debug, info};

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
    /// A job from [`Protocol::poll_blocking`] panicked or was cancelled.
    #[error("blocking job failed: {0}")]
    Blocking(String),
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

    // An action found after producing output, handled before the next read.
    let mut pending_action: Option<Action> = None;
    loop {
        while let Some(action) = pending_action.take().or_else(|| protocol.poll_action()) {
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
                    fill(&mut protocol, &mut out, config.write_high_water);
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
                    let (_, session) = upgraded.get_ref();
                    info!(
                        version = ?session.protocol_version(),
                        cipher = ?session.negotiated_cipher_suite().map(|c| c.suite()),
                        "tls established after starttls"
                    );
                    conn = Conn::Tls(Box::new(upgraded));
                    idle_deadline = Instant::now() + config.idle_timeout;
                    protocol.handle_tls_established();
                }
            }
        }

        if let Some(job) = protocol.poll_blocking() {
            let output = tokio::task::spawn_blocking(job)
                .await
                .map_err(|e| DriveError::Blocking(e.to_string()))?;
            // Finishing a login opens the user's mailbox (file work).
            blocking_section(|| protocol.handle_blocking_done(output));
            // The result may have queued actions.
            continue;
        }

        fill(&mut protocol, &mut out, config.write_high_water);
        // Producing output can queue an action (a codec may release the
        // STARTTLS event only once earlier answers have drained). It must be
        // handled before the socket is read again: otherwise the client's
        // TLS handshake, sent as soon as it sees the positive answer, would
        // be read as plaintext and discarded (RFC 3501 §6.2.1).
        if let Some(action) = protocol.poll_action() {
            pending_action = Some(action);
            continue;
        }

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

        // Shutdown, timers and wake-ups come before the socket, so a peer
        // that keeps the socket busy cannot starve them.
        let event = tokio::select! {
            biased;
            () = shutdown.reached(next_phase), if phase < ShutdownPhase::Closing => Ok(Event::Shutdown),
            () = sleep_until(timer) => Ok(Event::Timer),
            () = async {
                match &notify {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            } => Ok(Event::Wakeup),
            r = io_event(&mut conn, &out, unflushed, &mut buf, want_read) => r,
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
                blocking_section(|| protocol.handle_input(&buf[..n]));
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
                    blocking_section(|| protocol.handle_timeout(now.into_std()));
                }
            }
            Event::Wakeup => blocking_section(|| protocol.handle_wakeup()),
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

/// Runs a protocol handler that may do file work (a command against a
/// Maildir: directory reads, `fsync`, parsing messages). On a
/// multi-threaded runtime the worker thread is handed over for its duration
/// (`block_in_place`), so the other connections scheduled on that worker
/// go on meanwhile; elsewhere (a current-thread runtime, as in tests) it
/// runs inline.
fn blocking_section<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Moves the protocol's output into `out` until it stops producing or `out`
/// reaches `limit` bytes.
fn fill<P: Protocol>(protocol: &mut P, out: &mut Vec<u8>, limit: usize) {
    if protocol.transmit_blocks() {
        blocking_section(|| fill_inline(protocol, out, limit));
    } else {
        fill_inline(protocol, out, limit);
    }
}

fn fill_inline<P: Protocol>(protocol: &mut P, out: &mut Vec<u8>, limit: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, duplex};

    /// Replies `ok` to each line; `tls` asks for STARTTLS; `big` queues
    /// 1 MiB; `bye` closes.
    #[derive(Default)]
    struct Lines {
        buffer: Vec<u8>,
        out: Vec<u8>,
        actions: Vec<Action>,
        idle_goodbye: bool,
    }

    impl Protocol for Lines {
        fn handle_input(&mut self, input: &[u8]) {
            self.buffer.extend_from_slice(input);
            while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                match line.as_slice() {
                    b"tls\n" => self.actions.push(Action::StartTls),
                    b"big\n" => self.out.resize(self.out.len() + (1 << 20), b'x'),
                    b"bye\n" => self.actions.push(Action::Close),
                    _ => self.out.extend_from_slice(b"ok\n"),
                }
            }
        }
        fn poll_transmit(&mut self, out: &mut Vec<u8>) {
            out.append(&mut self.out);
        }
        fn poll_action(&mut self) -> Option<Action> {
            self.actions.pop()
        }
        fn handle_idle_timeout(&mut self) {
            if self.idle_goodbye {
                self.out.extend_from_slice(b"bye idle\n");
            }
        }
    }

    #[tokio::test]
    async fn starttls_without_config_is_an_error() {
        let (mut client, server) = duplex(1024);
        let task = tokio::spawn(drive(
            server,
            Lines::default(),
            DriveOptions::new(DriverConfig::imap()),
        ));
        client.write_all(b"tls\n").await.unwrap();
        assert!(matches!(
            task.await.unwrap(),
            Err(DriveError::StartTlsUnavailable)
        ));
    }

    #[tokio::test]
    async fn half_close_still_gets_its_answers() {
        let (mut client, server) = duplex(1024);
        let task = tokio::spawn(drive(
            server,
            Lines::default(),
            DriveOptions::new(DriverConfig::imap()),
        ));
        client.write_all(b"a\nb\n").await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ok\nok\n");
        assert_eq!(task.await.unwrap().unwrap(), CloseReason::PeerClosed);
    }

    #[tokio::test(start_paused = true)]
    async fn imap_idle_timeout_is_thirty_minutes() {
        let (mut client, server) = duplex(1024);
        let protocol = Lines {
            idle_goodbye: true,
            ..Lines::default()
        };
        let start = Instant::now();
        let task = tokio::spawn(drive(
            server,
            protocol,
            DriveOptions::new(DriverConfig::imap()),
        ));
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye idle\n");
        assert_eq!(task.await.unwrap().unwrap(), CloseReason::IdleTimeout);
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(1800) && waited < Duration::from_secs(1801));
    }

    #[tokio::test(start_paused = true)]
    async fn peer_that_never_reads_is_dropped() {
        let (mut client, server) = duplex(4096);
        let config = DriverConfig::pop3();
        let (idle, close) = (config.idle_timeout, config.close_timeout);
        let start = Instant::now();
        let task = tokio::spawn(drive(server, Lines::default(), DriveOptions::new(config)));
        // 1 MiB of output fills the 4 KiB pipe and is never read: the idle
        // timeout starts the close, whose flush then times out.
        client.write_all(b"big\nnext\n").await.unwrap();
        let result = task.await.unwrap();
        assert!(
            matches!(result, Err(DriveError::CloseTimeout)),
            "{result:?}"
        );
        assert!(start.elapsed() >= idle + close);
        drop(client);
    }

    /// A handler blocked in file work must not stall the other connections
    /// that share its worker thread.
    #[test]
    fn a_blocking_handler_does_not_stall_other_connections() {
        use std::sync::mpsc;
        struct Blocks(Option<mpsc::Receiver<()>>, Vec<u8>);
        impl Protocol for Blocks {
            fn handle_input(&mut self, _: &[u8]) {
                if let Some(rx) = self.0.take() {
                    // Released only once the other connection was answered.
                    let _ = rx.recv_timeout(Duration::from_secs(10));
                }
                self.1.extend_from_slice(b"done\n");
            }
            fn poll_transmit(&mut self, out: &mut Vec<u8>) {
                out.append(&mut self.1);
            }
            fn poll_action(&mut self) -> Option<Action> {
                None
            }
        }
        other_connection_goes_on(|rx| Blocks(Some(rx), Vec::new()));
    }

    /// Output that needs file work (a FETCH streaming answers) is produced
    /// in a blocking section too.
    #[test]
    fn a_blocking_transmit_does_not_stall_other_connections() {
        use std::sync::mpsc;
        struct Streams(Option<mpsc::Receiver<()>>, bool);
        impl Protocol for Streams {
            fn handle_input(&mut self, _: &[u8]) {
                self.1 = true;
            }
            fn transmit_blocks(&self) -> bool {
                self.1
            }
            fn poll_transmit(&mut self, out: &mut Vec<u8>) {
                if !self.1 {
                    return;
                }
                if let Some(rx) = self.0.take() {
                    let _ = rx.recv_timeout(Duration::from_secs(10));
                }
                self.1 = false;
                out.extend_from_slice(b"done\n");
            }
            fn poll_action(&mut self) -> Option<Action> {
                None
            }
        }
        other_connection_goes_on(|rx| Streams(Some(rx), false));
    }

    /// Starts a connection whose protocol (made by `blocking`) blocks on
    /// the line `x` until released, on a runtime with one worker; checks
    /// that another connection is answered meanwhile, then releases it and
    /// expects `done`.
    fn other_connection_goes_on<P: Protocol + Send + 'static>(
        blocking: impl FnOnce(std::sync::mpsc::Receiver<()>) -> P,
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (release, blocked) = std::sync::mpsc::channel();
        let protocol = blocking(blocked);
        runtime.block_on(async {
            let (mut slow, server) = duplex(1024);
            tokio::spawn(drive(
                server,
                protocol,
                DriveOptions::new(DriverConfig::imap()),
            ));
            slow.write_all(b"x\n").await.unwrap();
            // Let the slow handler start and occupy the only worker.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (mut fast, server) = duplex(1024);
            tokio::spawn(drive(
                server,
                Lines::default(),
                DriveOptions::new(DriverConfig::imap()),
            ));
            fast.write_all(b"a\n").await.unwrap();
            let mut got = [0u8; 3];
            timeout(Duration::from_secs(5), fast.read_exact(&mut got))
                .await
                .expect("the other connection was answered while one handler blocked")
                .unwrap();
            assert_eq!(&got, b"ok\n");
            release.send(()).unwrap();
            let mut got = [0u8; 5];
            slow.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"done\n");
        });
    }

    #[tokio::test(start_paused = true)]
    async fn delay_holds_output_and_is_capped() {
        struct Slow(bool, Vec<u8>);
        impl Protocol for Slow {
            fn handle_input(&mut self, _: &[u8]) {}
            fn poll_transmit(&mut self, out: &mut Vec<u8>) {
                out.append(&mut self.1);
            }
            fn poll_action(&mut self) -> Option<Action> {
                std::mem::take(&mut self.0).then_some(Action::Delay(Duration::from_secs(3600)))
            }
        }
        let (mut client, server) = duplex(1024);
        let start = Instant::now();
        tokio::spawn(drive(
            server,
            Slow(true, b"late\n".to_vec()),
            DriveOptions::new(DriverConfig::imap()),
        ));
        let mut got = [0u8; 5];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"late\n");
        assert_eq!(start.elapsed().as_secs(), MAX_DELAY.as_secs());
    }
}
