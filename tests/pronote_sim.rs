//! A PRONOTE simulator of ours, speaking the exchange format documented in
//! `docs/pronote-exchange.md` over real HTTPS: a certificate authority and a server certificate
//! generated for 127.0.0.1, a server on `127.0.0.1:0`, every request's signature, timestamp and
//! school checked with the security key, every answer signed. Written from the document, not
//! from the daemon's code, so that the two meet only through the format.
//!
//! It also takes the kitchen headcounts' `POST`s under `/effectifs/` (bearer token recorded, not
//! signed), standing in for a kitchen software's HTTPS endpoint.
//!
//! The tests set who is absent for a meal, read what was sent to it (meal days, no-shows), and
//! make it misbehave: stall past the client's timeout, answer garbage, a truncated document, an
//! error status or an unsigned answer.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::{digest, hmac};
use serde_json::{Value, json};

/// How the simulator answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// As the format says.
    Normal,
    /// Waits this long before answering (longer than the client's timeout).
    Stall(Duration),
    /// A signed 200 whose body is not JSON.
    Garbage,
    /// A signed 200 with the absence document cut in the middle.
    Truncated,
    /// A 200 without a signature.
    Unsigned,
    /// This status with a short text.
    Status(u16),
}

/// A meal's absent pupils: (id, motif).
type Absents = Vec<(String, Option<String>)>;

#[derive(Default)]
struct State {
    /// (date, service) → (id, motif).
    absent: HashMap<(String, String), Absents>,
    /// (path, body) of the documents received, in order.
    received: Vec<(String, Value)>,
    /// Why requests were refused (authentication).
    refused: Vec<String>,
    /// (path, authorization header, body) of the headcounts posted.
    posted: Vec<(String, String, String)>,
    requests: usize,
    behaviour: Option<Behaviour>,
}

/// The running simulator; stops when dropped.
pub struct PronoteSim {
    /// The base URL to configure (`[pronote] url`).
    pub url: String,
    /// The PEM of the authority that signed the server's certificate (`[pronote] ca_file`).
    pub ca_file: PathBuf,
    /// The security key, as a key file holds it.
    pub key_hex: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl PronoteSim {
    /// Starts a simulator for the school `uai`, with a fresh random-looking key.
    pub fn start(uai: &str) -> PronoteSim {
        let dir = tempfile::Builder::new()
            .prefix("selfgate-pronote-sim-")
            .tempdir()
            .unwrap();
        // The authority and the server's certificate.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "PRONOTE simulator test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), ca.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
        let server = Arc::new(server);

        // A key from the clock and the address: distinct per run, no need for secrecy here.
        let seed = format!("{:?}{:?}", std::time::SystemTime::now(), dir.path());
        let key_hex = hex(digest::digest(&digest::SHA256, seed.as_bytes()).as_ref());
        let key = hmac::Key::new(hmac::HMAC_SHA256, &unhex(&key_hex).unwrap());

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (state, stop, uai) = (state.clone(), stop.clone(), uai.to_owned());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (server, key, state, uai) =
                        (server.clone(), key.clone(), state.clone(), uai.clone());
                    std::thread::spawn(move || {
                        let _ = serve(conn, server, &key, &state, &uai);
                    });
                }
            });
        }
        PronoteSim {
            url: format!("https://127.0.0.1:{}/pronote", addr.port()),
            ca_file,
            key_hex,
            state,
            stop,
            addr,
            _dir: dir,
        }
    }

    /// Writes the security key as a key file (mode 600) at `path`.
    pub fn write_key_file(&self, path: &std::path::Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            path,
            format!("# clé de sécurité PRONOTE\n{}\n", self.key_hex),
        )
        .unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// PRONOTE's absence list for a meal from now on (replacing the previous one).
    pub fn set_absent(&self, date: &str, service: &str, ids: &[&str]) {
        self.state.lock().unwrap().absent.insert(
            (date.to_owned(), service.to_owned()),
            ids.iter()
                .map(|i| ((*i).to_owned(), Some("Absence signalée".to_owned())))
                .collect(),
        );
    }

    pub fn behave(&self, b: Behaviour) {
        self.state.lock().unwrap().behaviour = Some(b);
    }

    /// The documents received on `path` (`inscriptions` or `non-venus`), in order.
    pub fn received(&self, path: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The headcounts posted under `/effectifs/`: (path, authorization header, body).
    pub fn posted(&self) -> Vec<(String, String, String)> {
        self.state.lock().unwrap().posted.clone()
    }

    /// Requests refused for their authentication, with why.
    pub fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }

    /// Requests answered (or refused) so far.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }
}

