//! Connection limits (total, per client address, per user) and the
//! failed-login delay.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::Action;

/// Bounds on concurrent connections, shared by all listeners of a
/// [`Server`](super::Server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// Connections in total. Default 1000.
    pub total: usize,
    /// Connections from one client address (IPv4 address, or IPv6 /64
    /// prefix, since one IPv6 client usually holds a whole /64). Default 50.
    pub per_ip: usize,
    /// Logged-in connections of one user, counted from the moment the
    /// protocol claims the user with [`ConnectionInfo::claim_user`](super::ConnectionInfo::claim_user).
    /// Default 20: Thunderbird opens up to five per account, on several
    /// devices.
    pub per_user: usize,
    /// The delay after the first failed login from a client address (see
    /// [`ConnectionInfo::login_failed`](super::ConnectionInfo::login_failed));
    /// each further failure from that address doubles it. Default 2
    /// seconds (Dovecot's `auth_failure_delay`).
    pub login_delay: Duration,
    /// The longest failed-login delay. Default 15 seconds.
    pub max_login_delay: Duration,
    /// A client address's failures are forgotten this long after its last
    /// one. Default 1 hour.
    pub login_penalty_expiry: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            total: 1000,
            per_ip: 50,
            per_user: 20,
            login_delay: Duration::from_secs(2),
            max_login_delay: Duration::from_secs(15),
            login_penalty_expiry: Duration::from_secs(3600),
        }
    }
}

/// Why a connection or a login was refused by the limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The server holds [`ConnectionLimits::total`] connections.
    #[error("too many connections in total (limit {0})")]
    Total(usize),
    /// The client address holds [`ConnectionLimits::per_ip`] connections.
    #[error("too many connections from this address (limit {0})")]
    PerIp(usize),
    /// The user holds [`ConnectionLimits::per_user`] logged-in connections.
    #[error("too many connections for this user (limit {0})")]
    PerUser(usize),
}

/// The live connection counts. Shared through an `Arc` by listeners,
/// connection tasks and the guards they hold.
pub(crate) struct Tracker {
    limits: ConnectionLimits,
    state: Mutex<Counts>,
    /// Notified whenever a connection ends (for shutdown).
    pub(crate) released: Notify,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    per_user: HashMap<String, usize>,
    /// Failed logins per client address: count and time of the last one.
    failures: HashMap<IpAddr, (u32, Instant)>,
}

/// Client addresses whose failures are remembered at most; beyond it the
/// expired entries are dropped, then all (a flood of addresses must not
/// grow memory without bound).
const MAX_PENALISED_ADDRESSES: usize = 100_000;

