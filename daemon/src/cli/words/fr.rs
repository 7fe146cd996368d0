//! The command line's words in French (the default).

use super::{Msg, ids, when};
use selfgate_rules::model::format_euros;

const WEEKDAYS: [&str; 7] = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];

pub(super) fn text(m: &Msg<'_>) -> String {
    match *m {
        Msg::ConfigOk {
            file,
            services,
            closures,
            public_holidays,
            school_holidays,
            zone,
            tariffs,
            gate,
            data,
            terms,
            priced,
        } => {
            let holidays = match zone {
                Some(z) => {
                    format!(", {school_holidays} période(s) de vacances scolaires de la zone {z}")
                }
                None => String::new(),
            };
            let terms = if terms.is_empty() {
                "aucune période".to_owned()
            } else {
                terms
                    .iter()
                    .map(|t| {
                        format!(
                            "{} du {} au {}",
                            t.code,
                            t.from.format("%d/%m/%Y"),
                            t.to.format("%d/%m/%Y")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let priced = if priced.is_empty() {
                "aucun prix de forfait".to_owned()
            } else {
                format!("prix des forfaits {}", priced.join(", "))
            };
            format!(
                "{} : valide — {services} service(s), {closures} fermeture(s) (et {public_holidays} jours fériés{holidays}), {tariffs} tarif(s), ligne {gate}, données dans {}\nfacturation : trimestres {terms} ; {priced}",
                file.display(),
                data.display()
            )
        }
        Msg::CannotRead(p) => format!("lecture de {} impossible", p.display()),
        Msg::CannotWrite(p) => format!("écriture de {} impossible", p.display()),
        Msg::Creating(p) => format!("en créant {}", p.display()),
        Msg::Resolving(p) => format!("en cherchant {}", p.display()),
        Msg::NotUtf8(p) => format!("{} n'est pas un texte UTF-8", p.display()),
        Msg::StartingRuntime => "au démarrage de l'exécution asynchrone".into(),
        Msg::DaemonAnswered(a) => format!("le démon en cours a répondu {a}"),
        Msg::AccountAdded { name, role, file } => {
            format!("compte {name} ({role}) ajouté à {}", file.display())
        }
        Msg::PasswordChanged(name) => format!("mot de passe de {name} changé"),
        Msg::AccountRemoved(name) => format!("compte {name} supprimé"),
        Msg::NoPassword => {
            "aucun mot de passe : écrivez-le sur l'entrée standard ou dans --password-file".into()
        }
        Msg::ReadingPasswordFile(p) => {
            format!("en lisant le fichier de mot de passe {}", p.display())
        }
        Msg::ReadingPasswordStdin => "en lisant le mot de passe sur l'entrée standard".into(),
        Msg::Ready {
            gate,
            persons,
            kiosk,
        } => format!("selfgate: prêt, ligne {gate} avec {persons} personnes, kiosque sur {kiosk}"),
        Msg::SystemdStatus {
            gate,
            persons,
            kiosk,
        } => format!("ligne {gate} : {persons} personnes, kiosque sur {kiosk}"),
        Msg::MetricsOn(url) => format!("selfgate: métriques sur {url}"),
        Msg::HubOn(addr) => format!("selfgate: concentrateur sur https://{addr}/"),
        Msg::Stopped => "selfgate: arrêté".into(),
        Msg::SpeedRange => "--speed doit être supérieur à 0 et au plus 10000".into(),
        Msg::NoServiceToSimulate(p) => format!(
            "aucun service à simuler : vérifiez les services et les fermetures de {}",
            p.display()
        ),
        Msg::CreatingDemoSchool => "en créant l'école de démonstration".into(),
        Msg::DemoCreated { persons, dir } => format!(
            "démo : école de {persons} personnes créée dans {}",
            dir.display()
        ),
        Msg::DemoResumed { dir, events } => format!(
            "démo : reprise de l'école de {} ({events} événements au journal jusqu'ici)",
            dir.display()
        ),
        Msg::DemoKioskMissing => "le kiosque de la démo n'a pas démarré".into(),
        Msg::DemoKiosk { addr, speed } => {
            format!("démo : kiosque sur http://{addr}/ · vitesse ×{speed} · Ctrl-C pour arrêter")
        }
        Msg::DemoAccount { password, addr } => format!(
            "démo : compte du kiosque `demo` (administrateur), mot de passe {password} · connexion sur http://{addr}/login · écran du portique http://{addr}/portique"
        ),
        Msg::DemoMetrics(url) => format!("démo : métriques sur {url}"),
        Msg::DemoPayment {
            receipt,
            name,
            class,
            cents,
            mode,
        } => format!(
            "démo : régie, quittance {receipt} : {} ({}) pour {name} ({class})",
            format_euros(cents),
            selfgate_rules::journal::mode_label_fr(mode).to_lowercase()
        ),
        Msg::DemoPaymentCancelled {
            receipt,
            name,
            cents,
        } => format!(
            "démo : régie, quittance {receipt} annulée (erreur de saisie) : {} repris sur le solde de {name}",
            format_euros(cents)
        ),
        Msg::DemoStatus {
            weekday,
            when,
            service,
            next,
            served,
            expected,
            denied,
            passes,
            denials,
            repeats,
        } => {
            let day = WEEKDAYS.get(weekday as usize).copied().unwrap_or("?");
            let head = format!("[{day} {when}]");
            match service {
                None => {
                    let next = match next {
                        Some((d, time, label)) => format!(
                            " · prochain : {} {} à {time}",
                            label.to_lowercase(),
                            WEEKDAYS.get(d as usize).copied().unwrap_or("?")
                        ),
                        None => String::new(),
                    };
                    format!(
                        "{head} self fermé{next} · depuis le lancement : {passes} passages, {denials} refus, {repeats} lectures répétées fusionnées"
                    )
                }
                Some((label, opens, closes)) => {
                    let total: u64 = denied.iter().map(|(_, n)| n).sum();
                    let detail: Vec<String> = denied
                        .iter()
                        .map(|(r, n)| format!("{} {n}", r.label_fr().to_lowercase()))
                        .collect();
                    format!(
                        "{head} self ouvert ({label}, {opens}–{closes}) · servis {served} (forfaits attendus {expected}) · refus {total}{}{}",
                        if detail.is_empty() { "" } else { " : " },
                        detail.join(", ")
                    )
                }
            }
        }
        Msg::DemoStopped {
            when,
            passes,
            denials,
            repeats,
            not_recorded,
        } => format!(
            "démo : arrêtée le {when} · ce lancement : {passes} passages, {denials} refus, {repeats} lectures répétées fusionnées, {not_recorded} non enregistrés"
        ),
        Msg::DemoJournal(dir) => format!(
            "démo : journal dans {} — voir avec `selfgate journal --data {}`",
            dir.display(),
            dir.display()
        ),
        Msg::BackupWritten { file, data, events } => format!(
            "{} : sauvegarde de {} écrite ({events} événements du journal)",
            file.display(),
            data.display()
        ),
        Msg::Restored { file, data, kept } => format!(
            "{} restaurée dans {} (base précédente gardée sous {})",
            file.display(),
            data.display(),
            kept.display()
        ),
        Msg::Anonymised { passages, days } => {
            format!("{passages} passages de plus de {days} jours anonymisés")
        }
        Msg::EventNotGateSeq(e) => {
            format!("--event `{e}` n'est pas LIGNE/NUMÉRO, par exemple ligne-1/42")
        }
        Msg::Cancelled {
            gate,
            seq,
            by_gate,
            by_seq,
        } => format!("{gate}/{seq} annulé par la correction {by_gate}/{by_seq}"),
        Msg::SinceNotDate(s) => {
            format!("--since `{s}` n'est ni une date (AAAA-MM-JJ) ni un instant RFC 3339")
        }
        Msg::NothingImported { file, errors } => format!(
            "{} : {errors} erreur(s) ; rien n'a été importé",
            file.display()
        ),
        Msg::RosterImported {
            file,
            rows,
            store,
            report,
        } => format!(
            "{} : {rows} lignes importées dans {} :\n{}",
            file.display(),
            store.display(),
            roster_report(report)
        ),
        Msg::RosterDryRun { file, rows, report } => format!(
            "{} : {rows} lignes lues ; essai, rien n'a été écrit :\n{}",
            file.display(),
            roster_report(report)
        ),
        Msg::NotAZip(p) => format!("{} : archive zip illisible", p.display()),
        Msg::ZipWithoutXml(p) => format!(
            "{} : l'archive zip ne contient aucun fichier .xml",
            p.display()
        ),
        Msg::ZipWithManyXml { file, names } => format!(
            "{} : l'archive zip contient {} fichiers XML ({}) ; décompressez-la et donnez-en un",
            file.display(),
            names.len(),
            names.join(", ")
        ),
        Msg::CannotUnzip { file, name } => {
            format!("{} : décompression de {name} impossible", file.display())
        }
        Msg::SiecleNotImported(p) => {
            format!("{} : non importé ; rien n'a été changé", p.display())
        }
        Msg::SiecleImported {
            file,
            read,
            store,
            today,
            report,
        } => format!(
            "{} : {read} élèves lus, importés dans {} à la date du {} :\n{}",
            file.display(),
            store.display(),
            today.format("%d/%m/%Y"),
            siecle_report(report)
        ),
        Msg::SiecleDryRun {
            file,
            read,
            today,
            report,
        } => format!(
            "{} : {read} élèves lus ; essai à la date du {}, rien n'a été écrit :\n{}",
            file.display(),
            today.format("%d/%m/%Y"),
            siecle_report(report)
        ),
        Msg::GuardiansImported {
            file,
            store,
            report: r,
        } => {
            let whither = match store {
                Some(s) => format!("importés dans {}", s.display()),
                None => "essai, rien n'a été écrit".to_owned(),
            };
            let mut s = format!(
                "{} : {} responsables liés à des élèves, {whither} :\n\
                 responsables gardés :  {} (ajoutés {}, modifiés {}, inchangés {})\n\
                 laissés de côté :      {} (aucun de leurs enfants n'est connu ici)\n\
                 liens clos :           {} responsable(s) que le fichier ne donne plus pour un enfant qu'il liste\n\
                 élèves avec payeur :   {}\n\
                 familles :             {} (un payeur pour plusieurs enfants : un seul avis)\n\
                 élèves sans payeur :   {}{}\n",
                file.display(),
                r.read,
                r.added + r.updated + r.unchanged,
                r.added,
                r.updated,
                r.unchanged,
                r.left_out,
                r.ended,
                r.with_payer,
                r.families,
                r.without_payer.len(),
                ids(&r.without_payer)
            );
            if r.links_left_out > 0 {
                s.push_str(&format!(
                    "liens vers des élèves inconnus ici, non gardés : {}\n",
                    r.links_left_out
                ));
            }
            for w in &r.warnings {
                s.push_str(&format!("attention : {w}\n"));
            }
            s
        }
        Msg::CharlemagneRead {
            file,
            format,
            encoding,
            header,
            pupils,
            payers,
            unused,
        } => {
            let encoding = encoding.map_or(String::new(), |e| format!(", encodage {e}"));
            let mut s = format!(
                "{} : export Charlemagne lu ({format}{encoding}), en-têtes {} : {pupils} élèves, \
                 {payers} payeurs",
                file.display(),
                header.replace("line", "ligne").replace("row", "ligne")
            );
            if !unused.is_empty() {
                s.push_str(&format!(
                    "\ncolonnes ignorées (hors correspondance) : {}",
                    unused.join(", ")
                ));
            }
            s
        }
        Msg::CharlemagneUnchanged(p) => format!(
            "{} : rien n'a changé, la base est déjà à jour de ce fichier",
            p.display()
        ),
        Msg::GuardiansPurged(n) => format!(
            "{n} responsables supprimés (plus aucun enfant inscrit, exercice comptable suivant clos)"
        ),
        Msg::NoExchanges => "aucun échange configuré ([[exchanges]])".into(),
        Msg::ExchangeReport { report: r, tz } => {
            let mut s = format!(
                "{} ({}, « {} ») : {}\n  dernier passage : {} → {}{}, dernier succès : {}\n  prochain : {}\n",
                r.name,
                r.kind,
                r.schedule,
                r.status.label_fr(),
                when(r.started_at, tz),
                when(r.finished_at, tz),
                if r.by_hand {
                    " (à la main)".to_owned()
                } else if r.attempt > 1 {
                    format!(" (essai {})", r.attempt)
                } else {
                    String::new()
                },
                when(r.last_success_at, tz),
                if r.on_schedule {
                    when(r.next_run_at, tz)
                } else {
                    "à la main seulement (synchronisation automatique PRONOTE désactivée)"
                        .to_owned()
                },
            );
            for l in &r.sent {
                s.push_str(&format!("  envoyé : {l}\n"));
            }
            for l in &r.received {
                s.push_str(&format!("  reçu : {l}\n"));
            }
            if let Some(e) = &r.error {
                s.push_str(&format!("  erreur : {e}\n"));
            }
            s
        }
        Msg::PronoteKeyImported(p) => format!(
            "clé de sécurité PRONOTE importée dans {} (lisible par le seul propriétaire)",
            p.display()
        ),
        Msg::IdsWritten { file, pupils } => format!(
            "{} : identifiants de {pupils} élève(s) écrits, à importer dans PRONOTE",
            file.display()
        ),
        Msg::OppositionSet {
            person,
            id,
            reason,
            from,
            to,
        } => format!(
            "opposition {id} ({reason}) posée pour {person} à partir du {}{} : refusé(e) au portique",
            from.format("%d/%m/%Y"),
            to.map_or_else(
                || ", jusqu'à sa levée".to_owned(),
                |t| format!(" jusqu'au {}", t.format("%d/%m/%Y"))
            )
        ),
        Msg::OppositionLifted { person, id } => {
            format!("opposition {id} de {person} levée (gardée dans l'historique)")
        }
        Msg::OppositionLine {
            person,
            id,
            reason,
            service,
            from,
            to,
            lifted,
            note,
        } => format!(
            "{person}\t{id}\t{reason}\t{}\t{} → {}\t{}\t{note}",
            service.unwrap_or("tous les services"),
            from.format("%d/%m/%Y"),
            to.map_or_else(|| "…".to_owned(), |t| t.format("%d/%m/%Y").to_string()),
            if lifted { "levée" } else { "en vigueur" }
        ),
        Msg::BadgeLost { badge } => {
            format!("badge {badge} déclaré perdu : refusé au portique dès maintenant")
        }
        Msg::PaymentTaken {
            receipt,
            name,
            cents,
            mode,
            balance,
        } => format!(
            "quittance {receipt} : {} reçus pour {name} ({}), nouveau solde {}",
            format_euros(cents),
            selfgate_rules::journal::mode_label_fr(mode),
            format_euros(balance)
        ),
        Msg::PaymentCancelled {
            receipt,
            name,
            cents,
            balance,
        } => format!(
            "quittance {receipt} annulée : {} repris sur le solde de {name}, nouveau solde {} (le numéro n'est jamais redonné)",
            format_euros(cents),
            format_euros(balance)
        ),
        Msg::Refunded {
            name,
            cents,
            balance,
        } => format!(
            "{} remboursés à {name}, nouveau solde {}",
            format_euros(cents),
            format_euros(balance)
        ),
        Msg::Written(path) => format!("écrit : {}", path.display()),
        Msg::CashLine {
            receipt,
            time,
            name,
            mode,
            cents,
            struck,
        } => format!(
            "{receipt:<16} {time}  {name:<28} {:<17} {:>12}{}",
            selfgate_rules::journal::mode_label_fr(mode),
            format_euros(cents),
            if struck { "  (annulé)" } else { "" }
        ),
        Msg::CashMode { mode, count, cents } => format!(
            "  {:<17} {count:>4} versement(s)  {:>12}",
            selfgate_rules::journal::mode_label_fr(mode),
            format_euros(cents)
        ),
        Msg::CashTotal {
            day,
            payments,
            cents,
            first,
            last,
        } => format!(
            "journal de caisse du {} : {payments} versement(s), total {}{}",
            day.format("%d/%m/%Y"),
            format_euros(cents),
            match (first, last) {
                (Some(f), Some(l)) => format!(", quittances {f} à {l}"),
                _ => String::new(),
            }
        ),
        Msg::MonthTotals {
            year,
            month,
            opening,
            payments,
            meals,
            corrections,
            cancellations,
            refunds,
            credits,
            closing,
        } => format!(
            "rapprochement {month:02}/{year} : soldes d'ouverture {} + versements {} − repas {} + corrections {} − annulations {} − remboursements {} + autres crédits {} = soldes de clôture {}",
            format_euros(opening),
            format_euros(payments),
            format_euros(meals),
            format_euros(corrections),
            format_euros(cancellations),
            format_euros(refunds),
            format_euros(credits),
            format_euros(closing)
        ),
        Msg::MonthDebtors { count, cents } => format!(
            "{count} personne(s) débitrice(s) en fin de mois, pour {}",
            format_euros(cents)
        ),
        Msg::PaymentLine {
            receipt,
            when,
            name,
            cents,
            mode,
            payer,
            cancelled,
        } => format!(
            "{receipt}  {when}  {name:<28} {:>12}  {:<17} {payer}{}",
            format_euros(cents),
            selfgate_rules::journal::mode_label_fr(mode),
            if cancelled { "  ANNULÉE" } else { "" }
        ),
        Msg::AuthorityCreated { name, dir } => format!(
            "autorité `{name}` créée dans {} : copiez ca.pem sur le concentrateur et chaque ligne, gardez ca.key ici",
            dir.display()
        ),
        Msg::HubIssued { cert, names } => format!(
            "{} délivré pour {} (clé hub.key, mode 600)",
            cert.display(),
            names.join(", ")
        ),
        Msg::GateIssued { cert, id } => format!(
            "{} délivré pour la ligne {id} (clé gate-{id}.key, mode 600)",
            cert.display()
        ),
        Msg::Revoked { count, name, crl } => format!(
            "{count} certificat(s) de `{name}` révoqué(s) ; {} signée à nouveau (le concentrateur la relit à la prochaine connexion)",
            crl.display()
        ),
        Msg::Certificate {
            serial,
            kind,
            name,
            not_after,
            revoked_at,
        } => format!(
            "{serial}\t{kind}\t{name}\tjusqu'au {not_after}\t{}",
            revoked_at.map_or_else(|| "valide".to_owned(), |t| format!("révoqué le {t}"))
        ),
    }
}

fn roster_report(r: &crate::cli::import::ImportReport) -> String {
    let mut s = format!(
        "personnes ajoutées :        {}\npersonnes modifiées :       {}\npersonnes inchangées :      {}\n\
         badges ajoutés :            {}\nbadges révoqués :           {} (remplacés par un nouveau badge)\n\
         soldes d'ouverture :        {}",
        r.added.len(),
        r.updated.len(),
        r.unchanged,
        r.badges_added,
        r.badges_revoked,
        r.opening_balances
    );
    if !r.siecle_kept.is_empty() {
        s.push_str(&format!(
            "\nélèves SIÈCLE gardés :      {} (noms, classe, catégorie, régime et forfait viennent de SIÈCLE : {})",
            r.siecle_kept.len(),
            r.siecle_kept.join(", ")
        ));
    }
    s
}

fn siecle_report(r: &crate::cli::siecle::SiecleReport) -> String {
    let mut s = format!(
        "élèves ajoutés :       {}{}\nélèves modifiés :      {}{}\n\
         élèves partis :        {} (droits clos, historique gardé){}\nélèves inchangés :     {}\n\
         déjà partis :          {} (partis avant cet import, non ajoutés)\nélèves refusés :       {}\n",
        r.added.len(),
        ids(&r.added),
        r.updated.len(),
        ids(&r.updated),
        r.left.len(),
        ids(&r.left),
        r.unchanged,
        r.left_not_added,
        r.rejected.len()
    );
    for x in &r.rejected {
        let id = if x.eleve_id.is_empty() {
            "?"
        } else {
            &x.eleve_id
        };
        s.push_str(&format!(
            "  refusé : ligne {}, ELEVE_ID {id} : {}\n",
            x.line, x.reason
        ));
    }
    for (code, (label, n)) in &r.regimes {
        s.push_str(&format!("  régime {code} {label} : {n}\n"));
    }
    if let Some(g) = r.guardians {
        s.push_str(&format!(
            "responsables légaux :  aucun {}, un {}, deux {}, plus {}\n",
            g[0], g[1], g[2], g[3]
        ));
    }
    for w in &r.warnings {
        s.push_str(&format!("attention : {w}\n"));
    }
    s
}
