//! PRONOTE's three flows behind one adapter, [`PronoteLink`]:
//!
//! - [`meal_days`]: the meal days each pupil is registered for, sent to PRONOTE;
//! - [`absence_changes`]: the pupils PRONOTE has absent for a meal (fetched from the tally time
//!   until the service ends) become `AbsentPronote` oppositions for that day's service; a pupil
//!   no longer in PRONOTE's list has the opposition lifted;
//! - [`no_shows`]: after a service, the registered pupils who did not come, sent back.
//!
//! The link speaks our documented exchange format (`format.rs`, `docs/pronote-exchange.md`)
//! over an exchange folder or HTTPS signed with the imported security key. PRONOTE's own
//! partner format is not public: another transport or format slots in here, the flows stay.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use selfgate_rules::Served;
use selfgate_rules::engine::Roster;
use selfgate_rules::model::{
    Category, Opposition, OppositionReason, PersonId, SchoolRules, ServiceId,
};

use super::format::{
    self, Absences, FORMAT, Inscriptions, MealDay, NonVenu, NonVenus, PupilMeals, SecurityKey,
    ServiceInfo,
};
use super::http::{HttpError, HttpsClient};
use crate::config::{Config, PronoteTransport};
use crate::store::WriteOp;

/// Name of the key file in the data directory, and of its systemd credential.
pub const KEY_FILE: &str = "pronote.key";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("PRONOTE : {0}")]
    Http(#[from] HttpError),
    #[error("PRONOTE a répondu {status} : {excerpt}")]
    Status { status: u16, excerpt: String },
    #[error("réponse de PRONOTE refusée : {0}")]
    Format(#[from] format::FormatError),
    #[error("réponse de PRONOTE non signée ou mal signée avec la clé de sécurité : refusée")]
    Signature,
    #[error("{path} : {message}")]
    File { path: PathBuf, message: String },
    #[error("clé de sécurité PRONOTE : {0}")]
    Key(String),
}

/// How we talk to PRONOTE.
pub enum PronoteLink {
    Folder(FolderLink),
    Https(HttpsLink),
}

/// The exchange folder: we write documents to `sortant/`, PRONOTE writes its absence lists to
/// `entrant/`. Every file is written beside its final name and renamed, so that a reader never
/// sees half of one.
pub struct FolderLink {
    pub dir: PathBuf,
}

/// HTTPS: `base` + `/v1/...`, each request signed with the key, each answer's signature checked.
pub struct HttpsLink {
    pub base: String,
    pub client: HttpsClient,
    pub key: SecurityKey,
    pub uai: String,
}

/// The security key: `$CREDENTIALS_DIRECTORY/pronote.key`, `[pronote] key_file`, or the one
/// `selfgate pronote import-key` stored in the data directory.
pub fn load_key(config: &Config) -> Result<SecurityKey, LinkError> {
    let stored = config.data_dir.join(KEY_FILE);
    let configured = config.pronote.key_file.as_deref().unwrap_or(&stored);
    let path =
        crate::infra::secrets::secret_file(KEY_FILE, Some(configured)).map_err(LinkError::Key)?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        LinkError::Key(format!(
            "{} illisible ({e}) : importez-la avec `selfgate pronote import-key FICHIER`",
            path.display()
        ))
    })?;
    SecurityKey::parse(&text).map_err(|e| LinkError::Key(format!("{} : {e}", path.display())))
}

/// `selfgate pronote import-key FILE`: checks the key and stores it in the data directory,
/// readable by the directory's owner (the daemon's user) only; written beside, then renamed.
pub fn import_key(data_dir: &Path, file: &Path) -> Result<PathBuf, LinkError> {
    let text = std::fs::read_to_string(file).map_err(|e| LinkError::File {
        path: file.to_owned(),
        message: e.to_string(),
    })?;
    let key = SecurityKey::parse(&text).map_err(|e| LinkError::File {
        path: file.to_owned(),
        message: e,
    })?;
    std::fs::create_dir_all(data_dir).map_err(|e| LinkError::File {
        path: data_dir.to_owned(),
        message: e.to_string(),
    })?;
    let target = data_dir.join(KEY_FILE);
    write_private(&target, key.to_text().as_bytes()).map_err(|e| LinkError::File {
        path: target.clone(),
        message: e.to_string(),
    })?;
    Ok(target)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    // Imported by an administrator (root) for the daemon's user, who owns the data directory.
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(dir)?;
        if owner.uid() != f.metadata()?.uid() {
            std::os::unix::fs::chown(&tmp, Some(owner.uid()), Some(owner.gid()))?;
        }
    }
    std::fs::rename(&tmp, path)
}

