//! Every string the pages show, in one table: French by default, English available
//! (`?lang=en` once, kept in a cookie). The staff's reason labels come from the daemon (already
//! French); the pupils' words for the gate screen are here, by reason code.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// (key, French, English).
const TABLE: &[(&str, &str, &str)] = &[
    ("app", "selfgate", "selfgate"),
    ("login.title", "Connexion du personnel", "Staff sign-in"),
    ("login.name", "Identifiant", "User name"),
    ("login.password", "Mot de passe", "Password"),
    ("login.submit", "Se connecter", "Sign in"),
    (
        "login.failed",
        "Identifiant ou mot de passe incorrect.",
        "Wrong user name or password.",
    ),
    (
        "login.limited",
        "Trop de tentatives : réessayez dans quelques minutes.",
        "Too many attempts: try again in a few minutes.",
    ),
    ("logout", "Déconnexion", "Sign out"),
    ("nav.service", "Service", "Service"),
    ("nav.search", "Rechercher", "Search"),
    ("nav.notserved", "Pas encore passés", "Not served yet"),
    ("nav.manage", "Gestion", "Management"),
    ("nav.report", "Bilan du jour", "Day report"),
    ("nav.exchanges", "Échanges", "Exchanges"),
    ("nav.accounts", "Comptes", "Accounts"),
    ("noservice", "Aucun service ouvert", "No service open"),
    ("count.expected", "Attendus", "Expected"),
    (
        "count.expected.help",
        "inscrits ce jour, absences déduites",
        "registered today, less absences",
    ),
    ("count.served", "Servis", "Served"),
    ("count.denied", "Refusés", "Denied"),
    ("count.tocome", "Restent à venir", "Still to come"),
    ("feed.title", "Passages en direct", "Live passages"),
    ("feed.live", "en direct", "live"),
    (
        "feed.offline",
        "connexion perdue, nouvel essai…",
        "connection lost, retrying…",
    ),
    (
        "feed.empty",
        "Aucun passage pour l'instant.",
        "No passage yet.",
    ),
    ("col.time", "Heure", "Time"),
    ("col.name", "Nom", "Name"),
    ("col.class", "Classe", "Class"),
    ("col.verdict", "Décision", "Decision"),
    ("col.reason", "Motif", "Reason"),
    ("col.status", "Aujourd'hui", "Today"),
    ("col.badge", "Badge", "Badge"),
    ("col.service", "Service", "Service"),
    ("col.day", "Jour", "Day"),
    ("col.role", "Rôle", "Role"),
    ("verdict.pass", "Passage", "Pass"),
    ("verdict.deny", "Refus", "Denied"),
    ("denied.title", "Refus par motif", "Denials by reason"),
    ("alerts.title", "Alertes", "Alerts"),
    (
        "alert.lost",
        "Badge déclaré perdu présenté",
        "Lost badge presented",
    ),
    ("alert.reader", "Lecteur hors ligne", "Reader offline"),
    (
        "alert.emergency",
        "Entrée d'urgence active : le tourniquet est libre",
        "Emergency input active: the turnstile is free",
    ),
    (
        "alert.hub",
        "Serveur central injoignable",
        "Hub unreachable",
    ),
    (
        "search.placeholder",
        "Nom, classe ou badge",
        "Name, class or badge",
    ),
    ("search.none", "Personne ne correspond.", "Nobody matches."),
    ("admit", "Admettre", "Admit"),
    ("admit.title", "Admettre à la main", "Admit by hand"),
    ("admit.reason", "Motif", "Reason"),
    ("admit.forgotten", "badge oublié", "forgotten badge"),
    ("admit.done", "Admission enregistrée", "Admission recorded"),
    (
        "admit.second",
        "Servir un second repas",
        "Serve a second meal",
    ),
    ("person.title", "Fiche", "Person"),
    ("person.balance", "Solde", "Balance"),
    ("person.badges", "Badges", "Badges"),
    ("person.oppositions", "Oppositions", "Oppositions"),
    ("person.passages", "Passages récents", "Recent passages"),
    ("person.regime", "Régime", "Régime"),
    ("person.id", "Identifiant", "Identifier"),
    ("badge.lost", "Déclarer perdu", "Declare lost"),
    ("badge.status.active", "actif", "active"),
    ("badge.status.lost", "perdu", "lost"),
    ("badge.status.revoked", "révoqué", "revoked"),
    (
        "badge.lost.done",
        "Badge déclaré perdu",
        "Badge declared lost",
    ),
    ("badge.enrol", "Attribuer un badge", "Assign a badge"),
    (
        "badge.enrol.help",
        "Cliquez, puis présentez le badge au lecteur dans les 30 secondes : le prochain badge lu sera attribué.",
        "Click, then present the badge at the reader within 30 seconds: the next badge read is enrolled.",
    ),
    ("badge.enrol.reader", "Lecteur", "Reader"),
    ("badge.enrol.any", "n'importe lequel", "any"),
    ("badge.enrol.done", "Badge attribué", "Badge assigned"),
    ("opp.add", "Ajouter une opposition", "Add an opposition"),
    ("opp.lift", "Lever", "Lift"),
    ("opp.lifted", "levée", "lifted"),
    ("opp.reason", "Motif", "Reason"),
    ("opp.service", "Service", "Service"),
    ("opp.all", "tous", "all"),
    ("opp.from", "Du", "From"),
    (
        "opp.to",
        "Au (vide : jusqu'à levée)",
        "To (empty: until lifted)",
    ),
    ("opp.note", "Note", "Note"),
    ("opp.done", "Opposition enregistrée", "Opposition recorded"),
    ("opp.lift.done", "Opposition levée", "Opposition lifted"),
    ("report.title", "Bilan par service", "Report per service"),
    ("report.passes", "Passages", "Passes"),
    ("report.denials", "Refus", "Denials"),
    ("report.charged", "Débité (tickets)", "Charged (tickets)"),
    ("report.corrections", "Corrections", "Corrections"),
    (
        "report.none",
        "Aucun passage ce jour.",
        "No passage this day.",
    ),
    (
        "exchanges.title",
        "Échanges avec les logiciels de l'établissement",
        "Exchanges with the school's software",
    ),
    (
        "exchanges.none",
        "Aucun échange configuré.",
        "No exchange configured.",
    ),
    ("exchanges.last", "Dernier", "Last run"),
    ("exchanges.result", "Résultat", "Result"),
    ("exchanges.detail", "Détail", "Detail"),
    ("sync.title", "Synchronisation", "Sync"),
    (
        "sync.standalone",
        "autonome (pas de serveur central)",
        "standalone (no hub)",
    ),
    ("sync.ok", "connecté", "connected"),
    ("sync.down", "injoignable", "unreachable"),
    ("sync.waiting", "événements en attente", "events waiting"),
    ("accounts.title", "Comptes du personnel", "Staff accounts"),
    ("accounts.add", "Créer le compte", "Create account"),
    ("accounts.remove", "Supprimer", "Remove"),
    ("accounts.done", "Comptes mis à jour", "Accounts updated"),
    (
        "forbidden",
        "Votre rôle ne permet pas cette action.",
        "Your role does not allow this.",
    ),
    ("notfound", "Introuvable.", "Not found."),
    ("back", "Retour", "Back"),
    ("manage.title", "Gestion", "Management"),
    (
        "manage.help",
        "Recherchez une personne pour attribuer un badge, déclarer une perte, gérer ses oppositions et voir son solde.",
        "Search a person to assign a badge, declare a loss, manage oppositions and see the balance.",
    ),
    ("gate.idle", "Présentez votre badge", "Present your badge"),
    ("gate.welcome", "Bon appétit", "Enjoy your meal"),
    ("gate.balance", "Solde", "Balance"),
    ("gate.title", "Portique", "Gate"),
];

