//! The user database: Dovecot's passwd-file format and password checks.
//!
//! A line is `user:password:uid:gid:gecos:home:shell:extra_fields`; every
//! field after the password is optional, so `alice:{PLAIN}secret` is a whole
//! line. `#` starts a comment line; blank lines are skipped. The password
//! field is `{SCHEME}value` (see [`Scheme`]) or a bare crypt(3) value. The
//! home field, when set, is the user's Maildir root. `extra_fields` is a
//! space-separated list of `key=value` or bare `key` items; `acl_groups=a,b`
//! (also spelled `userdb_acl_groups=`) gives the user's groups, every other
//! item is kept as it is.
//!
//! [`UserDb::parse`] is a pure function over bytes. [`load`] reads a file,
//! [`append_user`] adds a line to one (what `useradd` needs) and [`save`]
//! replaces one atomically.
//!
//! ```
//! use postroom_server::users::{Scheme, StoredPassword, UserDb, UserEntry};
//!
//! let mut db = UserDb::parse(b"alice:{PLAIN}secret\n")?;
//! assert!(db.verify("alice", b"secret").is_some());
//! assert_eq!(db.plaintext_secret("alice"), Some("secret"));
//!
//! let hashed = StoredPassword::hash(Scheme::Sha512Crypt, b"s3cret")?;
//! db.insert(UserEntry::new("bob@example.org", Some(hashed))?)?;
//! assert!(db.verify("bob@example.org", b"s3cret").is_some());
//! assert_eq!(db.plaintext_secret("bob@example.org"), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod password;

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use password::{HashError, PasswordError, Scheme, StoredPassword};

/// Longest user name accepted, in bytes (a directory name on most file
/// systems is limited to 255 bytes).
pub const MAX_USER_NAME: usize = 255;

/// One user: a passwd-file line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEntry {
    name: String,
    password: Option<StoredPassword>,
    uid: Option<String>,
    gid: Option<String>,
    gecos: String,
    home: Option<PathBuf>,
    shell: Option<String>,
    groups: Vec<String>,
    extra: Vec<ExtraField>,
}

/// An extra field other than `acl_groups`: `key=value` or a bare `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraField {
    /// The key, as written (for example `userdb_quota_rule` or `nopassword`).
    pub key: String,
    /// The value after `=`, if there was one.
    pub value: Option<String>,
}

impl UserEntry {
    /// A user with a name (validated with [`validate_user_name`]) and an
    /// optional password (`None`: the user cannot log in with a password).
    pub fn new(
        name: impl Into<String>,
        password: Option<StoredPassword>,
    ) -> Result<UserEntry, UserNameError> {
        let name = name.into();
        validate_user_name(&name)?;
        Ok(UserEntry {
            name,
            password,
            uid: None,
            gid: None,
            gecos: String::new(),
            home: None,
            shell: None,
            groups: Vec::new(),
            extra: Vec::new(),
        })
    }

    /// Sets the home field (the user's Maildir root). It must be UTF-8
    /// without `:`, CR, LF or NUL so it can be written back to the file.
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Result<UserEntry, FieldError> {
        let home = home.into();
        match home.to_str() {
            Some(s) if !s.is_empty() && !s.contains([':', '\r', '\n', '\0']) => {}
            _ => return Err(FieldError::Home),
        }
        self.home = Some(home);
        Ok(self)
    }