impl Drop for PronoteSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(s: &mut impl Read) -> Option<Request> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len.min(16 << 20)];
    s.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn serve(
    conn: TcpStream,
    config: Arc<rustls::ServerConfig>,
    key: &hmac::Key,
    state: &Mutex<State>,
    uai: &str,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let tls = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut s = rustls::StreamOwned::new(tls, conn);
    let Some(req) = read_request(&mut s) else {
        return Ok(());
    };
    let behaviour = {
        let mut st = state.lock().unwrap();
        st.requests += 1;
        st.behaviour.clone().unwrap_or(Behaviour::Normal)
    };
    if req.method == "POST" && req.target.starts_with("/effectifs/") {
        if let Behaviour::Stall(d) = behaviour {
            std::thread::sleep(d);
        }
        state.lock().unwrap().posted.push((
            req.target.clone(),
            req.headers
                .get("authorization")
                .cloned()
                .unwrap_or_default(),
            String::from_utf8_lossy(&req.body).into_owned(),
        ));
        return respond(&mut s, key, 201, "", b"{}", false);
    }
    // Authentication, as the format says.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = |k: &str| req.headers.get(k).cloned().unwrap_or_default();
    let ts: Option<i64> = header("x-selfgate-timestamp").parse().ok();
    let signature = header("x-selfgate-signature");
    let message = format!(
        "{}\n{}\n{}\n{}",
        req.method,
        req.target,
        header("x-selfgate-timestamp"),
        hex(digest::digest(&digest::SHA256, &req.body).as_ref())
    );
    let refusal = if header("x-selfgate-uai") != uai {
        Some(format!("uai `{}`", header("x-selfgate-uai")))
    } else if ts.is_none_or(|t| (now - t).abs() > 300) {
        Some("timestamp".to_owned())
    } else if unhex(&signature)
        .is_none_or(|sig| hmac::verify(key, message.as_bytes(), &sig).is_err())
    {
        Some("signature".to_owned())
    } else {
        None
    };
    if let Some(why) = refusal {
        state.lock().unwrap().refused.push(why.clone());
        return respond(&mut s, key, 401, &signature, why.as_bytes(), true);
    }

    match &behaviour {
        Behaviour::Stall(d) => {
            std::thread::sleep(*d);
        }
        Behaviour::Status(code) => {
            return respond(&mut s, key, *code, &signature, b"erreur interne", true);
        }
        Behaviour::Garbage => {
            return respond(
                &mut s,
                key,
                200,
                &signature,
                b"<html><body>Maintenance</body></html>",
                true,
            );
        }
        _ => {}
    }
    let signed = behaviour != Behaviour::Unsigned;
    let path = req.target.strip_prefix("/pronote/v1/").unwrap_or("");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    match (req.method.as_str(), path) {
        ("GET", "absences") => {
            let q: HashMap<&str, &str> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .collect();
            let (date, service) = (
                q.get("date").copied().unwrap_or(""),
                q.get("service").copied().unwrap_or(""),
            );
            let absents: Vec<Value> = state
                .lock()
                .unwrap()
                .absent
                .get(&(date.to_owned(), service.to_owned()))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|(id, motif)| json!({"id": id, "motif": motif}))
                .collect();
            let doc = json!({
                "format": "selfgate-pronote/1",
                "kind": "absences",
                "uai": uai,
                "date": date,
                "service": service,
                "generated_at": "2026-01-01T00:00:00Z",
                "absents": absents,
            });
            let mut body = serde_json::to_vec_pretty(&doc).unwrap();
            if behaviour == Behaviour::Truncated {
                body.truncate(body.len() / 2);
            }
            respond(&mut s, key, 200, &signature, &body, signed)
        }
        ("PUT", "inscriptions" | "non-venus") => {
            let doc: Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(e) => {
                    return respond(&mut s, key, 400, &signature, e.to_string().as_bytes(), true);
                }
            };
            let n = doc["eleves"].as_array().map_or(0, Vec::len);
            state.lock().unwrap().received.push((path.to_owned(), doc));
            let ack = json!({"format": "selfgate-pronote/1", "kind": "accuse", "recus": n});
            respond(
                &mut s,
                key,
                200,
                &signature,
                ack.to_string().as_bytes(),
                signed,
            )
        }
        _ => respond(&mut s, key, 404, &signature, b"inconnu", true),
    }
}

fn respond(
    s: &mut impl Write,
    key: &hmac::Key,
    status: u16,
    request_signature: &str,
    body: &[u8],
    signed: bool,
) -> std::io::Result<()> {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let message = format!(
        "{status}\n{ts}\n{request_signature}\n{}",
        hex(digest::digest(&digest::SHA256, body).as_ref())
    );
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n",
        body.len()
    );
    if signed {
        let sig = hex(hmac::sign(key, message.as_bytes()).as_ref());
        head.push_str(&format!(
            "x-selfgate-timestamp: {ts}\r\nx-selfgate-signature: {sig}\r\n"
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()
}