/// The string for `key` in `lang` (the key itself when missing, which the tests forbid).
pub fn t(lang: Lang, key: &str) -> &'static str {
    match TABLE.iter().find(|(k, _, _)| *k == key) {
        Some((_, fr, en)) => match lang {
            Lang::Fr => fr,
            Lang::En => en,
        },
        None => "??",
    }
}

/// What a pupil reads on the gate screen for a reason code: short, plain, and saying nothing
/// the queue behind should not hear (no "unpaid bill").
pub fn pupil_reason(lang: Lang, code: &str) -> &'static str {
    let fr_en = match code {
        "forfait" | "ticket" | "manual" => ("Bon appétit !", "Enjoy your meal!"),
        "already_served" => (
            "Tu es déjà passé(e) pour ce repas",
            "You have already had this meal",
        ),
        "unknown_badge" => (
            "Badge non reconnu : va voir la vie scolaire",
            "Badge not recognised: see the school office",
        ),
        "badge_revoked" => (
            "Ce badge est bloqué : va voir l'intendance",
            "This badge is blocked: see the bursar's office",
        ),
        "opposition:absent_pronote" => (
            "Tu es noté(e) absent(e) : va voir la vie scolaire",
            "You are marked absent: see the school office",
        ),
        "opposition:exclusion" => (
            "Passage refusé : va voir la vie scolaire",
            "Not allowed: see the school office",
        ),
        "opposition:impaye" | "opposition:manuelle" => (
            "Passage refusé : va voir l'intendance",
            "Not allowed: see the bursar's office",
        ),
        "insufficient_balance" => (
            "Solde insuffisant : va voir l'intendance",
            "Not enough credit: see the bursar's office",
        ),
        "not_registered_today" => (
            "Tu n'es pas inscrit(e) aujourd'hui",
            "You are not registered today",
        ),
        "service_closed" => ("Le self est fermé", "The canteen is closed"),
        _ => (
            "Passage refusé : adresse-toi au personnel",
            "Not allowed: ask the staff",
        ),
    };
    match lang {
        Lang::Fr => fr_en.0,
        Lang::En => fr_en.1,
    }
}

