//! POP3 over real sockets: the POP3 session run by the tokio driver and
//! listeners on 127.0.0.1 (ephemeral ports), plain with STLS and implicit
//! TLS, talked to by independent clients: Python's poplib (USER/PASS,
//! APOP, STLS, POP3_SSL) and curl (`pop3://` with SASL, `--ssl-reqd`
//! STLS, `pop3s://`). Both must be installed (`python3`, `curl`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postroom_mailbox::{FlagSet, Mailbox, MaildirStore, Store};
use postroom_server::net::tls::{DEFAULT_SELF_SIGNED_NAMES, ReloadableCert, SelfSigned};
use postroom_server::net::{
    ConnectionInfo, ConnectionLimits, DriverConfig, ListenerConfig, Server,
};
use postroom_server::pop3::{Config, ConnectionContext, HomeMaildir, Session};
use postroom_server::users::UserDb;
use postroom_types::MailboxName;

const FIRST: &[u8] = b"Subject: first\r\n\r\n.dot line\r\nsecond\r\n";
const SECOND: &[u8] = b"Subject: second\n\nstored with LF\n";

struct Fixture {
    dir: tempfile::TempDir,
    cafile: PathBuf,
    plain: SocketAddr,
    pop3s: SocketAddr,
    inbox: Arc<Mailbox>,
    server: Server,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("alice");
    let store = MaildirStore::new(&root).expect("Maildir");
    let inbox = store.open(&MailboxName::inbox()).expect("INBOX");
    for m in [FIRST, SECOND] {
        inbox.append(m, &FlagSet::new(), None).expect("append");
    }

    let cert = SelfSigned::generate(&DEFAULT_SELF_SIGNED_NAMES).expect("certificate");
    let cafile = dir.path().join("cert.pem");
    std::fs::write(&cafile, &cert.cert_pem).expect("write cert");
    let resolver = ReloadableCert::new(cert.certified_key().expect("key"));
    let tls = resolver.server_config().expect("TLS config");

    let users = format!("alice:{{PLAIN}}secret::::{}\n", root.display());
    let users = UserDb::parse(users.as_bytes()).expect("user file");
    let mut config = Config::new(Arc::new(users), HomeMaildir::default());
    config.login_delay = Duration::from_millis(200);
    // Password checks and maildrop opening on the driver's blocking pool.
    config.offload_logins = true;
    let config = Arc::new(config);
    let factory = move |info: ConnectionInfo| {
        let context = ConnectionContext {
            peer: info.peer,
            tls: info.tls,
            starttls: info.starttls,
        };
        Session::new(Arc::clone(&config), context, Instant::now())
    };

    let server = Server::new(ConnectionLimits::default());
    let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let plain = server
        .listen(
            ListenerConfig::plain("pop3", any, Some(Arc::clone(&tls)))
                .with_driver(DriverConfig::pop3()),
            factory.clone(),
        )
        .await
        .expect("bind pop3");
    let pop3s = server
        .listen(
            ListenerConfig::implicit_tls("pop3s", any, tls).with_driver(DriverConfig::pop3()),
            factory,
        )
        .await
        .expect("bind pop3s");
    Fixture {
        dir,
        cafile,
        plain,
        pop3s,
        inbox,
        server,
    }
}

/// Runs a client program off the runtime's worker threads.
async fn run(program: &'static str, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(program)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"))
    })
    .await
    .expect("client task")
}

