//! Crash safety: a child process (this binary re-executed) appends,
//! delivers, copies, moves and expunges in a loop and is killed with
//! SIGKILL at a random moment; afterwards every acknowledged message must be
//! present exactly once with the UID it was acknowledged with, acknowledged
//! expunges must be gone, a message caught mid-move must be in exactly one
//! of the two folders, and no UID may have been given twice.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postroom_mailbox::{FlagSet, MaildirStore, Store, StoreMode, deliver};
use postroom_types::{Flag, MailboxName, Uid};

const ROUNDS: usize = 12;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--crash-child") {
        child(Path::new(&args[2]), args[3].parse().unwrap());
        return;
    }
    // Under `cargo test` libtest flags may be passed; they are ignored.
    parent();
    println!("crash: 1 passed, 0 failed");
}

fn message(id: &str) -> Vec<u8> {
    format!("Message-ID: <{id}@crash>\r\nSubject: {id}\r\n\r\nbody of {id}\r\n").into_bytes()
}

fn id_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let start = text.find('<').unwrap() + 1;
    let end = text.find('@').unwrap();
    text[start..end].to_owned()
}

/// The loop run in the child: prints one line per acknowledged operation.
fn child(root: &Path, round: usize) {
    let store = MaildirStore::new(root).unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let copy = store.open(&MailboxName::new("INBOX.Copy")).unwrap();
    let moved = store.open(&MailboxName::new("INBOX.Moved")).unwrap();
    let out = std::io::stdout();
    let mut mine: Vec<(String, Uid)> = Vec::new();
    for i in 0.. {
        let id = format!("r{round}i{i}");
        let mut o = out.lock();
        match i % 5 {
            4 => {
                if let Some((src_id, uid)) = mine.pop() {
                    // Announced before it starts: a kill during the move
                    // leaves the message in one of the two folders.
                    writeln!(o, "m {src_id}").unwrap();
                    o.flush().unwrap();
                    let pairs = inbox.move_to(&[uid], &moved).unwrap();
                    writeln!(o, "M {src_id} {}", pairs[0].1.get()).unwrap();
                }
            }
            0 | 2 => {
                let uid = inbox.append(&message(&id), &FlagSet::new(), None).unwrap();
                writeln!(o, "A {id} {}", uid.get()).unwrap();
                mine.push((id, uid));
            }
            1 => {
                deliver(root, &message(&id)).unwrap();
                writeln!(o, "D {id}").unwrap();
            }
            _ => {
                if let Some((src_id, uid)) = mine.first().cloned() {
                    let pairs = inbox.copy_to(&[uid], &copy).unwrap();
                    writeln!(o, "C {src_id} {}", pairs[0].1.get()).unwrap();
                    // Announced before it starts: a kill during the expunge
                    // may or may not have removed the message.
                    writeln!(o, "x {src_id}").unwrap();
                    o.flush().unwrap();
                    inbox
                        .store(
                            &[uid],
                            StoreMode::Add,
                            &FlagSet::from_flags(&[Flag::Deleted]),
                        )
                        .unwrap();
                    inbox.expunge(Some(&[uid])).unwrap();
                    writeln!(o, "X {src_id}").unwrap();
                    mine.remove(0);
                }
            }
        }
        o.flush().unwrap();
    }
}

