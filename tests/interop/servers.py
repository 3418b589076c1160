"""Server descriptions for the interop and differential tests.

A test never knows which server it talks to: it gets a `Server` with the
loopback host, the four ports, the CA certificate that signs the server's
certificate, a user and password, a `deliver(user, bytes)` function (the MDA
path) and a `reset()` hook that empties the user's mail store.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from imapclient import IMAPClient

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"

USER = "test"
PASSWORD = "test"
OTHER_USER = "other"
OTHER_PASSWORD = "other-pw"


@dataclasses.dataclass
class Server:
    """One running IMAP/POP3 server on loopback."""

    name: str
    host: str
    imap_port: int
    imaps_port: int
    pop3_port: int
    pop3s_port: int
    ca_cert: str
    user: str
    password: str
    deliver_fn: Callable[[str, bytes], None]
    stop_fn: Callable[[], None]
    # Capabilities this server lacks although postroom has them; tests that
    # need one are skipped on this server (postroom-only cases).
    lacks: frozenset = frozenset()
    workdir: str = ""
    # Name the certificate is issued to. Some clients (mbsync) do not match
    # IP addresses against subjectAltName, so clients connect to this name;
    # it must resolve to the loopback address the server listens on.
    tls_name: str = "localhost"
    # The server process, where the harness started it itself (postroom);
    # the crash test kills it with SIGKILL.
    process: Optional[subprocess.Popen] = None

    def deliver(self, user: str, message: bytes) -> None:
        """Deliver one message into `user`'s INBOX as the MDA would."""
        self.deliver_fn(user, message)

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_cert)
        return ctx

    def imap(self, user: Optional[str] = None, password: Optional[str] = None) -> IMAPClient:
        """A logged-in IMAPClient over implicit TLS."""
        c = IMAPClient(self.host, port=self.imaps_port, ssl=True,
                       ssl_context=self.ssl_context(), timeout=30)
        c.login(user or self.user, password or self.password)
        return c

    def reset(self, user: Optional[str] = None, password: Optional[str] = None) -> None:
        """Empty the user's store over IMAP: every folder but INBOX is
        deleted and unsubscribed, INBOX is expunged. Works on any server."""
        c = self.imap(user, password)
        try:
            names = [n for (_f, _d, n) in c.list_folders()]
            for n in sorted(names, key=lambda s: (-s.count("."), s)):
                if n.upper() == "INBOX":
                    continue
                try:
                    c.delete_folder(n)
                except Exception:
                    pass
            for n in c.list_sub_folders():
                name = n[2]
                if name.upper() != "INBOX":
                    try:
                        c.unsubscribe_folder(name)
                    except Exception:
                        pass
            c.select_folder("INBOX")
            uids = c.search("ALL")
            if uids:
                c.add_flags(uids, [b"\\Deleted"])
                c.expunge()
            c.close_folder()
        finally:
            c.logout()


