//! The driver and listeners over loopback, with a line-echo protocol defined
//! here: plain, implicit TLS, STARTTLS with a pipelined command, connection
//! and per-user limits, the failed-login delay, wake-ups, back-pressure,
//! idle timeout, graceful shutdown, certificate reload and refused TLS
//! versions.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postroom_server::net::tls::{DEFAULT_SELF_SIGNED_NAMES, ReloadableCert, SelfSigned};
use postroom_server::net::{
    Action, BlockingJob, BlockingOutput, ConnectionInfo, ConnectionLimits, DriverConfig,
    ListenerConfig, Protocol, Server, UserClaim,
};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;

const BIG_CHUNK: usize = 64 * 1024;

/// A line protocol: greets, echoes lines, and knows a few commands that
/// exercise the driver's actions.
struct Echo {
    info: ConnectionInfo,
    buffer: Vec<u8>,
    out: Vec<u8>,
    actions: VecDeque<Action>,
    tls: bool,
    awaiting_tls: bool,
    big_left: usize,
    waiting: bool,
    notify: Arc<Notify>,
    claim: Option<UserClaim>,
    polite_shutdown: bool,
    log: Arc<Mutex<Vec<String>>>,
    job: Option<BlockingJob>,
    busy: bool,
}

#[derive(Clone, Default)]
struct Shared {
    log: Arc<Mutex<Vec<String>>>,
    notify: Arc<Notify>,
    polite_shutdown: bool,
}

impl Shared {
    fn factory(&self) -> impl Fn(ConnectionInfo) -> Echo + Send + Sync + 'static {
        let shared = self.clone();
        move |info| Echo::new(info, &shared)
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Echo {
    fn new(info: ConnectionInfo, shared: &Shared) -> Echo {
        let greeting = format!("HELLO tls={} starttls={}\r\n", info.tls, info.starttls);
        Echo {
            tls: info.tls,
            info,
            buffer: Vec::new(),
            out: greeting.into_bytes(),
            actions: VecDeque::new(),
            awaiting_tls: false,
            big_left: 0,
            waiting: false,
            notify: Arc::clone(&shared.notify),
            claim: None,
            polite_shutdown: shared.polite_shutdown,
            log: Arc::clone(&shared.log),
            job: None,
            busy: false,
        }
    }

    fn reply(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Runs the complete lines buffered, stopping at STARTTLS and while a
    /// blocking job is pending.
    fn process(&mut self) {
        while !self.busy {
            let Some(end) = self.buffer.iter().position(|&b| b == b'\n') else {
                break;
            };
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line).trim_end().to_owned();
            self.command(&line);
            if self.awaiting_tls {
                self.buffer.clear();
                return;
            }
        }
    }

    fn command(&mut self, line: &str) {
        self.log.lock().unwrap().push(line.to_owned());
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "STARTTLS" if self.info.starttls && !self.tls => {
                self.reply("OK begin tls");
                self.actions.push_back(Action::StartTls);
                self.awaiting_tls = true;
            }
            "STARTTLS" => self.reply("NO tls not available"),
            "TLS?" => {
                let answer = if self.tls { "TLS yes" } else { "TLS no" };
                self.reply(answer);
            }
            "QUIT" => {
                self.reply("BYE");
                self.actions.push_back(Action::Close);
            }
            "LOGIN" => match self.info.claim_user(arg) {
                Ok(claim) => {
                    self.info.login_succeeded();
                    self.claim = Some(claim);
                    self.reply("OK logged in");
                }
                Err(e) => self.reply(&format!("NO {e}")),
            },
            "FAIL" => {
                self.reply("NO wrong password");
                let delay = self.info.login_failed();
                self.actions.push_back(delay);
            }
            "BIG" => {
                self.big_left = arg.parse().unwrap_or(0);
            }
            "WAIT" => self.waiting = true,
            "SLOW" => {
                let millis: u64 = arg.parse().unwrap_or(0);
                self.busy = true;
                self.job = Some(Box::new(move || {
                    // Stands in for a password hash: blocks its thread.
                    std::thread::sleep(Duration::from_millis(millis));
                    Box::new(millis) as BlockingOutput
                }));
            }
            _ => self.reply(&format!("ECHO {line}")),
        }
    }
}

