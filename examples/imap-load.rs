//! IMAP load generator and timing client, built on postroom-imap's sans-IO
//! `ClientConnection` (no other IMAP library).
//!
//! Three modes:
//!
//! - **load** (default): `--sessions N` concurrent sessions, each logging in
//!   and looping SELECT, FETCH (FLAGS ENVELOPE), FETCH BODY.PEEK[], STORE,
//!   APPEND, SEARCH, EXPUNGE and IDLE for `--duration SECS` or
//!   `--iterations N`; prints per-command throughput and latency percentiles
//!   and the number of protocol errors (a BAD, an unexpected NO, a response
//!   that does not parse, a dropped connection).
//! - **idle** (`--idle N`): opens N connections, logs in, SELECTs and sits
//!   in IDLE; prints when all are idle, holds them `--hold SECS`, then ends
//!   IDLE and logs out, counting the connections that failed.
//! - **timing** (`--timing`): for `--runs R` fresh sessions in a row, times
//!   SELECT, `FETCH 1:* (FLAGS ENVELOPE)`, `SEARCH TEXT <word>`,
//!   `SORT (DATE) UTF-8 ALL` and `THREAD REFERENCES UTF-8 ALL`; the first
//!   run is reported as "cold", the others as their median ("warm").
//!
//! Transport: plain TCP, `--tls starttls` or `--tls implicit`, with the
//! server certificate checked against `--ca FILE` (PEM).
//!
//! ```text
//! cargo run --release --features tokio --example imap-load -- \
//!     --port 1143 --user 'user%d:pass' --user-count 100 --sessions 100 --duration 30
//! cargo run --release --features tokio --example imap-load -- \
//!     --port 1993 --tls implicit --ca cert.pem --user demo:demo --idle 1000 --hold 30
//! cargo run --release --features tokio --example imap-load -- \
//!     --port 1143 --user demo:demo --timing --runs 5 --search-word quasarflux
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use postroom::imap::client::{ClientConfig, ClientConnection, ClientEvent};
use postroom::imap::command::Command;
use postroom::imap::response::{Code, Data, FetchItem, Response, StatusKind};
use postroom::imap::{CommandParseOptions, LiteralMode, parse_command};
use postroom::types::{MailboxName, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

#[path = "common/tls.rs"]
mod tls;

const USAGE: &str =
    "usage: imap-load [--host H] [--port P] [--tls none|starttls|implicit] [--ca PEM]
                 [--server-name NAME] --user USER:PASS [--user ...] [--user-count K]
                 [--mailbox NAME] [--connect-timeout SECS] [--source IP,IP.. | --source IP+N]
  load:   [--sessions N] [--duration SECS | --iterations N] [--idle-ms MS]
          [--append-size BYTES] [--search-subject WORD]
  idle:   --idle N [--hold SECS] [--ramp N]
  timing: --timing [--runs R] [--search-word WORD]
A USER containing %d expands to K users numbered 1..=K (--user-count, default 1);
sessions take the users in turn.";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TlsMode {
    None,
    StartTls,
    Implicit,
}