/// Writes `bytes` to `path` through a temporary file beside it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

impl PronoteLink {
    /// The link `[pronote]` describes (the key is read now, for HTTPS).
    pub fn from_config(config: &Config) -> Result<PronoteLink, LinkError> {
        Ok(match &config.pronote.transport {
            PronoteTransport::Folder(dir) => PronoteLink::Folder(FolderLink { dir: dir.clone() }),
            PronoteTransport::Https { url, ca_file } => PronoteLink::Https(HttpsLink {
                base: url.trim_end_matches('/').to_owned(),
                client: HttpsClient::new(ca_file.as_deref(), config.pronote.timeout)?,
                key: load_key(config)?,
                uai: config.school.uai.clone(),
            }),
        })
    }

    /// Where the link goes, for reports.
    pub fn describe(&self) -> String {
        match self {
            PronoteLink::Folder(f) => format!("dossier {}", f.dir.display()),
            PronoteLink::Https(h) => h.base.clone(),
        }
    }

    /// Sends the meal days; returns what PRONOTE says it took.
    pub async fn send_meal_days(&self, doc: &Inscriptions) -> Result<String, LinkError> {
        let body = json(doc);
        match self {
            PronoteLink::Folder(f) => {
                let name = format!(
                    "inscriptions-{}.json",
                    doc.generated_at.format("%Y%m%dT%H%M%SZ")
                );
                f.write(&name, &body)?;
                Ok(format!("sortant/{name} écrit"))
            }
            PronoteLink::Https(h) => h.put("/v1/inscriptions", body).await,
        }
    }

    /// PRONOTE's current absence list for one meal, checked whole.
    pub async fn fetch_absences(
        &self,
        uai: &str,
        date: NaiveDate,
        service: &str,
    ) -> Result<Absences, LinkError> {
        match self {
            PronoteLink::Folder(f) => {
                let path = f.dir.join("entrant").join(absences_file(date, service));
                let bytes = std::fs::read(&path).map_err(|e| LinkError::File {
                    path: path.clone(),
                    message: if e.kind() == std::io::ErrorKind::NotFound {
                        "PRONOTE n'a pas (encore) déposé la liste d'absences de ce service".into()
                    } else {
                        e.to_string()
                    },
                })?;
                format::parse_absences(&bytes, uai, date, service).map_err(|e| LinkError::File {
                    path,
                    message: e.to_string(),
                })
            }
            PronoteLink::Https(h) => {
                let path = format!("/v1/absences?date={date}&service={service}");
                let answer = h.call("GET", &path, Vec::new()).await?;
                Ok(format::parse_absences(&answer, uai, date, service)?)
            }
        }
    }

    /// Sends a service's no-shows.
    pub async fn send_no_shows(&self, doc: &NonVenus) -> Result<String, LinkError> {
        let body = json(doc);
        match self {
            PronoteLink::Folder(f) => {
                let name = format!("non-venus-{}-{}.json", doc.date, doc.service);
                f.write(&name, &body)?;
                Ok(format!("sortant/{name} écrit"))
            }
            PronoteLink::Https(h) => h.put("/v1/non-venus", body).await,
        }
    }
}

/// The file PRONOTE drops for a meal's absences, in `entrant/`.
pub fn absences_file(date: NaiveDate, service: &str) -> String {
    format!("absences-{date}-{service}.json")
}

fn json<T: serde::Serialize>(doc: &T) -> Vec<u8> {
    // Plain data: serialising into a Vec cannot fail.
    serde_json::to_vec_pretty(doc).unwrap_or_default()
}

impl FolderLink {
    fn write(&self, name: &str, body: &[u8]) -> Result<(), LinkError> {
        let path = self.dir.join("sortant").join(name);
        write_atomically(&path, body).map_err(|e| LinkError::File {
            path,
            message: e.to_string(),
        })
    }
}

impl HttpsLink {
    async fn put(&self, path: &str, body: Vec<u8>) -> Result<String, LinkError> {
        let answer = self.call("PUT", path, body).await?;
        let ack = format::parse_ack(&answer)?;
        Ok(format!(
            "PRONOTE a accusé réception de {} élève(s)",
            ack.recus
        ))
    }

