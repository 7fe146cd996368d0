//! The kiosk's backend on a real gate and store: the live feed from committed passages, a
//! badge enrolled by presenting it at a reader, a badge declared lost (refused next time, and
//! an alert), oppositions added and lifted, an admission by hand journaled with the staff
//! member, the list of pupils not served yet, search and the day's report. The cash desk over
//! real HTTP: a régisseur's payments, cancellations and refunds through `/regie`, in force at
//! the gate at once, the receipt as PDF, the day's cash report against the journal. And the
//! kiosk over TLS with a generated certificate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use selfgate::config::Config;
use selfgate::infra::clock::SystemClock;
use selfgate::node::kiosk::backend::KioskBackend;
use selfgate::node::{Node, NodeHandle, NodeSpec, Services};
use selfgate::store::{Store, WriteOp};
use selfgate_hardware::Reader;
use selfgate_hardware::sim::{SimReader, SimReaderHandle};
use selfgate_kiosk::{KioskSource, Live, NewOpposition, SourceError, StaffSource};
use selfgate_rules::journal::{EventKind, Reason};
use selfgate_rules::model::{Category, Forfait, Person, PersonId, Regime, ServiceSet, WeekdaySet};

const LEA: &str = "0A00000000";
/// Zoé's badge, enrolled during the staff actions' test.
const ZOE: &str = "0B00000002";

fn forfait_pupil(id: u32, first: &str, class: &str) -> WriteOp {
    let today = Utc::now().date_naive();
    WriteOp::PutPerson(Person {
        id: PersonId(id),
        external_id: format!("E{id}"),
        last_name: "Dupont".into(),
        first_name: first.into(),
        class: class.into(),
        category: Category::Eleve,
        regime: Regime::DemiPensionnaire,
        forfaits: vec![Forfait {
            weekdays: WeekdaySet::from_bits(0x7f),
            services: ServiceSet::EMPTY.with(selfgate_rules::model::ServiceId(0)),
            from: today - chrono::Days::new(30),
            to: today + chrono::Days::new(30),
        }],
        passages_per_service: 1,
        tier: None,
    })
}

struct School {
    backend: Arc<KioskBackend>,
    reader: SimReaderHandle,
    store: Store,
    node: NodeHandle,
}

async fn school(dir: &std::path::Path) -> School {
    school_with(dir, |_| {}).await
}

/// [`school`] with its configuration changed by `tweak`.
async fn school_with(dir: &std::path::Path, tweak: impl FnOnce(&mut Config)) -> School {
    common::avoid_end_of_day();
    let store = Store::open(dir).unwrap();
    let mut config = common::all_day_config(
        "id = \"ligne-1\"\n[[gate.readers]]\nname = \"r1\"\nkind = \"simulated\"",
    );
    config.data_dir = dir.to_path_buf();
    tweak(&mut config);
    common::one_pupil(&store, "ligne-1", LEA, 1_000, 1);
    store
        .write_now(&[
            forfait_pupil(1, "Paul", "6B"),
            forfait_pupil(2, "Zoé", "6B"),
        ])
        .unwrap();
    let (reader, handle) = SimReader::new("r1");
    let (hw, _th) = common::sim_hardware(vec![Box::new(reader) as Box<dyn Reader>]);
    let node = common::node_on(&store, config, hw, Services::NONE).await;
    let backend = KioskBackend::start(node.gate().clone(), store.clone(), None);
    School {
        backend,
        reader: handle,
        store,
        node,
    }
}