def _wait_ports(host: str, ports, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    for p in ports:
        while True:
            try:
                with socket.create_connection((host, p), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"port {p} on {host} did not open")
                time.sleep(0.1)


def _read_state(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def start_dovecot(workdir: str, name: str = "dovecot") -> Server:
    """Start a private Dovecot with scripts/dovecot-start."""
    subprocess.run(
        [str(SCRIPTS / "dovecot-start"), workdir,
         f"{USER}:{PASSWORD}", f"{OTHER_USER}:{OTHER_PASSWORD}"],
        check=True, stdout=subprocess.DEVNULL)
    st = _read_state(Path(workdir) / "state")

    def deliver(user: str, message: bytes) -> None:
        # dovecot-lda is Dovecot's MDA: it reads one message on stdin.
        subprocess.run(["/usr/lib/dovecot/dovecot-lda", "-c", st["CONFIG"],
                        "-d", user, "-f", "sender@example.org"],
                       input=message, check=True)

    def stop() -> None:
        subprocess.run([str(SCRIPTS / "dovecot-stop"), workdir], check=False)

    return Server(
        name=name, host=st["HOST"],
        imap_port=int(st["IMAP_PORT"]), imaps_port=int(st["IMAPS_PORT"]),
        pop3_port=int(st["POP3_PORT"]), pop3s_port=int(st["POP3S_PORT"]),
        ca_cert=st["CA_CERT"], user=USER, password=PASSWORD,
        deliver_fn=deliver, stop_fn=stop, workdir=workdir,
        lacks=frozenset(),
    )


class Unavailable(Exception):
    """The server cannot be started here; the message says why."""


_ADDR = re.compile(r"(127\.0\.0\.1|\[::1\]):(\d+)")


def _classify(line: str) -> Optional[str]:
    low = line.lower()
    for proto in ("imaps", "pop3s", "imap", "pop3"):
        if re.search(rf"\b{proto}\b", low):
            return proto
    return None


def parse_startup(text: str):
    """Read the example server's start-up output: each line with a loopback
    address is classified by the protocol word on it (first match of imaps,
    pop3s, imap, pop3 as a whole word); the first `/....pem` path not naming
    a key is the certificate. Returns ({proto: port}, cert or None)."""
    ports: dict = {}
    cert: Optional[str] = None
    for line in text.splitlines():
        m = _ADDR.search(line)
        proto = _classify(line)
        if m and proto and proto not in ports:
            ports[proto] = int(m.group(2))
        c = re.search(r"(/[^\s'\"]+\.pem)", line)
        if c and "key" not in Path(c.group(1)).name and cert is None:
            cert = c.group(1)
    return ports, cert


def build_example() -> Path:
    """`cargo build [--release] --example server` in this repository."""
    if not (REPO / "examples" / "server.rs").exists():
        raise Unavailable("examples/server.rs does not exist yet "
                          "(postroom's example server is not built)")
    if shutil.which("cargo") is None:
        raise Unavailable("cargo not found")
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target"))
    profile = os.environ.get("POSTROOM_INTEROP_PROFILE", "release")
    build = ["cargo", "build", "--features", "tokio", "--example", "server"]
    if profile == "release":
        build.append("--release")
    b = subprocess.run(build, cwd=REPO, env=env, capture_output=True, text=True)
    if b.returncode != 0:
        tail = "\n".join(b.stderr.splitlines()[-15:])
        raise Unavailable(f"`{' '.join(build)}` does not build:\n{tail}")
    return Path(env["CARGO_TARGET_DIR"]) / profile / "examples" / "server"


def start_postroom(workdir: str) -> Server:
    """Build and start postroom's bundled example server (issue 8, §3).

    The example prints every bound address at start; each line naming an
    address is classified by the protocol word on it (imaps, pop3s, imap,
    pop3). Users come from a passwd-file written here (`--users`).
    """
    prebuilt = os.environ.get("POSTROOM_SERVER_BIN")
    if prebuilt:
        exe = Path(prebuilt)
        if not exe.is_file():
            raise Unavailable(f"POSTROOM_SERVER_BIN={prebuilt} is not a file")
    else:
        exe = build_example()
    data = Path(workdir) / "data"
    data.mkdir(parents=True, exist_ok=True)
    users = Path(workdir) / "users"
    users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n"
                     f"{OTHER_USER}:{{PLAIN}}{OTHER_PASSWORD}\n")
    common = ["--data", str(data), "--users", str(users)]
    log = open(Path(workdir) / "server.log", "w+")
    proc = subprocess.Popen(
        [str(exe), *common,
         "--imap", "127.0.0.1:0", "--imaps", "127.0.0.1:0",
         "--pop3", "127.0.0.1:0", "--pop3s", "127.0.0.1:0"],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    ports: dict = {}
    cert: Optional[str] = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(ports) < 4:
        if proc.poll() is not None:
            break
        log.seek(0)
        ports, cert = parse_startup(log.read())
        time.sleep(0.2)
    if len(ports) < 4:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        log.seek(0)
        raise Unavailable("example server did not print four addresses:\n" + log.read()[-2000:])
    if cert is None:
        found = sorted(p for p in data.rglob("*.pem") if "key" not in p.name)
        if not found:
            raise Unavailable("example server's certificate not found under --data")
        cert = str(found[0])
    _wait_ports("127.0.0.1", ports.values())

    def deliver(user: str, message: bytes) -> None:
        # `deliver --user NAME` with the server's --data/--users; the options
        # may belong before or after the subcommand, so a usage error (exit
        # status 2) of the first form tries the second.
        for argv in ([str(exe), *common, "deliver", "--user", user],
                     [str(exe), "deliver", "--user", user, *common]):
            r = subprocess.run(argv, input=message, capture_output=True, cwd=workdir)
            if r.returncode == 0:
                return
            if r.returncode != 2:
                break
        raise RuntimeError(f"deliver failed ({r.returncode}): {r.stderr.decode(errors='replace')}")

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    return Server(
        name="postroom", host="127.0.0.1",
        imap_port=ports["imap"], imaps_port=ports["imaps"],
        pop3_port=ports["pop3"], pop3s_port=ports["pop3s"],
        ca_cert=cert, user=USER, password=PASSWORD,
        deliver_fn=deliver, stop_fn=stop, workdir=workdir, process=proc,
    )


def new_workdir(prefix: str) -> str:
    return tempfile.mkdtemp(prefix=f"postroom-{prefix}-")