    /// Sets the groups (written as `acl_groups=a,b`). Group names must be
    /// non-empty, without `,`, `:`, whitespace or control characters.
    pub fn with_groups<I, S>(mut self, groups: I) -> Result<UserEntry, FieldError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let groups: Vec<String> = groups.into_iter().map(Into::into).collect();
        for g in &groups {
            if !is_valid_group(g) {
                return Err(FieldError::Group(g.clone()));
            }
        }
        self.groups = groups;
        Ok(self)
    }

    /// The user name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stored password, if the line has one.
    pub fn password(&self) -> Option<&StoredPassword> {
        self.password.as_ref()
    }

    /// The uid field, if not empty (kept as text; not used by postroom).
    pub fn uid(&self) -> Option<&str> {
        self.uid.as_deref()
    }

    /// The gid field, if not empty (kept as text; not used by postroom).
    pub fn gid(&self) -> Option<&str> {
        self.gid.as_deref()
    }

    /// The gecos (comment) field, possibly empty.
    pub fn gecos(&self) -> &str {
        &self.gecos
    }

    /// The home field: the user's Maildir root, if set. A relative path is
    /// relative to the server's working directory; callers usually resolve
    /// a missing home to `<data dir>/<user name>`.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// The shell field, if not empty (kept; not used by postroom).
    pub fn shell(&self) -> Option<&str> {
        self.shell.as_deref()
    }

    /// The groups from `acl_groups=` (or `userdb_acl_groups=`), in order.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// The extra fields other than the groups, in file order.
    pub fn extra_fields(&self) -> &[ExtraField] {
        &self.extra
    }

    /// The first extra field named `key`: `Some(Some(value))` for
    /// `key=value`, `Some(None)` for a bare `key`, `None` if absent.
    pub fn extra_field(&self, key: &str) -> Option<Option<&str>> {
        self.extra
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_deref())
    }

    /// The entry as one passwd-file line, without the line ending. Trailing
    /// empty fields are left out.
    pub fn to_line(&self) -> String {
        let mut extra: Vec<String> = Vec::new();
        if !self.groups.is_empty() {
            extra.push(format!("acl_groups={}", self.groups.join(",")));
        }
        for f in &self.extra {
            extra.push(match &f.value {
                Some(v) => format!("{}={v}", f.key),
                None => f.key.clone(),
            });
        }
        let home = self
            .home
            .as_ref()
            .and_then(|h| h.to_str())
            .unwrap_or_default();
        let fields = [
            self.name.clone(),
            self.password
                .as_ref()
                .map(StoredPassword::to_field)
                .unwrap_or_default(),
            self.uid.clone().unwrap_or_default(),
            self.gid.clone().unwrap_or_default(),
            self.gecos.clone(),
            home.to_owned(),
            self.shell.clone().unwrap_or_default(),
            extra.join(" "),
        ];
        let used = fields
            .iter()
            .rposition(|f| !f.is_empty())
            .map_or(1, |i| i + 1);
        fields[..used].join(":")
    }
}

/// An in-memory user database, read from a passwd-file.
#[derive(Clone, Debug, Default)]
pub struct UserDb {
    entries: Vec<UserEntry>,
    index: HashMap<String, usize>,
    /// The entry whose password unknown users are checked against: one
    /// with the most common scheme, so a failed lookup costs what a wrong
    /// password usually costs.
    decoy: Option<usize>,
}

impl UserDb {
    /// An empty database.
    pub fn new() -> UserDb {
        UserDb::default()
    }

