//! Listeners, the shared connection limits and graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use socket2::{SockRef, TcpKeepalive};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tracing::{Instrument, debug, info, info_span, warn};

use super::driver::{DriveError, DriveOptions, drive};
use super::limits::{ConnectionSlot, Tracker};
use super::{
    ConnectionInfo, ConnectionLimits, DriverConfig, Protocol, ShutdownPhase, ShutdownToken,
};

/// How a listener uses TLS.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ListenerTls {
    /// Plaintext at first (IMAP 143, POP3 110 style); with a config,
    /// [`Action::StartTls`](super::Action::StartTls) upgrades the connection.
    Plain {
        /// The config for STARTTLS / STLS, if offered.
        starttls: Option<Arc<ServerConfig>>,
    },
    /// TLS from the first byte (IMAPS 993, POP3S 995 style).
    Implicit(Arc<ServerConfig>),
}

/// One listening socket and how its connections are served.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListenerConfig {
    /// A name for logs (`imap`, `pop3s`, ...).
    pub name: String,
    /// The address to bind; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Plain (+ STARTTLS) or implicit TLS.
    pub tls: ListenerTls,
    /// Timeouts and buffers of each connection. Default: [`DriverConfig::imap`].
    pub driver: DriverConfig,
    /// TCP keepalive idle time (probes every 30 seconds after it), so dead
    /// peers of idle connections are noticed. Default 5 minutes; `None`
    /// leaves the system default.
    pub tcp_keepalive: Option<Duration>,
    /// Sent (best effort, plain listeners only) to a client refused by the
    /// connection limits before the connection is closed, for example
    /// `* BYE Too many connections\r\n` or `-ERR [SYS/TEMP] too many connections\r\n`.
    pub refusal: Option<Vec<u8>>,
}

impl ListenerConfig {
    /// A plain listener, offering STARTTLS with `starttls` if given.
    pub fn plain(
        name: impl Into<String>,
        addr: SocketAddr,
        starttls: Option<Arc<ServerConfig>>,
    ) -> ListenerConfig {
        ListenerConfig {
            name: name.into(),
            addr,
            tls: ListenerTls::Plain { starttls },
            driver: DriverConfig::imap(),
            tcp_keepalive: Some(Duration::from_secs(300)),
            refusal: None,
        }
    }

    /// An implicit-TLS listener.
    pub fn implicit_tls(
        name: impl Into<String>,
        addr: SocketAddr,
        tls: Arc<ServerConfig>,
    ) -> ListenerConfig {
        ListenerConfig {
            tls: ListenerTls::Implicit(tls),
            ..ListenerConfig::plain(name, addr, None)
        }
    }

    /// Sets the driver settings (idle timeout and buffers).
    pub fn with_driver(mut self, driver: DriverConfig) -> ListenerConfig {
        self.driver = driver;
        self
    }

    /// Sets the TCP keepalive idle time.
    pub fn with_tcp_keepalive(mut self, keepalive: Option<Duration>) -> ListenerConfig {
        self.tcp_keepalive = keepalive;
        self
    }

    /// Sets the message sent to clients refused by the limits.
    pub fn with_refusal(mut self, message: impl Into<Vec<u8>>) -> ListenerConfig {
        self.refusal = Some(message.into());
        self
    }
}

/// A set of listeners sharing connection limits and a shutdown.
///
/// Cloning gives another handle to the same server. Listeners keep running
/// until [`Server::shutdown`]; dropping every handle does not stop them.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    tracker: Arc<Tracker>,
    phase: watch::Sender<ShutdownPhase>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("connections", &self.connections())
            .field("phase", &*self.inner.phase.borrow())
            .finish()
    }
}

impl Server {
    /// A server with no listeners yet.
    pub fn new(limits: ConnectionLimits) -> Server {
        let (phase, _) = watch::channel(ShutdownPhase::Running);
        Server {
            inner: Arc::new(Inner {
                tracker: Tracker::new(limits),
                phase,
            }),
        }
    }