impl Tracker {
    pub(crate) fn new(limits: ConnectionLimits) -> Arc<Tracker> {
        Arc::new(Tracker {
            limits,
            state: Mutex::new(Counts::default()),
            released: Notify::new(),
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // The counters are updated in single statements; a panic elsewhere
        // while the lock was held cannot leave them inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn total(&self) -> usize {
        self.counts().total
    }

    /// Counts a new connection from `ip`, or refuses it.
    pub(crate) fn connect(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, LimitExceeded> {
        let key = ip_key(ip);
        let mut counts = self.counts();
        if counts.total >= self.limits.total {
            return Err(LimitExceeded::Total(self.limits.total));
        }
        let from_ip = counts.per_ip.get(&key).copied().unwrap_or(0);
        if from_ip >= self.limits.per_ip {
            return Err(LimitExceeded::PerIp(self.limits.per_ip));
        }
        counts.total += 1;
        counts.per_ip.insert(key, from_ip + 1);
        Ok(ConnectionSlot {
            tracker: Arc::clone(self),
            ip: key,
        })
    }

    pub(crate) fn claim_user(self: &Arc<Self>, user: &str) -> Result<UserClaim, LimitExceeded> {
        let mut counts = self.counts();
        let n = counts.per_user.get(user).copied().unwrap_or(0);
        if n >= self.limits.per_user {
            return Err(LimitExceeded::PerUser(self.limits.per_user));
        }
        counts.per_user.insert(user.to_owned(), n + 1);
        Ok(UserClaim {
            tracker: Arc::clone(self),
            user: user.to_owned(),
        })
    }

    /// Records a failed login from `ip` and returns the delay to apply.
    pub(crate) fn login_failed(&self, ip: IpAddr, now: Instant) -> Duration {
        let key = ip_key(ip);
        let expiry = self.limits.login_penalty_expiry;
        let mut counts = self.counts();
        if counts.failures.len() >= MAX_PENALISED_ADDRESSES && !counts.failures.contains_key(&key) {
            counts
                .failures
                .retain(|_, (_, last)| now.saturating_duration_since(*last) < expiry);
            if counts.failures.len() >= MAX_PENALISED_ADDRESSES {
                counts.failures.clear();
            }
        }
        let entry = counts.failures.entry(key).or_insert((0, now));
        if now.saturating_duration_since(entry.1) >= expiry {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let factor = 1u32.checked_shl(entry.0 - 1).unwrap_or(u32::MAX);
        self.limits
            .login_delay
            .saturating_mul(factor)
            .min(self.limits.max_login_delay)
    }

    /// Forgets the failures of `ip` after a successful login.
    pub(crate) fn login_succeeded(&self, ip: IpAddr) {
        self.counts().failures.remove(&ip_key(ip));
    }

    pub(crate) fn user_connections(&self, user: &str) -> usize {
        self.counts().per_user.get(user).copied().unwrap_or(0)
    }
}

/// The key connections are counted under: the IPv4 address (also for
/// IPv4-mapped IPv6 addresses) or the IPv6 /64 prefix.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// A counted connection; dropping it releases the count.
pub(crate) struct ConnectionSlot {
    tracker: Arc<Tracker>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        {
            let mut counts = self.tracker.counts();
            counts.total = counts.total.saturating_sub(1);
            if let Some(n) = counts.per_ip.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.per_ip.remove(&self.ip);
                }
            }
        }
        self.tracker.released.notify_waiters();
    }
}

/// A logged-in user counted against [`ConnectionLimits::per_user`]. Keep it
/// in the session for as long as the user is logged in; dropping it releases
/// the count.
pub struct UserClaim {
    tracker: Arc<Tracker>,
    user: String,
}

impl UserClaim {
    /// The user claimed.
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl fmt::Debug for UserClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserClaim")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Drop for UserClaim {
    fn drop(&mut self) {
        let mut counts = self.tracker.counts();
        if let Some(n) = counts.per_user.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_user.remove(&self.user);
            }
        }
    }
}

/// A per-connection failed-login delay, for protocols to apply through
/// [`Action::Delay`]. [`ConnectionInfo::login_failed`](super::ConnectionInfo::login_failed)
/// is usually the better choice: it counts failures per client address
/// across connections. Here: the first failure waits `base`, each
/// further one twice as long as the one before, up to `max`. The driver
/// holds the connection's input and output for that long, so the failure
/// response itself arrives late and pipelined guesses wait too.
///
/// ```
/// use std::time::{Duration, Instant};
/// use postroom_server::net::{Action, LoginDelay};
///
/// let mut delay = LoginDelay::default();
/// assert_eq!(delay.record_failure(), Action::Delay(Duration::from_secs(2)));
/// assert_eq!(delay.record_failure(), Action::Delay(Duration::from_secs(4)));
/// delay.record_success();
/// assert_eq!(delay.failures(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginDelay {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Default for LoginDelay {
    /// 2 seconds (Dovecot's `auth_failure_delay`), doubling up to 15 seconds.
    fn default() -> Self {
        LoginDelay::new(Duration::from_secs(2), Duration::from_secs(15))
    }
}

impl LoginDelay {
    /// A delay starting at `base` and doubling up to `max`.
    pub fn new(base: Duration, max: Duration) -> LoginDelay {
        LoginDelay {
            base,
            max,
            failures: 0,
        }
    }

    /// Records a failed login and returns the action to queue.
    pub fn record_failure(&mut self) -> Action {
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32.checked_shl(self.failures - 1).unwrap_or(u32::MAX);
        let delay = self.base.saturating_mul(factor).min(self.max);
        Action::Delay(delay)
    }