    /// Parses a passwd-file. Lines end with LF (a CR before it is ignored);
    /// the input must be UTF-8. Fails on the first bad line, naming it.
    pub fn parse(input: &[u8]) -> Result<UserDb, ParseError> {
        let mut db = UserDb::new();
        // The line of each entry, for duplicate reports.
        let mut lines: Vec<usize> = Vec::new();
        for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
            let line_no = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = std::str::from_utf8(raw).map_err(|e| ParseError::NotUtf8 {
                line: line_no,
                column: e.valid_up_to() + 1,
            })?;
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            // Only a CR right before the LF is a line ending; one elsewhere
            // could not be written back faithfully.
            if let Some(at) = line.find('\r') {
                return Err(ParseError::StrayCarriageReturn {
                    line: line_no,
                    column: at + 1,
                });
            }
            let entry = parse_line(line).map_err(|kind| ParseError::Line {
                line: line_no,
                kind,
            })?;
            if let Some(&first) = db.index.get(&entry.name) {
                return Err(ParseError::Duplicate {
                    line: line_no,
                    first: lines[first],
                    name: entry.name,
                });
            }
            lines.push(line_no);
            db.push(entry);
        }
        db.decoy = db.most_common_scheme_entry();
        Ok(db)
    }

    /// Adds a user; fails if the name is taken.
    pub fn insert(&mut self, entry: UserEntry) -> Result<(), DuplicateUser> {
        if self.index.contains_key(&entry.name) {
            return Err(DuplicateUser(entry.name));
        }
        self.push(entry);
        self.decoy = self.most_common_scheme_entry();
        Ok(())
    }

    fn push(&mut self, entry: UserEntry) {
        self.index.insert(entry.name.clone(), self.entries.len());
        self.entries.push(entry);
    }

    fn most_common_scheme_entry(&self) -> Option<usize> {
        let mut counts: HashMap<Scheme, (usize, usize)> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(p) = &e.password {
                counts.entry(p.scheme()).or_insert((0, i)).0 += 1;
            }
        }
        counts
            .into_values()
            .max_by_key(|&(count, first)| (count, std::cmp::Reverse(first)))
            .map(|(_, first)| first)
    }

    /// Spends about the time a failed check of a real password takes.
    fn decoy_verify(&self, password: &[u8]) {
        let stored = self
            .decoy
            .and_then(|i| self.entries[i].password.as_ref())
            .unwrap_or_else(|| StoredPassword::dummy());
        // The result is meaningless: the login fails whatever it is.
        let _ = stored.verify(password);
    }

    /// The user named `name` (exact match).
    pub fn get(&self, name: &str) -> Option<&UserEntry> {
        self.index.get(name).map(|&i| &self.entries[i])
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The users in file order.
    pub fn iter(&self) -> impl Iterator<Item = &UserEntry> {
        self.entries.iter()
    }

    /// Checks a login. Returns the user when `name` exists, has a password
    /// and `password` matches it.
    ///
    /// An unknown user, or one without a password, is checked against the
    /// password of a user with the file's most common scheme (whose cost
    /// parameters are then the usual ones), or a dummy ARGON2ID hash when
    /// no user has a password, so that the answer takes about as long as a
    /// wrong password would. The result of that check is ignored.
    pub fn verify(&self, name: &str, password: &[u8]) -> Option<&UserEntry> {
        match self.get(name) {
            Some(entry) => match &entry.password {
                Some(stored) => stored.verify(password).then_some(entry),
                None => {
                    self.decoy_verify(password);
                    None
                }
            },
            None => {
                self.decoy_verify(password);
                None
            }
        }
    }

    /// The plaintext secret of a `PLAIN` user, for APOP (RFC 1939 §7) and
    /// similar challenge-response mechanisms. `None` for hashed passwords
    /// and unknown users.
    pub fn plaintext_secret(&self, name: &str) -> Option<&str> {
        self.get(name)?.password.as_ref()?.plaintext()
    }

    /// The whole database as a passwd-file (one [`UserEntry::to_line`] per
    /// user). Comments of a parsed file are not kept; use [`append_user`] to
    /// add a user to an existing file without rewriting it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            out.extend_from_slice(e.to_line().as_bytes());
            out.push(b'\n');
        }
        out
    }
}

/// Checks a user name. User names become directory names and ACL
/// identifiers, so they must be 1 to [`MAX_USER_NAME`] bytes, must not start
/// with `.`, and must not contain `..`, `/`, `\`, `:`, whitespace or control
/// characters. `@` is allowed (`user@domain`).
pub fn validate_user_name(name: &str) -> Result<(), UserNameError> {
    if name.is_empty() {
        return Err(UserNameError::Empty);
    }
    if name.len() > MAX_USER_NAME {
        return Err(UserNameError::TooLong { len: name.len() });
    }
    if name.starts_with('.') {
        return Err(UserNameError::LeadingDot);
    }
    if let Some(offset) = name.find("..") {
        return Err(UserNameError::DotDot { offset });
    }
    if let Some((offset, ch)) = name
        .char_indices()
        .find(|&(_, c)| matches!(c, '/' | '\\' | ':') || c.is_whitespace() || c.is_control())
    {
        return Err(UserNameError::ForbiddenChar { ch, offset });
    }
    Ok(())
}

/// Reads and parses a passwd-file.
pub fn load(path: impl AsRef<Path>) -> Result<UserDb, LoadError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    UserDb::parse(&bytes).map_err(|source| LoadError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Appends `entry` as a line to the passwd-file at `path`, creating it
/// (mode 0600 on Unix) if missing. The file is re-read first and the call
/// fails if the user already exists, so concurrent edits by hand are not
/// overwritten. A missing final newline is added before the new line.
pub fn append_user(path: impl AsRef<Path>, entry: &UserEntry) -> Result<(), LoadError> {
    let path = path.as_ref();
    let io_err = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let existing = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_err(e)),
    };
    let db = UserDb::parse(&existing).map_err(|source| LoadError::Parse {
        path: path.to_owned(),
        source,
    })?;
    if db.get(entry.name()).is_some() {
        return Err(LoadError::Duplicate(DuplicateUser(entry.name.clone())));
    }
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err)?;
    let mut line = Vec::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        line.push(b'\n');
    }
    line.extend_from_slice(entry.to_line().as_bytes());
    line.push(b'\n');
    file.write_all(&line).map_err(io_err)?;
    file.sync_all().map_err(io_err)
}

