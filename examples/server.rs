//! The bundled postroom server: IMAP with STARTTLS, IMAPS, POP3 with STLS
//! and POP3S over users' Maildir++ folders.
//!
//! ```text
//! cargo run --release --features tokio --example server
//! cargo run --release --features tokio --example server -- useradd alice --password secret
//! cargo run --release --features tokio --example server -- deliver --user alice < message.eml
//! ```
//!
//! With no arguments it creates `./postroom-data` (the user file `users`,
//! Maildirs under `mail/`, a self-signed certificate for `localhost` and
//! `127.0.0.1` under `tls/`), adds the user `demo` with password `demo` and
//! a welcome message, and listens on 127.0.0.1: 1143 (IMAP + STARTTLS),
//! 1993 (IMAPS), 1110 (POP3 + STLS) and 1995 (POP3S). Every bound address is
//! printed as a line `listening NAME ADDRESS`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use postroom::access::maildirsize::QuotaDefinition;
use postroom::mailbox::{MailboxError, Store};
use postroom::server::imap::{self, Directory, MaildirsizeQuota, PlaintextLogin, ServiceConfig};
use postroom::server::net::tls::ReloadableCert;
use postroom::server::net::{
    ConnectionInfo, ConnectionLimits, DriverConfig, ListenerConfig, Server,
};
use postroom::server::pop3;
use postroom::server::users::{self, Scheme, StoredPassword, UserDb, UserEntry};
use postroom::types::MailboxName;

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "\
usage: server [--data DIR] [--users FILE] [--imap ADDR|off] [--imaps ADDR|off]
              [--pop3 ADDR|off] [--pop3s ADDR|off] [--cert PEM --key PEM]
              [--quota KIB[,MESSAGES]] [--allow-plaintext-login] [--run-as USER]
       server deliver --user NAME [--data DIR] [--users FILE] [--quota ...] < message
       server useradd NAME [--password PASSWORD] [--data DIR] [--users FILE]

Defaults: --data ./postroom-data, --users DATA/users, IMAP 127.0.0.1:1143,
IMAPS 127.0.0.1:1993, POP3 127.0.0.1:1110, POP3S 127.0.0.1:1995, a generated
self-signed certificate in DATA/tls. Port 0 picks a free port. Plaintext
login is allowed only from loopback clients unless --allow-plaintext-login.
";

/// Command-line settings.
struct Options {
    data: PathBuf,
    users: Option<PathBuf>,
    imap: Option<SocketAddr>,
    imaps: Option<SocketAddr>,
    pop3: Option<SocketAddr>,
    pop3s: Option<SocketAddr>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    quota: QuotaDefinition,
    allow_plaintext: bool,
    run_as: Option<String>,
    user: Option<String>,
    password: Option<String>,
    positional: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, Error> {
        let addr = |s: &str| -> Result<Option<SocketAddr>, Error> {
            if s == "off" {
                Ok(None)
            } else {
                Ok(Some(
                    s.parse().map_err(|e| format!("bad address {s:?}: {e}"))?,
                ))
            }
        };
        let mut o = Options {
            data: PathBuf::from("postroom-data"),
            users: None,
            imap: addr("127.0.0.1:1143")?,
            imaps: addr("127.0.0.1:1993")?,
            pop3: addr("127.0.0.1:1110")?,
            pop3s: addr("127.0.0.1:1995")?,
            cert: None,
            key: None,
            quota: QuotaDefinition::default(),
            allow_plaintext: false,
            run_as: None,
            user: None,
            password: None,
            positional: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{arg} needs a value"))
            };
            match arg.as_str() {
                "--data" => o.data = value()?.into(),
                "--users" => o.users = Some(value()?.into()),
                "--imap" => o.imap = addr(&value()?)?,
                "--imaps" => o.imaps = addr(&value()?)?,
                "--pop3" => o.pop3 = addr(&value()?)?,
                "--pop3s" => o.pop3s = addr(&value()?)?,
                "--cert" => o.cert = Some(value()?.into()),
                "--key" => o.key = Some(value()?.into()),
                "--quota" => o.quota = parse_quota(&value()?)?,
                "--allow-plaintext-login" => o.allow_plaintext = true,
                "--run-as" => o.run_as = Some(value()?),
                "--user" => o.user = Some(value()?),
                "--password" => o.password = Some(value()?),
                "-h" | "--help" => return Err(USAGE.into()),
                other if other.starts_with("--") => {
                    return Err(format!("unknown option {other}\n\n{USAGE}").into());
                }
                other => o.positional.push(other.to_owned()),
            }
        }
        if o.cert.is_some() != o.key.is_some() {
            return Err("--cert and --key go together".into());
        }
        Ok(o)
    }

    fn users_file(&self) -> PathBuf {
        self.users
            .clone()
            .unwrap_or_else(|| self.data.join("users"))
    }

    fn mail_root(&self) -> PathBuf {
        self.data.join("mail")
    }

    fn directory(&self) -> Result<Directory, Error> {
        let db = load_users(&self.users_file())?;
        Ok(Directory::new(
            db,
            self.mail_root(),
            MaildirsizeQuota::new(self.quota),
        ))
    }
}