async fn next_item(live: &mut tokio::sync::broadcast::Receiver<Live>) -> Live {
    loop {
        let l = tokio::time::timeout(Duration::from_secs(5), live.recv())
            .await
            .expect("nothing on the live feed")
            .unwrap();
        if l.item.is_some() {
            return l;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tier_set_in_the_kiosk_is_the_price_of_the_next_meal() {
    let dir = tempfile::tempdir().unwrap();
    let s = school_with(dir.path(), |c| {
        c.money.tiers.insert("T1".into(), "QF de 0 à 600 €".into());
        c.rules.tariffs[0]
            .tiers
            .push(selfgate_rules::model::TierPrice {
                tier: "T1".into(),
                price_cents: 100,
                service_prices: vec![],
            });
    })
    .await;
    let b = s.backend.clone();
    assert_eq!(b.tiers(), [("T1".to_owned(), "QF de 0 à 600 €".to_owned())]);
    let e = b.set_tier(0, Some("T9".into())).await.unwrap_err();
    assert!(matches!(e, SourceError::Invalid(_)), "{e:?}");
    assert!(matches!(
        b.set_tier(99, Some("T1".into())).await,
        Err(SourceError::NotFound(_))
    ));
    b.set_tier(0, Some("T1".into())).await.unwrap();
    assert_eq!(b.person(0).await.unwrap().tier.as_deref(), Some("T1"));
    // Committed: the store has it, and the gate charges the tier's price at once.
    assert_eq!(
        s.store
            .person(PersonId(0))
            .unwrap()
            .unwrap()
            .tier
            .as_deref(),
        Some("T1")
    );
    let mut live = b.live();
    s.reader.present(LEA).await;
    let item = next_item(&mut live).await.item.unwrap();
    assert_eq!((item.pass, item.balance_cents), (true, Some(1_000 - 100)));
    // The backend holds the gate: dropped first, so that the node can stop.
    let School { backend, node, .. } = s;
    drop((b, backend, live));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_actions_go_through_the_running_gate() {
    let dir = tempfile::tempdir().unwrap();
    let s = school(dir.path()).await;
    let b = s.backend.clone();
    let mut live = b.live();

    // Registered and not served yet: the two forfait pupils.
    let waiting: Vec<String> = b.not_served().iter().map(|r| r.name.clone()).collect();
    assert_eq!(waiting, ["Paul Dupont", "Zoé Dupont"]);
    assert_eq!(b.summary().to_come, 2);

    // A passage reaches the live feed with the counts after it.
    s.reader.present(LEA).await;
    let l = next_item(&mut live).await;
    let item = l.item.unwrap();
    assert_eq!(
        (item.first_name.as_str(), item.pass, item.reason.as_str()),
        ("Léa", true, "ticket")
    );
    assert_eq!(item.balance_cents, Some(610));
    assert_eq!(l.summary.served, 1);

    // Enrol: the next badge read at r1 goes to Paul instead of being decided.
    let enrol = {
        let b = b.clone();
        tokio::spawn(async move {
            b.enrol_next(1, Some("r1".into()), Duration::from_secs(5))
                .await
        })
    };
    common::eventually("the enrolment waits for a read", || {
        s.node.shared().capturing()
    })
    .await;
    s.reader.present("0B-00-00-00-01").await;
    assert_eq!(enrol.await.unwrap(), Ok("0B00000001".to_owned()));
    assert_eq!(b.recent(10).len(), 1, "the enrolled read was not decided");
    s.reader.present("0B00000001").await;
    let item = next_item(&mut live).await.item.unwrap();
    assert_eq!(
        (item.first_name.as_str(), item.reason.as_str()),
        ("Paul", "forfait")
    );
    assert_eq!(b.search("0B00000001", 10)[0].name, "Paul Dupont");
    assert!(b.search("6b", 10).iter().any(|r| r.name == "Zoé Dupont"));
    assert!(
        b.search("zoe dup", 10)
            .iter()
            .any(|r| r.name == "Zoé Dupont")
    );
    assert!(b.not_served().iter().all(|r| r.name != "Paul Dupont"));
    // A badge held by someone else is not taken from them.
    let taken = {
        let b = b.clone();
        tokio::spawn(async move { b.enrol_next(2, None, Duration::from_secs(5)).await })
    };
    common::eventually("the enrolment waits for a read", || {
        s.node.shared().capturing()
    })
    .await;
    s.reader.present(LEA).await;
    let e = taken.await.unwrap().unwrap_err();
    assert!(matches!(e, SourceError::Refused(_)), "{e:?}");
    assert!(e.to_string().contains("Léa Martin"), "{e}");
    // Nobody presents a badge: a clear message.
    let e = b
        .enrol_next(2, None, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Refused(_)), "{e:?}");
    assert!(e.to_string().contains("Aucun badge"), "{e}");

    // Lost: the badge is refused at once, and the staff are alerted.
    b.declare_lost(1, "0B00000001").await.unwrap();
    assert!(
        b.declare_lost(0, "0B00000001").await.is_err(),
        "not Léa's badge"
    );
    s.reader.present("0B00000001").await;
    let l = next_item(&mut live).await;
    assert_eq!(l.item.unwrap().reason, "badge_revoked");
    let alerts: Vec<_> = b.summary().alerts;
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == "lost_badge" && a.text.contains("Paul Dupont")),
        "{alerts:?}"
    );

    // An opposition applies to the next decision; lifted, it no longer does. Zoé gets a badge
    // first, so that her reads show it.
    let zoes_badge = {
        let b = b.clone();
        tokio::spawn(async move { b.enrol_next(2, None, Duration::from_secs(5)).await })
    };
    common::eventually("the enrolment waits for a read", || {
        s.node.shared().capturing()
    })
    .await;
    s.reader.present(ZOE).await;
    assert_eq!(zoes_badge.await.unwrap(), Ok(ZOE.to_owned()));
    let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    b.add_opposition(NewOpposition {
        person: 2,
        reason: "exclusion".into(),
        service: Some("tout".into()),
        from: today.clone(),
        to: Some(today.clone()),
        note: "conseil de discipline".into(),
        by: "intendance".into(),
    })
    .await
    .unwrap();
    let bad = b
        .add_opposition(NewOpposition {
            person: 2,
            reason: "vacances".into(),
            service: None,
            from: today.clone(),
            to: None,
            note: String::new(),
            by: "intendance".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(bad, SourceError::Invalid(_)), "{bad:?}");
    assert!(bad.to_string().contains("motif"), "{bad}");
    assert!(
        b.not_served().is_empty(),
        "an excluded pupil is not expected"
    );
    s.reader.present(ZOE).await;
    let item = next_item(&mut live).await.item.unwrap();
    assert_eq!(
        (item.first_name.as_str(), item.pass, item.reason.as_str()),
        ("Zoé", false, "opposition:exclusion")
    );
    let zoe = b.person(2).await.unwrap();
    assert_eq!(zoe.row.status, "Exclusion de la demi-pension");
    assert!(
        zoe.oppositions[0].note.contains("par intendance"),
        "{:?}",
        zoe.oppositions
    );
    b.lift_opposition(2, zoe.oppositions[0].id).await.unwrap();
    assert_eq!(b.not_served().len(), 1);

    // Admitted by hand: journaled with the staff member; the counts change.
    let served = b.summary().served;
    b.admit(2, "mleroy", "badge oublié", false).await.unwrap();
    assert_eq!(b.summary().served, served + 1);
    assert!(b.not_served().is_empty());
    let manual: Vec<_> = s
        .store
        .events(None)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Passage(p) if p.reason == Reason::Manual => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0].by.as_deref(), Some("mleroy"));
    assert_eq!(manual[0].note.as_deref(), Some("badge oublié"));
    assert!(b.admit(99, "mleroy", "x", false).await.is_err());
    // Admitted again in the same service: refused (it was charged every time before).
    let again = b
        .admit(2, "mleroy", "badge oublié", false)
        .await
        .unwrap_err();
    assert!(matches!(again, SourceError::Refused(_)), "{again:?}");
    assert!(again.to_string().contains("Déjà servi"), "{again}");
    assert_eq!(b.summary().served, served + 1, "nothing more counted");
    // Her badge now: already served. The lifted exclusion is not said (an opposition in force
    // would be, before the anti-passback rule). The admissions by hand may reach the feed after
    // `admit` returns (it is published after the commit): they are passed over.
    let mut live = b.live();
    s.reader.present(ZOE).await;
    let item = loop {
        let item = next_item(&mut live).await.item.unwrap();
        if item.reason != "manual" {
            break item;
        }
    };
    assert_eq!(
        (item.first_name.as_str(), item.pass, item.reason.as_str()),
        ("Zoé", false, "already_served")
    );

    // The person's page reads the journal; the day's report counts it all.
    let lea = b.person(0).await.unwrap();
    assert_eq!(lea.balance_cents, 610);
    assert_eq!(lea.passages.len(), 1, "{:?}", lea.passages);
    assert!(lea.passages[0].label.contains("Ticket"));
    let report = b.day_report(None).await.unwrap();
    let r = &report.services[0];
    assert_eq!(r.passes, 3, "{r:?}");
    assert_eq!(r.charged_cents, 390);
    assert!(
        r.denials
            .iter()
            .any(|(l, n)| l == "Badge perdu ou révoqué" && *n == 1),
        "{r:?}"
    );
    assert!(b.day_report(Some("30/11".into())).await.is_err());

    // A second meal is an explicit choice, journaled as such.
    b.admit(2, "mleroy", "grand appétit", true).await.unwrap();
    let notes: Vec<String> = s
        .store
        .events(None)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Passage(p) if p.reason == Reason::Manual => p.note,
            _ => None,
        })
        .collect();
    assert_eq!(
        notes.last().map(String::as_str),
        Some(format!("{} grand appétit", selfgate_rules::SECOND_MEAL).as_str())
    );

    let School { backend, node, .. } = s;
    drop((b, backend));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_is_served_over_tls_with_secure_cookies() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("kiosk.crt");
    let key_path = dir.path().join("kiosk.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let store = Store::open(&dir.path().join("data")).unwrap();
    let mut config = common::all_day_config("id = \"ligne-1\"");
    config.data_dir = dir.path().join("data");
    config.kiosk.tls_cert = Some(cert_path.clone());
    config.kiosk.tls_key = Some(key_path.clone());
    config.kiosk.listen = "127.0.0.1:0".parse().unwrap();
    let kiosk = Services {
        kiosk: true,
        ..Services::NONE
    };

    // A key others can read is refused, with the key named: the node does not start.
    let mut spec = NodeSpec::new(
        config.clone(),
        Arc::new(SystemClock),
        common::sim_hardware(vec![]).0,
    );
    spec.store = Some(store.clone());
    spec.services = kiosk;
    let e = match Node::start(spec).await {
        Ok(_) => panic!("a world-readable key was accepted"),
        Err(e) => e,
    };
    assert!(format!("{e:#}").contains("kiosk.tls_key"), "{e:#}");
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let node = common::node_on(&store, config, common::sim_hardware(vec![]).0, kiosk).await;
    let addr = node.kiosk_addr().unwrap();
    assert_eq!(
        node.kiosk_url(),
        Some(format!("https://{addr}/")),
        "the ready line says https under TLS"
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let get = |path: &'static str| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
            let mut out = Vec::new();
            let _ = tls.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    let health = get("/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"store\":\"ok\""), "{health}");
    let login = get("/login").await;
    let cookie = login
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie: sg_login="))
        .unwrap_or_else(|| panic!("{login}"));
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets no page.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut out)).await;
    assert!(!String::from_utf8_lossy(&out).contains("200 OK"));

    tokio::time::timeout(Duration::from_secs(5), node.stop())
        .await
        .expect("the TLS kiosk did not stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_are_alerted_to_the_emergency_input_and_an_offline_reader() {
    use selfgate_hardware::TurnstileInput;
    use selfgate_hardware::sim::LineReader;

    let dir = tempfile::tempdir().unwrap();
    common::avoid_end_of_day();
    let store = Store::open(dir.path()).unwrap();
    let mut config = common::all_day_config("id = \"ligne-1\"");
    config.data_dir = dir.path().to_path_buf();
    let (reader, _handle) = SimReader::new("r1");
    // A reader whose device is missing stops: offline.
    let missing = LineReader::new("r2", dir.path().join("no-such-reader"));
    let (hw, turnstile) =
        common::sim_hardware(vec![Box::new(reader) as Box<dyn Reader>, Box::new(missing)]);
    let node = common::node_on(&store, config, hw, Services::NONE).await;
    let backend = KioskBackend::start(node.gate().clone(), store.clone(), None);
    let mut live = backend.live();
    common::eventually("r2 reported offline", || {
        backend
            .summary()
            .alerts
            .iter()
            .any(|a| a.kind == "reader_offline" && a.text.contains("r2"))
    })
    .await;
    assert!(
        backend
            .summary()
            .alerts
            .iter()
            .all(|a| !a.text.contains("r1"))
    );

    // The emergency input: journaled as an alarm, the counts and alerts pushed at once.
    assert!(turnstile.input(TurnstileInput::EmergencyOn).await);
    let l = tokio::time::timeout(Duration::from_secs(5), live.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(l.item.is_none(), "no feed line for an alarm");
    assert!(
        l.summary.alerts.iter().any(|a| a.kind == "emergency"),
        "{:?}",
        l.summary.alerts
    );
    assert!(turnstile.input(TurnstileInput::EmergencyOff).await);
    common::eventually("emergency alert cleared", || {
        backend
            .summary()
            .alerts
            .iter()
            .all(|a| a.kind != "emergency")
    })
    .await;

    drop((live, backend));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_and_persons_read_through_the_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    common::avoid_end_of_day();
    let store = Store::open(dir.path()).unwrap();
    let mut config = common::all_day_config("id = \"ligne-1\"");
    config.data_dir = dir.path().to_path_buf();
    common::one_pupil(&store, "ligne-1", LEA, 1_000, 1);
    let (reader, badge) = SimReader::new("r1");
    let (hw, _t) = common::sim_hardware(vec![Box::new(reader) as Box<dyn Reader>]);
    let node = common::node_on(
        &store,
        config,
        hw,
        Services {
            control: true,
            ..Services::NONE
        },
    )
    .await;
    badge.present(LEA).await;
    let shared = node.shared().clone();
    common::eventually("decided", || {
        !selfgate::node::kiosk::view::recent(&shared, 1).is_empty()
    })
    .await;
    // The daemon holds the database: a command that only reads is given a copy of it.
    let data = dir.path().to_path_buf();
    let (events, persons) = tokio::task::spawn_blocking(move || {
        let (copy, guard) = selfgate::cli::backup::store_to_read(&data).unwrap();
        assert!(guard.is_some(), "read from a copy");
        let mut journal = Vec::new();
        selfgate::cli::journal::print(&copy, None, true, &mut journal).unwrap();
        let mut persons = Vec::new();
        selfgate::cli::journal::print_persons(&copy, true, &mut persons).unwrap();
        (
            String::from_utf8(journal).unwrap(),
            String::from_utf8(persons).unwrap(),
        )
    })
    .await
    .unwrap();
    assert!(events.contains("\"verdict\":\"pass\""), "{events}");
    assert!(persons.contains("\"balance_cents\":610"), "{persons}");
    drop(shared);
    node.stop().await;
}

/// An answer of the kiosk over plain HTTP/1.0.
struct Http {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Http {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.trim().split(';').next()?.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// `method path` to the kiosk at `addr`, with a cookie and a form.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    form: Option<&str>,
) -> Http {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if let Some(f) = form {
        req.push_str(&format!(
            "Origin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{f}",
            f.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .expect("the kiosk did not answer")
        .unwrap();
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&raw[..at]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    Http {
        status,
        head,
        body: raw[at + 4..].to_vec(),
    }
}

/// A member of staff logged in to the kiosk at `addr`: the session cookie and its token.
async fn login(addr: std::net::SocketAddr, name: &str, password: &str) -> (String, String) {
    let page = http(addr, "GET", "/login", "", None).await;
    let token = page.cookie("sg_login").unwrap();
    let r = http(
        addr,
        "POST",
        "/login",
        &format!("sg_login={token}"),
        Some(&format!(
            "csrf={token}&name={name}&password={password}&next=%2F"
        )),
    )
    .await;
    assert_eq!(r.status, 303, "login {name}: {}", r.text());
    let session = format!("sg_session={}", r.cookie("sg_session").unwrap());
    let home = http(addr, "GET", "/", &session, None).await;
    let csrf = home
        .text()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    (session, csrf)
}

/// The number in `attr="…"` of a page.
fn attr_number(text: &str, attr: &str) -> i64 {
    text.split(&format!("{attr}=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {attr} in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regisseur_takes_payments_cancels_and_refunds_at_the_kiosk_of_a_running_gate() {
    use selfgate_kiosk::accounts::{AccountsFile, Role};

    let dir = tempfile::tempdir().unwrap();
    common::avoid_end_of_day();
    let store = Store::open(dir.path()).unwrap();
    let mut config = selfgate::config::Config::parse(
        "[school]\nname = \"Collège test\"\ntimezone = \"UTC\"\npublic_holidays = false\n\
         debounce_ms = 0\n\
         [gate]\nid = \"ligne-1\"\n[[gate.readers]]\nname = \"r1\"\nkind = \"simulated\"\n\
         [kiosk]\nlisten = \"127.0.0.1:0\"\n\
         [[services]]\ncode = \"tout\"\nstart = \"00:00\"\nend = \"23:59\"\n\
         days = \"tous sam dim\"\n\
         [[tariffs]]\ncategory = \"eleve\"\nprice = \"3,90\"\n\
         [[regies]]\ncode = \"R1\"\nname = \"Régie du collège\"\n\
         [[regies]]\ncode = \"R2\"\nname = \"Annexe\"\nnode = \"ligne-2\"\n",
        "test.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    config.data_dir = dir.path().to_path_buf();
    // Léa, externe, 10,00 € on her ticket balance.
    common::one_pupil(&store, "ligne-1", LEA, 1_000, 1);
    let accounts = AccountsFile::in_dir(dir.path());
    accounts
        .add("caisse", Role::Regisseur, "regie-du-college-2026")
        .unwrap();
    accounts
        .add("mleroy", Role::Surveillant, "surveillance-2026")
        .unwrap();
    let (reader, badge) = SimReader::new("r1");
    let (hw, _t) = common::sim_hardware(vec![Box::new(reader) as Box<dyn Reader>]);
    let kiosk = Services {
        kiosk: true,
        ..Services::NONE
    };
    let node = common::node_on(&store, config, hw, kiosk).await;
    let addr = node.kiosk_addr().unwrap();
    let shared = node.shared().clone();
    let balance = || shared.engine().roster().balance(PersonId(0));
    let watcher = KioskBackend::start(node.gate().clone(), store.clone(), None);
    let mut live = watcher.live();
    let year = selfgate_rules::journal::school_year(Utc::now().date_naive());

    // A surveillant has no cash desk.
    let (surv, _) = login(addr, "mleroy", "surveillance-2026").await;
    assert_eq!(http(addr, "GET", "/regie", &surv, None).await.status, 403);
    let (cookie, csrf) = login(addr, "caisse", "regie-du-college-2026").await;
    let get = |path: String| {
        let cookie = cookie.clone();
        async move { http(addr, "GET", &path, &cookie, None).await }
    };
    let post = |path: &'static str, form: String| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        async move {
            http(
                addr,
                "POST",
                path,
                &cookie,
                Some(&format!("{form}&csrf={csrf}")),
            )
            .await
        }
    };

    // Find Léa, take 20 € in cash: the receipt, and her balance at the gate at once.
    let found = get("/regie?q=martin".into()).await;
    assert!(found.text().contains("/regie?person=0"), "{}", found.text());
    let r = post(
        "/regie/pay",
        "person=0&amount=20&mode=especes&payer=Mme+Martin&note=".into(),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let cash_receipt = format!("R1-{year}-00001");
    assert_eq!(
        r.header("location").unwrap(),
        format!("/regie?receipt={cash_receipt}&ok=regie.done")
    );
    assert_eq!(
        balance(),
        3_000,
        "the gate's balance right after the payment"
    );
    let line = next_item(&mut live).await.item.unwrap();
    let money = line.money.clone().expect("a line of the cash desk");
    assert_eq!(money.receipt.as_deref(), Some(cash_receipt.as_str()));
    assert_eq!(
        line.label,
        format!("Versement {cash_receipt} : 20,00 € (espèces)")
    );
    assert!(line.first_name.is_empty(), "{line:?}");
    // A cheque, typed the French way.
    let r = post(
        "/regie/pay",
        "person=0&amount=15%2C50&mode=cheque&cheque_number=1234567&bank=CIC&payer=M.+Martin".into(),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let cheque_receipt = format!("R1-{year}-00002");
    assert_eq!(balance(), 4_550);
    // More than two decimals, and a cheque without its number: refused, nothing changed.
    let r = post(
        "/regie/pay",
        "person=0&amount=15%2C505&mode=especes&payer=M.+Martin".into(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("value=\"15,505\""), "{}", r.text());
    let r = post(
        "/regie/pay",
        "person=0&amount=15&mode=cheque&cheque_number=&bank=CIC".into(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("un chèque se note avec son numéro"),
        "{}",
        r.text()
    );
    assert_eq!(balance(), 4_550);

    // The receipt: on its page with the amount in words, and as a PDF.
    let page = get(format!("/regie/receipt/{cheque_receipt}")).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains(&cheque_receipt), "{text}");
    assert!(
        text.contains(&selfgate_money::receipt::amount_in_words(1_550)),
        "the kiosk's words are the PDF's: {text}"
    );
    assert!(text.contains("Chèque n° 1234567, CIC"), "{text}");
    assert!(text.contains("Régie du collège (R1)"), "{text}");
    let pdf = get(format!("/regie/receipt/{cheque_receipt}.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(
        pdf.header("content-type").as_deref(),
        Some("application/pdf")
    );
    assert!(pdf.body.starts_with(b"%PDF"), "not a PDF");
    let pdf_path = dir.path().join("quittance.pdf");
    std::fs::write(&pdf_path, &pdf.body).unwrap();
    match std::process::Command::new("pdftotext")
        .arg(&pdf_path)
        .arg("-")
        .output()
    {
        Ok(out) if out.status.success() => {
            let words = String::from_utf8_lossy(&out.stdout);
            assert!(words.contains(&cheque_receipt), "{words}");
            assert!(
                words.contains("quinze euros et cinquante centimes"),
                "{words}"
            );
        }
        _ => {
            use std::io::Write as _;
            // Past the test runner, which hides what print macros write.
            let _ = writeln!(
                std::io::stderr(),
                "pdftotext is not installed: the receipt's text was not read back"
            );
        }
    }
    // Objects this node may not show: another node's régie, nobody.
    let other = get(format!("/regie/receipt/R2-{year}-00001")).await;
    assert_eq!(other.status, 403);
    assert!(other.text().contains("ligne-2"), "{}", other.text());
    assert_eq!(
        get(format!("/regie/receipt/R1-{year}-00099")).await.status,
        404
    );
    assert_eq!(get("/regie?person=999".into()).await.status, 404);
    assert_eq!(get("/person/999".into()).await.status, 404);

    // The cash payment was a mistake: cancelled once, with a reason; a second time refused.
    let confirm = get(format!("/regie/cancel?receipt={cash_receipt}")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text().contains("name=\"reason\""));
    let r = post(
        "/regie/cancel",
        format!("receipt={cash_receipt}&reason=erreur+de+saisie"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(balance(), 2_550);
    let r = post(
        "/regie/cancel",
        format!("receipt={cash_receipt}&reason=encore"),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("déjà annulée"), "{}", r.text());
    assert_eq!(balance(), 2_550);

    // A refund above the balance: refused, the form as typed; then one within it.
    let r = post(
        "/regie/refund",
        "person=0&amount=100&mode=virement&reason=depart+en+cours+d%27annee".into(),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let text = r.text();
    assert!(text.contains("value=\"100\""), "{text}");
    assert!(text.contains("value=\"depart en cours d'annee\""), "{text}");
    assert!(text.contains("on ne peut rembourser"), "{text}");
    assert_eq!(balance(), 2_550);
    let r = post(
        "/regie/refund",
        "person=0&amount=15&mode=virement&reason=depart".into(),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(balance(), 1_050);

    // A meal at 3,90 €: 6,60 € left, one meal's worth: the gate screen's line says so.
    badge.present(LEA).await;
    let first = loop {
        let item = next_item(&mut live).await.item.unwrap();
        if item.money.is_none() {
            break item;
        }
    };
    assert_eq!(first.balance_cents, Some(660));
    assert_eq!(first.meals_left, Some(1), "fewer than 3 meals left");
    assert_eq!(balance(), 660);
    let low = get("/regie/soldes-bas".into()).await;
    assert!(low.text().contains("/regie?person=0"), "{}", low.text());

    // The day's cash report against the journal: payments − cancellations − refunds.
    let today = Utc::now().date_naive();
    let journal_total: i64 = store
        .events(None)
        .unwrap()
        .iter()
        .filter(|e| e.at.date_naive() == today)
        .map(|e| match &e.kind {
            EventKind::Payment(p) => p.cents,
            EventKind::PaymentCancel(c) => -c.cents,
            EventKind::Refund(r) => -r.cents,
            _ => 0,
        })
        .sum();
    assert_eq!(journal_total, 2_000 + 1_550 - 2_000 - 1_500);
    let cash = get(format!("/regie/caisse?day={today}")).await;
    assert_eq!(cash.status, 200);
    assert_eq!(
        attr_number(&cash.text(), "data-total-cents"),
        journal_total,
        "{}",
        cash.text()
    );
    assert!(cash.text().contains(&cheque_receipt));
    let csv = get(format!("/regie/caisse.csv?day={today}")).await;
    assert_eq!(csv.status, 200);
    assert!(String::from_utf8_lossy(&csv.body).contains(&cheque_receipt));
    let pdf = get(format!("/regie/caisse.pdf?day={today}")).await;
    assert!(pdf.body.starts_with(b"%PDF"));
    // The month: its closing balances are the gate's.
    let month = get("/regie/mois".into()).await;
    assert_eq!(month.status, 200, "{}", month.text());
    let closing = month
        .text()
        .split("data-line=\"closing\" data-cents=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();
    assert_eq!(closing, balance());

    drop((live, watcher, shared));
    node.stop().await;
}
