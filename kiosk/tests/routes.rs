//! Every route of the kiosk, through the real router, on a fake school: anonymous callers are
//! refused, a POST without the anti-forgery token (or from another origin) is refused and
//! changes nothing, each role reaches exactly what it may, logins are rate-limited, and the
//! gate screen's stream carries nothing beyond a first name and a class.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use futures_util::StreamExt;
use tower::ServiceExt;

use selfgate_kiosk::accounts::{AccountsFile, Role};
use selfgate_kiosk::{
    Access, BoxFuture, DayReport, ExchangeReport, FeedItem, KioskOptions, KioskSource, Live,
    NewOpposition, PersonDetail, PersonRow, ROUTES, SourceError, StaffSource, Summary, SyncStatus,
};

/// A school of two pupils; every action is recorded instead of done.
struct Fake {
    live: tokio::sync::broadcast::Sender<Live>,
    actions: Mutex<Vec<String>>,
}

impl Fake {
    fn new() -> Arc<Fake> {
        Arc::new(Fake {
            live: tokio::sync::broadcast::channel(16).0,
            actions: Mutex::new(Vec::new()),
        })
    }
    fn did(&self, what: String) {
        self.actions.lock().unwrap().push(what);
    }
    fn actions(&self) -> Vec<String> {
        self.actions.lock().unwrap().clone()
    }
    fn row(id: u32) -> PersonRow {
        PersonRow {
            id,
            name: format!("Léa MARTIN{id}"),
            class: "4B".into(),
            category: "Élève".into(),
            status: "Attendu (forfait)".into(),
            served: false,
        }
    }
}

impl KioskSource for Fake {
    fn today(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()
    }
    fn summary(&self) -> Summary {
        Summary {
            school: "Collège test".into(),
            gate: "ligne-1".into(),
            now: "30/11/2026 12:04:00".into(),
            service: Some("Déjeuner".into()),
            expected: 2,
            served: 0,
            to_come: 2,
            denied: vec![("already_served".into(), "Déjà passé".into(), 1)],
            ..Summary::default()
        }
    }
    fn recent(&self, _limit: usize) -> Vec<FeedItem> {
        vec![FeedItem {
            gate: "ligne-1".into(),
            seq: Some(41),
            time: "12:04:30".into(),
            name: "Léa MARTIN".into(),
            class: "4B".into(),
            pass: false,
            reason: "already_served".into(),
            label: "Déjà passé à 12:04".into(),
            label_en: "Already served at 12:04".into(),
            person: Some(7),
            first_name: "Léa".into(),
            balance_cents: None,
        }]
    }
    fn health(&self) -> serde_json::Value {
        serde_json::json!({ "status": "ok", "readers": {} })
    }
    fn updated(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

impl StaffSource for Fake {
    fn live(&self) -> tokio::sync::broadcast::Receiver<Live> {
        self.live.subscribe()
    }
    fn search(&self, _q: &str, _limit: usize) -> Vec<PersonRow> {
        vec![Fake::row(1)]
    }
    fn person(&self, id: u32) -> BoxFuture<'_, Option<PersonDetail>> {
        Box::pin(async move {
            (id < 3).then(|| PersonDetail {
                row: Fake::row(id),
                external_id: format!("E{id}"),
                regime: "Demi-pensionnaire".into(),
                balance_cents: -320,
                ..PersonDetail::default()
            })
        })
    }
    fn not_served(&self) -> Vec<PersonRow> {
        vec![Fake::row(1), Fake::row(2)]
    }
    fn admit(
        &self,
        person: u32,
        by: &str,
        note: &str,
        _second_meal: bool,
    ) -> BoxFuture<'_, Result<(), SourceError>> {
        // Persons 90–93: each kind of refusal the source can give.
        let refused = match person {
            90 => Some(SourceError::Invalid("valeur <invalide>".into())),
            91 => Some(SourceError::NotFound("Personne inconnue".into())),
            92 => Some(SourceError::Refused("Aucun service n'est ouvert".into())),
            93 => Some(SourceError::Unavailable("Enregistrement impossible".into())),
            _ => None,
        };
        if let Some(e) = refused {
            return Box::pin(async move { Err(e) });
        }
        self.did(format!("admit {person} by {by}: {note}"));
        Box::pin(async { Ok(()) })
    }
    fn declare_lost(&self, person: u32, badge: &str) -> BoxFuture<'_, Result<(), SourceError>> {
        self.did(format!("lost {person} {badge}"));
        Box::pin(async { Ok(()) })
    }
    fn enrol_next(
        &self,
        person: u32,
        _reader: Option<String>,
        _wait: Duration,
    ) -> BoxFuture<'_, Result<String, SourceError>> {
        self.did(format!("enrol {person}"));
        Box::pin(async { Ok("0A12345678".into()) })
    }
    fn add_opposition(&self, o: NewOpposition) -> BoxFuture<'_, Result<(), SourceError>> {
        self.did(format!("opposition {} {} by {}", o.person, o.reason, o.by));
        Box::pin(async { Ok(()) })
    }
    fn lift_opposition(&self, person: u32, id: u64) -> BoxFuture<'_, Result<(), SourceError>> {
        self.did(format!("lift {person} {id}"));
        Box::pin(async { Ok(()) })
    }
    fn day_report(&self, _day: Option<String>) -> BoxFuture<'_, Result<DayReport, SourceError>> {
        Box::pin(async { Ok(DayReport::default()) })
    }
    fn services(&self) -> Vec<(String, String)> {
        vec![("dejeuner".into(), "Déjeuner".into())]
    }
    fn readers(&self) -> Vec<String> {
        vec!["entree".into()]
    }
    fn sync_status(&self) -> Option<SyncStatus> {
        Some(SyncStatus {
            connected: false,
            last_exchange: Some("30/11/2026 11:00".into()),
            events_waiting: 12,
        })
    }
    fn exchange_reports(&self) -> Vec<ExchangeReport> {
        vec![ExchangeReport {
            name: "PRONOTE absences".into(),
            ok: true,
            message: "3 absences".into(),
            ..ExchangeReport::default()
        }]
    }
}