/// What the staff's words for a passage are made of: the reason and its particulars.
#[derive(Clone, Copy, Debug)]
pub struct PassageFacts<'a> {
    pub reason: selfgate_rules::journal::Reason,
    /// Already served: the previous passage's local time, `HH:MM`.
    pub previous_at: Option<&'a str>,
    /// The ticket balance after the decision.
    pub balance_after_cents: Option<i64>,
    /// Admitted by hand: by whom, and why.
    pub by: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// The staff's words for a passage in `lang`: "Déjà passé à 12:04", "Solde insuffisant :
/// −3,20 €", "Admis par mleroy : badge oublié"; the reason's label when nothing more is known.
pub fn passage_words(lang: Lang, f: &PassageFacts<'_>) -> String {
    use selfgate_rules::journal::Reason;
    use selfgate_rules::model::format_euros;
    let (served_at, short, ticket, admitted) = match lang {
        Lang::Fr => (
            "Déjà passé à",
            "Solde insuffisant :",
            "Ticket, solde",
            "Admis par",
        ),
        Lang::En => (
            "Already served at",
            "Insufficient balance:",
            "Ticket, balance",
            "Admitted by",
        ),
    };
    let plain = || match lang {
        Lang::Fr => f.reason.label_fr().to_owned(),
        Lang::En => f.reason.label_en().to_owned(),
    };
    match f.reason {
        Reason::AlreadyServed => match f.previous_at {
            Some(t) => format!("{served_at} {t}"),
            None => plain(),
        },
        Reason::InsufficientBalance => match f.balance_after_cents {
            Some(b) => format!("{short} {}", format_euros(b)),
            None => plain(),
        },
        Reason::Ticket => match f.balance_after_cents {
            Some(b) => format!("{ticket} {}", format_euros(b)),
            None => plain(),
        },
        Reason::Manual => format!(
            "{admitted} {} : {}",
            f.by.unwrap_or("?"),
            f.note.unwrap_or("")
        ),
        _ => plain(),
    }
}