    /// A signed request; the answer's body once its status and signature are checked.
    async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let url_path = super::http::parse_https_url(&self.base)
            .map(|u| u.path.trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let full_path = format!("{url_path}{path}");
        let ts = Utc::now().timestamp();
        let signature = self
            .key
            .sign(format::request_message(method, &full_path, ts, &body).as_bytes());
        let headers = vec![
            (format::HEADER_UAI.to_owned(), self.uai.clone()),
            (format::HEADER_TIMESTAMP.to_owned(), ts.to_string()),
            (format::HEADER_SIGNATURE.to_owned(), signature.clone()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let url = format!("{}{path}", self.base);
        let answer = self.client.send(method, &url, &headers, body).await?;
        if answer.status != 200 {
            let excerpt: String = String::from_utf8_lossy(&answer.body)
                .chars()
                .take(200)
                .filter(|c| !c.is_control())
                .collect();
            return Err(LinkError::Status {
                status: answer.status,
                excerpt,
            });
        }
        let their_ts = answer
            .header(format::HEADER_TIMESTAMP)
            .and_then(|t| t.trim().parse::<i64>().ok());
        let signed = match (their_ts, answer.header(format::HEADER_SIGNATURE)) {
            (Some(t), Some(sig)) => {
                (Utc::now().timestamp() - t).abs() <= format::MAX_CLOCK_SKEW_S
                    && self.key.verify(
                        format::response_message(answer.status, t, &signature, &answer.body)
                            .as_bytes(),
                        sig,
                    )
            }
            _ => false,
        };
        if !signed {
            return Err(LinkError::Signature);
        }
        Ok(answer.body)
    }
}

// ---- the flows ------------------------------------------------------------------------------

/// Is `service` served on `day` (its weekdays, no closure)?
pub fn served_on(rules: &SchoolRules, day: NaiveDate, service: ServiceId) -> bool {
    rules
        .service(service)
        .is_some_and(|s| s.weekdays.contains(day.weekday()))
        && rules.closure_on(day, service).is_none()
}

/// The pupils registered (a forfait covers it) for `service` on `day`, in id order.
pub fn registered<'r>(
    roster: &'r Roster,
    rules: &SchoolRules,
    day: NaiveDate,
    service: ServiceId,
) -> Vec<&'r selfgate_rules::model::Person> {
    if !served_on(rules, day, service) {
        return Vec::new();
    }
    roster
        .persons()
        .filter(|p| p.category == Category::Eleve && p.forfait_covers(day, service))
        .collect()
}

/// Flow 1: every pupil's meal days from `from` for `days` more days.
pub fn meal_days(
    config: &Config,
    roster: &Roster,
    from: NaiveDate,
    now: DateTime<Utc>,
) -> Inscriptions {
    let rules = &config.rules;
    let to = from + chrono::Days::new(u64::from(config.pronote.days_ahead));
    let mut eleves = Vec::new();
    for p in roster.persons().filter(|p| p.category == Category::Eleve) {
        let mut repas = Vec::new();
        let mut day = from;
        while day <= to {
            let services: Vec<String> = rules
                .services
                .iter()
                .filter(|s| served_on(rules, day, s.id) && p.forfait_covers(day, s.id))
                .map(|s| s.code.clone())
                .collect();
            if !services.is_empty() {
                repas.push(MealDay {
                    date: day,
                    services,
                });
            }
            day = day.succ_opt().unwrap_or(to + chrono::Days::new(1));
        }
        if !repas.is_empty() {
            eleves.push(PupilMeals {
                id: p.external_id.clone(),
                nom: p.last_name.clone(),
                prenom: p.first_name.clone(),
                classe: p.class.clone(),
                repas,
            });
        }
    }
    eleves.sort_by(|a, b| a.id.cmp(&b.id));
    Inscriptions {
        format: FORMAT.into(),
        kind: "inscriptions".into(),
        uai: config.school.uai.clone(),
        generated_at: now,
        from,
        to,
        services: rules
            .services
            .iter()
            .map(|s| ServiceInfo {
                code: s.code.clone(),
                libelle: s.label.clone(),
                debut: s.start.format("%H:%M").to_string(),
                fin: s.end.format("%H:%M").to_string(),
            })
            .collect(),
        eleves,
    }
}

/// The services whose absences are fetched at `now`: from their tally time until they end,
/// on a day they are served.
pub fn absence_window(config: &Config, now: DateTime<Utc>) -> (NaiveDate, Vec<ServiceId>) {
    let (day, time) = config.rules.local(now);
    let services = config
        .rules
        .services
        .iter()
        .filter(|s| served_on(&config.rules, day, s.id))
        .filter(|s| {
            config
                .pronote
                .tally_of(s.id)
                .is_some_and(|t| t <= time && time < s.end)
        })
        .map(|s| s.id)
        .collect();
    (day, services)
}