#[derive(Clone, Debug)]
struct Options {
    host: String,
    port: u16,
    tls: TlsMode,
    ca: Option<PathBuf>,
    server_name: Option<String>,
    users: Vec<(String, String)>,
    mailbox: String,
    sessions: usize,
    duration: Option<Duration>,
    iterations: Option<u64>,
    idle_ms: u64,
    append_size: usize,
    search_subject: String,
    idle: Option<usize>,
    hold: Duration,
    ramp: usize,
    timing: bool,
    runs: usize,
    search_word: String,
    connect_timeout: Duration,
    /// Local addresses to connect from, in turn (servers limit
    /// connections per client IP; 127.0.0.0/8 is all loopback).
    sources: Vec<std::net::IpAddr>,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 143,
        tls: TlsMode::None,
        ca: None,
        server_name: None,
        users: Vec::new(),
        mailbox: "INBOX".into(),
        sessions: 10,
        duration: None,
        iterations: None,
        idle_ms: 20,
        append_size: 4096,
        search_subject: "report".into(),
        idle: None,
        hold: Duration::from_secs(10),
        ramp: 50,
        timing: false,
        runs: 5,
        search_word: "quasarflux".into(),
        connect_timeout: Duration::from_secs(30),
        sources: Vec::new(),
    };
    let mut specs = Vec::new();
    let mut user_count = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .ok_or_else(|| anyhow!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--host" => o.host = val()?,
            "--port" => o.port = val()?.parse().context("--port")?,
            "--tls" => {
                o.tls = match val()?.as_str() {
                    "none" | "plain" => TlsMode::None,
                    "starttls" => TlsMode::StartTls,
                    "implicit" | "imaps" => TlsMode::Implicit,
                    other => bail!("--tls {other}: expected none, starttls or implicit"),
                }
            }
            "--ca" => o.ca = Some(val()?.into()),
            "--server-name" => o.server_name = Some(val()?),
            "--user" => specs.push(val()?),
            "--user-count" => user_count = val()?.parse().context("--user-count")?,
            "--mailbox" => o.mailbox = val()?,
            "--sessions" => o.sessions = val()?.parse().context("--sessions")?,
            "--duration" => {
                o.duration = Some(Duration::from_secs_f64(
                    val()?.parse().context("--duration")?,
                ))
            }
            "--iterations" => o.iterations = Some(val()?.parse().context("--iterations")?),
            "--idle-ms" => o.idle_ms = val()?.parse().context("--idle-ms")?,
            "--append-size" => o.append_size = val()?.parse().context("--append-size")?,
            "--search-subject" => o.search_subject = val()?,
            "--idle" => o.idle = Some(val()?.parse().context("--idle")?),
            "--hold" => o.hold = Duration::from_secs_f64(val()?.parse().context("--hold")?),
            "--ramp" => o.ramp = val()?.parse().context("--ramp")?,
            "--timing" => o.timing = true,
            "--runs" => o.runs = val()?.parse().context("--runs")?,
            "--search-word" => o.search_word = val()?,
            "--source" => {
                let v = val()?;
                o.sources = parse_sources(&v).with_context(|| format!("--source {v}"))?;
            }
            "--connect-timeout" => {
                o.connect_timeout =
                    Duration::from_secs_f64(val()?.parse().context("--connect-timeout")?)
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    for spec in specs {
        let (user, pass) = spec
            .split_once(':')
            .ok_or_else(|| anyhow!("--user {spec}: expected USER:PASS"))?;
        if user.contains("%d") || pass.contains("%d") {
            for i in 1..=user_count {
                let n = i.to_string();
                o.users
                    .push((user.replace("%d", &n), pass.replace("%d", &n)));
            }
        } else {
            o.users.push((user.to_owned(), pass.to_owned()));
        }
    }
    if o.users.is_empty() {
        bail!("at least one --user is needed\n{USAGE}");
    }
    if o.duration.is_none() && o.iterations.is_none() {
        o.duration = Some(Duration::from_secs(10));
    }
    if o.sessions == 0 || o.runs == 0 || o.ramp == 0 {
        bail!("--sessions, --runs and --ramp must be at least 1");
    }
    Ok(o)
}

/// A byte stream: TCP, or TLS over TCP.
enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// Only while STARTTLS swaps one for the other.
    Swapping,
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Swapping => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(buf).await,
            Stream::Tls(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
            Stream::Swapping => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

/// What connecting needs, shared by all sessions.
struct Target {
    opts: Options,
    tls: Option<(TlsConnector, rustls::pki_types::ServerName<'static>)>,
}

impl Target {
    fn new(opts: Options) -> Result<Target> {
        let tls = if opts.tls == TlsMode::None {
            None
        } else {
            let ca = opts
                .ca
                .as_ref()
                .ok_or_else(|| anyhow!("--tls needs --ca FILE (PEM)"))?;
            let config = tls::client_config(ca)?;
            let name = opts
                .server_name
                .clone()
                .unwrap_or_else(|| opts.host.clone());
            let name = rustls::pki_types::ServerName::try_from(name)
                .context("--server-name is not a DNS name or IP address")?;
            Some((TlsConnector::from(config), name))
        };
        Ok(Target { opts, tls })
    }
}

/// The outcome of one command.
#[derive(Default, Debug)]
struct Outcome {
    kind: Option<StatusKind>,
    text: String,
    code_expunge_issued: bool,
    exists: Option<u32>,
    hits: usize,
    fetches: usize,
    body_bytes: usize,
    /// Responses that did not parse while the command ran.
    decode_errors: u64,
    /// Untagged BAD/NO while the command ran.
    untagged_errors: u64,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.kind == Some(StatusKind::Ok)
    }
}

/// One IMAP session over a socket.
struct Session {
    io: Stream,
    conn: ClientConnection,
    out: Vec<u8>,
    buf: Box<[u8]>,
    decode_errors: u64,
}

impl Session {
    async fn connect(target: &Target, id: usize, user: &(String, String)) -> Result<Session> {
        let o = &target.opts;
        let tcp = tokio::time::timeout(o.connect_timeout, async {
            if o.sources.is_empty() {
                return TcpStream::connect((o.host.as_str(), o.port)).await;
            }
            let source = o.sources[id % o.sources.len()];
            let peer = tokio::net::lookup_host((o.host.as_str(), o.port))
                .await?
                .find(|a| a.is_ipv4() == source.is_ipv4())
                .ok_or_else(|| std::io::Error::other("no address of the source's family"))?;
            let socket = if source.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            socket.bind(std::net::SocketAddr::new(source, 0))?;
            socket.connect(peer).await
        })
        .await
        .context("connect timed out")?
        .with_context(|| format!("connecting to {}:{}", o.host, o.port))?;
        tcp.set_nodelay(true)?;
        let io = match (&target.tls, o.tls) {
            (Some((connector, name)), TlsMode::Implicit) => Stream::Tls(Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .context("TLS handshake")?,
            )),
            _ => Stream::Tcp(tcp),
        };
        let mut s = Session {
            io,
            conn: ClientConnection::new(ClientConfig::default()),
            out: Vec::with_capacity(4096),
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            decode_errors: 0,
        };
        // The greeting.
        let mut literal_plus = false;
        loop {
            match s.next_event().await? {
                ClientEvent::Greeting(g) => {
                    if g.kind == StatusKind::Bye {
                        bail!("server said BYE: {}", g.text);
                    }
                    if let Some(Code::Capability(caps)) = &g.code {
                        literal_plus = caps
                            .iter()
                            .any(|c| c.as_str().eq_ignore_ascii_case("LITERAL+"));
                    }
                    break;
                }
                ClientEvent::Error(e) => bail!("unreadable greeting: {e}"),
                _ => {}
            }
        }
        if o.tls == TlsMode::StartTls {
            let r = s.run(Command::StartTls).await?;
            if !r.ok() {
                bail!("STARTTLS refused: {}", r.text);
            }
            let (connector, name) = target
                .tls
                .as_ref()
                .unwrap_or_else(|| unreachable!("TLS modes other than none build a connector"));
            // Swap the plain stream for TLS over it.
            let Stream::Tcp(tcp) = std::mem::replace(&mut s.io, Stream::Swapping) else {
                bail!("STARTTLS on a stream that is not plain TCP");
            };
            s.io = Stream::Tls(Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .context("TLS handshake after STARTTLS")?,
            ));
            // RFC 3501 §6.2.1: capabilities may change; ask again.
            literal_plus = false;
        }
        let login = s
            .run(Command::Login {
                username: user.0.clone(),
                password: Secret::from(user.1.clone()),
            })
            .await?;
        if !login.ok() {
            bail!("LOGIN {} refused: {}", user.0, login.text);
        }
        if !literal_plus {
            let caps = s.run(Command::Capability).await?;
            literal_plus = caps.text.contains("LITERAL+");
        }
        if literal_plus {
            s.conn.set_literal_mode(LiteralMode::LiteralPlus);
        }
        Ok(s)
    }

    async fn flush(&mut self) -> Result<()> {
        self.conn.poll_transmit(&mut self.out);
        if !self.out.is_empty() {
            self.io.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// The next event, reading as needed.
    async fn next_event(&mut self) -> Result<ClientEvent> {
        loop {
            if let Some(e) = self.conn.poll_event() {
                // Answering a `+` for a literal happens inside the codec.
                self.flush().await?;
                return Ok(e);
            }
            self.flush().await?;
            let n = self.io.read(&mut self.buf).await?;
            if n == 0 {
                bail!("connection closed by the server");
            }
            self.conn.handle_input(&self.buf[..n]);
        }
    }

    /// Sends a command and reads until its tagged answer.
    async fn run(&mut self, command: Command) -> Result<Outcome> {
        let is_idle = matches!(command, Command::Idle);
        let tag = self.conn.send(command);
        self.flush().await?;
        let mut o = Outcome::default();
        loop {
            match self.next_event().await? {
                ClientEvent::Completed { tag: t, status } if t == tag => {
                    o.kind = Some(status.kind);
                    o.code_expunge_issued = matches!(&status.code, Some(Code::ExpungeIssued));
                    if let Some(Code::Capability(caps)) = &status.code {
                        o.text = caps
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(" ");
                    } else {
                        o.text = status.text;
                    }
                    return Ok(o);
                }
                ClientEvent::Completed { status, .. } => {
                    bail!("answer to an unknown tag: {status:?}")
                }
                ClientEvent::Continuation(_) if is_idle => {
                    // The caller ends IDLE; report acceptance as OK.
                    o.kind = Some(StatusKind::Ok);
                    o.text = "idling".into();
                    return Ok(o);
                }
                ClientEvent::Continuation(c) => bail!("unexpected continuation: {}", c.text),
                ClientEvent::Untagged(r) => self.note(&mut o, r),
                ClientEvent::Error(e) => {
                    self.decode_errors += 1;
                    o.decode_errors += 1;
                    eprintln!("imap-load: unreadable response: {e}");
                }
                ClientEvent::Challenge { .. } => bail!("unexpected AUTHENTICATE challenge"),
                ClientEvent::StartTls { .. } => {}
                ClientEvent::Greeting(_) => {}
                other => bail!("unexpected event {other:?}"),
            }
        }
    }

    /// Ends IDLE and waits for its tagged OK.
    async fn idle_done(&mut self) -> Result<Outcome> {
        self.conn.idle_done();
        self.flush().await?;
        let mut o = Outcome::default();
        loop {
            match self.next_event().await? {
                ClientEvent::Completed { status, .. } => {
                    o.kind = Some(status.kind);
                    o.text = status.text;
                    return Ok(o);
                }
                ClientEvent::Untagged(r) => self.note(&mut o, r),
                ClientEvent::Error(e) => {
                    self.decode_errors += 1;
                    o.decode_errors += 1;
                    eprintln!("imap-load: unreadable response: {e}");
                }
                other => bail!("unexpected event after DONE: {other:?}"),
            }
        }
    }

    fn note(&mut self, o: &mut Outcome, r: Response) {
        match r {
            Response::Data(Data::Exists(n)) => o.exists = Some(n),
            Response::Data(Data::Search(v) | Data::Sort(v)) => o.hits += v.len(),
            Response::Data(Data::Thread(_)) => o.hits += 1,
            Response::Data(Data::Fetch { items, .. }) => {
                o.fetches += 1;
                for i in items {
                    if let FetchItem::BodySection { data: Some(d), .. }
                    | FetchItem::Rfc822(Some(d)) = i
                    {
                        o.body_bytes += d.len();
                    }
                }
            }
            Response::Status(s) if matches!(s.kind, StatusKind::Bad | StatusKind::No) => {
                o.untagged_errors += 1;
                eprintln!("imap-load: untagged {:?}: {}", s.kind, s.text);
            }
            _ => {}
        }
    }

    async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.run(Command::Logout)).await;
    }
}