/// Writes `db` to `path` as a passwd-file ([`UserDb::to_bytes`]; comments
/// of the old file are not kept), atomically: the text goes to a temporary
/// file beside `path` (mode 0600 on Unix), is synced, then renamed over
/// `path`, so a reader sees the old file or the new one, never a part.
pub fn save(path: impl AsRef<Path>, db: &UserDb) -> Result<(), LoadError> {
    let path = path.as_ref();
    let io_err = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(&db.to_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

/// Why a user name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserNameError {
    /// The name is empty.
    #[error("user name is empty")]
    Empty,
    /// The name is longer than [`MAX_USER_NAME`] bytes.
    #[error("user name is {len} bytes long, expected at most 255")]
    TooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// The name starts with `.`.
    #[error("user name starts with `.`")]
    LeadingDot,
    /// The name contains `..`.
    #[error("user name contains `..` at byte {offset}")]
    DotDot {
        /// Byte offset of the first `..`.
        offset: usize,
    },
    /// The name contains a character that is not allowed.
    #[error(
        "user name contains {ch:?} at byte {offset}, expected no `/`, `\\`, `:`, whitespace or control characters"
    )]
    ForbiddenChar {
        /// The character.
        ch: char,
        /// Its byte offset.
        offset: usize,
    },
}

/// A field value that cannot be written to a passwd-file line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The home path is empty, not UTF-8, or contains `:`, CR, LF or NUL.
    #[error("home must be non-empty UTF-8 without `:`, CR, LF or NUL")]
    Home,
    /// A group name is empty or contains `,`, `:`, whitespace or control characters.
    #[error(
        "group name {0:?} must be non-empty without `,`, `:`, whitespace or control characters"
    )]
    Group(String),
}

/// A user name that is already in the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("user {0:?} already exists")]
pub struct DuplicateUser(pub String);

/// What is wrong with one line of a passwd-file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The user name field is invalid.
    #[error("user name field: {0}")]
    UserName(#[source] UserNameError),
    /// The password field is invalid.
    #[error("{0}")]
    Password(#[source] PasswordError),
    /// An `acl_groups=` value holds an empty or invalid group name.
    #[error("extra field acl_groups: {0:?} is not a valid group name")]
    Group(String),
    /// An extra field starts with `=` (no key).
    #[error("extra field {0:?} has no key before `=`")]
    EmptyKey(String),
}

/// A passwd-file that could not be parsed. Line and column numbers start at 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line is not UTF-8.
    #[error("line {line}, column {column}: expected UTF-8 text")]
    NotUtf8 {
        /// The line number.
        line: usize,
        /// The byte column of the first invalid byte.
        column: usize,
    },
    /// A line holds a CR that is not part of its CRLF ending.
    #[error("line {line}, column {column}: unexpected CR, expected LF or CRLF line endings")]
    StrayCarriageReturn {
        /// The line number.
        line: usize,
        /// The byte column of the CR.
        column: usize,
    },
    /// A line is malformed.
    #[error("line {line}: {kind}")]
    Line {
        /// The line number.
        line: usize,
        /// What is wrong.
        #[source]
        kind: LineError,
    },
    /// A user appears twice.
    #[error("line {line}: user {name:?} is already defined on line {first}")]
    Duplicate {
        /// The line of the second definition.
        line: usize,
        /// The line of the first definition.
        first: usize,
        /// The user name.
        name: String,
    },
}

impl ParseError {
    /// The 1-based line number the error refers to.
    pub fn line(&self) -> usize {
        match self {
            ParseError::NotUtf8 { line, .. }
            | ParseError::StrayCarriageReturn { line, .. }
            | ParseError::Line { line, .. }
            | ParseError::Duplicate { line, .. } => *line,
        }
    }
}

/// A user file that could not be read, parsed or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file's contents are invalid.
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error, with its line number.
        #[source]
        source: ParseError,
    },
    /// [`append_user`] was asked to add a user the file already has.
    #[error(transparent)]
    Duplicate(#[from] DuplicateUser),
}

