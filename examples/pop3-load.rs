//! POP3 speed client, built on postroom-pop3's sans-IO `ClientConnection`.
//!
//! Logs in (USER/PASS) over plain TCP or implicit TLS and measures, over
//! `--runs R` repetitions:
//!
//! - RETR throughput of one message (by default the largest in the
//!   maildrop, found with LIST), in MB/s (10^6 bytes of un-stuffed message
//!   per second, from sending RETR to the terminating dot);
//! - the time of a whole-maildrop UIDL, in ms, and how many lines it had.
//!
//! The first repetition is reported separately ("first"), then the median
//! and the best of all of them.
//!
//! ```text
//! scripts/gen-maildir --big 10485760 DIR 10000   # a 10,000-message maildrop plus one 10 MiB message
//! cargo run --release --features tokio --example pop3-load -- \
//!     --port 1110 --user demo:demo --runs 10
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use postroom::pop3::{ClientConnection, ClientEvent, Command, MessageNumber};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

#[path = "common/tls.rs"]
mod tls;

const USAGE: &str = "usage: pop3-load [--host H] [--port P] [--tls none|implicit --ca PEM \
[--server-name NAME]] --user USER:PASS [--runs R] [--msg N] [--no-retr] [--no-uidl]";

struct Options {
    host: String,
    port: u16,
    implicit_tls: bool,
    ca: Option<String>,
    server_name: Option<String>,
    user: String,
    pass: String,
    runs: usize,
    msg: Option<u32>,
    retr: bool,
    uidl: bool,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 110,
        implicit_tls: false,
        ca: None,
        server_name: None,
        user: String::new(),
        pass: String::new(),
        runs: 5,
        msg: None,
        retr: true,
        uidl: true,
    };
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
                o.implicit_tls = match val()?.as_str() {
                    "none" | "plain" => false,
                    "implicit" | "pop3s" => true,
                    other => bail!("--tls {other}: expected none or implicit"),
                }
            }
            "--ca" => o.ca = Some(val()?),
            "--server-name" => o.server_name = Some(val()?),
            "--user" => {
                let v = val()?;
                let (u, p) = v
                    .split_once(':')
                    .ok_or_else(|| anyhow!("--user expects USER:PASS"))?;
                o.user = u.into();
                o.pass = p.into();
            }
            "--runs" => o.runs = val()?.parse().context("--runs")?,
            "--msg" => o.msg = Some(val()?.parse().context("--msg")?),
            "--no-retr" => o.retr = false,
            "--no-uidl" => o.uidl = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    if o.user.is_empty() {
        bail!("--user USER:PASS is needed\n{USAGE}");
    }
    if o.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(o)
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Session {
    io: Box<dyn Io>,
    conn: ClientConnection,
    out: Vec<u8>,
    buf: Box<[u8]>,
}

/// What one command produced.
#[derive(Default)]
struct Answer {
    ok: bool,
    text: String,
    data_bytes: usize,
    listing: Vec<(u32, u64)>,
    uids: usize,
}

impl Session {
    async fn connect(o: &Options) -> Result<Session> {
        let tcp = TcpStream::connect((o.host.as_str(), o.port))
            .await
            .with_context(|| format!("connecting to {}:{}", o.host, o.port))?;
        tcp.set_nodelay(true)?;
        let io: Box<dyn Io> = if o.implicit_tls {
            let ca =
                o.ca.as_ref()
                    .ok_or_else(|| anyhow!("--tls implicit needs --ca FILE"))?;
            let config = tls::client_config(std::path::Path::new(ca))?;
            let name = o.server_name.clone().unwrap_or_else(|| o.host.clone());
            let name = rustls::pki_types::ServerName::try_from(name)?;
            Box::new(TlsConnector::from(config).connect(name, tcp).await?)
        } else {
            Box::new(tcp)
        };
        let mut s = Session {
            io,
            conn: ClientConnection::new(Default::default()),
            out: Vec::new(),
            buf: vec![0u8; 256 * 1024].into_boxed_slice(),
        };
        match s.next_event().await? {
            ClientEvent::Greeting(g) if g.is_ok() => {}
            other => bail!("unexpected greeting {other:?}"),
        }
        for c in [
            Command::User(o.user.clone()),
            Command::Pass(o.pass.clone().into()),
        ] {
            let a = s.run(c).await?;
            if !a.ok {
                bail!("login refused: {}", a.text);
            }
        }
        Ok(s)
    }