/// `--source`: a comma-separated list of addresses, or `A.B.C.D+N` for N
/// consecutive IPv4 addresses from A.B.C.D.
fn parse_sources(v: &str) -> Result<Vec<std::net::IpAddr>> {
    if let Some((first, n)) = v.split_once('+') {
        let first: std::net::Ipv4Addr = first.parse()?;
        let n: u32 = n.parse()?;
        if n == 0 || n > 65_536 {
            bail!("count must be 1..=65536");
        }
        let base = u32::from(first);
        return (0..n)
            .map(|i| {
                base.checked_add(i)
                    .map(|a| std::net::IpAddr::V4(a.into()))
                    .ok_or_else(|| anyhow!("address range overflows"))
            })
            .collect();
    }
    v.split(',')
        .map(|a| a.trim().parse().map_err(Into::into))
        .collect()
}

/// A command from its text form (tag and CRLF added here), so the load
/// loop reads like the protocol.
fn cmd(text: &str) -> Command {
    let line = format!("x {text}\r\n");
    parse_command(line.as_bytes(), &CommandParseOptions::default())
        .unwrap_or_else(|e| panic!("built-in command {text:?} does not parse: {e}"))
        .command
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn fmt_us(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} ms", us as f64 / 1000.0)
    }
}

/// Latencies in microseconds per command name.
type Latencies = BTreeMap<&'static str, Vec<u64>>;