impl Protocol for Echo {
    fn handle_input(&mut self, input: &[u8]) {
        if self.awaiting_tls {
            // Input received between STARTTLS and the handshake is
            // discarded (RFC 3207 §4.2).
            return;
        }
        self.buffer.extend_from_slice(input);
        self.process();
    }

    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
        if self.big_left > 0 {
            let n = self.big_left.min(BIG_CHUNK);
            out.resize(out.len() + n, b'x');
            self.big_left -= n;
            if self.big_left == 0 {
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn wakeup(&self) -> Option<Arc<Notify>> {
        self.waiting.then(|| Arc::clone(&self.notify))
    }

    fn handle_wakeup(&mut self) {
        self.waiting = false;
        self.reply("WOKE");
    }

    fn poll_blocking(&mut self) -> Option<BlockingJob> {
        self.job.take()
    }

    fn handle_blocking_done(&mut self, output: BlockingOutput) {
        let millis = output.downcast::<u64>().unwrap();
        self.reply(&format!("SLEPT {millis}"));
        self.busy = false;
        self.process();
    }

    fn handle_tls_established(&mut self) {
        self.tls = true;
        self.awaiting_tls = false;
    }

    fn handle_idle_timeout(&mut self) {
        self.reply("BYE idle");
    }

    fn handle_shutdown(&mut self) {
        if self.polite_shutdown {
            self.reply("BYE shutting down");
            self.actions.push_back(Action::Close);
        }
    }
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A line client over any stream.
struct Client<S> {
    stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    fn new(stream: S) -> Self {
        Client {
            stream: BufReader::new(stream),
        }
    }

    async fn send(&mut self, data: &str) {
        self.stream
            .get_mut()
            .write_all(data.as_bytes())
            .await
            .unwrap();
        self.stream.get_mut().flush().await.unwrap();
    }

    /// The next line without CRLF; `None` at end of stream.
    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = timeout(Duration::from_secs(20), self.stream.read_line(&mut line))
            .await
            .expect("line within 20 s")
            .ok()?;
        (n > 0).then(|| line.trim_end().to_owned())
    }

    async fn call(&mut self, command: &str) -> String {
        self.send(&format!("{command}\r\n")).await;
        self.line().await.expect("a reply")
    }

    async fn expect_eof(&mut self) {
        assert_eq!(self.line().await, None);
    }
}

async fn plain_client(addr: SocketAddr) -> Client<TcpStream> {
    Client::new(TcpStream::connect(addr).await.unwrap())
}

/// A TLS client that trusts the certificates in `cert_pem` and speaks the
/// TLS `versions`.
fn connector_for(
    cert_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A TLS client with rustls' safe default versions.
fn connector(cert_pem: &str) -> TlsConnector {
    connector_for(cert_pem, rustls::DEFAULT_VERSIONS)
}

type TlsClient = Client<tokio_rustls::client::TlsStream<TcpStream>>;

async fn tls_client(addr: SocketAddr, cert_pem: &str, name: &str) -> std::io::Result<TlsClient> {
    tls_client_for(addr, cert_pem, name, rustls::DEFAULT_VERSIONS).await
}

async fn tls_client_for(
    addr: SocketAddr,
    cert_pem: &str,
    name: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::io::Result<TlsClient> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let stream = connector_for(cert_pem, versions).connect(name, tcp).await?;
    Ok(Client::new(stream))
}

/// The echo protocol on a plain listener with no STARTTLS.
async fn listen_plain(server: &Server, shared: &Shared) -> SocketAddr {
    let config = ListenerConfig::plain("echo", localhost(), None);
    server.listen(config, shared.factory()).await.unwrap()
}

/// A server with `limits` and the echo protocol on a plain listener.
async fn plain_echo(limits: ConnectionLimits) -> (Server, Shared, SocketAddr) {
    let server = Server::new(limits);
    let shared = Shared::default();
    let addr = listen_plain(&server, &shared).await;
    (server, shared, addr)
}

/// The echo protocol on an implicit-TLS listener serving `resolver`'s
/// certificate.
async fn listen_implicit_tls(
    server: &Server,
    shared: &Shared,
    resolver: &Arc<ReloadableCert>,
) -> SocketAddr {
    let config =
        ListenerConfig::implicit_tls("echos", localhost(), resolver.server_config().unwrap());
    server.listen(config, shared.factory()).await.unwrap()
}

fn self_signed() -> (SelfSigned, Arc<ReloadableCert>) {
    let cert = SelfSigned::generate(&DEFAULT_SELF_SIGNED_NAMES).unwrap();
    let resolver = ReloadableCert::new(cert.certified_key().unwrap());
    (cert, resolver)
}

/// Waits (bounded) until `cond` holds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn plain_echo_and_quit() {
    let (server, _shared, addr) = plain_echo(ConnectionLimits::default()).await;
    assert_ne!(addr.port(), 0);
    let mut c = plain_client(addr).await;
    assert_eq!(c.line().await.unwrap(), "HELLO tls=false starttls=false");
    // Pipelined commands are answered in order, in any chunking.
    c.send("one\r\ntw").await;
    c.send("o\r\nthree\r\n").await;
    assert_eq!(c.line().await.unwrap(), "ECHO one");
    assert_eq!(c.line().await.unwrap(), "ECHO two");
    assert_eq!(c.line().await.unwrap(), "ECHO three");
    assert_eq!(c.call("STARTTLS").await, "NO tls not available");
    assert_eq!(c.call("QUIT").await, "BYE");
    c.expect_eof().await;
    eventually("connection released", || server.connections() == 0).await;
}

#[tokio::test]
async fn implicit_tls_with_generated_cert() {
    let (cert, resolver) = self_signed();
    let server = Server::new(ConnectionLimits::default());
    let shared = Shared::default();
    let addr = listen_implicit_tls(&server, &shared, &resolver).await;
    for name in ["localhost", "127.0.0.1"] {
        let mut c = tls_client(addr, &cert.cert_pem, name).await.unwrap();
        assert_eq!(c.line().await.unwrap(), "HELLO tls=true starttls=false");
        assert_eq!(c.call("TLS?").await, "TLS yes");
        assert_eq!(c.call("QUIT").await, "BYE");
        c.expect_eof().await;
    }
    // A name the certificate does not carry is refused by the client.
    assert!(
        tls_client(addr, &cert.cert_pem, "example.org")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn starttls_discards_pipelined_command() {
    let (cert, resolver) = self_signed();
    let server = Server::new(ConnectionLimits::default());
    let shared = Shared::default();
    let config =
        ListenerConfig::plain("echo", localhost(), Some(resolver.server_config().unwrap()));
    let addr = server.listen(config, shared.factory()).await.unwrap();

    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut greeting = [0u8; 31];
    tcp.read_exact(&mut greeting).await.unwrap();
    assert_eq!(&greeting, b"HELLO tls=false starttls=true\r\n");
    // The injected command travels in the same segment as STARTTLS.
    tcp.write_all(b"STARTTLS\r\nINJECTED\r\n").await.unwrap();
    let mut ok = [0u8; 14];
    tcp.read_exact(&mut ok).await.unwrap();
    assert_eq!(&ok, b"OK begin tls\r\n");
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector(&cert.cert_pem).connect(name, tcp).await.unwrap();
    let mut c = Client::new(tls);
    assert_eq!(c.call("TLS?").await, "TLS yes");
    assert_eq!(c.call("after").await, "ECHO after");
    assert_eq!(c.call("STARTTLS").await, "NO tls not available");
    assert_eq!(shared.lines(), ["STARTTLS", "TLS?", "after", "STARTTLS"]);
    assert_eq!(c.call("QUIT").await, "BYE");
    c.expect_eof().await;
}

#[tokio::test]
async fn per_ip_limit_refuses_next_connection() {
    let mut limits = ConnectionLimits::default();
    limits.per_ip = 2;
    let server = Server::new(limits);
    let shared = Shared::default();
    let config = ListenerConfig::plain("echo", localhost(), None).with_refusal("BUSY\r\n");
    let addr = server.listen(config, shared.factory()).await.unwrap();
    let mut a = plain_client(addr).await;
    let mut b = plain_client(addr).await;
    assert!(a.line().await.unwrap().starts_with("HELLO"));
    assert!(b.line().await.unwrap().starts_with("HELLO"));
    let mut c = plain_client(addr).await;
    assert_eq!(c.line().await.as_deref(), Some("BUSY"));
    c.expect_eof().await;
    assert_eq!(server.connections(), 2);
    // Once one leaves, a new connection is accepted again.
    assert_eq!(a.call("QUIT").await, "BYE");
    a.expect_eof().await;
    eventually("slot released", || server.connections() == 1).await;
    let mut d = plain_client(addr).await;
    assert!(d.line().await.unwrap().starts_with("HELLO"));
    assert_eq!(b.call("still here").await, "ECHO still here");
}

#[tokio::test]
async fn total_limit_refuses_without_message_by_default() {
    let mut limits = ConnectionLimits::default();
    limits.total = 1;
    let (_server, _shared, addr) = plain_echo(limits).await;
    let mut a = plain_client(addr).await;
    assert!(a.line().await.unwrap().starts_with("HELLO"));
    let mut b = plain_client(addr).await;
    b.expect_eof().await;
}

#[tokio::test]
async fn per_user_limit_counts_logins() {
    let mut limits = ConnectionLimits::default();
    limits.per_user = 1;
    let (server, _shared, addr) = plain_echo(limits).await;
    let mut a = plain_client(addr).await;
    let mut b = plain_client(addr).await;
    a.line().await.unwrap();
    b.line().await.unwrap();
    assert_eq!(a.call("LOGIN bob").await, "OK logged in");
    assert_eq!(server.user_connections("bob"), 1);
    assert_eq!(
        b.call("LOGIN bob").await,
        "NO too many connections for this user (limit 1)"
    );
    assert_eq!(b.call("LOGIN carol").await, "OK logged in");
    assert_eq!(a.call("QUIT").await, "BYE");
    a.expect_eof().await;
    eventually("claim released", || server.user_connections("bob") == 0).await;
    let mut c = plain_client(addr).await;
    c.line().await.unwrap();
    assert_eq!(c.call("LOGIN bob").await, "OK logged in");
}

#[tokio::test]
async fn failed_logins_are_delayed_per_address() {
    let mut limits = ConnectionLimits::default();
    assert_eq!(limits.login_delay, Duration::from_secs(2));
    limits.login_delay = Duration::from_millis(300);
    limits.max_login_delay = Duration::from_millis(700);
    let (_server, _shared, addr) = plain_echo(limits).await;
    let mut c = plain_client(addr).await;
    c.line().await.unwrap();
    let start = Instant::now();
    // The command pipelined behind the failure waits too.
    c.send("FAIL\r\nnext\r\n").await;
    assert_eq!(c.line().await.unwrap(), "NO wrong password");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(c.line().await.unwrap(), "ECHO next");
    // A new connection from the same address does not start over.
    let mut d = plain_client(addr).await;
    d.line().await.unwrap();
    let start = Instant::now();
    assert_eq!(d.call("FAIL").await, "NO wrong password");
    assert!(start.elapsed() >= Duration::from_millis(600));
    // Capped.
    let start = Instant::now();
    assert_eq!(c.call("FAIL").await, "NO wrong password");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(700) && waited < Duration::from_millis(1200));
    // A successful login forgets the failures.
    assert_eq!(d.call("LOGIN bob").await, "OK logged in");
    let start = Instant::now();
    assert_eq!(c.call("FAIL").await, "NO wrong password");
    assert!(start.elapsed() < Duration::from_millis(650));
}

#[tokio::test]
async fn wakeup_reaches_waiting_session() {
    let (_server, shared, addr) = plain_echo(ConnectionLimits::default()).await;
    let mut c = plain_client(addr).await;
    c.line().await.unwrap();
    c.send("WAIT\r\n").await;
    eventually("WAIT processed", || {
        shared.lines().contains(&"WAIT".to_owned())
    })
    .await;
    shared.notify.notify_one();
    assert_eq!(c.line().await.unwrap(), "WOKE");
    assert_eq!(c.call("ping").await, "ECHO ping");
}

/// On the single-threaded test runtime a job run inline would stall every
/// other connection.
#[tokio::test]
async fn blocking_jobs_do_not_stall_other_connections() {
    let (_server, shared, addr) = plain_echo(ConnectionLimits::default()).await;
    let mut slow = plain_client(addr).await;
    let mut fast = plain_client(addr).await;
    slow.line().await.unwrap();
    fast.line().await.unwrap();
    let start = Instant::now();
    // The pipelined command waits for the job's result.
    slow.send("SLOW 1500\r\nafter\r\n").await;
    eventually("SLOW processed", || {
        shared.lines().contains(&"SLOW 1500".to_owned())
    })
    .await;
    assert_eq!(fast.call("ping").await, "ECHO ping");
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert_eq!(slow.line().await.unwrap(), "SLEPT 1500");
    assert!(start.elapsed() >= Duration::from_millis(1500));
    assert_eq!(slow.line().await.unwrap(), "ECHO after");
}

#[tokio::test]
async fn output_back_pressure_stops_reading() {
    let (_server, shared, addr) = plain_echo(ConnectionLimits::default()).await;
    let mut c = plain_client(addr).await;
    c.line().await.unwrap();
    // Far more than the socket buffers hold, so the server's output stays
    // above its high-water mark while the client does not read.
    let big = 64 * 1024 * 1024;
    c.send(&format!("BIG {big}\r\n")).await;
    eventually("BIG processed", || shared.lines().len() == 1).await;
    c.send("after\r\n").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(shared.lines(), [format!("BIG {big}")]);
    // Reading the output lets the pipelined command through, in order.
    let mut body = String::new();
    c.stream.read_line(&mut body).await.unwrap();
    assert_eq!(body.len(), big + 2);
    assert!(body.trim_end().bytes().all(|b| b == b'x'));
    assert_eq!(c.line().await.unwrap(), "ECHO after");
}

#[tokio::test]
async fn idle_timeout_closes_after_inactivity() {
    let server = Server::new(ConnectionLimits::default());
    let shared = Shared::default();
    let driver = DriverConfig::pop3().with_idle_timeout(Duration::from_millis(1500));
    assert_eq!(DriverConfig::pop3().idle_timeout, Duration::from_secs(600));
    assert_eq!(DriverConfig::imap().idle_timeout, Duration::from_secs(1800));
    let config = ListenerConfig::plain("echo", localhost(), None).with_driver(driver);
    let addr = server.listen(config, shared.factory()).await.unwrap();
    let mut c = plain_client(addr).await;
    let start = Instant::now();
    c.line().await.unwrap();
    // Input resets the timer.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(c.call("one").await, "ECHO one");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(c.call("two").await, "ECHO two");
    assert_eq!(c.line().await.unwrap(), "BYE idle");
    c.expect_eof().await;
    assert!(start.elapsed() >= Duration::from_millis(2700));
    eventually("connection released", || server.connections() == 0).await;
}

#[tokio::test]
async fn shutdown_stops_accepting_then_closes_after_grace() {
    let (server, _shared, addr) = plain_echo(ConnectionLimits::default()).await;
    let mut c = plain_client(addr).await;
    c.line().await.unwrap();
    let start = Instant::now();
    let handle = {
        let server = server.clone();
        tokio::spawn(async move { server.shutdown(Duration::from_millis(2000)).await })
    };
    // New connections are refused at once...
    let mut refused = false;
    while start.elapsed() < Duration::from_secs(5) {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "listener still accepting");
    // ...while the open one is served until the grace period ends.
    assert_eq!(c.call("during grace").await, "ECHO during grace");
    c.expect_eof().await;
    assert!(start.elapsed() >= Duration::from_millis(2000));
    handle.await.unwrap();
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn shutdown_lets_sessions_say_goodbye() {
    let server = Server::new(ConnectionLimits::default());
    let shared = Shared {
        polite_shutdown: true,
        ..Shared::default()
    };
    let addr = listen_plain(&server, &shared).await;
    let mut c = plain_client(addr).await;
    c.line().await.unwrap();
    let start = Instant::now();
    server.shutdown(Duration::from_secs(30)).await;
    // The session closed itself; no need to wait for the grace period.
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(c.line().await.unwrap(), "BYE shutting down");
    c.expect_eof().await;
}

#[tokio::test]
async fn certificate_reload_applies_to_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = SelfSigned::generate(&DEFAULT_SELF_SIGNED_NAMES).unwrap();
    first.write(&cert_path, &key_path).unwrap();
    let resolver = ReloadableCert::from_pem_files(&cert_path, &key_path).unwrap();
    let server = Server::new(ConnectionLimits::default());
    let shared = Shared::default();
    let addr = listen_implicit_tls(&server, &shared, &resolver).await;

    let mut old = tls_client(addr, &first.cert_pem, "localhost")
        .await
        .unwrap();
    old.line().await.unwrap();

    let second = SelfSigned::generate(&DEFAULT_SELF_SIGNED_NAMES).unwrap();
    second.write(&cert_path, &key_path).unwrap();
    resolver.reload().unwrap();

    // New connections see the new certificate only.
    assert!(
        tls_client(addr, &first.cert_pem, "localhost")
            .await
            .is_err()
    );
    let mut new = tls_client(addr, &second.cert_pem, "localhost")
        .await
        .unwrap();
    assert!(new.line().await.unwrap().starts_with("HELLO tls=true"));
    // The connection made before the reload goes on.
    assert_eq!(old.call("still").await, "ECHO still");
}

#[tokio::test]
async fn tls12_accepted_tls11_refused() {
    let (cert, resolver) = self_signed();
    let server = Server::new(ConnectionLimits::default());
    let shared = Shared::default();
    let addr = listen_implicit_tls(&server, &shared, &resolver).await;

    // A TLS 1.2-only client gets through.
    let mut c = tls_client_for(
        addr,
        &cert.cert_pem,
        "localhost",
        &[&rustls::version::TLS12],
    )
    .await
    .unwrap();
    assert_eq!(
        c.stream.get_ref().get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert!(c.line().await.unwrap().starts_with("HELLO tls=true"));

    // TLS 1.1 and 1.0 (rustls cannot speak them; OpenSSL can) are refused
    // with an alert and no cipher; OpenSSL's TLS 1.2 is the control.
    for flag in ["-tls1_2", "-tls1_1", "-tls1"] {
        let output = tokio::process::Command::new("openssl")
            .args(["s_client", "-connect", &addr.to_string(), flag])
            .args(["-cipher", "DEFAULT@SECLEVEL=0"])
            .stdin(std::process::Stdio::null())
            .output();
        let output = match timeout(Duration::from_secs(20), output).await.unwrap() {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("openssl not installed; TLS 1.0/1.1 refusal not checked");
                return;
            }
            Err(e) => panic!("openssl: {e}"),
        };
        let text =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        if flag == "-tls1_2" {
            assert!(output.status.success(), "{flag} refused:\n{text}");
            assert!(text.contains("Protocol  : TLSv1.2"), "{flag}:\n{text}");
        } else {
            assert!(!output.status.success(), "{flag} accepted:\n{text}");
            assert!(text.contains("Cipher is (NONE)"), "{flag}:\n{text}");
            assert!(text.contains("alert"), "{flag}:\n{text}");
        }
    }
}