async fn poplib(f: &Fixture, addr: SocketAddr, mode: &str, actions: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pop3_poplib.py");
    let args = vec![
        script.display().to_string(),
        "127.0.0.1".into(),
        addr.port().to_string(),
        mode.into(),
        f.cafile.display().to_string(),
        "alice".into(),
        "secret".into(),
        actions.into(),
    ];
    let out = run("python3", args).await;
    assert!(
        out.status.success(),
        "poplib {mode} {actions} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("JSON output")
}

async fn curl(f: &Fixture, extra: &[&str], url: String) -> Output {
    let mut args: Vec<String> = [
        "--silent",
        "--show-error",
        "--max-time",
        "20",
        "--user",
        "alice:secret",
        "--cacert",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(f.cafile.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url);
    run("curl", args).await
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    postroom_mailbox::message::to_crlf(raw).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_poplib_plain_stls_and_pop3s() {
    let f = start().await;
    let (size1, size2) = (FIRST.len(), crlf(SECOND).len());

    let out = poplib(
        &f,
        f.plain,
        "plain",
        "capa,login,stat,list,uidl,retr1,top1,quit",
    )
    .await;
    assert!(
        out.contains("\"welcome\": \"+OK POP3 server ready <"),
        "{out}"
    );
    assert!(
        out.contains("\"STLS\": []") && out.contains("\"PIPELINING\": []"),
        "{out}"
    );
    assert!(out.contains("\"SASL\": [\"PLAIN\", \"LOGIN\"]"), "{out}");
    assert!(
        out.contains(&format!("\"stat\": [2, {}]", size1 + size2)),
        "{out}"
    );
    assert!(
        out.contains(&format!("\"list\": [\"1 {size1}\", \"2 {size2}\"]")),
        "{out}"
    );
    let uv = f.inbox.uid_validity().get();
    assert!(
        out.contains(&format!(
            "\"uidl\": [\"1 00000001{uv:08x}\", \"2 00000002{uv:08x}\"]"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "\"retr1\": {{\"resp\": \"+OK {size1} octets\", \"lines\": [\"Subject: first\", \"\", \".dot line\", \"second\"]}}"
        )),
        "{out}"
    );
    assert!(
        out.contains("\"top1\": [\"Subject: first\", \"\"]"),
        "{out}"
    );
    assert!(
        out.contains("\"quit\": \"+OK bye, 0 messages deleted\""),
        "{out}"
    );

    // STLS: offered before, not after; the login happens inside TLS.
    let out = poplib(&f, f.plain, "stls", "capa,login,stat,quit").await;
    let before = out.split("\"stls\":").next().expect("text before STLS");
    assert!(
        before.contains("\"capa_before_stls\": [") && before.contains("\"STLS\""),
        "{out}"
    );
    assert!(
        out.contains("\"stls\": \"+OK Begin TLS negotiation\""),
        "{out}"
    );
    let after = out.split("\"capa\":").nth(1).expect("capa after STLS");
    assert!(!after.contains("STLS"), "{out}");

    // POP3S with APOP; DELE + QUIT removes the message from the Maildir.
    let out = poplib(&f, f.pop3s, "ssl", "apop,stat,dele1,quit").await;
    assert!(
        out.contains("\"apop\": \"+OK maildrop has 2 messages"),
        "{out}"
    );
    assert!(
        out.contains("\"quit\": \"+OK bye, 1 messages deleted\""),
        "{out}"
    );
    f.inbox.rescan().expect("rescan");
    assert_eq!(f.inbox.len(), 1);

    let out = poplib(&f, f.plain, "plain", "badpass,quit").await;
    assert!(
        out.contains("\"badpass\": \"-ERR [AUTH] authentication failed\""),
        "{out}"
    );
    f.server.shutdown(Duration::from_secs(2)).await;
    drop(f.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_pop3_and_pop3s() {
    let f = start().await;
    let plain = f.plain.port();

    // LIST (curl logs in with AUTH PLAIN, advertised in CAPA).
    let out = curl(&f, &[], format!("pop3://127.0.0.1:{plain}/")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sizes = format!("1 {}\r\n2 {}\r\n", FIRST.len(), crlf(SECOND).len());
    assert_eq!(String::from_utf8_lossy(&out.stdout), sizes);

    // RETR, plain: the unstuffed body is the stored message with CRLF.
    let out = curl(&f, &[], format!("pop3://127.0.0.1:{plain}/1")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, FIRST);

    // RETR after STLS (required), then over implicit TLS.
    let out = curl(&f, &["--ssl-reqd"], format!("pop3://127.0.0.1:{plain}/2")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, crlf(SECOND));
    let out = curl(&f, &[], format!("pop3s://127.0.0.1:{}/1", f.pop3s.port())).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, FIRST);

    // RETR set \Seen for IMAP.
    f.inbox.rescan().expect("rescan");
    assert!(f.inbox.messages().iter().all(|m| m.flags.is_seen()));

    // A wrong password: curl reports the login failure (exit code 67).
    let mut args = vec!["--user", "alice:wrong"];
    args.push("--silent");
    let out = curl(&f, &args, format!("pop3://127.0.0.1:{plain}/1")).await;
    assert_eq!(out.status.code(), Some(67), "{out:?}");
    f.server.shutdown(Duration::from_secs(2)).await;
}