/// The staff's words for a passage in `lang` ("Déjà passé à 12:04", "Already served at 12:04").
pub fn passage_label(lang: Lang, item: &crate::FeedItem) -> &str {
    match lang {
        Lang::Fr => &item.label,
        Lang::En => &item.label_en,
    }
}

/// What the live stream carries, in `lang`: the passage's words and the denials' reasons (the
/// daemon sends them in French, with their codes).
pub fn localise(lang: Lang, mut live: crate::Live) -> crate::Live {
    if lang == Lang::En {
        if let Some(item) = &mut live.item {
            item.label.clone_from(&item.label_en);
        }
        localise_summary(lang, &mut live.summary);
    }
    live
}

/// An alert's words in `lang`: the source writes French; the others are told here from the
/// alert's kind and particulars (its French text when the kind is unknown).
pub fn alert_text(lang: Lang, a: &crate::Alert) -> String {
    let arg = |i: usize| a.args.get(i).map_or("", String::as_str);
    match (lang, a.kind.as_str()) {
        (Lang::Fr, _) => a.text.clone(),
        (Lang::En, "emergency") => "Emergency input active: the turnstile is free".into(),
        (Lang::En, "reader_offline") => format!("Reader offline: {}", arg(0)),
        (Lang::En, "hub_unreachable") => format!(
            "Central server unreachable{} · {} events waiting",
            if arg(0).is_empty() {
                String::new()
            } else {
                format!(" since {}", arg(0))
            },
            arg(1)
        ),
        (Lang::En, "quarantine") => format!(
            "{} event(s) from the gates refused by the hub, in quarantine: to be examined (the \
             hub's journal)",
            arg(0)
        ),
        (Lang::En, "lost_badge") => format!(
            "Lost badge presented: {}{} at {}",
            arg(0),
            if arg(1).is_empty() {
                String::new()
            } else {
                format!(" ({})", arg(1))
            },
            arg(2)
        ),
        (Lang::En, _) => a.text.clone(),
    }
}

/// The counts and alerts of a summary in `lang`.
pub fn localise_summary(lang: Lang, s: &mut crate::Summary) {
    localise_denied(lang, &mut s.denied);
    if lang != Lang::Fr {
        for a in &mut s.alerts {
            a.text = alert_text(lang, a);
        }
    }
}