fn parent() {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().join("Maildir");
    {
        let store = MaildirStore::new(&root).unwrap();
        store.create(&MailboxName::new("INBOX.Copy")).unwrap();
        store.create(&MailboxName::new("INBOX.Moved")).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut present: HashMap<String, Option<u32>> = HashMap::new(); // id -> acked INBOX uid
    let mut expunged: HashSet<String> = HashSet::new();
    let mut maybe_gone: HashSet<String> = HashSet::new();
    let mut copies: HashMap<u32, String> = HashMap::new(); // Copy uid -> id
    let mut uid_owner: HashMap<u32, String> = HashMap::new();
    let mut moves = Moves::default();
    let mut validity = None;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--crash-child", root.to_str().unwrap(), &round.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + rand() % 120));
        child.kill().unwrap();
        let stdout = child.stdout.take().unwrap();
        child.wait().unwrap();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["A", id, uid] => {
                    let uid: u32 = uid.parse().unwrap();
                    if let Some(prev) = uid_owner.insert(uid, id.to_string()) {
                        panic!("uid {uid} given to {prev} and {id}");
                    }
                    present.insert(id.to_string(), Some(uid));
                }
                ["D", id] => {
                    present.insert(id.to_string(), None);
                }
                ["C", id, uid] => {
                    let uid: u32 = uid.parse().unwrap();
                    assert!(
                        copies.insert(uid, id.to_string()).is_none(),
                        "copy uid {uid} reused"
                    );
                }
                ["X", id] => {
                    expunged.insert(id.to_string());
                }
                ["x", id] => {
                    maybe_gone.insert(id.to_string());
                }
                ["m", id] => {
                    moves.started.insert(id.to_string());
                }
                ["M", id, uid] => {
                    let uid: u32 = uid.parse().unwrap();
                    if let Some(prev) = moves.done.insert(id.to_string(), uid) {
                        panic!("{id} moved twice ({prev}, {uid})");
                    }
                }
                // A line cut short by the kill was not acknowledged.
                _ => {}
            }
        }
        check(
            &root,
            &present,
            &expunged,
            &maybe_gone,
            &copies,
            &moves,
            &mut uid_owner,
            &mut validity,
        );
    }
    assert!(!moves.started.is_empty(), "children moved messages");
    assert!(
        present.len() > ROUNDS,
        "children did work ({} acks)",
        present.len()
    );
}

/// Moves started (`m`) and acknowledged (`M`, with the new UID).
#[derive(Default)]
struct Moves {
    started: HashSet<String>,
    done: HashMap<String, u32>,
}

#[allow(clippy::too_many_arguments)]
fn check(
    root: &Path,
    present: &HashMap<String, Option<u32>>,
    expunged: &HashSet<String>,
    maybe_gone: &HashSet<String>,
    copies: &HashMap<u32, String>,
    moves: &Moves,
    uid_owner: &mut HashMap<u32, String>,
    validity: &mut Option<u32>,
) {
    let store = MaildirStore::new(root).unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let v = inbox.uid_validity().get();
    assert_eq!(*validity.get_or_insert(v), v, "UIDVALIDITY changed");
    let mut seen: HashMap<String, Vec<u32>> = HashMap::new();
    for m in inbox.messages() {
        let raw = inbox.raw(m.uid).unwrap();
        let id = id_of(&raw);
        seen.entry(id.clone()).or_default().push(m.uid.get());
        // Unacknowledged messages get UIDs too: never one given before.
        if let Some(owner) = uid_owner.insert(m.uid.get(), id.clone()) {
            assert_eq!(owner, id, "uid {} reused", m.uid);
        }
    }
    let moved = store.open(&MailboxName::new("INBOX.Moved")).unwrap();
    let mut in_moved: HashMap<String, Vec<u32>> = HashMap::new();
    for m in moved.messages() {
        let id = id_of(&moved.raw(m.uid).unwrap());
        in_moved.entry(id).or_default().push(m.uid.get());
    }
    for id in &moves.started {
        let here = seen.get(id).map_or(0, Vec::len);
        let there = in_moved.get(id).map_or(&[][..], Vec::as_slice);
        assert_eq!(
            here + there.len(),
            1,
            "{id} mid-move: {here} in INBOX, {there:?} moved"
        );
        if let Some(uid) = moves.done.get(id) {
            assert_eq!(there, [*uid], "acknowledged move of {id}");
        }
    }
    for (id, uid) in present {
        if moves.started.contains(id) {
            continue;
        }
        if expunged.contains(id) {
            assert!(!seen.contains_key(id), "{id} was expunged but is back");
            continue;
        }
        let Some(got) = seen.get(id) else {
            assert!(maybe_gone.contains(id), "acknowledged {id} lost");
            continue;
        };
        assert_eq!(got.len(), 1, "{id} present {} times", got.len());
        if let Some(uid) = uid {
            assert_eq!(got[0], *uid, "{id} changed UID");
        }
    }
    let copy = store.open(&MailboxName::new("INBOX.Copy")).unwrap();
    let copy_msgs: HashMap<u32, Arc<Vec<u8>>> = copy
        .messages()
        .iter()
        .map(|m| (m.uid.get(), copy.raw(m.uid).unwrap()))
        .collect();
    for (uid, id) in copies {
        let raw = copy_msgs
            .get(uid)
            .unwrap_or_else(|| panic!("acknowledged copy {uid} lost"));
        assert_eq!(id_of(raw), *id);
    }
}