    async fn next_event(&mut self) -> Result<ClientEvent> {
        loop {
            if let Some(e) = self.conn.poll_event() {
                return Ok(e);
            }
            self.conn.poll_transmit(&mut self.out);
            if !self.out.is_empty() {
                self.io.write_all(&self.out).await?;
                self.io.flush().await?;
                self.out.clear();
            }
            let n = self.io.read(&mut self.buf).await?;
            if n == 0 {
                bail!("connection closed by the server");
            }
            self.conn.handle_input(&self.buf[..n]);
        }
    }

    /// Sends a command and reads its whole answer.
    async fn run(&mut self, c: Command) -> Result<Answer> {
        // RFC 1939: these answers are multi-line after +OK.
        let multi = matches!(
            c,
            Command::Retr(_)
                | Command::Top { .. }
                | Command::List(None)
                | Command::Uidl(None)
                | Command::Capa
        );
        self.conn.send(c)?;
        let mut a = Answer::default();
        loop {
            match self.next_event().await? {
                ClientEvent::Response { response, .. } => {
                    a.ok = response.is_ok();
                    a.text = format!("{response:?}");
                    // Single-line answers and -ERR end here; a +OK to a
                    // multi-line command is followed by data and End.
                    if !a.ok || !multi {
                        return Ok(a);
                    }
                }
                ClientEvent::Data(d) => a.data_bytes += d.len(),
                ClientEvent::ScanListing(l) => a.listing.push((l.msg.get(), l.size)),
                ClientEvent::UniqueId(_) => a.uids += 1,
                ClientEvent::End { .. } => return Ok(a),
                ClientEvent::BadListingLine(e) => bail!("unreadable listing line: {e}"),
                ClientEvent::Failed(e) => bail!("connection failed: {e}"),
                _ => {}
            }
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn run(o: Options) -> Result<()> {
    let mut s = Session::connect(&o).await?;
    let list = s.run(Command::List(None)).await?;
    if !list.ok {
        bail!("LIST refused: {}", list.text);
    }
    let count = list.listing.len();
    let total: u64 = list.listing.iter().map(|l| l.1).sum();
    println!(
        "pop3-load: {}:{} {}: {count} messages, {:.1} MB",
        o.host,
        o.port,
        if o.implicit_tls { "TLS" } else { "plain" },
        total as f64 / 1e6
    );
    if o.retr && count > 0 {
        let (msg, size) = match o.msg {
            Some(m) => *list
                .listing
                .iter()
                .find(|l| l.0 == m)
                .ok_or_else(|| anyhow!("no message {m}"))?,
            None => *list
                .listing
                .iter()
                .max_by_key(|l| l.1)
                .unwrap_or_else(|| unreachable!("count > 0")),
        };
        let n = MessageNumber::new(msg).ok_or_else(|| anyhow!("message number 0"))?;
        let mut rates = Vec::new();
        let mut bytes = 0;
        for _ in 0..o.runs {
            let t = Instant::now();
            let a = s.run(Command::Retr(n)).await?;
            let secs = t.elapsed().as_secs_f64();
            if !a.ok {
                bail!("RETR refused: {}", a.text);
            }
            bytes = a.data_bytes;
            rates.push(a.data_bytes as f64 / secs / 1e6);
        }
        let first = rates[0];
        let best = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "RETR {msg} ({size} octets listed, {bytes} received) x{}: first {first:.0} MB/s, median {:.0} MB/s, best {best:.0} MB/s",
            o.runs,
            median(&mut rates)
        );
    }
    if o.uidl {
        let mut times = Vec::new();
        let mut lines = 0;
        for _ in 0..o.runs {
            let t = Instant::now();
            let a = s.run(Command::Uidl(None)).await?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if !a.ok {
                bail!("UIDL refused: {}", a.text);
            }
            lines = a.uids;
        }
        let first = times[0];
        let best = times.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "UIDL ({lines} lines) x{}: first {first:.2} ms, median {:.2} ms, best {best:.2} ms",
            o.runs,
            median(&mut times)
        );
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), s.run(Command::Quit)).await;
    Ok(())
}

fn main() -> Result<()> {
    let o = parse_args()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(o))
}
