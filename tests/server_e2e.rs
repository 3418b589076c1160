//! End-to-end tests of the bundled server (`examples/server.rs`): the
//! example binary runs on 127.0.0.1 with ephemeral ports and a temporary
//! data directory, driven by Python's imaplib and poplib
//! (`tests/e2e/imap_e2e.py`). Needs `python3` on the PATH.

use std::path::PathBuf;
use std::process::Command;

/// The example binary cargo built next to this test's directory.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/server_e2e-<hash> -> target/<profile>/examples/server
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let mut path = profile_dir.join("examples").join("server");
    if cfg!(windows) {
        path.set_extension("exe");
    }
    assert!(
        path.exists(),
        "{} is missing; run the tests with --features tokio so cargo builds the example",
        path.display()
    );
    path
}

#[test]
fn imaplib_and_poplib_against_the_example_server() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/imap_e2e.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(server_binary())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    assert!(stdout.contains("ok check_idle"), "{stdout}");
}

// ----- the example server driven directly (no Python) ----------------------

#[path = "../examples/common/tls.rs"]
mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running example server; killed when dropped.
struct Server {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `examples/server` with `args` (plus every listener but IMAP
    /// and IMAPS off) and waits for its `ready` line.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(server_binary());
        cmd.args(args)
            .args(["--pop3", "off", "--pop3s", "off"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the example server starts");
        let collect = |pipe: Box<dyn Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().unwrap().push(line);
                }
            });
            lines
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        let server = Server {
            child,
            stdout,
            stderr,
        };
        server.wait_stdout("ready");
        server
    }

    fn wait_lines(lines: &Mutex<Vec<String>>, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = lines.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {what} line; got: {:?}",
                lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_stdout(&self, text: &str) -> String {
        Server::wait_lines(&self.stdout, text, |l| l.contains(text))
    }

    fn wait_stderr(&self, pred: impl Fn(&str) -> bool) -> String {
        Server::wait_lines(&self.stderr, "matching stderr", pred)
    }

    /// The address printed as `listening NAME ADDRESS`.
    fn addr(&self, name: &str) -> SocketAddr {
        let prefix = format!("listening {name} ");
        let line = Server::wait_lines(&self.stdout, &prefix, |l| l.starts_with(&prefix));
        line[prefix.len()..].parse().expect("an address")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line-at-a-time IMAP client over any stream.
struct Imap<S: Read + Write> {
    io: BufReader<S>,
    n: u32,
}

impl<S: Read + Write> Imap<S> {
    fn new(stream: S) -> Imap<S> {
        let mut c = Imap {
            io: BufReader::new(stream),
            n: 0,
        };
        let greeting = c.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        c
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.io.read_line(&mut l).expect("a response line");
        assert!(!l.is_empty(), "the server closed the connection");
        l
    }

    /// Sends `command` (with any literal's bytes already in it) and
    /// returns every line up to the tagged one.
    fn run(&mut self, command: &str) -> Vec<String> {
        self.n += 1;
        let tag = format!("t{}", self.n);
        self.io
            .get_mut()
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        self.io.get_mut().flush().unwrap();
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            let done = l.starts_with(&format!("{tag} "));
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    fn ok(&mut self, command: &str) -> Vec<String> {
        let lines = self.run(command);
        let last = lines.last().unwrap();
        assert!(last.split(' ').nth(1) == Some("OK"), "{command}: {lines:?}");
        lines
    }
}

fn data_dir_with(users: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users"), users).unwrap();
    dir
}

#[test]
fn a_failed_login_is_logged_with_the_peer_and_without_the_password() {
    let dir = data_dir_with("alice:{PLAIN}right-password\n");
    let data = dir.path().to_str().unwrap();
    let server = Server::start(
        &["--data", data, "--imap", "127.0.0.1:0", "--imaps", "off"],
        &[("RUST_LOG", "info")],
    );
    let tcp = TcpStream::connect(server.addr("imap")).unwrap();
    let local = tcp.local_addr().unwrap().to_string();
    let mut c = Imap::new(tcp);
    let password = "Wr0ng-Passw0rd-7c1e";
    let lines = c.run(&format!("LOGIN alice {password}"));
    assert!(lines.last().unwrap().contains("NO"), "{lines:?}");
    let line = server.wait_stderr(|l| l.contains("login failed"));
    assert!(line.contains(&format!("peer={local}")), "{line}");
    assert!(line.contains("listener=imap"), "{line}");
    assert!(line.contains("user=alice"), "{line}");
    c.ok("LOGIN alice right-password");
    server.wait_stderr(|l| l.contains("logged in") && l.contains(&local));
    c.ok("LOGOUT");
    server.wait_stderr(|l| l.contains("closed") && l.contains(&local));
    let all = server.stderr.lock().unwrap().join("\n");
    assert!(!all.contains(password), "the password was logged:\n{all}");
    assert!(
        !all.contains("right-password"),
        "the password was logged:\n{all}"
    );
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;
use tokio_rustls::rustls;

/// Writes a new self-signed pair for `localhost` to `cert` and `key`;
/// returns the certificate's DER.
fn write_cert_pair(cert: &std::path::Path, key: &std::path::Path) -> Vec<u8> {
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen makes a certificate");
    std::fs::write(cert, pair.cert.pem()).unwrap();
    std::fs::write(key, pair.key_pair.serialize_pem()).unwrap();
    pair.cert.der().to_vec()
}

/// An IMAPS connection that accepts only the certificate in `pinned`.
fn imaps(addr: SocketAddr, pinned: &std::path::Path) -> Imap<TlsStream> {
    let config = tls::client_config(pinned).expect("a client config");
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    Imap::new(rustls::StreamOwned::new(conn, tcp))
}

fn presented(c: &Imap<TlsStream>) -> Vec<u8> {
    c.io.get_ref()
        .conn
        .peer_certificates()
        .expect("a certificate")[0]
        .to_vec()
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_certificate_and_keeps_open_connections() {
    let dir = data_dir_with("alice:{PLAIN}secret\n");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let old_der = write_cert_pair(&cert, &key);
    let old_copy = dir.path().join("old.pem");
    std::fs::copy(&cert, &old_copy).unwrap();
    let server = Server::start(
        &[
            "--data",
            dir.path().to_str().unwrap(),
            "--imap",
            "off",
            "--imaps",
            "127.0.0.1:0",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let addr = server.addr("imaps");
    let mut old = imaps(addr, &old_copy);
    assert_eq!(presented(&old), old_der);
    old.ok("LOGIN alice secret");
    old.ok("SELECT INBOX");

    let new_der = write_cert_pair(&cert, &key);
    assert_ne!(new_der, old_der);
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.wait_stdout("certificate reloaded");

    let mut new = imaps(addr, &cert);
    assert_eq!(
        presented(&new),
        new_der,
        "a new connection gets the new certificate"
    );
    new.ok("LOGIN alice secret");
    new.ok("LOGOUT");
    // The connection made before the reload goes on with its session.
    old.ok("NOOP");
    old.ok("LOGOUT");
}

/// `--run-as nobody` when the test runs as root: the server binds, then
/// runs as that user, and what it writes belongs to that user.
#[cfg(target_os = "linux")]
#[test]
fn run_as_drops_root_after_binding() {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: --run-as needs the test to run as root");
        return;
    }
    let Some(nobody) = nix::unistd::User::from_name("nobody").unwrap() else {
        eprintln!("skipped: no user `nobody` on this system");
        return;
    };
    let (uid, gid) = (nobody.uid.as_raw(), nobody.gid.as_raw());
    let dir = data_dir_with("alice:{PLAIN}secret\n");
    // The server runs as nobody after binding: its data must be nobody's.
    for path in [dir.path().to_path_buf(), dir.path().join("users")] {
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    }
    let server = Server::start(
        &[
            "--data",
            dir.path().to_str().unwrap(),
            "--imap",
            "127.0.0.1:0",
            "--imaps",
            "off",
            "--run-as",
            "nobody",
        ],
        &[],
    );
    let addr = server.addr("imap");
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let ids = |key: &str| -> Vec<u32> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} line in {status}"));
        line[key.len()..]
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect()
    };
    // Real, effective, saved and file-system ids.
    assert_eq!(ids("Uid:"), vec![uid; 4], "{status}");
    assert_eq!(ids("Gid:"), vec![gid; 4], "{status}");

    let mut c = Imap::new(TcpStream::connect(addr).unwrap());
    c.ok("LOGIN alice secret");
    let message = "Subject: hello\r\n\r\nbody\r\n";
    c.io.get_mut()
        .write_all(format!("a1 APPEND INBOX {{{}+}}\r\n{message}\r\n", message.len()).as_bytes())
        .unwrap();
    let l = c.line();
    assert!(l.starts_with("a1 OK"), "{l}");
    c.ok("LOGOUT");
    let cur = dir.path().join("mail").join("alice").join("cur");
    let files: Vec<_> = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    for f in files.iter().chain([&cur]) {
        let m = std::fs::metadata(f).unwrap();
        assert_eq!((m.uid(), m.gid()), (uid, gid), "{}", f.display());
    }
}