/// `KIB[,MESSAGES]` (0 = unlimited).
fn parse_quota(s: &str) -> Result<QuotaDefinition, Error> {
    let (kib, msgs) = match s.split_once(',') {
        Some((k, m)) => (k, Some(m)),
        None => (s, None),
    };
    let kib: u64 = kib.trim().parse().map_err(|_| format!("bad quota {s:?}"))?;
    let messages: u64 = match msgs {
        Some(m) => m.trim().parse().map_err(|_| format!("bad quota {s:?}"))?,
        None => 0,
    };
    Ok(QuotaDefinition {
        bytes: kib.saturating_mul(1024),
        messages,
    })
}

fn load_users(path: &Path) -> Result<UserDb, Error> {
    match users::load(path) {
        Ok(db) => Ok(db),
        Err(users::LoadError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(UserDb::new())
        }
        Err(e) => Err(e.into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The subcommand is the first word that is not an option or an
    // option's value, so `--data DIR deliver --user NAME` and
    // `deliver --user NAME --data DIR` mean the same.
    let result = Options::parse(&args).and_then(|mut o| {
        let command = (!o.positional.is_empty()).then(|| o.positional.remove(0));
        match command.as_deref() {
            Some("deliver") if o.positional.is_empty() => deliver(&o),
            Some("useradd") => useradd(&o),
            None => serve(o),
            Some(other) => Err(format!("unexpected argument {other:?}\n\n{USAGE}").into()),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("server: {e}");
            ExitCode::from(2)
        }
    }
}

/// `deliver --user NAME`: the message on stdin into the user's INBOX.
fn deliver(o: &Options) -> Result<ExitCode, Error> {
    let user = o.user.as_deref().ok_or("deliver needs --user NAME")?;
    let directory = o.directory()?;
    // Creates the Maildir if it does not exist yet.
    let store = directory
        .store(user)
        .map_err(|e| format!("no mailbox for {user:?}: {e}"))?;
    let mut raw = Vec::new();
    std::io::stdin().read_to_end(&mut raw)?;
    match postroom::mailbox::deliver_with_quota(store.root(), &raw, directory.quota()) {
        Ok(path) => {
            println!("delivered {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        // deliverquota's exit codes: 77 over quota, 75 temporary failure.
        Err(MailboxError::OverQuota) => {
            eprintln!("server: {user}: mailbox is over quota");
            Ok(ExitCode::from(77))
        }
        Err(e) => {
            eprintln!("server: delivery failed: {e}");
            Ok(ExitCode::from(75))
        }
    }
}

/// `useradd NAME [--password PW]`: a hashed entry in the user file and an
/// empty Maildir.
fn useradd(o: &Options) -> Result<ExitCode, Error> {
    let name = o.positional.first().ok_or("useradd needs a user name")?;
    let password = match &o.password {
        Some(p) => p.clone(),
        None => {
            eprint!("password for {name}: ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        return Err("empty password".into());
    }
    std::fs::create_dir_all(&o.data)?;
    add_user(&o.users_file(), name, &password)?;
    let directory = o.directory()?;
    let store = directory.store(name)?;
    println!("added user {name}, Maildir {}", store.root().display());
    Ok(ExitCode::SUCCESS)
}

fn add_user(file: &Path, name: &str, password: &str) -> Result<(), Error> {
    let hash = StoredPassword::hash(Scheme::Argon2id, password.as_bytes())?;
    let entry = UserEntry::new(name, Some(hash))?;
    users::append_user(file, &entry)?;
    Ok(())
}

const WELCOME: &str = "From: postroom <postmaster@localhost>\r\nTo: demo@localhost\r\nSubject: Welcome to postroom\r\nMessage-ID: <welcome@postroom.localhost>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThis mailbox is served by postroom over IMAP and POP3.\r\nConnect to 127.0.0.1:1993 (IMAPS) or 1143 (IMAP + STARTTLS) as demo/demo.\r\n";

/// Logs to stderr through `tracing`: one `connection` span per connection
/// (listener, peer, and the user once logged in) with its connect, TLS,
/// login and close lines. `RUST_LOG` sets the filter (default `info`).
fn init_logs() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second subscriber (none here) would be an error; logging is then
    // left as it is.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Runs the listeners until Ctrl-C.
fn serve(o: Options) -> Result<ExitCode, Error> {
    init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(o))
}

async fn run(o: Options) -> Result<ExitCode, Error> {
    std::fs::create_dir_all(&o.data)?;
    let users_file = o.users_file();
    if !users_file.exists() {
        add_user(&users_file, "demo", "demo")?;
        let directory = o.directory()?;
        let store = directory.store("demo")?;
        postroom::mailbox::deliver(store.root(), WELCOME.as_bytes())?;
        println!(
            "created user demo with password demo in {}",
            users_file.display()
        );
    }
    println!("users: {}", users_file.display());

    // TLS: the given certificate, or a generated self-signed one.
    let (cert, cert_path) = match (&o.cert, &o.key) {
        (Some(c), Some(k)) => (
            ReloadableCert::from_pem_files(c.clone(), k.clone())?,
            c.clone(),
        ),
        _ => {
            let dir = o.data.join("tls");
            std::fs::create_dir_all(&dir)?;
            let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
            let (cert, generated) =
                ReloadableCert::load_or_generate(&c, &k, &["localhost", "127.0.0.1"])?;
            if generated {
                println!("generated a self-signed certificate for localhost and 127.0.0.1");
            }
            (cert, c)
        }
    };
    println!("certificate: {}", cert_path.display());
    let tls = cert.server_config()?;

    let directory = Arc::new(o.directory()?);
    let mut imap_config = ServiceConfig::new(Arc::clone(&directory));
    if o.allow_plaintext {
        imap_config.plaintext_login = PlaintextLogin::Always;
    }
    let imap_config = Arc::new(imap_config);
    let pop3_config = Arc::new(RwLock::new(Arc::new(pop3_config_for(
        &directory,
        o.allow_plaintext,
    ))));

    let server = Server::new(ConnectionLimits::default());
    let mut bound = Vec::new();
    let imap_factory = {
        let config = Arc::clone(&imap_config);
        move |info: ConnectionInfo| imap::Connection::new(Arc::clone(&config), &info)
    };
    let pop3_factory = {
        let config = Arc::clone(&pop3_config);
        move |info: ConnectionInfo| {
            let cfg = Arc::clone(&config.read().unwrap_or_else(|e| e.into_inner()));
            let ctx = pop3::ConnectionContext {
                peer: info.peer,
                tls: info.tls,
                starttls: info.starttls,
            };
            pop3::Session::new(cfg, ctx, Instant::now())
        }
    };
    if let Some(addr) = o.imap {
        let l = ListenerConfig::plain("imap", addr, Some(Arc::clone(&tls)));
        bound.push(("imap", server.listen(l, imap_factory.clone()).await?));
    }
    if let Some(addr) = o.imaps {
        let l = ListenerConfig::implicit_tls("imaps", addr, Arc::clone(&tls));
        bound.push(("imaps", server.listen(l, imap_factory.clone()).await?));
    }
    if let Some(addr) = o.pop3 {
        let l = ListenerConfig::plain("pop3", addr, Some(Arc::clone(&tls)))
            .with_driver(DriverConfig::pop3());
        bound.push(("pop3", server.listen(l, pop3_factory.clone()).await?));
    }
    if let Some(addr) = o.pop3s {
        let l = ListenerConfig::implicit_tls("pop3s", addr, Arc::clone(&tls))
            .with_driver(DriverConfig::pop3());
        bound.push(("pop3s", server.listen(l, pop3_factory.clone()).await?));
    }
    if bound.is_empty() {
        return Err("every listener is off".into());
    }
    if let Some(user) = &o.run_as {
        drop_privileges(user)?;
        println!("running as {user}");
    }
    for (name, addr) in &bound {
        println!("listening {name} {addr}");
    }
    if let Some((_, addr)) = bound.iter().find(|(n, _)| *n == "imaps") {
        println!(
            "connect: openssl s_client -quiet -connect {addr} -CAfile {}   (then: a1 LOGIN demo demo)",
            cert_path.display()
        );
    }
    println!("ready");
    let _ = std::io::stdout().flush();

    // Pick up users added by `useradd` while running.
    {
        let directory = Arc::clone(&directory);
        let pop3_config = Arc::clone(&pop3_config);
        let allow = o.allow_plaintext;
        tokio::spawn(async move {
            let mut seen = mtime(&users_file);
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let now = mtime(&users_file);
                if now == seen {
                    continue;
                }
                seen = now;
                match load_users(&users_file) {
                    Ok(db) => {
                        directory.set_users(db);
                        *pop3_config.write().unwrap_or_else(|e| e.into_inner()) =
                            Arc::new(pop3_config_for(&directory, allow));
                        println!("reloaded {}", users_file.display());
                    }
                    Err(e) => eprintln!("server: keeping the old user list: {e}"),
                }
            }
        });
    }
    #[cfg(unix)]
    {
        // SIGHUP reloads the certificate files.
        let cert = Arc::clone(&cert);
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                match cert.reload() {
                    Ok(()) => println!("certificate reloaded"),
                    Err(e) => eprintln!("server: certificate reload failed: {e}"),
                }
            }
        });
    }
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    server.shutdown(Duration::from_secs(10)).await;
    Ok(ExitCode::SUCCESS)
}

fn pop3_config_for(directory: &Arc<Directory>, allow_plaintext: bool) -> pop3::Config {
    let dir = Arc::clone(directory);
    let storage = move |user: &UserEntry| dir.store(user.name())?.open(&MailboxName::inbox());
    let mut config = pop3::Config::new(directory.users(), storage);
    if allow_plaintext {
        config.plaintext = pop3::PlaintextAuth::Always;
    }
    config
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `--run-as`: switch to an unprivileged user after binding the ports.
#[cfg(unix)]
fn drop_privileges(name: &str) -> Result<(), Error> {
    use nix::unistd::{Uid, User, initgroups, setgid, setuid};
    let user = User::from_name(name)?.ok_or_else(|| format!("no such system user {name:?}"))?;
    if Uid::effective().is_root() {
        let cname = std::ffi::CString::new(name)?;
        initgroups(&cname, user.gid)?;
    }
    setgid(user.gid)?;
    setuid(user.uid)?;
    Ok(())
}

#[cfg(not(unix))]
fn drop_privileges(_name: &str) -> Result<(), Error> {
    Err("--run-as is only available on Unix".into())
}