fn parse_line(line: &str) -> Result<UserEntry, LineError> {
    // The extra fields are the rest of the line and may contain `:`.
    let mut fields = line.splitn(8, ':');
    let mut next = || fields.next().filter(|f| !f.is_empty());
    let name = next().unwrap_or_default();
    validate_user_name(name).map_err(LineError::UserName)?;
    let password = next()
        .map(StoredPassword::parse)
        .transpose()
        .map_err(LineError::Password)?;
    let uid = next().map(str::to_owned);
    let gid = next().map(str::to_owned);
    let gecos = next().unwrap_or_default().to_owned();
    let home = next().map(PathBuf::from);
    let shell = next().map(str::to_owned);
    let mut groups = Vec::new();
    let mut extra = Vec::new();
    for item in next().unwrap_or_default().split_ascii_whitespace() {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        if key.is_empty() {
            return Err(LineError::EmptyKey(item.to_owned()));
        }
        match (key, value) {
            ("acl_groups" | "userdb_acl_groups", Some(list)) => {
                for g in list.split(',') {
                    if !is_valid_group(g) {
                        return Err(LineError::Group(g.to_owned()));
                    }
                    groups.push(g.to_owned());
                }
            }
            _ => extra.push(ExtraField {
                key: key.to_owned(),
                value: value.map(str::to_owned),
            }),
        }
    }
    Ok(UserEntry {
        name: name.to_owned(),
        password,
        uid,
        gid,
        gecos,
        home,
        shell,
        groups,
        extra,
    })
}