/// The denials by reason, their labels in `lang` (by their reason code).
pub fn localise_denied(lang: Lang, denied: &mut [(String, String, u64)]) {
    if lang == Lang::En {
        for (code, label, _) in denied {
            if let Ok(r) = code.parse::<selfgate_rules::journal::Reason>() {
                *label = r.label_en().to_owned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_told_in_english_from_their_kind_and_particulars() {
        let alert = |kind: &str, text: &str, args: &[&str]| crate::Alert {
            kind: kind.into(),
            text: text.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        let lost = alert(
            "lost_badge",
            "Badge déclaré perdu présenté : Léa MARTIN (6A) à 12:04",
            &["Léa MARTIN", "6A", "12:04"],
        );
        assert_eq!(alert_text(Lang::Fr, &lost), lost.text);
        assert_eq!(
            alert_text(Lang::En, &lost),
            "Lost badge presented: Léa MARTIN (6A) at 12:04"
        );
        let offline = alert("reader_offline", "Lecteur hors ligne : r2", &["r2"]);
        assert_eq!(alert_text(Lang::En, &offline), "Reader offline: r2");
        let hub = alert(
            "hub_unreachable",
            "Serveur central injoignable · 3 événements en attente",
            &["", "3"],
        );
        assert_eq!(
            alert_text(Lang::En, &hub),
            "Central server unreachable · 3 events waiting"
        );
        let q = alert("quarantine", "2 événement(s) …", &["2"]);
        assert!(alert_text(Lang::En, &q).starts_with("2 event(s) from the gates refused"));
        let e = alert(
            "emergency",
            "Entrée d'urgence active : le tourniquet est libre",
            &[],
        );
        assert!(alert_text(Lang::En, &e).starts_with("Emergency input active"));
        // An unknown kind keeps the source's words rather than lose them.
        let other = alert("new_kind", "Quelque chose", &[]);
        assert_eq!(alert_text(Lang::En, &other), "Quelque chose");
        let mut s = crate::Summary {
            alerts: vec![offline],
            denied: vec![("already_served".into(), "Déjà passé".into(), 2)],
            ..crate::Summary::default()
        };
        localise_summary(Lang::En, &mut s);
        assert_eq!(s.alerts[0].text, "Reader offline: r2");
        assert_eq!(s.denied[0].1, "Already served");
    }

    #[test]
    fn a_passage_is_told_in_both_languages_with_its_particulars() {
        use selfgate_rules::journal::Reason;
        let facts = |reason| PassageFacts {
            reason,
            previous_at: Some("12:04"),
            balance_after_cents: Some(-320),
            by: Some("mleroy"),
            note: Some("badge oublié"),
        };
        let both = |reason| {
            (
                passage_words(Lang::Fr, &facts(reason)),
                passage_words(Lang::En, &facts(reason)),
            )
        };
        assert_eq!(
            both(Reason::AlreadyServed),
            (
                "Déjà passé à 12:04".into(),
                "Already served at 12:04".into()
            )
        );
        assert_eq!(
            both(Reason::InsufficientBalance),
            (
                "Solde insuffisant : −3,20 €".into(),
                "Insufficient balance: −3,20 €".into()
            )
        );
        assert_eq!(both(Reason::Ticket).0, "Ticket, solde −3,20 €");
        assert_eq!(both(Reason::Manual).1, "Admitted by mleroy : badge oublié");
        let bare = PassageFacts {
            reason: Reason::AlreadyServed,
            previous_at: None,
            balance_after_cents: None,
            by: None,
            note: None,
        };
        assert_eq!(
            passage_words(Lang::Fr, &bare),
            Reason::AlreadyServed.label_fr()
        );
        assert_eq!(
            passage_words(
                Lang::En,
                &PassageFacts {
                    reason: Reason::Forfait,
                    ..bare
                }
            ),
            Reason::Forfait.label_en()
        );
    }

    #[test]
    fn the_live_stream_speaks_the_callers_language() {
        let live = || crate::Live {
            item: Some(crate::FeedItem {
                reason: "insufficient_balance".into(),
                label: "Solde insuffisant : −3,20 €".into(),
                label_en: "Insufficient balance: −3,20 €".into(),
                ..crate::FeedItem::default()
            }),
            summary: crate::Summary {
                denied: vec![
                    ("already_served".into(), "Déjà passé".into(), 2),
                    ("opposition:impaye".into(), "Impayé".into(), 1),
                ],
                ..crate::Summary::default()
            },
        };
        let fr = localise(Lang::Fr, live());
        assert_eq!(fr.item.unwrap().label, "Solde insuffisant : −3,20 €");
        assert_eq!(fr.summary.denied[0].1, "Déjà passé");
        let en = localise(Lang::En, live());
        assert_eq!(en.item.unwrap().label, "Insufficient balance: −3,20 €");
        let labels: Vec<&str> = en.summary.denied.iter().map(|d| d.1.as_str()).collect();
        assert_eq!(labels, ["Already served", "Unpaid bills"]);
    }

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, fr, en) in TABLE {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!fr.is_empty() && !en.is_empty(), "{k}");
        }
        assert_eq!(t(Lang::Fr, "gate.welcome"), "Bon appétit");
        assert_eq!(t(Lang::En, "gate.welcome"), "Enjoy your meal");
    }

    #[test]
    fn pupils_never_read_about_unpaid_bills() {
        for code in [
            "opposition:impaye",
            "opposition:manuelle",
            "opposition:exclusion",
        ] {
            let s = pupil_reason(Lang::Fr, code).to_lowercase();
            assert!(!s.contains("impay") && !s.contains("exclu"), "{code}: {s}");
        }
    }
}