    /// Binds `config.addr`, starts accepting connections on the current
    /// tokio runtime, and returns the bound address (with the port chosen
    /// when port 0 was asked for). Each connection gets its protocol from
    /// `factory` (after the TLS handshake on an implicit-TLS listener, so a
    /// greeting goes out encrypted) and runs in its own task inside a
    /// `connection` tracing span with the listener name and peer address.
    pub async fn listen<F, P>(&self, config: ListenerConfig, factory: F) -> io::Result<SocketAddr>
    where
        F: Fn(ConnectionInfo) -> P + Send + Sync + 'static,
        P: Protocol + Send + 'static,
    {
        let listener = TcpListener::bind(config.addr).await?;
        let local = listener.local_addr()?;
        let span = info_span!("listener", name = %config.name, addr = %local);
        span.in_scope(|| info!("listening"));
        let accept = AcceptLoop {
            listener,
            name: Arc::from(config.name.as_str()),
            config: Arc::new(config),
            factory: Arc::new(factory),
            tracker: Arc::clone(&self.inner.tracker),
            shutdown: self.shutdown_token(),
        };
        tokio::spawn(accept.run().instrument(span));
        Ok(local)
    }

    /// Open connections on all listeners.
    pub fn connections(&self) -> usize {
        self.inner.tracker.total()
    }

    /// Logged-in connections of `user` (see [`ConnectionInfo::claim_user`]).
    pub fn user_connections(&self, user: &str) -> usize {
        self.inner.tracker.user_connections(user)
    }

    /// A token following this server's shutdown, for [`drive`] calls made
    /// outside [`Server::listen`].
    pub fn shutdown_token(&self) -> ShutdownToken {
        ShutdownToken {
            rx: self.inner.phase.subscribe(),
        }
    }

    /// Shuts down gracefully: stops accepting at once, lets open
    /// connections finish for up to `grace` (each protocol is told with
    /// [`Protocol::handle_shutdown`]), then makes the remaining ones send
    /// what is queued and close, and waits for them (at most the longest
    /// close timeout, 10 seconds by default, and a second more).
    pub async fn shutdown(&self, grace: Duration) {
        info!(?grace, connections = self.connections(), "shutting down");
        self.inner.phase.send_replace(ShutdownPhase::Draining);
        self.wait_idle(Instant::now() + grace).await;
        if self.connections() > 0 {
            info!(
                connections = self.connections(),
                "grace period over, closing connections"
            );
        }
        self.inner.phase.send_replace(ShutdownPhase::Closing);
        self.wait_idle(Instant::now() + Duration::from_secs(11))
            .await;
        // Folders kept open after their last session (the IMAP
        // directory's keep_open) close now, saving their indexes.
        postroom_mailbox::close_kept_folders();
        info!(connections = self.connections(), "shut down");
    }

    async fn wait_idle(&self, deadline: Instant) {
        loop {
            let released = self.inner.tracker.released.notified();
            tokio::pin!(released);
            // Register before checking, so a release in between is seen.
            released.as_mut().enable();
            if self.inner.tracker.total() == 0 {
                return;
            }
            if timeout_at(deadline, released).await.is_err() {
                return;
            }
        }
    }
}

struct AcceptLoop<F> {
    listener: TcpListener,
    config: Arc<ListenerConfig>,
    name: Arc<str>,
    factory: Arc<F>,
    tracker: Arc<Tracker>,
    shutdown: ShutdownToken,
}