    /// Records a successful login (the count starts over).
    pub fn record_success(&mut self) {
        self.failures = 0;
    }

    /// Failed logins since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_total() {
        let t = Tracker::new(ConnectionLimits {
            total: 3,
            per_ip: 2,
            per_user: 1,
            ..ConnectionLimits::default()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = t.connect(a).unwrap();
        let _s2 = t.connect(a).unwrap();
        assert_eq!(t.connect(a).err(), Some(LimitExceeded::PerIp(2)));
        let _s3 = t.connect(b).unwrap();
        assert_eq!(t.connect(b).err(), Some(LimitExceeded::Total(3)));
        drop(s1);
        assert_eq!(t.total(), 2);
        let _s4 = t.connect(a).unwrap();
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let t = Tracker::new(ConnectionLimits {
            total: 10,
            per_ip: 1,
            per_user: 1,
            ..ConnectionLimits::default()
        });
        let _a = t.connect("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(t.connect("2001:db8:1:2::ffff".parse().unwrap()).is_err());
        let _b = t.connect("2001:db8:1:3::1".parse().unwrap()).unwrap();
        let _c = t.connect("198.51.100.7".parse().unwrap()).unwrap();
        assert!(t.connect("::ffff:198.51.100.7".parse().unwrap()).is_err());
    }

    #[test]
    fn per_user_claims() {
        let t = Tracker::new(ConnectionLimits {
            total: 10,
            per_ip: 10,
            per_user: 2,
            ..ConnectionLimits::default()
        });
        let c1 = t.claim_user("alice").unwrap();
        let _c2 = t.claim_user("alice").unwrap();
        assert_eq!(
            t.claim_user("alice").unwrap_err(),
            LimitExceeded::PerUser(2)
        );
        let _b = t.claim_user("bob").unwrap();
        assert_eq!(c1.user(), "alice");
        drop(c1);
        assert_eq!(t.user_connections("alice"), 1);
        let _c3 = t.claim_user("alice").unwrap();
    }

    #[test]
    fn login_penalty_per_address() {
        let t = Tracker::new(ConnectionLimits {
            login_delay: Duration::from_millis(100),
            max_login_delay: Duration::from_millis(350),
            login_penalty_expiry: Duration::from_secs(60),
            ..ConnectionLimits::default()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let now = Instant::now();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(t.login_failed(a, now)), 100);
        assert_eq!(ms(t.login_failed(a, now)), 200);
        assert_eq!(ms(t.login_failed(a, now)), 350);
        // Another address (here another /64) starts over.
        assert_eq!(ms(t.login_failed(b, now)), 100);
        assert_eq!(ms(t.login_failed("2001:db8::2".parse().unwrap(), now)), 200);
        // Success forgets; so does time.
        t.login_succeeded(a);
        assert_eq!(ms(t.login_failed(a, now)), 100);
        let later = now + Duration::from_secs(61);
        assert_eq!(ms(t.login_failed(b, later)), 100);
    }

    #[test]
    fn login_penalty_memory_is_bounded() {
        let t = Tracker::new(ConnectionLimits::default());
        let now = Instant::now();
        for i in 0..(MAX_PENALISED_ADDRESSES as u32 + 10) {
            t.login_failed(IpAddr::V4(i.into()), now);
        }
        assert!(t.counts().failures.len() <= MAX_PENALISED_ADDRESSES);
    }

    #[test]
    fn login_delay_doubles_and_caps() {
        let mut d = LoginDelay::new(Duration::from_millis(100), Duration::from_millis(500));
        let ms = |a| match a {
            Action::Delay(d) => d.as_millis(),
            _ => panic!("expected a delay"),
        };
        assert_eq!(ms(d.record_failure()), 100);
        assert_eq!(ms(d.record_failure()), 200);
        assert_eq!(ms(d.record_failure()), 400);
        assert_eq!(ms(d.record_failure()), 500);
        for _ in 0..100 {
            assert_eq!(ms(d.record_failure()), 500);
        }
        d.record_success();
        assert_eq!(ms(d.record_failure()), 100);
    }
}
