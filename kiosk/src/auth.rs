//! Who is asking: sessions in memory (random 256-bit ids in an HttpOnly, SameSite=Strict cookie,
//! `Secure` under TLS), a per-session anti-forgery token required on every POST, and failed
//! logins limited per client address and per account.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::accounts::Role;
use crate::i18n::Lang;

/// The session cookie.
pub const SESSION_COOKIE: &str = "sg_session";
/// The login form's anti-forgery cookie (double submit: the form carries the same value).
pub const LOGIN_COOKIE: &str = "sg_login";
/// The language cookie.
pub const LANG_COOKIE: &str = "sg_lang";
/// The form field and the header carrying the anti-forgery token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A session ends after this long without a request.
const IDLE: Duration = Duration::from_secs(12 * 3600);
/// Failed logins are counted over this window.
const WINDOW: Duration = Duration::from_secs(300);
/// Failures allowed per account, and per client address, within the window.
pub const MAX_FAILURES_ACCOUNT: usize = 5;
pub const MAX_FAILURES_ADDRESS: usize = 20;

/// 256 random bits, hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    if getrandom::fill(&mut b).is_err() {
        // No entropy source: refuse to make guessable ids (the caller gets a token nobody
        // can match, so logins fail rather than sessions being predictable).
        return String::new();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[derive(Clone, Debug)]
pub struct Session {
    pub name: String,
    pub role: Role,
    pub csrf: String,
    /// The account's password hash at login: a new password (or the account removed and
    /// added again, with a new salt) ends the session.
    pub credential: String,
    last: Instant,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn create(&self, name: &str, role: Role, credential: &str) -> (String, Session) {
        let id = random_token();
        let s = Session {
            name: name.to_owned(),
            role,
            csrf: random_token(),
            credential: credential.to_owned(),
            last: Instant::now(),
        };
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, s| s.last.elapsed() < IDLE);
        map.insert(id.clone(), s.clone());
        (id, s)
    }

    /// The live session of this id, touched.
    pub fn get(&self, id: &str) -> Option<Session> {
        if id.len() != 64 {
            return None;
        }
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = map.get_mut(id)?;
        if s.last.elapsed() >= IDLE {
            map.remove(id);
            return None;
        }
        s.last = Instant::now();
        Some(s.clone())
    }

    /// Whether the session of this id is still open, without touching it (an open event
    /// stream checks this; it does not keep an idle session alive).
    pub fn is_open(&self, id: &str) -> bool {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .is_some_and(|s| s.last.elapsed() < IDLE)
    }

    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }

    /// Ends every session of an account (removed, or its role changed).
    pub fn remove_account(&self, name: &str) {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, s| s.name != name);
    }
}

/// Failure instants by key.
type Failures<K> = HashMap<K, VecDeque<Instant>>;

/// Failed logins per client address and per account, over a sliding window.
#[derive(Default)]
pub struct LoginLimiter {
    inner: Mutex<(Failures<IpAddr>, Failures<String>)>,
}

fn recent(q: &mut VecDeque<Instant>) -> usize {
    while q.front().is_some_and(|t| t.elapsed() >= WINDOW) {
        q.pop_front();
    }
    q.len()
}

impl LoginLimiter {
    /// May this address try this account now?
    pub fn allowed(&self, ip: Option<IpAddr>, account: &str) -> bool {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (by_ip, by_account) = &mut *g;
        let ip_ok = ip.is_none_or(|ip| {
            by_ip
                .get_mut(&ip)
                .is_none_or(|q| recent(q) < MAX_FAILURES_ADDRESS)
        });
        let account_ok = by_account
            .get_mut(account)
            .is_none_or(|q| recent(q) < MAX_FAILURES_ACCOUNT);
        ip_ok && account_ok
    }

    pub fn failed(&self, ip: Option<IpAddr>, account: &str) {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (by_ip, by_account) = &mut *g;
        if let Some(ip) = ip {
            by_ip.entry(ip).or_default().push_back(Instant::now());
        }
        // Bounded: names are only counted for accounts that exist or are typed at the form.
        if by_account.len() > 10_000 {
            by_account.retain(|_, q| recent(q) > 0);
        }
        by_account
            .entry(account.to_owned())
            .or_default()
            .push_back(Instant::now());
    }

    pub fn succeeded(&self, account: &str) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .remove(account);
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, `Secure` under TLS.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The language chosen with `?lang=` (kept in a cookie), else French: the kiosk is French by
/// default whatever the browser's own language (a tablet set up in English stays French).
pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Lang::parse(&v))
        .unwrap_or_default()
}

/// A POST's `Origin` (or, without it, `Referer`) must be this server: another site's page
/// cannot make the browser act for the staff member. A request naming neither is left to the
/// token check (non-browser clients).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .or_else(|| headers.get(axum::http::header::REFERER))
        .and_then(|v| v.to_str().ok());
    match origin {
        None => true,
        Some(o) => {
            let rest = o
                .strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"));
            rest.is_some_and(|r| r.split('/').next() == Some(host))
        }
    }
}

/// Constant-time comparison of two tokens.
pub fn tokens_match(a: &str, b: &str) -> bool {
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_an_account_then_the_address() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..MAX_FAILURES_ACCOUNT {
            assert!(l.allowed(Some(ip), "mleroy"));
            l.failed(Some(ip), "mleroy");
        }
        assert!(!l.allowed(Some(ip), "mleroy"));
        assert!(l.allowed(Some(ip), "autre"), "other accounts stay open");
        for i in 0..MAX_FAILURES_ADDRESS {
            l.failed(Some(ip), &format!("guess{i}"));
        }
        assert!(!l.allowed(Some(ip), "autre"), "the address is locked");
        assert!(l.allowed(Some("192.0.2.8".parse().unwrap()), "autre"));
    }

    #[test]
    fn origins_and_tokens() {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert("origin", "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("", ""));
        assert_eq!(random_token().len(), 64);
        assert_ne!(random_token(), random_token());
    }
}