/// The id of PRONOTE's absence opposition for `person` at `service` on `day`: derived, so that
/// the daemon and a run by hand write the same one, and no other writer's new id can take it.
pub fn absence_opposition_id(day: NaiveDate, service: ServiceId, person: PersonId) -> u64 {
    let day = u64::try_from(day.num_days_from_ce()).unwrap_or(0) & 0xF_FFFF;
    selfgate_rules::engine::DERIVED_OPPOSITION_IDS
        | day << 40
        | u64::from(service.0) << 32
        | u64::from(person.0)
}

/// What an absence list changed.
#[derive(Clone, Debug, Default)]
pub struct AbsenceChanges {
    pub ops: Vec<WriteOp>,
    /// New oppositions (or lifted ones put back).
    pub added: usize,
    /// Oppositions lifted: PRONOTE no longer has the pupil absent.
    pub lifted: usize,
    /// Absences already known.
    pub kept: usize,
    /// Identifiers PRONOTE sent that match no pupil here.
    pub unknown: Vec<String>,
}

/// Flow 2: the oppositions to write so that the `AbsentPronote` oppositions of `service` on
/// `day` are exactly PRONOTE's list.
pub fn absence_changes(
    roster: &Roster,
    doc: &Absences,
    day: NaiveDate,
    service: ServiceId,
) -> AbsenceChanges {
    let mut out = AbsenceChanges::default();
    // Only the oppositions this flow wrote (staff's are never touched).
    let ours = |o: &&Opposition| o.id == absence_opposition_id(day, service, o.person);
    let mut absent = std::collections::BTreeSet::new();
    for a in &doc.absents {
        let Some(p) = roster.person_by_external(&a.id) else {
            if !out.unknown.contains(&a.id) {
                out.unknown.push(a.id.clone());
            }
            continue;
        };
        if !absent.insert(p.id) {
            continue;
        }
        let existing = roster.oppositions_of(p.id).iter().find(ours);
        match existing {
            Some(o) if !o.lifted => out.kept += 1,
            Some(o) => {
                out.ops.push(WriteOp::PutOpposition(Opposition {
                    lifted: false,
                    ..o.clone()
                }));
                out.added += 1;
            }
            None => {
                let note = match &a.motif {
                    Some(m) if !m.trim().is_empty() => {
                        format!("PRONOTE : {}", m.chars().take(100).collect::<String>())
                    }
                    _ => "PRONOTE".into(),
                };
                out.ops.push(WriteOp::PutOpposition(Opposition {
                    id: absence_opposition_id(day, service, p.id),
                    person: p.id,
                    reason: OppositionReason::AbsentPronote,
                    service: Some(service),
                    from: day,
                    to: Some(day),
                    note,
                    lifted: false,
                }));
                out.added += 1;
            }
        }
    }
    for o in roster.oppositions().filter(ours) {
        if !o.lifted && !absent.contains(&o.person) {
            out.ops.push(WriteOp::PutOpposition(Opposition {
                lifted: true,
                ..o.clone()
            }));
            out.lifted += 1;
        }
    }
    out
}

/// Flow 3: the registered pupils of `service` on `day` who did not pass.
pub fn no_shows(
    config: &Config,
    roster: &Roster,
    served: &Served,
    day: NaiveDate,
    service: ServiceId,
    now: DateTime<Utc>,
) -> NonVenus {
    let code = config
        .rules
        .service(service)
        .map(|s| s.code.clone())
        .unwrap_or_default();
    let registered = registered(roster, &config.rules, day, service);
    let mut eleves: Vec<NonVenu> = registered
        .iter()
        .filter(|p| served.get(p.id, day, service).is_none_or(|e| e.count == 0))
        .map(|p| NonVenu {
            id: p.external_id.clone(),
            absent_pronote: roster
                .oppositions_of(p.id)
                .iter()
                .any(|o| o.reason == OppositionReason::AbsentPronote && o.effective(day, service)),
        })
        .collect();
    eleves.sort_by(|a, b| a.id.cmp(&b.id));
    NonVenus {
        format: FORMAT.into(),
        kind: "non_venus".into(),
        uai: config.school.uai.clone(),
        date: day,
        service: code,
        generated_at: now,
        inscrits: u32::try_from(registered.len()).unwrap_or(u32::MAX),
        eleves,
    }
}

/// The services of `day` that have ended at `now` (local time), served that day.
pub fn ended_services(config: &Config, now: DateTime<Utc>) -> (NaiveDate, Vec<ServiceId>) {
    let (day, time) = config.rules.local(now);
    let services = config
        .rules
        .services
        .iter()
        .filter(|s| s.end <= time && served_on(&config.rules, day, s.id))
        .map(|s| s.id)
        .collect();
    (day, services)
}