struct Counters {
    protocol_errors: AtomicU64,
    failed_sessions: AtomicU64,
    body_bytes: AtomicU64,
    stop: AtomicBool,
}

fn small_message(size: usize, session: usize, n: u64) -> Vec<u8> {
    let mut m = format!(
        "From: Load Generator <load@example.com>\r\nTo: test@example.com\r\n\
         Subject: load test {session}/{n}\r\nMessage-ID: <load.{session}.{n}@example.com>\r\n\
         Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    .into_bytes();
    let line = b"The quick brown fox jumps over the lazy dog, again and again.\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m
}

async fn timed(
    lat: &mut Latencies,
    name: &'static str,
    s: &mut Session,
    c: Command,
) -> Result<Outcome> {
    let t = Instant::now();
    let r = s.run(c).await?;
    lat.entry(name)
        .or_default()
        .push(t.elapsed().as_micros() as u64);
    Ok(r)
}

/// One load session: connect, log in, loop.
async fn load_session(
    target: Arc<Target>,
    id: usize,
    counters: Arc<Counters>,
    deadline: Option<Instant>,
) -> Result<Latencies> {
    let o = &target.opts;
    let user = &o.users[id % o.users.len()];
    let mut lat = Latencies::new();
    let t = Instant::now();
    let mut s = Session::connect(&target, id, user).await?;
    lat.entry("CONNECT+LOGIN")
        .or_default()
        .push(t.elapsed().as_micros() as u64);
    let mailbox = MailboxName::new(o.mailbox.clone());
    let select = Command::Select {
        mailbox: mailbox.clone(),
    };
    // A small deterministic generator per session for message choice.
    let mut rng = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = |bound: u32| -> u32 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        1 + (rng % u64::from(bound.max(1))) as u32
    };
    let mut errors = 0u64;
    let check = |name: &str, r: &Outcome, errors: &mut u64| {
        let expected_no = r.kind == Some(StatusKind::No)
            && (r.code_expunge_issued || r.text.to_ascii_lowercase().contains("expunged"));
        if !r.ok() && !expected_no {
            *errors += 1;
            eprintln!(
                "imap-load: session {id}: {name} answered {:?} {}",
                r.kind, r.text
            );
        }
        *errors += r.decode_errors + r.untagged_errors;
    };
    let mut n = 0u64;
    loop {
        if counters.stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                break;
            }
        }
        if let Some(max) = o.iterations {
            if n >= max {
                break;
            }
        }
        n += 1;
        let r = timed(&mut lat, "SELECT", &mut s, select.clone()).await?;
        check("SELECT", &r, &mut errors);
        let exists = r.exists.unwrap_or(0);
        if exists > 0 {
            let k = next(exists);
            let hi = (k + 9).min(exists);
            let r = timed(
                &mut lat,
                "FETCH ENVELOPE",
                &mut s,
                cmd(&format!("FETCH {k}:{hi} (FLAGS ENVELOPE)")),
            )
            .await?;
            check("FETCH ENVELOPE", &r, &mut errors);
            let k = next(exists);
            let r = timed(
                &mut lat,
                "FETCH BODY[]",
                &mut s,
                cmd(&format!("FETCH {k} BODY.PEEK[]")),
            )
            .await?;
            counters
                .body_bytes
                .fetch_add(r.body_bytes as u64, Ordering::Relaxed);
            check("FETCH BODY[]", &r, &mut errors);
            let op = if n % 2 == 0 { '+' } else { '-' };
            let r = timed(
                &mut lat,
                "STORE",
                &mut s,
                cmd(&format!("STORE {k} {op}FLAGS (\\Flagged)")),
            )
            .await?;
            check("STORE", &r, &mut errors);
        }
        let append = Command::Append {
            mailbox: mailbox.clone(),
            flags: vec![postroom::types::Flag::Deleted],
            date: None,
            message: small_message(o.append_size, id, n),
        };
        let r = timed(&mut lat, "APPEND", &mut s, append).await?;
        check("APPEND", &r, &mut errors);
        let r = timed(
            &mut lat,
            "SEARCH",
            &mut s,
            cmd(&format!(
                "SEARCH UNDELETED SUBJECT \"{}\"",
                o.search_subject
            )),
        )
        .await?;
        check("SEARCH", &r, &mut errors);
        let r = timed(&mut lat, "EXPUNGE", &mut s, Command::Expunge).await?;
        check("EXPUNGE", &r, &mut errors);
        let t = Instant::now();
        let r = s.run(Command::Idle).await?;
        check("IDLE", &r, &mut errors);
        lat.entry("IDLE (to +)")
            .or_default()
            .push(t.elapsed().as_micros() as u64);
        tokio::time::sleep(Duration::from_millis(o.idle_ms)).await;
        let t = Instant::now();
        let r = s.idle_done().await?;
        check("DONE", &r, &mut errors);
        lat.entry("DONE")
            .or_default()
            .push(t.elapsed().as_micros() as u64);
    }
    counters
        .protocol_errors
        .fetch_add(errors, Ordering::Relaxed);
    s.logout().await;
    Ok(lat)
}