impl<F, P> AcceptLoop<F>
where
    F: Fn(ConnectionInfo) -> P + Send + Sync + 'static,
    P: Protocol + Send + 'static,
{
    async fn run(self) {
        let mut stop = self.shutdown.clone();
        loop {
            let accepted = tokio::select! {
                r = self.listener.accept() => r,
                () = stop.reached(ShutdownPhase::Draining) => break,
            };
            let (tcp, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead
                    // of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let slot = match self.tracker.connect(peer.ip()) {
                Ok(slot) => slot,
                Err(limit) => {
                    info!(%peer, %limit, "connection refused");
                    self.refuse(tcp);
                    continue;
                }
            };
            if let Err(e) = configure(&tcp, self.config.tcp_keepalive) {
                debug!(%peer, error = %e, "socket options not set");
            }
            let local = tcp.local_addr().unwrap_or(self.config.addr);
            // `user` is recorded by the protocol at login (see
            // `record_user`), so later lines of the connection name it.
            let span = info_span!(
                "connection",
                listener = %self.name,
                %peer,
                user = tracing::field::Empty
            );
            let connection = Connection {
                tcp,
                peer,
                local,
                config: Arc::clone(&self.config),
                name: Arc::clone(&self.name),
                factory: Arc::clone(&self.factory),
                tracker: Arc::clone(&self.tracker),
                shutdown: self.shutdown.clone(),
                slot,
            };
            tokio::spawn(connection.serve().instrument(span));
        }
        info!("stopped accepting");
    }

    fn refuse(&self, mut tcp: TcpStream) {
        if let (ListenerTls::Plain { .. }, Some(message)) = (&self.config.tls, &self.config.refusal)
        {
            let message = message.clone();
            tokio::spawn(async move {
                let _ = timeout(Duration::from_secs(1), tcp.write_all(&message)).await;
            });
        }
    }
}

fn configure(tcp: &TcpStream, keepalive: Option<Duration>) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    if let Some(time) = keepalive {
        let params = TcpKeepalive::new()
            .with_time(time)
            .with_interval(Duration::from_secs(30).min(time));
        SockRef::from(tcp).set_tcp_keepalive(&params)?;
    }
    Ok(())
}

struct Connection<F> {
    tcp: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    config: Arc<ListenerConfig>,
    name: Arc<str>,
    factory: Arc<F>,
    tracker: Arc<Tracker>,
    shutdown: ShutdownToken,
    slot: ConnectionSlot,
}

impl<F, P> Connection<F>
where
    F: Fn(ConnectionInfo) -> P + Send + Sync + 'static,
    P: Protocol + Send + 'static,
{
    async fn serve(self) {
        let Connection {
            tcp,
            peer,
            local,
            config,
            name,
            factory,
            tracker,
            shutdown,
            slot,
        } = self;
        // Released when this task ends, however it ends.
        let _slot = slot;
        info!("connected");
        let mut info = ConnectionInfo {
            peer,
            local,
            listener: name,
            tls: false,
            starttls: false,
            tracker,
        };
        let options = DriveOptions::new(config.driver.clone()).with_shutdown(shutdown);
        let result = match &config.tls {
            ListenerTls::Plain { starttls } => {
                info.starttls = starttls.is_some();
                let options = match starttls {
                    Some(tls) => options.with_starttls(Arc::clone(tls)),
                    None => options,
                };
                drive(tcp, factory(info), options).await
            }
            ListenerTls::Implicit(tls) => {
                info.tls = true;
                let handshake = config.driver.tls_handshake_timeout;
                match timeout(handshake, TlsAcceptor::from(Arc::clone(tls)).accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let (_, session) = stream.get_ref();
                        info!(
                            version = ?session.protocol_version(),
                            cipher = ?session.negotiated_cipher_suite().map(|c| c.suite()),
                            "tls established"
                        );
                        drive(stream, factory(info), options).await
                    }
                    Ok(Err(e)) => Err(DriveError::TlsHandshake(e)),
                    Err(_) => Err(DriveError::TlsHandshakeTimeout(handshake)),
                }
            }
        };
        match result {
            Ok(reason) => info!(?reason, "closed"),
            Err(error) => info!(%error, "closed with error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keepalive_and_nodelay_are_set() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        configure(&server_side, Some(Duration::from_secs(120))).unwrap();
        let sock = SockRef::from(&server_side);
        assert!(sock.keepalive().unwrap());
        assert!(server_side.nodelay().unwrap());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(120));
            assert_eq!(
                sock.tcp_keepalive_interval().unwrap(),
                Duration::from_secs(30)
            );
        }
    }
}