const PASSWORD: &str = "mot-de-passe-solide";

struct Kiosk {
    app: Router,
    fake: Arc<Fake>,
    accounts: AccountsFile,
    _dir: tempfile::TempDir,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Kiosk {
    fn new(tls: bool) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        let accounts = AccountsFile::in_dir(dir.path());
        for role in Role::ALL {
            accounts.add(role.code(), role, PASSWORD).unwrap();
        }
        let fake = Fake::new();
        let app = selfgate_kiosk::router(
            fake.clone(),
            KioskOptions {
                accounts: accounts.path().to_owned(),
                tls,
                stop: None,
            },
        );
        Kiosk {
            app,
            fake,
            accounts,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let is_stream = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
        let body = if is_stream {
            String::new()
        } else {
            let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let mut req = Request::get(path).header(header::HOST, "kiosk.test");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &str,
        origin: Option<&str>,
    ) -> Resp {
        let mut req = Request::post(path)
            .header(header::HOST, "kiosk.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        self.send(req.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// Logs in; returns the session cookie and its anti-forgery token.
    async fn login(&self, name: &str) -> (String, String) {
        let page = self.get("/login", None).await;
        let token = cookie_value(&page.headers, "sg_login").unwrap();
        let r = self
            .post(
                "/login",
                Some(&format!("sg_login={token}")),
                &format!("csrf={token}&name={name}&password={PASSWORD}&next=%2F"),
                Some("http://kiosk.test"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login {name}: {}", r.body);
        let session = format!(
            "sg_session={}",
            cookie_value(&r.headers, "sg_session").unwrap()
        );
        let page = self.get("/", Some(&session)).await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        (session, csrf)
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie_line(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

/// A valid form for each POST route (the token is added by the caller).
fn form_for(path: &str) -> &'static str {
    match path {
        "/admit" => "person=1&note=badge+oubli%C3%A9",
        "/badge/enrol" => "person=1&reader=",
        "/badge/lost" => "person=1&badge=0A12345678",
        "/opposition/add" => "person=1&reason=manuelle&service=&from=2026-11-30&to=&note=x",
        "/opposition/lift" => "person=1&id=3",
        "/accounts/add" => "name=nouveau&role=surveillant&password=un-mot-de-passe",
        "/accounts/remove" => "name=surveillant",
        _ => "",
    }
}

#[tokio::test]
async fn anonymous_callers_reach_only_the_public_routes() {
    let k = Kiosk::new(false);
    for (method, path, access) in ROUTES {
        let r = if *method == "GET" {
            k.get(path, None).await
        } else {
            k.post(path, None, form_for(path), None).await
        };
        match access {
            // The login form's POST needs its own token: checked below.
            Access::Public if *method == "POST" => {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}")
            }
            Access::Public => assert!(
                r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                r.status
            ),
            Access::Staff(_) => assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}"),
        }
    }
    // A browser asking for a page is sent to the login form, and back afterwards.
    let r = k
        .send(
            Request::get("/not-served")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login?next=%2Fnot-served");
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());
}

#[tokio::test]
async fn a_post_without_the_token_or_from_another_site_changes_nothing() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("administrateur").await;
    for (method, path, access) in ROUTES {
        if *method != "POST" || *access == Access::Public {
            continue;
        }
        let form = form_for(path);
        let none = k.post(path, Some(&session), form, None).await;
        assert_eq!(none.status, StatusCode::FORBIDDEN, "{path} without token");
        let wrong = k
            .post(
                path,
                Some(&session),
                &format!("{form}&csrf={}", "0".repeat(64)),
                None,
            )
            .await;
        assert_eq!(
            wrong.status,
            StatusCode::FORBIDDEN,
            "{path} with a wrong token"
        );
        let foreign = k
            .post(
                path,
                Some(&session),
                &format!("{form}&csrf={csrf}"),
                Some("http://evil.example"),
            )
            .await;
        assert_eq!(
            foreign.status,
            StatusCode::FORBIDDEN,
            "{path} from another origin"
        );
    }
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());
    assert_eq!(
        k.accounts.accounts().unwrap().len(),
        3,
        "no account changed"
    );
    // The login form has its own token.
    let r = k
        .post(
            "/login",
            None,
            &format!("name=administrateur&password={PASSWORD}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn each_role_does_what_it_may_and_nothing_more() {
    for role in Role::ALL {
        let k = Kiosk::new(false);
        let (session, csrf) = k.login(role.code()).await;
        for (method, path, access) in ROUTES {
            let Access::Staff(needed) = access else {
                continue;
            };
            if *path == "/logout" {
                continue;
            }
            let before = k.fake.actions().len();
            let r = if *method == "GET" {
                k.get(path, Some(&session)).await
            } else {
                let form = format!("{}&csrf={csrf}", form_for(path));
                k.post(path, Some(&session), &form, Some("http://kiosk.test"))
                    .await
            };
            if role >= *needed {
                assert!(
                    r.status.is_success() || r.status.is_redirection(),
                    "{} may {method} {path}: {} {}",
                    role.code(),
                    r.status,
                    r.body
                );
                assert!(
                    !r.body.contains("??"),
                    "{path}: a string is missing from the table"
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{} may not {method} {path}",
                    role.code()
                );
                assert_eq!(k.fake.actions().len(), before, "{path} was carried out");
            }
        }
        // What was carried out names the staff member.
        for a in k.fake.actions() {
            if a.starts_with("admit") || a.starts_with("opposition") {
                assert!(a.contains(&format!("by {}", role.code())), "{a}");
            }
        }
        let admitted = k.fake.actions().iter().any(|a| a.starts_with("admit 1"));
        assert!(admitted, "every role admits by hand");
        let lost = k.fake.actions().iter().any(|a| a.starts_with("lost"));
        assert_eq!(lost, role >= Role::Gestionnaire, "{}", role.code());
    }
}

#[tokio::test]
async fn a_refusal_of_the_source_shows_its_message_with_the_status_of_its_kind() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("surveillant").await;
    for (person, status, message) in [
        (90, StatusCode::BAD_REQUEST, "valeur &lt;invalide&gt;"),
        (91, StatusCode::NOT_FOUND, "Personne inconnue"),
        (92, StatusCode::CONFLICT, "Aucun service n'est ouvert"),
        (
            93,
            StatusCode::SERVICE_UNAVAILABLE,
            "Enregistrement impossible",
        ),
    ] {
        let r = k
            .post(
                "/admit",
                Some(&session),
                &format!("person={person}&note=x&csrf={csrf}"),
                Some("http://kiosk.test"),
            )
            .await;
        assert_eq!(r.status, status, "person {person}: {}", r.body);
        assert!(r.body.contains(message), "person {person}: {}", r.body);
    }
    assert!(k.fake.actions().is_empty(), "nothing was carried out");
}

#[tokio::test]
async fn a_page_that_does_not_exist_carries_the_security_headers_too() {
    let k = Kiosk::new(false);
    let r = k.get("/nowhere", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        r.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
}

#[test]
fn after_login_only_our_own_pages() {
    use selfgate_kiosk::safe_next;
    for good in [
        "/",
        "/not-served",
        "/person/42",
        "/search?q=l%C3%A9a",
        "/report?day=2026-11-16",
    ] {
        assert_eq!(safe_next(Some(good)), good);
    }
    for bad in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/person/../../x",
        "/person/",
        "/nowhere",
        "/logout",
        "/search?q=<script>",
        "",
    ] {
        assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
    }
    assert_eq!(safe_next(None), "/");
}

#[tokio::test]
async fn a_login_never_sends_the_browser_off_site() {
    let k = Kiosk::new(false);
    // `/<TAB>/evil.example`, which URL parsers read as `//evil.example`.
    let page = k.get("/login?next=%2F%09%2Fevil.example", None).await;
    assert!(
        page.body.contains(r#"name="next" value="/""#),
        "{}",
        page.body
    );
    let token = cookie_value(&page.headers, "sg_login").unwrap();
    let r = k
        .post(
            "/login",
            Some(&format!("sg_login={token}")),
            &format!(
                "csrf={token}&name=surveillant&password={PASSWORD}&next=%2F%09%2Fevil.example"
            ),
            Some("http://kiosk.test"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/");
}

#[tokio::test]
async fn sessions_cookies_logout_and_removed_accounts() {
    let k = Kiosk::new(false);
    let page = k.get("/login", None).await;
    let token = cookie_value(&page.headers, "sg_login").unwrap();
    let r = k
        .post(
            "/login",
            Some(&format!("sg_login={token}")),
            &format!("csrf={token}&name=surveillant&password={PASSWORD}"),
            None,
        )
        .await;
    let line = set_cookie_line(&r.headers, "sg_session");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "plain HTTP: {line}");
    let (session, csrf) = k.login("surveillant").await;
    // Removed from the file (by `selfgate account remove` while running): the session ends.
    k.accounts.remove("surveillant").unwrap();
    assert_eq!(
        k.get("/api/summary", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let _ = csrf;
    let (session, csrf) = k.login("gestionnaire").await;
    let out = k
        .post("/logout", Some(&session), &format!("csrf={csrf}"), None)
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        k.get("/api/summary", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Under TLS the cookies are Secure.
    let tls = Kiosk::new(true);
    let page = tls.get("/login", None).await;
    assert!(set_cookie_line(&page.headers, "sg_login").contains("Secure"));
}

/// Opens `/events` for `session`; the stream's body.
async fn open_events(k: &Kiosk, session: &str) -> axum::body::BodyDataStream {
    let resp = k
        .app
        .clone()
        .oneshot(
            Request::get("/events")
                .header(header::HOST, "kiosk.test")
                .header(header::COOKIE, session)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.into_body().into_data_stream()
}

/// Whether `stream` ends within a few seconds (data may come first).
async fn ends(stream: &mut axum::body::BodyDataStream) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(None) => return true,
            Ok(Some(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_session_and_its_live_stream_end_at_logout_removal_and_a_new_password() {
    // Logout.
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("surveillant").await;
    let mut stream = open_events(&k, &session).await;
    let r = k
        .post(
            "/logout",
            Some(&session),
            &format!("csrf={csrf}"),
            Some("http://kiosk.test"),
        )
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert!(ends(&mut stream).await, "the stream outlived the logout");

    // A new password (`selfgate account passwd`, the file changes under the kiosk): the old
    // session ends, its stream too, and it is not revived by the right cookie.
    let (session, _) = k.login("gestionnaire").await;
    let mut stream = open_events(&k, &session).await;
    k.accounts
        .set_password("gestionnaire", "un-tout-autre-mot-de-passe")
        .unwrap();
    assert!(
        ends(&mut stream).await,
        "the stream outlived the new password"
    );
    let page = k.get("/", Some(&session)).await;
    assert!(
        !page.status.is_success(),
        "old session still in: {}",
        page.status
    );

    // Removed, then added again with the same name: the old session is not revived.
    let (session, _) = k.login("administrateur").await;
    let mut stream = open_events(&k, &session).await;
    k.accounts.remove("administrateur").unwrap();
    k.accounts
        .add("administrateur", Role::Administrateur, PASSWORD)
        .unwrap();
    assert!(ends(&mut stream).await, "the stream outlived the removal");
    let page = k.get("/", Some(&session)).await;
    assert!(
        !page.status.is_success(),
        "old session revived: {}",
        page.status
    );
}

#[tokio::test]
async fn logins_are_rate_limited_per_account() {
    let k = Kiosk::new(false);
    let page = k.get("/login", None).await;
    let token = cookie_value(&page.headers, "sg_login").unwrap();
    let cookie = format!("sg_login={token}");
    let attempt = |password: &str| format!("csrf={token}&name=surveillant&password={password}");
    for _ in 0..selfgate_kiosk::auth::MAX_FAILURES_ACCOUNT {
        let r = k
            .post("/login", Some(&cookie), &attempt("mauvais"), None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("incorrect"), "{}", r.body);
    }
    // Locked now, even with the right password.
    let r = k
        .post("/login", Some(&cookie), &attempt(PASSWORD), None)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Trop de tentatives"), "{}", r.body);
    // Other accounts are not locked.
    k.login("gestionnaire").await;
}

#[tokio::test]
async fn the_gate_screen_shows_a_first_name_and_a_class_and_nothing_else() {
    let k = Kiosk::new(false);
    let page = k.get("/gate/ligne-1", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Présentez votre badge"), "{}", page.body);
    let portique = k.get("/portique", None).await;
    assert_eq!(portique.headers[header::LOCATION], "/gate/ligne-1");

    let resp = k
        .app
        .clone()
        .oneshot(
            Request::get("/gate/ligne-1/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut stream = resp.into_body().into_data_stream();
    let decision = |gate: &str, pass: bool, reason: &str, label: &str| Live {
        item: Some(FeedItem {
            gate: gate.into(),
            seq: Some(42),
            time: "12:04:00".into(),
            name: "Léa MARTIN".into(),
            class: "4B".into(),
            pass,
            reason: reason.into(),
            label: label.into(),
            label_en: format!("(en) {label}"),
            person: Some(7),
            first_name: "Léa".into(),
            balance_cents: Some(-320),
        }),
        summary: Summary::default(),
    };
    // Another gate's decision is not shown here; this gate's are.
    k.fake
        .live
        .send(decision("ligne-2", true, "forfait", "Forfait"))
        .unwrap();
    k.fake
        .live
        .send(decision("ligne-1", false, "opposition:impaye", "Impayé"))
        .unwrap();
    k.fake
        .live
        .send(decision("ligne-1", true, "ticket", "Ticket, solde −3,20 €"))
        .unwrap();
    let mut text = String::new();
    while text.matches("event: decision").count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("no event on the gate stream")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(text.matches("event: decision").count(), 2, "{text}");
    assert!(text.contains("\"first_name\":\"Léa\""), "{text}");
    assert!(text.contains("\"class\":\"4B\""), "{text}");
    assert!(text.contains("va voir l'intendance"), "{text}");
    assert!(
        text.contains("−3,20 €"),
        "the balance on a ticket pass: {text}"
    );
    for secret in [
        "MARTIN",
        "Impayé",
        "impaye",
        "\"person\"",
        "42",
        "ligne-2",
        "Forfait",
    ] {
        assert!(
            !text.contains(secret),
            "the gate stream leaks {secret:?}: {text}"
        );
    }
    // Only the ticket pass carries a balance.
    let balances = text.matches("\"balance\":\"").count();
    assert_eq!(balances, 1, "{text}");
}

#[tokio::test]
async fn staff_pages_show_the_counts_alerts_and_the_hooks_of_sync_and_exchanges() {
    let k = Kiosk::new(false);
    let (session, _) = k.login("gestionnaire").await;
    let home = k.get("/", Some(&session)).await;
    for needle in [
        "Attendus",
        "Servis",
        "Refusés",
        "Restent à venir",
        "Déjeuner",
        "/assets/kiosk.js",
    ] {
        assert!(home.body.contains(needle), "{needle}: {}", home.body);
    }
    let ex = k.get("/exchanges", Some(&session)).await;
    assert!(
        ex.body.contains("injoignable") && ex.body.contains("PRONOTE absences"),
        "{}",
        ex.body
    );
    let health = k.get("/healthz", None).await;
    assert!(
        health.body.contains("\"events_waiting\":12"),
        "{}",
        health.body
    );
    let person = k.get("/person/1", Some(&session)).await;
    assert!(
        person.body.contains("−3,20 €"),
        "a gestionnaire sees the balance"
    );
    let missing = k.get("/person/99", Some(&session)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // English on request, kept in a cookie.
    assert!(home.body.contains("Déjà passé à 12:04"), "{}", home.body);
    let en = k.get("/?lang=en", Some(&session)).await;
    assert!(en.body.contains("Still to come"), "{}", en.body);
    // The passages' reasons and the denials too, not only the page's own words.
    assert!(en.body.contains("Already served at 12:04"), "{}", en.body);
    assert!(
        en.body.contains("<span>Already served</span>"),
        "{}",
        en.body
    );
    assert!(!en.body.contains("Déjà passé"), "{}", en.body);
    assert!(set_cookie_line(&en.headers, "sg_lang").starts_with("sg_lang=en"));
    // A surveillant does not see balances.
    let (surv, _) = k.login("surveillant").await;
    let person = k.get("/person/1", Some(&surv)).await;
    assert!(!person.body.contains("−3,20 €"), "{}", person.body);
}