fn is_valid_group(g: &str) -> bool {
    !g.is_empty()
        && !g
            .chars()
            .any(|c| c == ',' || c == ':' || c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_line_is_whole() {
        let db = UserDb::parse(b"alice:{PLAIN}secret").unwrap();
        let alice = db.get("alice").unwrap();
        assert_eq!(alice.password().unwrap().scheme(), Scheme::Plain);
        assert_eq!(alice.home(), None);
        assert!(alice.groups().is_empty());
        assert_eq!(alice.to_line(), "alice:{PLAIN}secret");
    }

    #[test]
    fn all_fields() {
        let line = "bob@example.org:{PLAIN}pw:1000:100:Bob B:/srv/mail/bob:/bin/false:acl_groups=staff,administrators userdb_quota_rule=*:storage=1G nopassword\r\n";
        let db = UserDb::parse(line.as_bytes()).unwrap();
        let bob = db.get("bob@example.org").unwrap();
        assert_eq!(bob.uid(), Some("1000"));
        assert_eq!(bob.gid(), Some("100"));
        assert_eq!(bob.gecos(), "Bob B");
        assert_eq!(bob.home(), Some(Path::new("/srv/mail/bob")));
        assert_eq!(bob.shell(), Some("/bin/false"));
        assert_eq!(bob.groups(), ["staff", "administrators"]);
        assert!(bob.in_group("administrators"));
        assert_eq!(
            bob.extra_field("userdb_quota_rule"),
            Some(Some("*:storage=1G"))
        );
        assert_eq!(bob.extra_field("nopassword"), Some(None));
        assert_eq!(bob.extra_field("missing"), None);
        assert_eq!(bob.to_line(), line.trim_end());
    }

    #[test]
    fn comments_blank_lines_and_line_numbers() {
        let input = b"# comment\n\n   \n  # indented comment\nalice:{PLAIN}a\nbad/name:{PLAIN}x\n";
        let err = UserDb::parse(input).unwrap_err();
        assert_eq!(err.line(), 6);
        assert!(matches!(
            err,
            ParseError::Line {
                kind: LineError::UserName(UserNameError::ForbiddenChar { ch: '/', offset: 3 }),
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "line 6: user name field: user name contains '/' at byte 3, expected no `/`, `\\`, `:`, whitespace or control characters"
        );
    }

    #[test]
    fn errors_name_their_line() {
        let cases: &[(&[u8], usize)] = &[
            (b"a:{PLAIN}x\na:{PLAIN}y\n", 2),
            (b"a:{PLAIN}x\n\nb:{SSHA}abc\n", 3),
            (b"a:{PLAIN}x\nb:{PLAIN}\xff\n", 2),
            (b"a:{PLAIN}x:::::: acl_groups=a,,b\n", 1),
            (b":{PLAIN}x\n", 1),
            (b"a:{PLAIN}x:::::: =v\n", 1),
            (b"\n\n\nx:{CRYPT}$2y$05$abc\n", 4),
        ];
        for (input, line) in cases {
            let err = UserDb::parse(input).unwrap_err();
            assert_eq!(err.line(), *line, "{err}");
        }
        let dup = UserDb::parse(b"a:{PLAIN}x\na:{PLAIN}y\n").unwrap_err();
        assert_eq!(
            dup.to_string(),
            "line 2: user \"a\" is already defined on line 1"
        );
    }

    /// Found by fuzzing: CRs at the end of a last line without LF were kept
    /// in the home field and lost one by one on each write and read.
    #[test]
    fn stray_cr_before_missing_final_lf() {
        let err = UserDb::parse(b"a:{PLAIN}x\nb:{PLAIN}x::::/srv/ma\r\r\r").unwrap_err();
        assert_eq!(
            err,
            ParseError::StrayCarriageReturn {
                line: 2,
                column: 22
            }
        );
        assert_eq!(UserDb::parse(b"a:{PLAIN}x\r:1\r\n").unwrap_err().line(), 1);
        // A single CR before the end (CRLF, or CR at end of input) is fine.
        assert!(UserDb::parse(b"a:{PLAIN}x\r").is_ok());
    }

    #[test]
    fn user_name_rules() {
        for ok in ["alice", "bob@example.org", "a.b", "x-y_z+tag", "ünï"] {
            assert_eq!(validate_user_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate_user_name(""), Err(UserNameError::Empty));
        assert_eq!(validate_user_name(".."), Err(UserNameError::LeadingDot));
        assert_eq!(
            validate_user_name(".hidden"),
            Err(UserNameError::LeadingDot)
        );
        assert_eq!(
            validate_user_name("a..b"),
            Err(UserNameError::DotDot { offset: 1 })
        );
        for bad in ["a/b", "a\\b", "a b", "a\tb", "a\u{7f}", "a\u{85}b", "a\0"] {
            assert!(
                matches!(
                    validate_user_name(bad),
                    Err(UserNameError::ForbiddenChar { .. })
                ),
                "{bad:?}"
            );
        }
        let long = "a".repeat(256);
        assert_eq!(
            validate_user_name(&long),
            Err(UserNameError::TooLong { len: 256 })
        );
        assert_eq!(validate_user_name(&long[..255]), Ok(()));
    }

    #[test]
    fn no_password_never_verifies() {
        let db = UserDb::parse(b"nopass\nother::::::/home/other\n").unwrap();
        assert!(db.get("nopass").unwrap().password().is_none());
        assert!(db.verify("nopass", b"").is_none());
        assert!(db.verify("other", b"anything").is_none());
        assert_eq!(db.plaintext_secret("nopass"), None);
    }

    #[test]
    fn decoy_has_the_most_common_scheme() {
        let sha = StoredPassword::hash(Scheme::Sha256Crypt, b"x")
            .unwrap()
            .to_field();
        let file = format!("p1:{{PLAIN}}a\ns1:{sha}\ns2:{sha}\np2:{{PLAIN}}b\ns3:{sha}\n");
        let db = UserDb::parse(file.as_bytes()).unwrap();
        assert_eq!(db.decoy.map(|i| db.entries[i].name()), Some("s1"));
        let db = UserDb::parse(b"n1\np1:{PLAIN}a\n").unwrap();
        assert_eq!(db.decoy.map(|i| db.entries[i].name()), Some("p1"));
        // Knowing the decoy's password does not log in an unknown user.
        assert!(db.verify("nobody", b"a").is_none());
        assert!(db.verify("n1", b"a").is_none());
        assert_eq!(UserDb::parse(b"n1\n").unwrap().decoy, None);
    }

    #[test]
    fn insert_and_round_trip() {
        let mut db = UserDb::new();
        let entry = UserEntry::new("carol", StoredPassword::parse("{PLAIN}c").ok())
            .unwrap()
            .with_home("/srv/mail/carol")
            .unwrap()
            .with_groups(["staff"])
            .unwrap();
        db.insert(entry.clone()).unwrap();
        assert_eq!(db.insert(entry.clone()), Err(DuplicateUser("carol".into())));
        let bytes = db.to_bytes();
        assert_eq!(
            bytes,
            b"carol:{PLAIN}c::::/srv/mail/carol::acl_groups=staff\n"
        );
        let again = UserDb::parse(&bytes).unwrap();
        assert_eq!(again.get("carol"), Some(&entry));
    }

    #[test]
    fn field_setters_validate() {
        let e = UserEntry::new("dave", None).unwrap();
        assert_eq!(e.clone().with_home("/a:b"), Err(FieldError::Home));
        assert_eq!(
            e.with_groups(["ok", "not ok"]),
            Err(FieldError::Group("not ok".into()))
        );
        assert!(UserEntry::new("../etc", None).is_err());
    }
}