/// `selfgate pronote export-ids FILE`: our identifier of each pupil with what PRONOTE needs to
/// match it (CSV, `;`): `identifiant;nom;prenom;classe;regime`.
pub fn export_ids(roster: &Roster) -> String {
    let mut pupils: Vec<_> = roster
        .persons()
        .filter(|p| p.category == Category::Eleve)
        .collect();
    pupils.sort_by(|a, b| {
        (&a.class, &a.last_name, &a.first_name).cmp(&(&b.class, &b.last_name, &b.first_name))
    });
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let _ = w.write_record(["identifiant", "nom", "prenom", "classe", "regime"]);
    for p in pupils {
        let safe = crate::infra::files::spreadsheet_safe;
        let _ = w.write_record([
            safe(&p.external_id).as_ref(),
            &safe(&p.last_name),
            &safe(&p.first_name),
            &safe(&p.class),
            p.regime.code(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_identifiers_open_in_a_spreadsheet_as_text() {
        let mut roster = Roster::default();
        roster.put_person(selfgate_rules::model::Person {
            id: selfgate_rules::model::PersonId(0),
            external_id: "1000".into(),
            last_name: "=HYPERLINK(\"http://x\")".into(),
            first_name: "@Léa".into(),
            class: "6A".into(),
            category: Category::Eleve,
            regime: selfgate_rules::model::Regime::Externe,
            forfaits: vec![],
            passages_per_service: 1,
            tier: None,
        });
        let csv = export_ids(&roster);
        let line = csv.lines().nth(1).unwrap();
        assert!(line.starts_with("1000;\"'=HYPERLINK"), "{line}");
        assert!(line.contains(";'@Léa;6A;"), "{line}");
    }
    use crate::store::fixtures::person;

    fn list(ids: &[&str]) -> Absences {
        Absences {
            format: FORMAT.into(),
            kind: "absences".into(),
            uai: String::new(),
            date: "2026-11-16".parse().unwrap(),
            service: "dejeuner".into(),
            generated_at: Utc::now(),
            absents: ids
                .iter()
                .map(|i| format::Absent {
                    id: (*i).into(),
                    motif: None,
                })
                .collect(),
        }
    }

    fn apply(roster: &mut Roster, changes: &AbsenceChanges) {
        for op in &changes.ops {
            if let WriteOp::PutOpposition(o) = op {
                roster.put_opposition(o.clone());
            }
        }
    }

    #[test]
    fn absences_follow_pronote_and_leave_staff_oppositions_alone() {
        let day: NaiveDate = "2026-11-16".parse().unwrap();
        let lunch = ServiceId(1);
        let mut roster = Roster::default();
        for i in 0..3 {
            roster.put_person(person(i));
        }
        // Staff marked E2 absent at lunch by hand.
        let staff = Opposition {
            id: roster.next_opposition_id(),
            person: PersonId(2),
            reason: OppositionReason::AbsentPronote,
            service: Some(lunch),
            from: day,
            to: Some(day),
            note: "vie scolaire".into(),
            lifted: false,
        };
        roster.put_opposition(staff.clone());
        let c = absence_changes(&roster, &list(&["E0", "E1", "E0"]), day, lunch);
        assert_eq!((c.added, c.lifted, c.kept), (2, 0, 0));
        apply(&mut roster, &c);
        // The same list again changes nothing; a shorter one lifts; staff's stays.
        let again = absence_changes(&roster, &list(&["E0", "E1"]), day, lunch);
        assert!(again.ops.is_empty() && again.kept == 2);
        let c = absence_changes(&roster, &list(&["E1"]), day, lunch);
        assert_eq!((c.added, c.lifted, c.kept), (0, 1, 1));
        apply(&mut roster, &c);
        let staff_now = roster.oppositions_of(PersonId(2));
        assert_eq!(
            staff_now,
            std::slice::from_ref(&staff),
            "staff's opposition untouched"
        );
        // New ids handed out elsewhere stay clear of the derived ones.
        assert_eq!(roster.next_opposition_id(), staff.id + 1);
        let id = absence_opposition_id(day, lunch, PersonId(1));
        assert!(id >= selfgate_rules::engine::DERIVED_OPPOSITION_IDS);
        assert_ne!(id, absence_opposition_id(day, ServiceId(2), PersonId(1)));
        assert_ne!(
            id,
            absence_opposition_id(day.succ_opt().unwrap(), lunch, PersonId(1))
        );
    }
}