async fn load_mode(target: Arc<Target>) -> Result<()> {
    let o = target.opts.clone();
    let counters = Arc::new(Counters {
        protocol_errors: AtomicU64::new(0),
        failed_sessions: AtomicU64::new(0),
        body_bytes: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let start = Instant::now();
    let deadline = o.duration.map(|d| start + d);
    println!(
        "imap-load: {} sessions against {}:{} ({:?}), {} user(s), {}",
        o.sessions,
        o.host,
        o.port,
        o.tls,
        o.users.len(),
        match (o.duration, o.iterations) {
            (_, Some(n)) => format!("{n} iterations each"),
            (Some(d), None) => format!("{} s", d.as_secs_f64()),
            (None, None) => unreachable!("parse_args sets a duration"),
        }
    );
    let mut tasks = Vec::new();
    for id in 0..o.sessions {
        let (t, c) = (target.clone(), counters.clone());
        tasks.push(tokio::spawn(async move {
            let r = load_session(t, id, c.clone(), deadline).await;
            if let Err(e) = &r {
                c.failed_sessions.fetch_add(1, Ordering::Relaxed);
                eprintln!("imap-load: session {id} failed: {e:#}");
            }
            r.ok()
        }));
    }
    let mut all = Latencies::new();
    for t in tasks {
        if let Ok(Some(lat)) = t.await {
            for (k, v) in lat {
                all.entry(k).or_default().extend(v);
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("elapsed {elapsed:.2} s");
    println!(
        "{:<16} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "command", "count", "per s", "p50", "p90", "p99", "max"
    );
    let mut total = 0usize;
    for (name, mut v) in all {
        v.sort_unstable();
        if name != "CONNECT+LOGIN" && name != "DONE" {
            total += v.len();
        }
        println!(
            "{:<16} {:>9} {:>10.1} {:>10} {:>10} {:>10} {:>10}",
            name,
            v.len(),
            v.len() as f64 / elapsed,
            fmt_us(percentile(&v, 0.5)),
            fmt_us(percentile(&v, 0.9)),
            fmt_us(percentile(&v, 0.99)),
            fmt_us(*v.last().unwrap_or(&0)),
        );
    }
    let failed = counters.failed_sessions.load(Ordering::Relaxed);
    let errors = counters.protocol_errors.load(Ordering::Relaxed);
    println!(
        "total {total} commands, {:.1} commands/s; BODY[] {:.1} MB read",
        total as f64 / elapsed,
        counters.body_bytes.load(Ordering::Relaxed) as f64 / 1e6
    );
    println!("protocol errors: {errors}; failed sessions: {failed}");
    if errors > 0 || failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

async fn idle_mode(target: Arc<Target>, count: usize) -> Result<()> {
    let o = target.opts.clone();
    // Each connection is one descriptor here; leave room for the runtime.
    let want = count as u64 + 256;
    match rlimit::increase_nofile_limit(want) {
        Ok(got) if got < want => eprintln!("imap-load: open-file limit only {got}, {want} wanted"),
        Ok(_) => {}
        Err(e) => eprintln!("imap-load: could not raise the open-file limit: {e}"),
    }
    let start = Instant::now();
    let (done_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Result<()>>(count.max(1));
    let failed = Arc::new(AtomicU64::new(0));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(o.ramp));
    let mut tasks = Vec::new();
    for id in 0..count {
        let target = target.clone();
        let mut done = done_tx.subscribe();
        let ready = ready_tx.clone();
        let sem = semaphore.clone();
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            let setup = async {
                let _permit = sem.acquire().await?;
                let user = &target.opts.users[id % target.opts.users.len()];
                let mut s = Session::connect(&target, id, user).await?;
                let sel = s
                    .run(Command::Select {
                        mailbox: MailboxName::new(target.opts.mailbox.clone()),
                    })
                    .await?;
                if !sel.ok() {
                    bail!("SELECT answered {:?} {}", sel.kind, sel.text);
                }
                let idle = s.run(Command::Idle).await?;
                if !idle.ok() {
                    bail!("IDLE answered {:?} {}", idle.kind, idle.text);
                }
                Ok(s)
            };
            let timeout = target.opts.connect_timeout;
            let setup = async move {
                tokio::time::timeout(timeout, setup)
                    .await
                    .map_err(|_| anyhow!("not idling within {} s", timeout.as_secs_f64()))?
            };
            let mut s = match setup.await {
                Ok(s) => {
                    let _ = ready.send(Ok(())).await;
                    s
                }
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    let _ = ready.send(Err(e)).await;
                    return;
                }
            };
            // Hold: read whatever the server pushes (EXISTS, keepalives)
            // until told to stop.
            let mut lost = false;
            loop {
                tokio::select! {
                    _ = done.recv() => break,
                    r = s.io.read(&mut s.buf) => match r {
                        Ok(0) | Err(_) => { lost = true; break; }
                        Ok(n) => s.conn.handle_input(&s.buf[..n]),
                    },
                }
            }
            if lost {
                failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("imap-load: idle connection {id} lost");
                return;
            }
            match tokio::time::timeout(Duration::from_secs(30), s.idle_done()).await {
                Ok(Ok(r)) if r.ok() => s.logout().await,
                Ok(Ok(r)) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "imap-load: idle connection {id}: DONE answered {:?} {}",
                        r.kind, r.text
                    );
                }
                Ok(Err(e)) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("imap-load: idle connection {id}: {e:#}");
                }
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("imap-load: idle connection {id}: no answer to DONE in 30 s");
                }
            }
        }));
    }
    drop(ready_tx);
    let mut ok = 0usize;
    let mut setup_failed = 0usize;
    while let Some(r) = ready_rx.recv().await {
        match r {
            Ok(()) => {
                ok += 1;
                if ok % 100 == 0 {
                    println!(
                        "imap-load: {ok} idling ({:.1} s)",
                        start.elapsed().as_secs_f64()
                    );
                }
            }
            Err(e) => {
                setup_failed += 1;
                if setup_failed <= 3 {
                    eprintln!("imap-load: connection failed: {e:#}");
                }
            }
        }
        if ok + setup_failed == count {
            break;
        }
    }
    println!(
        "imap-load: ALL IDLE: {ok} of {count} connections idling after {:.1} s ({setup_failed} failed); holding {} s",
        start.elapsed().as_secs_f64(),
        o.hold.as_secs_f64()
    );
    tokio::time::sleep(o.hold).await;
    let _ = done_tx.send(());
    for t in tasks {
        let _ = t.await;
    }
    let failed = failed.load(Ordering::Relaxed);
    println!("imap-load: released; failed connections: {failed}");
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    match v.len() {
        0 => 0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

async fn timing_mode(target: Arc<Target>) -> Result<()> {
    let o = target.opts.clone();
    let user = &o.users[0];
    let mailbox = MailboxName::new(o.mailbox.clone());
    let steps: Vec<(&str, Command)> = vec![
        ("SELECT", Command::Select { mailbox }),
        (
            "FETCH 1:* (FLAGS ENVELOPE)",
            cmd("FETCH 1:* (FLAGS ENVELOPE)"),
        ),
        (
            "SEARCH TEXT",
            cmd(&format!("SEARCH TEXT \"{}\"", o.search_word)),
        ),
        ("SORT (DATE)", cmd("SORT (DATE) UTF-8 ALL")),
        ("THREAD REFERENCES", cmd("THREAD REFERENCES UTF-8 ALL")),
    ];
    // The connection and LOGIN are timed too: a server may open INBOX at
    // login (postroom does), which moves a first scan out of SELECT.
    let mut login_times: Vec<u64> = Vec::new();
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); steps.len()];
    let mut errors = 0u64;
    for run in 0..o.runs {
        let t = Instant::now();
        let mut s = Session::connect(&target, run, user).await?;
        let us = t.elapsed().as_micros() as u64;
        login_times.push(us);
        let mut line = format!("run {run}: CONNECT+LOGIN={}", fmt_us(us));
        for (i, (name, c)) in steps.iter().enumerate() {
            let t = Instant::now();
            let r = s.run(c.clone()).await?;
            let us = t.elapsed().as_micros() as u64;
            if !r.ok() || r.decode_errors > 0 || r.untagged_errors > 0 {
                errors += 1;
                eprintln!(
                    "imap-load: {name} answered {:?} {} ({} unreadable)",
                    r.kind, r.text, r.decode_errors
                );
            }
            let detail = match i {
                0 => format!("{} msgs", r.exists.unwrap_or(0)),
                1 => format!("{} fetched", r.fetches),
                4 => "".into(),
                _ => format!("{} hits", r.hits),
            };
            line.push_str(&format!(" {name}={} ({detail})", fmt_us(us)));
            times[i].push(us);
        }
        println!("{line}");
        s.logout().await;
    }
    println!("{:<28} {:>12} {:>12}", "command", "cold", "warm median");
    let rows = std::iter::once(("CONNECT+LOGIN", &login_times))
        .chain(steps.iter().map(|(name, _)| *name).zip(times.iter()));
    for (name, t) in rows {
        let cold = t[0];
        let mut warm: Vec<u64> = t[1..].to_vec();
        let warm = if warm.is_empty() {
            cold
        } else {
            median(&mut warm)
        };
        println!("{:<28} {:>12} {:>12}", name, fmt_us(cold), fmt_us(warm));
        // Machine-readable line for scripts/compare-dovecot.
        println!("TIMING\t{name}\t{cold}\t{warm}");
    }
    println!("protocol errors: {errors}");
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn main() -> Result<()> {
    let opts = parse_args()?;
    let target = Arc::new(Target::new(opts.clone())?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        if opts.timing {
            timing_mode(target).await
        } else if let Some(n) = opts.idle {
            idle_mode(target, n).await
        } else {
            load_mode(target).await
        }
    })
}
