//! The kiosk's backend on a real gate and store: the live feed from committed passages, a
//! badge enrolled by presenting it at a reader, a badge declared lost (refused next time, and
//! an alert), oppositions added and lifted, an admission by hand journaled with the staff
//! member, the list of pupils not served yet, search and the day's report. And the kiosk over
//! TLS with a generated certificate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
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
    common::avoid_end_of_day();
    let store = Store::open(dir).unwrap();
    let mut config = common::all_day_config(
        "id = \"ligne-1\"\n[[gate.readers]]\nname = \"r1\"\nkind = \"simulated\"",
    );
    config.data_dir = dir.to_path_buf();
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
    tokio::time::sleep(Duration::from_millis(100)).await;
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
    tokio::time::sleep(Duration::from_millis(100)).await;
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

    // An opposition applies to the next decision; lifted, it no longer does.
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
