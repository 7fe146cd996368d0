//! Every string the pages show, in one table: French by default, English available
//! (`?lang=en` once, kept in a cookie). What the daemon reports comes as values (reason codes,
//! statuses, amounts, dates, a problem's kind and particulars) and is told here in the viewer's
//! language: the passages' words, a person's status, the alerts, the exchanges' lines, the
//! refusals; amounts and dates too (`euros`, `date`). Names, notes, a school's and a service's
//! labels stay as they were typed. The pupils' words for the gate screen are here, by reason code.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use selfgate_money::billing::{ForfaitKind, RemiseCause};
use selfgate_rules::journal::{AidKind, Reason};
use selfgate_rules::model::{Category, OppositionReason, Regime};

use crate::accounts::{AccountError, MIN_PASSWORD, Role};
use crate::money::{AmountError, GroupName, MoneyFacts, MoneyField, MoneyKind, PaymentMode};
use crate::{
    Alert, DateField, ExchangeReport, FeedItem, Live, PassageRow, PassageWords, PersonDetail,
    PersonRow, PersonStatus, Problem, ReportLine, Summary, SyncRole, SyncStatus,
};

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
    ("nav.regie", "Régie", "Cash desk"),
    ("nav.cash", "Journal de caisse", "Cash report"),
    ("nav.month", "Rapprochement du mois", "Month reconciliation"),
    ("nav.low", "Soldes bas", "Low balances"),
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
    ("verdict.money", "Régie", "Cash desk"),
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
    ("person.tier", "Tranche tarifaire", "Tariff tier"),
    (
        "tier.none",
        "— (prix de la catégorie)",
        "— (the category's price)",
    ),
    ("tier.set", "Enregistrer la tranche", "Save the tier"),
    (
        "tier.done",
        "Tranche tarifaire enregistrée : la prochaine lecture la facture.",
        "Tariff tier saved: the next meal is charged at its price.",
    ),
    ("person.badges", "Badges", "Badges"),
    ("person.oppositions", "Oppositions", "Oppositions"),
    ("person.passages", "Passages récents", "Recent passages"),
    ("person.regime", "Régime", "Boarding status"),
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
    ("opp.every", "tous les services", "every service"),
    ("opp.open", "levée", "until lifted"),
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
    ("sync.never", "jamais", "never"),
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
    ("error.nopage", "page introuvable", "page not found"),
    (
        "error.login",
        "authentification requise",
        "sign-in required",
    ),
    ("error.toolarge", "formulaire trop grand", "form too large"),
    (
        "error.csrf",
        "Requête refusée : jeton anti-falsification absent ou invalide. Rechargez la page.",
        "Request refused: missing or invalid anti-forgery token. Reload the page.",
    ),
    ("error.person", "personne manquante", "person missing"),
    ("error.badge", "badge manquant", "badge missing"),
    (
        "error.opposition",
        "opposition manquante",
        "opposition missing",
    ),
    (
        "accounts.self",
        "impossible de supprimer son propre compte",
        "you cannot remove your own account",
    ),
    ("back", "Retour", "Back"),
    ("manage.title", "Gestion", "Management"),
    ("regie.title", "Régie de recettes", "Cash desk"),
    (
        "regie.search.help",
        "Recherchez la personne pour qui le versement est fait.",
        "Search the person the payment is for.",
    ),
    ("regie.take", "Encaisser", "Take payment"),
    ("regie.pay.link", "Encaisser un versement", "Take a payment"),
    ("regie.form.title", "Nouveau versement", "New payment"),
    ("regie.balance.now", "Solde actuel", "Current balance"),
    ("regie.other", "Changer de personne", "Another person"),
    ("regie.amount", "Montant (€)", "Amount (€)"),
    ("regie.mode", "Mode de paiement", "Payment method"),
    ("regie.cheque.number", "N° de chèque", "Cheque number"),
    ("regie.cheque.bank", "Banque du chèque", "Cheque's bank"),
    ("regie.payer", "Nom du payeur", "Payer's name"),
    ("regie.note", "Note", "Note"),
    ("regie.regie", "Régie", "Cash desk"),
    (
        "regie.submit",
        "Enregistrer le versement",
        "Record the payment",
    ),
    (
        "regie.noregie",
        "Ce poste ne tient aucune régie : les versements se prennent au poste qui la tient.",
        "This station holds no cash desk: payments are taken at the station that holds one.",
    ),
    ("regie.done", "Versement enregistré", "Payment recorded"),
    ("regie.receipt", "Quittance", "Receipt"),
    ("regie.receipt.number", "Quittance n°", "Receipt no."),
    ("regie.receipt.school", "Établissement", "School"),
    ("regie.receipt.for", "Au bénéfice de", "On behalf of"),
    ("regie.receipt.amount", "Montant", "Amount"),
    ("regie.receipt.words", "En lettres", "In words"),
    ("regie.receipt.mode", "Mode de paiement", "Payment method"),
    ("regie.receipt.payer", "Versé par", "Paid by"),
    ("regie.receipt.date", "Date", "Date"),
    ("regie.receipt.by", "Reçu par", "Received by"),
    ("regie.receipt.object", "Objet", "Purpose"),
    (
        "regie.receipt.object.text",
        "Crédit du compte de restauration (prépaiement des repas)",
        "Credit to the canteen account (meals paid in advance)",
    ),
    ("regie.receipt.cancelled", "Annulée", "Cancelled"),
    ("regie.print", "Imprimer", "Print"),
    ("regie.pdf", "Quittance en PDF", "Receipt as PDF"),
    ("regie.today", "Versements du jour", "Today's payments"),
    (
        "regie.today.none",
        "Aucun versement aujourd'hui.",
        "No payment today.",
    ),
    ("regie.cancel", "Annuler", "Cancel"),
    (
        "regie.cancel.title",
        "Annuler un versement",
        "Cancel a payment",
    ),
    (
        "regie.cancel.help",
        "L'annulation est journalisée et reprend le montant sur le solde ; la quittance reste au journal et son numéro n'est jamais redonné.",
        "The cancellation is journaled and takes the amount back off the balance; the receipt stays in the journal and its number is never given again.",
    ),
    (
        "regie.cancel.reason",
        "Motif de l'annulation",
        "Reason for cancelling",
    ),
    (
        "regie.cancel.confirm",
        "Confirmer l'annulation",
        "Confirm the cancellation",
    ),
    ("regie.cancel.done", "Versement annulé", "Payment cancelled"),
    ("regie.cancelled", "annulé", "cancelled"),
    (
        "regie.refund.title",
        "Rembourser le solde",
        "Refund the balance",
    ),
    (
        "regie.refund.help",
        "Au plus le solde (départ, fin d'année) ; le remboursement est journalisé avec son motif.",
        "At most the balance (departure, end of year); the refund is journaled with its reason.",
    ),
    (
        "regie.refund.reason",
        "Motif du remboursement",
        "Reason for the refund",
    ),
    ("regie.refund.submit", "Rembourser", "Refund"),
    (
        "regie.refund.done",
        "Remboursement enregistré",
        "Refund recorded",
    ),
    (
        "regie.reports",
        "Rapports de la régie",
        "The cash desk's reports",
    ),
    ("col.receipt", "Quittance", "Receipt"),
    ("col.amount", "Montant", "Amount"),
    ("col.mode", "Mode", "Method"),
    ("col.detail", "Détail", "Detail"),
    ("col.payer", "Payeur", "Payer"),
    ("col.by", "Agent", "Staff"),
    ("col.remarks", "Observations", "Remarks"),
    ("col.balance", "Solde", "Balance"),
    ("col.price", "Prix du repas", "Meal price"),
    ("col.meals", "Repas d'avance", "Meals in advance"),
    ("col.operation", "Opération", "Transaction"),
    ("col.payments", "Versements", "Payments"),
    ("col.count", "Nombre", "Count"),
    ("col.cancellations", "Annulations", "Cancellations"),
    ("col.refunds", "Remboursements", "Refunds"),
    ("col.net", "Total", "Total"),
    ("col.group", "Groupe", "Group"),
    ("col.meals.charged", "Repas débités", "Meals charged"),
    ("col.meals.free", "Repas sans débit", "Meals not charged"),
    ("col.corrections", "Corrections", "Corrections"),
    ("cash.title", "Journal de caisse", "Cash report"),
    ("cash.all", "Toutes les régies", "Every cash desk"),
    ("cash.modes", "Totaux par mode", "Totals per method"),
    ("cash.total", "Total du jour", "Day's total"),
    (
        "cash.none",
        "Aucune opération ce jour.",
        "No transaction this day.",
    ),
    ("cash.kind.payment", "Versement", "Payment"),
    ("cash.kind.cancellation", "Annulation", "Cancellation"),
    ("cash.kind.refund", "Remboursement", "Refund"),
    ("cash.missing", "Quittances manquantes", "Missing receipts"),
    (
        "cash.struck",
        "Les versements barrés sont annulés ; annulé le jour même, un versement ne compte pas.",
        "Struck-through payments are cancelled; cancelled the same day, a payment counts nothing.",
    ),
    ("download.csv", "Télécharger en CSV", "Download as CSV"),
    ("download.pdf", "Télécharger en PDF", "Download as PDF"),
    (
        "month.title",
        "Rapprochement mensuel",
        "Monthly reconciliation",
    ),
    ("month.month", "Mois", "Month"),
    ("month.opening", "Soldes d'ouverture", "Opening balances"),
    ("month.payments", "+ versements", "+ payments"),
    ("month.meals", "− repas débités", "− meals charged"),
    (
        "month.corrections",
        "+ corrections de passages",
        "+ corrections of passages",
    ),
    (
        "month.cancellations",
        "− versements annulés",
        "− payments cancelled",
    ),
    ("month.refunds", "− remboursements", "− refunds"),
    ("month.credits", "± autres crédits", "± other credits"),
    ("month.closing", "= soldes de clôture", "= closing balances"),
    ("month.debtors", "Personnes en débit", "Persons in debt"),
    (
        "month.nodebtors",
        "Personne n'est en débit.",
        "Nobody is in debt.",
    ),
    ("month.debt", "Total des débits", "Total debt"),
    ("month.credit", "Total des crédits", "Total credit"),
    (
        "month.bycategory",
        "Repas par catégorie",
        "Meals per category",
    ),
    (
        "month.bytier",
        "Repas par tranche tarifaire",
        "Meals per tariff tier",
    ),
    (
        "month.byregime",
        "Repas par régime",
        "Meals per boarding status",
    ),
    ("month.modes", "Argent par mode", "Money per method"),
    ("month.notier", "sans tranche", "no tier"),
    ("month.unknown", "personne inconnue", "unknown person"),
    ("low.title", "Soldes bas", "Low balances"),
    ("low.none", "Aucun solde bas.", "No low balance."),
    (
        "manage.help",
        "Recherchez une personne pour attribuer un badge, déclarer une perte, gérer ses oppositions et voir son solde.",
        "Search a person to assign a badge, declare a loss, manage oppositions and see the balance.",
    ),
    ("nav.billing", "Facturation", "Billing"),
    (
        "billing.title",
        "Facturation des forfaits",
        "Meal plan billing",
    ),
    (
        "billing.help",
        "Les forfaits sont facturés par trimestre (droits constatés) : constatez un trimestre pour journaliser ses créances, puis après chaque changement pour n'en journaliser que les différences.",
        "Meal plans are billed per term (accrual): constate a term to journal its receivables, then after each change to journal only the differences.",
    ),
    (
        "billing.noterms",
        "Aucun trimestre configuré.",
        "No term configured.",
    ),
    ("billing.col.term", "Trimestre", "Term"),
    ("billing.col.dates", "Période", "Period"),
    ("billing.col.pupils", "Élèves facturés", "Pupils billed"),
    ("billing.col.due", "Montant dû", "Amount due"),
    ("billing.col.constated", "Constaté", "Constated"),
    ("billing.col.bordereaux", "Bordereaux", "Schedules"),
    ("billing.col.state", "État", "State"),
    ("billing.col.pending", "À constater", "To constate"),
    ("billing.col.line", "Ligne", "Line"),
    ("billing.col.kind", "Nature", "Kind"),
    ("billing.col.forfait", "Forfait", "Meal plan"),
    ("billing.col.forfait.amount", "Forfait (€)", "Meal plan (€)"),
    ("billing.col.remises", "Remises", "Deductions"),
    ("billing.col.aides", "Aides", "Aid"),
    ("billing.col.net", "Net", "Net"),
    ("billing.col.lines", "Lignes", "Lines"),
    ("billing.col.payer", "Payeur", "Payer"),
    ("billing.col.entry", "Saisie", "Entry"),
    ("billing.col.what", "Objet", "What"),
    ("billing.open", "Ouvrir", "Open"),
    ("billing.back", "Tous les trimestres", "Every term"),
    ("billing.term", "Trimestre", "Term"),
    (
        "billing.deadline",
        "Demandes de remise jusqu'au",
        "Deduction requests until",
    ),
    ("billing.state.closed", "Clos", "Closed"),
    ("billing.state.constated", "Constaté", "Constated"),
    (
        "billing.state.open",
        "Pas encore constaté",
        "Not constated yet",
    ),
    (
        "billing.pending.none",
        "À jour : une constatation maintenant ne journaliserait rien.",
        "Up to date: a constatation now would journal nothing.",
    ),
    (
        "billing.pending.blocked",
        "Liquidation impossible : voir les problèmes.",
        "Cannot be billed: see the problems.",
    ),
    (
        "billing.blocked",
        "Le trimestre ne peut pas être liquidé tel quel :",
        "The term cannot be billed as it stands (in French):",
    ),
    (
        "billing.refused",
        "Refusé, rien n'est journalisé :",
        "Refused, nothing journaled (in French):",
    ),
    (
        "billing.changes",
        "Ce qui a changé depuis la dernière constatation",
        "What changed since the last constatation",
    ),
    ("billing.constate", "Constater", "Constate"),
    ("billing.bordereau", "Bordereau", "Schedule"),
    ("billing.close", "Clore le trimestre", "Close the term"),
    (
        "billing.close.confirm",
        "Je confirme : ensuite, seules des re-constatations.",
        "I confirm: re-constatations only afterwards.",
    ),
    (
        "billing.close.unconfirmed",
        "Cochez la confirmation pour clore le trimestre.",
        "Tick the confirmation to close the term.",
    ),
    (
        "billing.constate.help",
        "Constater journalise ces lignes sur un nouveau bordereau ; rien de ce qui est déjà constaté n'est modifié.",
        "Constating journals these lines on a new schedule; nothing constated before is changed.",
    ),
    (
        "billing.closed.help",
        "Trimestre clos : les constatations ne journalisent plus que des re-constatations.",
        "Term closed: constatations journal re-constatations only.",
    ),
    ("billing.kind.constatation", "Constatation", "Constatation"),
    (
        "billing.kind.reconstatation",
        "Re-constatation",
        "Re-constatation",
    ),
    ("billing.documents", "Documents", "Documents"),
    (
        "billing.documents.none",
        "Aucun bordereau journalisé : constatez d'abord le trimestre.",
        "No schedule journaled: constate the term first.",
    ),
    (
        "billing.notices",
        "Avis aux familles (PDF à imprimer)",
        "Family notices (PDF to print)",
    ),
    (
        "billing.notices.help",
        "Les avis disent ce qui est constaté : si une facture a changé depuis, constatez d'abord.",
        "The notices say what was constated: if a bill changed since, constate first.",
    ),
    ("billing.entries", "Saisies en cours", "Entries in force"),
    (
        "billing.entries.none",
        "Aucune remise ni aide saisie.",
        "No deduction or aid entered.",
    ),
    ("billing.withdraw", "Retirer", "Withdraw"),
    ("billing.withdraw.note", "Motif du retrait", "Why withdrawn"),
    (
        "billing.withdrawn",
        "Retrait de la saisie",
        "Withdrawal of entry",
    ),
    (
        "billing.remise.title",
        "Remise d'ordre sur demande (maladie)",
        "Deduction on request (illness)",
    ),
    (
        "billing.remise.submit",
        "Saisir la remise",
        "Enter the deduction",
    ),
    ("billing.aid.title", "Aide", "Aid"),
    (
        "billing.aid.help",
        "Bourse, fonds social ou aide de la collectivité : déduite de la facture de l'élève.",
        "Scholarship, social fund or local authority aid: deducted from the pupil's bill.",
    ),
    ("billing.aid.kind", "Type d'aide", "Kind of aid"),
    ("billing.aid.reference", "Référence", "Reference"),
    ("billing.aid.submit", "Saisir l'aide", "Enter the aid"),
    ("billing.pupil", "Élève (identifiant)", "Pupil (identifier)"),
    ("billing.from", "Du", "From"),
    ("billing.to", "Au", "To"),
    (
        "billing.proof",
        "Justificatif (référence)",
        "Proof (reference)",
    ),
    ("billing.asked", "Demandée le", "Asked on"),
    ("billing.bills", "Factures des élèves", "Pupils' bills"),
    (
        "billing.bills.none",
        "Aucun élève facturé ce trimestre.",
        "No pupil billed this term.",
    ),
    (
        "billing.constate.done",
        "Constatation journalisée.",
        "Constatation journaled.",
    ),
    (
        "billing.constate.nothing",
        "Rien à journaliser : les droits constatés correspondent déjà.",
        "Nothing to journal: the receivables already match.",
    ),
    ("billing.close.done", "Trimestre clos.", "Term closed."),
    (
        "billing.remise.done",
        "Remise saisie : prise en compte à la prochaine constatation.",
        "Deduction entered: counted at the next constatation.",
    ),
    (
        "billing.aid.done",
        "Aide saisie : prise en compte à la prochaine constatation.",
        "Aid entered: counted at the next constatation.",
    ),
    (
        "billing.withdraw.done",
        "Saisie retirée : prise en compte à la prochaine constatation.",
        "Entry withdrawn: counted at the next constatation.",
    ),
    ("gate.idle", "Présentez votre badge", "Present your badge"),
    ("gate.welcome", "Bon appétit", "Enjoy your meal"),
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

/// An amount: `246,70 €`, `−3,90 €` in French; `€246.70`, `−€3.90` in English.
pub fn euros(lang: Lang, cents: i64) -> String {
    let sign = if cents < 0 { "−" } else { "" };
    let c = cents.unsigned_abs();
    let (units, rest) = (c / 100, c % 100);
    match lang {
        Lang::Fr => format!("{sign}{units},{rest:02} €"),
        Lang::En => format!("{sign}€{units}.{rest:02}"),
    }
}

/// A date: `30/11/2026` in French, `2026-11-30` in English.
pub fn date(lang: Lang, d: NaiveDate) -> String {
    let f = match lang {
        Lang::Fr => "%d/%m/%Y",
        Lang::En => "%Y-%m-%d",
    };
    d.format(f).to_string()
}

/// A day as the sources send it (`YYYY-MM-DD`) in `lang`; anything else as it is.
pub fn iso_date(lang: Lang, iso: &str) -> String {
    NaiveDate::parse_from_str(iso.trim(), "%Y-%m-%d")
        .map_or_else(|_| iso.to_owned(), |d| date(lang, d))
}

/// A local date and time to the second: `30/11/2026 12:04:30`, `2026-11-30 12:04:30`.
pub fn date_time(lang: Lang, t: NaiveDateTime) -> String {
    format!("{} {}", date(lang, t.date()), t.format("%H:%M:%S"))
}

/// A local date and time to the minute: `30/11/2026 12:04`, `2026-11-30 12:04`.
pub fn date_minute(lang: Lang, t: NaiveDateTime) -> String {
    format!("{} {}", date(lang, t.date()), t.format("%H:%M"))
}

/// How a local date and time goes into an alert's or a line's particulars.
pub const ARG_TIME: &str = "%Y-%m-%dT%H:%M:%S";

/// A time from particulars ([`ARG_TIME`]) in `lang`; anything else as it is.
fn arg_time(lang: Lang, s: &str) -> String {
    NaiveDateTime::parse_from_str(s, ARG_TIME).map_or_else(|_| s.to_owned(), |t| date_time(lang, t))
}

/// A staff role's name.
pub fn role(lang: Lang, r: Role) -> &'static str {
    match lang {
        Lang::Fr => match r {
            Role::Regisseur => "régisseur",
            r => r.code(),
        },
        Lang::En => match r {
            Role::Surveillant => "supervisor",
            Role::Regisseur => "cashier",
            Role::Gestionnaire => "bursar",
            Role::Administrateur => "administrator",
        },
    }
}

pub fn category(lang: Lang, c: Category) -> &'static str {
    match lang {
        Lang::Fr => c.label_fr(),
        Lang::En => match c {
            Category::Eleve => "pupil",
            Category::Commensal => "staff",
            Category::Hote => "guest",
        },
    }
}

pub fn regime(lang: Lang, r: Regime) -> &'static str {
    match (lang, r) {
        (Lang::Fr, Regime::Externe) => "Externe",
        (Lang::Fr, Regime::DemiPensionnaire) => "Demi-pensionnaire",
        (Lang::Fr, Regime::Interne) => "Interne",
        (Lang::En, Regime::Externe) => "Day pupil",
        (Lang::En, Regime::DemiPensionnaire) => "Half-boarder",
        (Lang::En, Regime::Interne) => "Boarder",
    }
}

pub fn opposition_reason(lang: Lang, r: OppositionReason) -> &'static str {
    match (lang, r) {
        (Lang::Fr, r) => r.label_fr(),
        (Lang::En, OppositionReason::AbsentPronote) => "Marked absent in PRONOTE",
        (Lang::En, r) => r.label_en(),
    }
}

/// A verdict's reason in a word or two ("Déjà passé", "Already served").
pub fn reason(lang: Lang, r: Reason) -> &'static str {
    match (lang, r) {
        (_, Reason::Opposition(o)) => opposition_reason(lang, o),
        (Lang::Fr, r) => r.label_fr(),
        (Lang::En, r) => r.label_en(),
    }
}

/// A person's status now ("Servi à 12:04", "Attendu (forfait)").
pub fn person_status(lang: Lang, s: &PersonStatus) -> String {
    match (lang, s) {
        (_, PersonStatus::NoService) => reason(lang, Reason::ServiceClosed).to_owned(),
        (_, PersonStatus::Opposed { reason: r }) => opposition_reason(lang, *r).to_owned(),
        (_, PersonStatus::NotRegisteredToday) => {
            reason(lang, Reason::NotRegisteredToday).to_owned()
        }
        (Lang::Fr, PersonStatus::Served { at, times }) if *times > 1 => {
            format!("Servi à {at} ({times} fois)")
        }
        (Lang::Fr, PersonStatus::Served { at, .. }) => format!("Servi à {at}"),
        (Lang::En, PersonStatus::Served { at, times }) if *times > 1 => {
            format!("Served at {at} ({times} times)")
        }
        (Lang::En, PersonStatus::Served { at, .. }) => format!("Served at {at}"),
        (Lang::Fr, PersonStatus::Expected) => "Attendu (forfait)".into(),
        (Lang::En, PersonStatus::Expected) => "Expected (meal plan)".into(),
        (Lang::Fr, PersonStatus::Ticket { balance_cents }) => {
            format!("Ticket, solde {}", euros(lang, *balance_cents))
        }
        (Lang::En, PersonStatus::Ticket { balance_cents }) => {
            format!("Ticket, balance {}", euros(lang, *balance_cents))
        }
    }
}

/// A row's status in `lang` (its French words when the source gave no value).
pub fn row_status(lang: Lang, row: &PersonRow) -> String {
    row.today
        .as_ref()
        .map_or_else(|| row.status.clone(), |s| person_status(lang, s))
}

/// A row's category in `lang` (its French words when the source gave no value).
pub fn row_category(lang: Lang, row: &PersonRow) -> String {
    row.category_code
        .map_or_else(|| row.category.clone(), |c| category(lang, c).to_owned())
}

/// A person's régime in `lang` (its French words when the source gave no value).
pub fn person_regime(lang: Lang, p: &PersonDetail) -> String {
    p.regime_code
        .map_or_else(|| p.regime.clone(), |r| regime(lang, r).to_owned())
}

/// What the staff's words for a passage are made of: the reason and its particulars.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PassageFacts {
    pub reason: Reason,
    /// Already served: the previous passage's local time, `HH:MM`.
    pub previous_at: Option<String>,
    /// The ticket balance after the decision.
    pub balance_after_cents: Option<i64>,
    /// Admitted by hand: by whom, and why (as they typed it).
    pub by: Option<String>,
    pub note: Option<String>,
}

/// The staff's words for a passage in `lang`: "Déjà passé à 12:04", "Solde insuffisant :
/// −3,20 €", "Admis par mleroy : badge oublié"; the reason's label when nothing more is known.
pub fn passage_words(lang: Lang, f: &PassageFacts) -> String {
    let plain = || reason(lang, f.reason).to_owned();
    let by = f.by.as_deref().unwrap_or("?");
    let note = f.note.as_deref().unwrap_or("");
    match (f.reason, lang) {
        (Reason::AlreadyServed, _) => match (&f.previous_at, lang) {
            (Some(t), Lang::Fr) => format!("Déjà passé à {t}"),
            (Some(t), Lang::En) => format!("Already served at {t}"),
            (None, _) => plain(),
        },
        (Reason::InsufficientBalance, _) => match (f.balance_after_cents, lang) {
            (Some(b), Lang::Fr) => format!("Solde insuffisant : {}", euros(lang, b)),
            (Some(b), Lang::En) => format!("Insufficient balance: {}", euros(lang, b)),
            (None, _) => plain(),
        },
        (Reason::Ticket, _) => match (f.balance_after_cents, lang) {
            (Some(b), Lang::Fr) => format!("Ticket, solde {}", euros(lang, b)),
            (Some(b), Lang::En) => format!("Ticket, balance {}", euros(lang, b)),
            (None, _) => plain(),
        },
        (Reason::Manual, Lang::Fr) => format!("Admis par {by} : {note}"),
        (Reason::Manual, Lang::En) => format!("Admitted by {by}: {note}"),
        _ => plain(),
    }
}

/// The staff's words for a feed line in `lang`, from its facts (else the source's words).
pub fn passage_label(lang: Lang, item: &FeedItem) -> String {
    if let Some(m) = &item.money {
        return money_words(lang, m);
    }
    match (&item.facts, lang) {
        (Some(f), _) => passage_words(lang, f),
        (None, Lang::Fr) => item.label.clone(),
        (None, Lang::En) => item.label_en.clone(),
    }
}

/// A person's page's line for a passage or a correction, in `lang`.
pub fn passage_row_words(lang: Lang, row: &PassageRow) -> String {
    match (&row.words, lang) {
        (Some(PassageWords::Passage(f)), _) => passage_words(lang, f),
        (
            Some(PassageWords::Correction {
                gate,
                seq,
                note,
                refund_cents,
            }),
            Lang::Fr,
        ) => format!(
            "Correction de {gate}/{seq} : {note} (remboursé {})",
            euros(lang, *refund_cents)
        ),
        (
            Some(PassageWords::Correction {
                gate,
                seq,
                note,
                refund_cents,
            }),
            Lang::En,
        ) => format!(
            "Correction of {gate}/{seq}: {note} (refunded {})",
            euros(lang, *refund_cents)
        ),
        (None, _) => row.label.clone(),
    }
}

/// When a person's page's line happened, in `lang`.
pub fn passage_row_when(lang: Lang, row: &PassageRow) -> String {
    row.at
        .map_or_else(|| row.when.clone(), |t| date_minute(lang, t))
}

/// A feed line in `lang`: its `label` told from its facts.
pub fn localise_item(lang: Lang, item: &mut FeedItem) {
    item.label = passage_label(lang, item);
}

/// What the live stream carries, in `lang`: the passage's words, the time, the denials'
/// reasons and the alerts.
pub fn localise(lang: Lang, mut live: Live) -> Live {
    if let Some(item) = &mut live.item {
        localise_item(lang, item);
    }
    localise_summary(lang, &mut live.summary);
    live
}

/// An alert's words in `lang`, told from its kind and particulars (its source's words when
/// the kind is unknown).
pub fn alert_text(lang: Lang, a: &Alert) -> String {
    let arg = |i: usize| a.args.get(i).map_or("", String::as_str);
    let since = |word: &str| {
        if arg(0).is_empty() {
            String::new()
        } else {
            format!(" {word} {}", arg_time(lang, arg(0)))
        }
    };
    let class = if arg(1).is_empty() {
        String::new()
    } else {
        format!(" ({})", arg(1))
    };
    match (lang, a.kind.as_str()) {
        (Lang::Fr, "emergency") => t(lang, "alert.emergency").to_owned(),
        (Lang::Fr, "reader_offline") => format!("Lecteur hors ligne : {}", arg(0)),
        (Lang::Fr, "hub_unreachable") => format!(
            "Serveur central injoignable{} · {} événements en attente",
            since("depuis"),
            arg(1)
        ),
        (Lang::Fr, "quarantine") => format!(
            "{} événement(s) des lignes refusé(s) par le concentrateur, en quarantaine : à \
             examiner (journal du concentrateur)",
            arg(0)
        ),
        (Lang::Fr, "lost_badge") => format!(
            "Badge déclaré perdu présenté : {}{class} à {}",
            arg(0),
            arg(2)
        ),
        (Lang::En, "emergency") => t(lang, "alert.emergency").to_owned(),
        (Lang::En, "reader_offline") => format!("Reader offline: {}", arg(0)),
        (Lang::En, "hub_unreachable") => format!(
            "Central server unreachable{} · {} events waiting",
            since("since"),
            arg(1)
        ),
        (Lang::En, "quarantine") => format!(
            "{} event(s) from the gates refused by the hub, in quarantine: to be examined (the \
             hub's journal)",
            arg(0)
        ),
        (Lang::En, "lost_badge") => {
            format!("Lost badge presented: {}{class} at {}", arg(0), arg(2))
        }
        _ => a.text.clone(),
    }
}

/// The time, counts and alerts of a summary in `lang`.
pub fn localise_summary(lang: Lang, s: &mut Summary) {
    if let Some(now) = s.now_at {
        s.now = date_time(lang, now);
    }
    localise_denied(lang, &mut s.denied);
    if lang != Lang::Fr {
        for a in &mut s.alerts {
            a.text = alert_text(lang, a);
        }
    }
}

/// The denials by reason, their labels in `lang` (by their reason code).
pub fn localise_denied(lang: Lang, denied: &mut [(String, String, u64)]) {
    if lang != Lang::Fr {
        for (code, label, _) in denied {
            if let Ok(r) = code.parse::<Reason>() {
                *label = reason(lang, r).to_owned();
            }
        }
    }
}

/// What the source says of a refused action, in `lang`.
pub fn problem(lang: Lang, p: &Problem) -> String {
    use Problem as P;
    match lang {
        Lang::Fr => match p {
            P::UnknownPerson => "Personne inconnue".into(),
            P::UnknownOpposition => "Opposition inconnue pour cette personne".into(),
            P::UnknownReader { reader } => format!("Lecteur inconnu : {reader}"),
            P::NoServiceOpen => {
                "Aucun service n'est ouvert : admission impossible maintenant".into()
            }
            P::AlreadyServed { at } => format!(
                "Déjà servi à {at} dans ce service : pour un autre repas, choisissez « second \
                 repas » sur sa fiche"
            ),
            P::AdmissionUnconfirmed => "Admission transmise, mais son enregistrement n'est pas \
                                        confirmé : vérifiez le journal"
                .into(),
            P::NotABadge { given } => format!("« {given} » n'est pas un numéro de badge"),
            P::BadgeNotTheirs { badge } => {
                format!("Le badge {badge} n'appartient pas à cette personne")
            }
            P::ReadNotABadge { read } => {
                format!("Lecture « {read} » : ce n'est pas un numéro de badge")
            }
            P::BadgeAlreadyTheirs { badge, name } => {
                format!("Le badge {badge} est déjà celui de {name}")
            }
            P::BadgeHeldByOther { badge, name } => format!(
                "Le badge {badge} appartient déjà à {} : déclarez-le perdu ou rendu d'abord",
                name.as_deref().unwrap_or("une autre personne")
            ),
            P::EnrolInterrupted => "Attente interrompue par une autre attribution".into(),
            P::NoBadgePresented { seconds } => {
                format!("Aucun badge présenté dans les {seconds} secondes")
            }
            P::UnknownReason { given } => format!("motif : « {given} » inconnu"),
            P::UnknownService { given } => format!("service : « {given} » inconnu"),
            P::UnknownTier { given } => format!("tranche tarifaire : « {given} » inconnue"),
            P::NotADate { field, given } => format!(
                "{} : « {given} » n'est pas une date AAAA-MM-JJ",
                match field {
                    DateField::From => "du",
                    DateField::To => "au",
                    DateField::Day => "jour",
                    DateField::AskedOn => "demandée le",
                }
            ),
            P::EndBeforeStart => "au : la fin est avant le début".into(),
            P::NotRecorded { detail } => format!("Enregistrement impossible : {detail}"),
            P::JournalUnreadable { detail } => {
                format!("lecture du journal impossible : {detail}")
            }
            P::ReportFailed { detail } => format!("bilan impossible : {detail}"),
            P::NotAMonth { given } => format!("mois : « {given} » n'est pas un mois AAAA-MM"),
            P::AmountTyped { error, given } => format!(
                "montant : « {given} » {}",
                match error {
                    AmountError::Empty => "est vide : saisissez un montant comme 20 ou 20,50",
                    AmountError::NotANumber => "n'est pas un montant (par exemple 20 ou 20,50)",
                    AmountError::Decimals => "a plus de deux décimales",
                    AmountError::NotPositive => "doit être plus grand que zéro",
                    AmountError::TooLarge => "est trop grand",
                }
            ),
            P::AmountOutOfRange { cents, max_cents } => format!(
                "montant de {} : il doit être positif et d'au plus {}",
                euros(lang, *cents),
                euros(lang, *max_cents)
            ),
            P::UnknownMode { given } => format!("mode de paiement : « {given} » inconnu"),
            P::ChequeWithoutNumber => "un chèque se note avec son numéro et sa banque".into(),
            P::NoReference => "ce paiement se note avec sa référence".into(),
            P::Missing { field } => format!("{} : à renseigner", money_field(lang, *field)),
            P::TooLong { field, max } => {
                format!("{} : plus de {max} caractères", money_field(lang, *field))
            }
            P::NotAReceipt { given } => {
                format!("« {given} » n'est pas un numéro de quittance comme R1-2026-00042")
            }
            P::UnknownReceipt { receipt } => format!("aucun versement de quittance {receipt}"),
            P::AlreadyCancelled { receipt } => {
                format!("la quittance {receipt} est déjà annulée")
            }
            P::RegieNotHere { regie, node } => format!(
                "la régie {regie} est tenue par le poste « {node} » : ses quittances se voient \
                 et s'annulent là-bas"
            ),
            P::UnknownRegie { regie } => format!("aucune régie de code {regie}"),
            P::NoRegieHere => t(lang, "regie.noregie").to_owned(),
            P::MoreThanBalance {
                balance_cents,
                cents,
            } => format!(
                "le solde est de {} : on ne peut rembourser {}",
                euros(lang, *balance_cents),
                euros(lang, *cents)
            ),
            P::Billing { problems } => {
                format!("Refusé, rien n'est journalisé : {}", problems.join(" ; "))
            }
            P::UnknownTerm { term } => format!("aucun trimestre « {term} »"),
            P::UnknownAidKind { given } => format!("type d'aide : « {given} » inconnu"),
            P::NotAnEntry { given } => {
                format!("« {given} » n'est pas une saisie (poste/numéro, par exemple ligne-1/42)")
            }
            P::Text(s) => s.clone(),
        },
        Lang::En => match p {
            P::UnknownPerson => "Unknown person".into(),
            P::UnknownOpposition => "No such opposition for this person".into(),
            P::UnknownReader { reader } => format!("Unknown reader: {reader}"),
            P::NoServiceOpen => "No service is open: no admission now".into(),
            P::AlreadyServed { at } => format!(
                "Already served at {at} in this service: for another meal, choose “{}” on their \
                 page",
                t(lang, "admit.second")
            ),
            P::AdmissionUnconfirmed => {
                "Admission sent, but its recording is not confirmed: check the journal".into()
            }
            P::NotABadge { given } => format!("“{given}” is not a badge number"),
            P::BadgeNotTheirs { badge } => {
                format!("Badge {badge} does not belong to this person")
            }
            P::ReadNotABadge { read } => format!("Read “{read}”: not a badge number"),
            P::BadgeAlreadyTheirs { badge, name } => {
                format!("Badge {badge} already belongs to {name}")
            }
            P::BadgeHeldByOther { badge, name } => format!(
                "Badge {badge} already belongs to {}: declare it lost or returned first",
                name.as_deref().unwrap_or("someone else")
            ),
            P::EnrolInterrupted => "Wait interrupted by another assignment".into(),
            P::NoBadgePresented { seconds } => {
                format!("No badge presented within {seconds} seconds")
            }
            P::UnknownReason { given } => format!("reason: “{given}” unknown"),
            P::UnknownService { given } => format!("service: “{given}” unknown"),
            P::UnknownTier { given } => format!("tariff tier: “{given}” unknown"),
            P::NotADate { field, given } => format!(
                "{}: “{given}” is not a YYYY-MM-DD date",
                match field {
                    DateField::From => "from",
                    DateField::To => "to",
                    DateField::Day => "day",
                    DateField::AskedOn => "asked on",
                }
            ),
            P::EndBeforeStart => "to: the end is before the start".into(),
            P::NotRecorded { detail } => format!("Could not record: {detail}"),
            P::JournalUnreadable { detail } => format!("Cannot read the journal: {detail}"),
            P::ReportFailed { detail } => format!("Cannot make the report: {detail}"),
            P::NotAMonth { given } => format!("month: “{given}” is not a YYYY-MM month"),
            P::AmountTyped { error, given } => format!(
                "amount: “{given}” {}",
                match error {
                    AmountError::Empty => "is empty: type an amount like 20 or 20.50",
                    AmountError::NotANumber => "is not an amount (20 or 20.50, say)",
                    AmountError::Decimals => "has more than two decimals",
                    AmountError::NotPositive => "must be more than zero",
                    AmountError::TooLarge => "is too large",
                }
            ),
            P::AmountOutOfRange { cents, max_cents } => format!(
                "amount of {}: it must be more than zero and at most {}",
                euros(lang, *cents),
                euros(lang, *max_cents)
            ),
            P::UnknownMode { given } => format!("payment method: “{given}” unknown"),
            P::ChequeWithoutNumber => "a cheque is recorded with its number and bank".into(),
            P::NoReference => "this payment is recorded with its reference".into(),
            P::Missing { field } => format!("{}: to be filled in", money_field(lang, *field)),
            P::TooLong { field, max } => {
                format!("{}: more than {max} characters", money_field(lang, *field))
            }
            P::NotAReceipt { given } => {
                format!("“{given}” is not a receipt number like R1-2026-00042")
            }
            P::UnknownReceipt { receipt } => format!("no payment has receipt {receipt}"),
            P::AlreadyCancelled { receipt } => format!("receipt {receipt} is already cancelled"),
            P::RegieNotHere { regie, node } => format!(
                "cash desk {regie} is held by station “{node}”: its receipts are shown and \
                 cancelled there"
            ),
            P::UnknownRegie { regie } => format!("no cash desk has code {regie}"),
            P::NoRegieHere => t(lang, "regie.noregie").to_owned(),
            P::MoreThanBalance {
                balance_cents,
                cents,
            } => format!(
                "the balance is {}: {} cannot be refunded",
                euros(lang, *balance_cents),
                euros(lang, *cents)
            ),
            P::Billing { problems } => {
                format!(
                    "Refused, nothing journaled (in French): {}",
                    problems.join("; ")
                )
            }
            P::UnknownTerm { term } => format!("no term “{term}”"),
            P::UnknownAidKind { given } => format!("aid kind: “{given}” unknown"),
            P::NotAnEntry { given } => {
                format!("“{given}” is not an entry (station/number, for example ligne-1/42)")
            }
            P::Text(s) => s.clone(),
        },
    }
}

/// An account file's refusal, in `lang`.
pub fn account_error(lang: Lang, e: &AccountError) -> String {
    match (lang, e) {
        (Lang::En, e) => e.to_string(),
        (Lang::Fr, AccountError::Io { path, source }) => format!("{} : {source}", path.display()),
        (Lang::Fr, AccountError::Parse { path, message }) => format!(
            "{} n'est pas un fichier de comptes valide : {message}",
            path.display()
        ),
        (Lang::Fr, AccountError::BadRole(r)) => format!(
            "« {r} » n'est pas un rôle : surveillant, regisseur, gestionnaire ou administrateur \
             attendu"
        ),
        (Lang::Fr, AccountError::BadName(n)) => format!(
            "« {n} » n'est pas un identifiant : 1 à 32 lettres, chiffres, « . », « - » ou « _ », \
             en commençant par une lettre"
        ),
        (Lang::Fr, AccountError::ShortPassword) => {
            format!("le mot de passe doit avoir au moins {MIN_PASSWORD} caractères")
        }
        (Lang::Fr, AccountError::Exists(n)) => format!("le compte « {n} » existe déjà"),
        (Lang::Fr, AccountError::Unknown(n)) => format!("aucun compte nommé « {n} »"),
        (Lang::Fr, AccountError::Hash(m)) => {
            format!("impossible de chiffrer le mot de passe : {m}")
        }
    }
}

/// The hub sync's state in a line.
pub fn sync_line(lang: Lang, st: &SyncStatus) -> String {
    let last = st
        .last_exchange_at
        .map(|t| date_time(lang, t))
        .or_else(|| st.last_exchange.clone())
        .unwrap_or_else(|| t(lang, "sync.never").to_owned());
    let (waiting, gates) = (st.events_waiting, st.gates);
    match (lang, st.role, st.connected) {
        (Lang::Fr, SyncRole::Standalone, _) => "Autonome (pas de concentrateur)".into(),
        (Lang::Fr, SyncRole::Gate, true) => {
            format!("Connectée au concentrateur, dernier échange {last}, {waiting} en attente")
        }
        (Lang::Fr, SyncRole::Gate, false) => {
            format!("Hors ligne (décisions locales), dernier échange {last}, {waiting} en attente")
        }
        (Lang::Fr, SyncRole::Hub, _) => {
            format!("Concentrateur, {gates} ligne(s) connectée(s), dernier échange {last}")
        }
        (Lang::En, SyncRole::Standalone, _) => "Standalone (no hub)".into(),
        (Lang::En, SyncRole::Gate, true) => {
            format!("Connected to the hub, last exchange {last}, {waiting} waiting")
        }
        (Lang::En, SyncRole::Gate, false) => {
            format!("Offline (local decisions), last exchange {last}, {waiting} waiting")
        }
        (Lang::En, SyncRole::Hub, _) => {
            format!("Hub, {gates} gate(s) connected, last exchange {last}")
        }
    }
}

/// How an exchange's last run went, in a word or two (`never`, `running`, `ok`, `error`).
pub fn run_status(lang: Lang, code: &str) -> String {
    let (fr, en) = match code {
        "never" => ("jamais lancé", "never run"),
        "running" => ("en cours", "running"),
        "ok" => ("réussi", "succeeded"),
        "error" => ("en erreur", "failed"),
        other => return other.to_owned(),
    };
    match lang {
        Lang::Fr => fr.to_owned(),
        Lang::En => en.to_owned(),
    }
}

/// One line of an exchange's report in `lang`: French as the exchange wrote it, other
/// languages from its code and particulars (a code the kiosk does not know keeps the words; an
/// empty one holds a lower layer's own words in its first particular).
pub fn report_line(lang: Lang, l: &ReportLine) -> String {
    if lang == Lang::Fr {
        return l.text.clone();
    }
    let arg = |i: usize| l.args.get(i).map_or("", String::as_str);
    let day = |i: usize| iso_date(lang, arg(i));
    match l.code.as_str() {
        "" => l.args.first().cloned().unwrap_or_else(|| l.text.clone()),
        "meal_days_sent" => format!(
            "meal days from {} to {}: {} pupil(s), {} day(s) registered, to {}{}",
            day(0),
            day(1),
            arg(2),
            arg(3),
            if arg(4) == "folder" {
                "the folder "
            } else {
                ""
            },
            arg(5)
        ),
        "absences_none" => "no service between its tally time and its end: nothing to fetch".into(),
        "absences" => {
            let mut s = format!(
                "absences of {} ({}): {} absent according to PRONOTE; {} opposition(s) put in, \
                 {} lifted, {} unchanged",
                day(0),
                arg(1),
                arg(2),
                arg(3),
                arg(4),
                arg(5)
            );
            if !matches!(arg(6), "" | "0") {
                s.push_str(&format!(
                    "; {} identifier(s) unknown here: {}",
                    arg(6),
                    arg(7)
                ));
            }
            s
        }
        "absences_failed" => format!(
            "absences of {} ({}): {}; nothing was changed for this service",
            day(0),
            arg(1),
            arg(2)
        ),
        "absences_not_recorded" => format!(
            "absences of {} ({}) not recorded: {}",
            day(0),
            arg(1),
            arg(2)
        ),
        "no_shows_none" => format!("no service ended on {}: nothing to send", day(0)),
        "no_shows" => format!(
            "no-shows of {} ({}): {} of {} registered",
            day(0),
            arg(1),
            arg(2),
            arg(3)
        ),
        "no_shows_failed" => format!("no-shows of {} ({}): {}", day(0), arg(1), arg(2)),
        "effectifs_written" => format!(
            "headcounts for {}: {} forecast(s), {} actual count(s), written to {}",
            arg(0),
            arg(1),
            arg(2),
            arg(3)
        ),
        "effectifs_sent" => format!(
            "headcounts for {}: {} forecast(s), {} actual count(s), sent to {}",
            arg(0),
            arg(1),
            arg(2),
            arg(3)
        ),
        "http_answer" => format!("answer {}", arg(0)),
        "http_status" => format!("{} answered {}", arg(0), arg(1)),
        "file_error" => format!("{}: {}", arg(0), arg(1)),
        "pronote_disabled" => "PRONOTE is not enabled ([pronote] enabled = false)".into(),
        "charlemagne_file_imported" => format!(
            "{}: {} payment(s) credited, {} already known",
            arg(0),
            arg(1),
            arg(2)
        ),
        "charlemagne_file_refused" => {
            format!(
                "{}: refused, nothing credited (see its report in rejected/)",
                arg(0)
            )
        }
        "charlemagne_consommations_sent" => format!(
            "consumptions of {}: {} pupil(s), {} meal(s), {}; entries {}, per pupil {}",
            arg(0),
            arg(1),
            arg(2),
            arg(3)
                .parse::<i64>()
                .map_or_else(|_| arg(3).to_owned(), |c| euros(lang, c)),
            arg(4),
            arg(5)
        ),
        "effectifs_options_missing" => "headcount options missing".into(),
        "journal_read_interrupted" => format!("journal read interrupted: {}", arg(0)),
        "interrupted" => "interrupted by the service stopping".into(),
        _ => l.text.clone(),
    }
}

/// Report lines in `lang`, one after the other (the source's words when it gave no lines).
pub fn report_lines(lang: Lang, lines: &[ReportLine], words: &str) -> String {
    if lines.is_empty() {
        return words.to_owned();
    }
    let sep = match lang {
        Lang::Fr => " ; ",
        Lang::En => "; ",
    };
    lines
        .iter()
        .map(|l| report_line(lang, l))
        .collect::<Vec<_>>()
        .join(sep)
}

/// An exchange's result in `lang`: its error (and when it is tried again), else how it went
/// and its schedule.
pub fn exchange_result(lang: Lang, r: &ExchangeReport) -> String {
    if lang == Lang::Fr {
        return r.message.clone();
    }
    match (&r.error, r.status.as_str()) {
        (Some(e), _) => {
            let mut s = report_line(lang, e);
            if let Some(at) = r.retry_at {
                s.push_str(&format!(" (retried at {})", at.format("%H:%M:%S")));
            }
            s
        }
        (None, "") => r.message.clone(),
        (None, code) => format!("{} ({})", run_status(lang, code), r.schedule),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_charlemagne_exchange_lines_read_in_english() {
        let line = |code: &str, args: &[&str]| ReportLine {
            code: code.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            text: "en français".into(),
        };
        let consumptions = line(
            "charlemagne_consommations_sent",
            &["2026-11", "12", "30", "11700", "a.tsv", "b.csv"],
        );
        assert_eq!(
            report_line(Lang::En, &consumptions),
            "consumptions of 2026-11: 12 pupil(s), 30 meal(s), €117.00; entries a.tsv, per pupil b.csv"
        );
        assert_eq!(report_line(Lang::Fr, &consumptions), "en français");
        let imported = line("charlemagne_file_imported", &["enc.csv", "3", "1"]);
        assert_eq!(
            report_line(Lang::En, &imported),
            "enc.csv: 3 payment(s) credited, 1 already known"
        );
        let refused = line("charlemagne_file_refused", &["bad.csv"]);
        assert!(report_line(Lang::En, &refused).starts_with("bad.csv: refused"));
    }

    #[test]
    fn amounts_and_dates_in_both_languages() {
        assert_eq!(euros(Lang::Fr, 24670), "246,70 €");
        assert_eq!(euros(Lang::En, 24670), "€246.70");
        assert_eq!(euros(Lang::Fr, -390), "−3,90 €");
        assert_eq!(euros(Lang::En, -390), "−€3.90");
        assert_eq!(euros(Lang::Fr, 5), "0,05 €");
        assert_eq!(euros(Lang::En, -5), "−€0.05");
        assert_eq!(euros(Lang::En, 0), "€0.00");
        assert_eq!(euros(Lang::Fr, i64::MIN), "−92233720368547758,08 €");
        // The French is the rules' own.
        for c in [0, 7, -320, 123_456] {
            assert_eq!(euros(Lang::Fr, c), selfgate_rules::model::format_euros(c));
        }
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        assert_eq!(date(Lang::Fr, day), "01/12/2026");
        assert_eq!(date(Lang::En, day), "2026-12-01");
        assert_eq!(iso_date(Lang::Fr, "2026-12-01"), "01/12/2026");
        assert_eq!(iso_date(Lang::En, "2026-12-01"), "2026-12-01");
        assert_eq!(iso_date(Lang::En, "demain"), "demain");
        let at = day.and_hms_opt(12, 4, 30).unwrap_or_default();
        assert_eq!(date_time(Lang::Fr, at), "01/12/2026 12:04:30");
        assert_eq!(date_time(Lang::En, at), "2026-12-01 12:04:30");
        assert_eq!(date_minute(Lang::Fr, at), "01/12/2026 12:04");
        assert_eq!(date_minute(Lang::En, at), "2026-12-01 12:04");
        let arg = at.format(ARG_TIME).to_string();
        assert_eq!(arg_time(Lang::En, &arg), "2026-12-01 12:04:30");
    }

    #[test]
    fn alerts_are_told_from_their_kind_and_particulars() {
        let lost = Alert::new(
            "lost_badge",
            vec!["Léa MARTIN".into(), "6A".into(), "12:04".into()],
        );
        assert_eq!(
            lost.text,
            "Badge déclaré perdu présenté : Léa MARTIN (6A) à 12:04"
        );
        assert_eq!(alert_text(Lang::Fr, &lost), lost.text);
        assert_eq!(
            alert_text(Lang::En, &lost),
            "Lost badge presented: Léa MARTIN (6A) at 12:04"
        );
        let offline = Alert::new("reader_offline", vec!["r2".into()]);
        assert_eq!(offline.text, "Lecteur hors ligne : r2");
        assert_eq!(alert_text(Lang::En, &offline), "Reader offline: r2");
        let hub = Alert::new("hub_unreachable", vec![String::new(), "3".into()]);
        assert_eq!(
            hub.text,
            "Serveur central injoignable · 3 événements en attente"
        );
        assert_eq!(
            alert_text(Lang::En, &hub),
            "Central server unreachable · 3 events waiting"
        );
        let since = Alert::new(
            "hub_unreachable",
            vec!["2026-11-30T11:00:00".into(), "12".into()],
        );
        assert_eq!(
            since.text,
            "Serveur central injoignable depuis 30/11/2026 11:00:00 · 12 événements en attente"
        );
        assert_eq!(
            alert_text(Lang::En, &since),
            "Central server unreachable since 2026-11-30 11:00:00 · 12 events waiting"
        );
        let q = Alert::new("quarantine", vec!["2".into()]);
        assert!(q.text.starts_with("2 événement(s) des lignes refusé(s)"));
        assert!(alert_text(Lang::En, &q).starts_with("2 event(s) from the gates refused"));
        let e = Alert::new("emergency", vec![]);
        assert_eq!(e.text, "Entrée d'urgence active : le tourniquet est libre");
        assert!(alert_text(Lang::En, &e).starts_with("Emergency input active"));
        // An unknown kind keeps the source's words rather than lose them.
        let other = Alert {
            kind: "new_kind".into(),
            text: "Quelque chose".into(),
            args: vec![],
        };
        assert_eq!(alert_text(Lang::En, &other), "Quelque chose");
        let mut s = Summary {
            alerts: vec![offline],
            denied: vec![("already_served".into(), "Déjà passé".into(), 2)],
            now: "01/12/2026 12:04:30".into(),
            now_at: NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(12, 4, 30)),
            ..Summary::default()
        };
        localise_summary(Lang::En, &mut s);
        assert_eq!(s.alerts[0].text, "Reader offline: r2");
        assert_eq!(s.denied[0].1, "Already served");
        assert_eq!(s.now, "2026-12-01 12:04:30");
    }

    fn facts(reason: Reason) -> PassageFacts {
        PassageFacts {
            reason,
            previous_at: Some("12:04".into()),
            balance_after_cents: Some(-320),
            by: Some("mleroy".into()),
            note: Some("badge oublié".into()),
        }
    }

    #[test]
    fn a_passage_is_told_in_both_languages_with_its_particulars() {
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
                "Insufficient balance: −€3.20".into()
            )
        );
        assert_eq!(
            both(Reason::Ticket),
            (
                "Ticket, solde −3,20 €".into(),
                "Ticket, balance −€3.20".into()
            )
        );
        assert_eq!(
            both(Reason::Manual),
            (
                "Admis par mleroy : badge oublié".into(),
                "Admitted by mleroy: badge oublié".into()
            )
        );
        assert_eq!(
            both(Reason::Opposition(OppositionReason::AbsentPronote)),
            ("Absent (PRONOTE)".into(), "Marked absent in PRONOTE".into())
        );
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
        let correction = PassageRow {
            words: Some(PassageWords::Correction {
                gate: "ligne-1".into(),
                seq: 7,
                note: "erreur de badge".into(),
                refund_cents: 390,
            }),
            ..PassageRow::default()
        };
        assert_eq!(
            passage_row_words(Lang::Fr, &correction),
            "Correction de ligne-1/7 : erreur de badge (remboursé 3,90 €)"
        );
        assert_eq!(
            passage_row_words(Lang::En, &correction),
            "Correction of ligne-1/7: erreur de badge (refunded €3.90)"
        );
    }

    #[test]
    fn a_persons_status_category_and_regime_in_both_languages() {
        let cases = [
            (
                PersonStatus::Served {
                    at: "12:04".into(),
                    times: 1,
                },
                "Servi à 12:04",
                "Served at 12:04",
            ),
            (
                PersonStatus::Served {
                    at: "12:04".into(),
                    times: 2,
                },
                "Servi à 12:04 (2 fois)",
                "Served at 12:04 (2 times)",
            ),
            (
                PersonStatus::Expected,
                "Attendu (forfait)",
                "Expected (meal plan)",
            ),
            (
                PersonStatus::Opposed {
                    reason: OppositionReason::Impaye,
                },
                "Impayé",
                "Unpaid bills",
            ),
            (
                PersonStatus::NotRegisteredToday,
                "Non inscrit ce jour",
                "Not registered today",
            ),
            (
                PersonStatus::Ticket {
                    balance_cents: 24670,
                },
                "Ticket, solde 246,70 €",
                "Ticket, balance €246.70",
            ),
            (
                PersonStatus::NoService,
                "Pas de service ouvert",
                "No service open",
            ),
        ];
        for (status, fr, en) in cases {
            assert_eq!(person_status(Lang::Fr, &status), fr);
            assert_eq!(person_status(Lang::En, &status), en);
        }
        assert_eq!(category(Lang::Fr, Category::Eleve), "élève");
        assert_eq!(category(Lang::En, Category::Hote), "guest");
        assert_eq!(regime(Lang::En, Regime::DemiPensionnaire), "Half-boarder");
        assert_eq!(role(Lang::Fr, Role::Gestionnaire), "gestionnaire");
        assert_eq!(role(Lang::En, Role::Gestionnaire), "bursar");
        // Without a value, the source's words.
        let row = PersonRow {
            status: "Quelque chose".into(),
            category: "élève".into(),
            ..PersonRow::default()
        };
        assert_eq!(row_status(Lang::En, &row), "Quelque chose");
        assert_eq!(row_category(Lang::En, &row), "élève");
    }

    #[test]
    fn a_problem_is_told_in_both_languages() {
        let p = Problem::AlreadyServed { at: "12:04".into() };
        assert!(p.to_string().starts_with("Déjà servi à 12:04"), "{p}");
        assert!(problem(Lang::En, &p).starts_with("Already served at 12:04"));
        let d = Problem::NotADate {
            field: DateField::From,
            given: "30/11".into(),
        };
        assert_eq!(
            d.to_string(),
            "du : « 30/11 » n'est pas une date AAAA-MM-JJ"
        );
        assert_eq!(
            problem(Lang::En, &d),
            "from: “30/11” is not a YYYY-MM-DD date"
        );
        assert_eq!(
            problem(Lang::En, &Problem::from("as written")),
            "as written"
        );
        assert_eq!(
            account_error(Lang::Fr, &AccountError::ShortPassword),
            format!("le mot de passe doit avoir au moins {MIN_PASSWORD} caractères")
        );
        assert_eq!(
            account_error(Lang::En, &AccountError::ShortPassword),
            AccountError::ShortPassword.to_string()
        );
    }

    #[test]
    fn sync_and_exchange_lines_in_both_languages() {
        let st = SyncStatus {
            role: SyncRole::Gate,
            connected: false,
            last_exchange: Some("30/11/2026 11:00:00".into()),
            last_exchange_at: NaiveDate::from_ymd_opt(2026, 11, 30)
                .and_then(|d| d.and_hms_opt(11, 0, 0)),
            events_waiting: 12,
            gates: 0,
        };
        assert_eq!(
            sync_line(Lang::Fr, &st),
            "Hors ligne (décisions locales), dernier échange 30/11/2026 11:00:00, 12 en attente"
        );
        assert_eq!(
            sync_line(Lang::En, &st),
            "Offline (local decisions), last exchange 2026-11-30 11:00:00, 12 waiting"
        );
        let line = ReportLine {
            code: "absences".into(),
            args: ["2026-12-01", "dejeuner", "3", "2", "1", "0", "1", "7777"]
                .map(String::from)
                .to_vec(),
            text: "absences du 2026-12-01 (dejeuner) : …".into(),
        };
        assert_eq!(report_line(Lang::Fr, &line), line.text);
        assert_eq!(
            report_line(Lang::En, &line),
            "absences of 2026-12-01 (dejeuner): 3 absent according to PRONOTE; 2 opposition(s) \
             put in, 1 lifted, 0 unchanged; 1 identifier(s) unknown here: 7777"
        );
        let words = ReportLine {
            code: String::new(),
            args: vec!["PRONOTE : délai dépassé".into()],
            text: "PRONOTE : délai dépassé (nouvel essai à 12:05:00)".into(),
        };
        let report = ExchangeReport {
            status: "error".into(),
            message: words.text.clone(),
            error: Some(words),
            retry_at: chrono::NaiveTime::from_hms_opt(12, 5, 0),
            ..ExchangeReport::default()
        };
        assert_eq!(exchange_result(Lang::Fr, &report), report.message);
        assert_eq!(
            exchange_result(Lang::En, &report),
            "PRONOTE : délai dépassé (retried at 12:05:00)"
        );
        let ok = ExchangeReport {
            status: "ok".into(),
            schedule: "0 30 9 * * *".into(),
            message: "réussi (0 30 9 * * *)".into(),
            ..ExchangeReport::default()
        };
        assert_eq!(exchange_result(Lang::En, &ok), "succeeded (0 30 9 * * *)");
    }

    #[test]
    fn the_live_stream_speaks_the_callers_language() {
        let live = || Live {
            item: Some(FeedItem {
                reason: "insufficient_balance".into(),
                label: "Solde insuffisant : −3,20 €".into(),
                label_en: "Insufficient balance: −€3.20".into(),
                facts: Some(facts(Reason::InsufficientBalance)),
                ..FeedItem::default()
            }),
            summary: Summary {
                denied: vec![
                    ("already_served".into(), "Déjà passé".into(), 2),
                    ("opposition:impaye".into(), "Impayé".into(), 1),
                ],
                ..Summary::default()
            },
        };
        let fr = localise(Lang::Fr, live());
        assert_eq!(fr.item.unwrap().label, "Solde insuffisant : −3,20 €");
        assert_eq!(fr.summary.denied[0].1, "Déjà passé");
        let en = localise(Lang::En, live());
        assert_eq!(en.item.unwrap().label, "Insufficient balance: −€3.20");
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

/// A field of a régie operation, as a refusal names it.
pub fn money_field(lang: Lang, f: MoneyField) -> &'static str {
    match (lang, f) {
        (Lang::Fr, MoneyField::ChequeNumber) => "numéro de chèque",
        (Lang::Fr, MoneyField::Bank) => "banque",
        (Lang::Fr, MoneyField::Reference) => "référence",
        (Lang::Fr, MoneyField::Staff) => "agent",
        (Lang::Fr, MoneyField::Payer) => "payeur",
        (Lang::Fr, MoneyField::Note) => "note",
        (Lang::Fr, MoneyField::Reason) => "motif",
        (Lang::En, MoneyField::ChequeNumber) => "cheque number",
        (Lang::En, MoneyField::Bank) => "bank",
        (Lang::En, MoneyField::Reference) => "reference",
        (Lang::En, MoneyField::Staff) => "member of staff",
        (Lang::En, MoneyField::Payer) => "payer",
        (Lang::En, MoneyField::Note) => "note",
        (Lang::En, MoneyField::Reason) => "reason",
    }
}

/// A payment mode's name from its code ("Espèces", "Cash"); `inconnu`: a mode not known.
pub fn mode(lang: Lang, code: &str) -> &'static str {
    use selfgate_rules::journal::{mode_label_en, mode_label_fr};
    match (lang, code) {
        (Lang::Fr, "inconnu") => "Mode inconnu",
        (Lang::En, "inconnu") => "Unknown method",
        (Lang::Fr, c) => mode_label_fr(c),
        (Lang::En, c) => mode_label_en(c),
    }
}

/// A mode with its particulars: "Chèque n° 1234567, La Banque Postale", "Cheque no. 1234567,
/// La Banque Postale"; the mode's name alone when it has none.
pub fn mode_line(lang: Lang, m: &PaymentMode) -> String {
    let name = mode(lang, m.code());
    match (m, lang) {
        (PaymentMode::Cheque { number, bank }, Lang::Fr) => format!("{name} n° {number}, {bank}"),
        (PaymentMode::Cheque { number, bank }, Lang::En) => format!("{name} no. {number}, {bank}"),
        (PaymentMode::EnLigne { reference } | PaymentMode::Import { reference }, _) => {
            format!("{name} {reference}")
        }
        _ => name.to_owned(),
    }
}

/// A line of money on the staff's live feed: "Versement R1-2026-00042 : 20,00 € (espèces)",
/// "Payment R1-2026-00042: €20.00 (cash)".
pub fn money_words(lang: Lang, m: &MoneyFacts) -> String {
    let amount = euros(lang, m.cents);
    let how = mode(lang, &m.mode).to_lowercase();
    let receipt = m.receipt.as_deref().unwrap_or("?");
    match (lang, m.kind) {
        (Lang::Fr, MoneyKind::Payment) => format!("Versement {receipt} : {amount} ({how})"),
        (Lang::Fr, MoneyKind::Cancellation) => format!(
            "Versement {receipt} annulé : {}",
            euros(lang, m.cents.saturating_neg())
        ),
        (Lang::Fr, MoneyKind::Refund) => format!("Remboursement : {amount} ({how})"),
        (Lang::En, MoneyKind::Payment) => format!("Payment {receipt}: {amount} ({how})"),
        (Lang::En, MoneyKind::Cancellation) => format!(
            "Payment {receipt} cancelled: {}",
            euros(lang, m.cents.saturating_neg())
        ),
        (Lang::En, MoneyKind::Refund) => format!("Refund: {amount} ({how})"),
    }
}

/// What the pupil reads on the gate screen when their balance gets low: "Plus que 2 repas",
/// "2 meals left"; none left: "Plus de repas d'avance", "No meals left in advance".
pub fn meals_left(lang: Lang, n: u32) -> String {
    match (lang, n) {
        (Lang::Fr, 0) => "Plus de repas d'avance".into(),
        (Lang::Fr, 1) => "Plus qu'un repas".into(),
        (Lang::Fr, n) => format!("Plus que {n} repas"),
        (Lang::En, 0) => "No meals left in advance".into(),
        (Lang::En, 1) => "1 meal left".into(),
        (Lang::En, n) => format!("{n} meals left"),
    }
}

/// A month: "novembre 2026", "November 2026".
pub fn month(lang: Lang, year: i32, month: u32) -> String {
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let i = usize::try_from(month).unwrap_or(0).wrapping_sub(1);
    let name = match lang {
        Lang::Fr => FR.get(i),
        Lang::En => EN.get(i),
    };
    match name {
        Some(n) => format!("{n} {year}"),
        None => format!("{year}-{month:02}"),
    }
}

/// A group of the month's meals by name: a category, a régime, a tier (its configured label).
pub fn group_name(lang: Lang, g: &GroupName) -> String {
    match g {
        GroupName::Category(c) => {
            let s = category(lang, *c);
            let mut chars = s.chars();
            chars
                .next()
                .map(|f| f.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        GroupName::Regime(r) => regime(lang, *r).to_owned(),
        GroupName::Tier { code, label } if label.is_empty() || label == code => code.clone(),
        GroupName::Tier { code, label } => format!("{code} · {label}"),
        GroupName::NoTier => t(lang, "month.notier").to_owned(),
        GroupName::Unknown => t(lang, "month.unknown").to_owned(),
    }
}

/// The day's receipts in a line: "3 quittances émises, de R1-2026-00040 à R1-2026-00042 ; 1
/// annulée", "3 receipts given, R1-2026-00040 to R1-2026-00042; 1 cancelled".
pub fn cash_receipts(
    lang: Lang,
    count: usize,
    first: Option<&str>,
    last: Option<&str>,
    cancelled: usize,
    refunds: usize,
) -> String {
    let (count, cancelled, refunds) = (count as u64, cancelled as u64, refunds as u64);
    let range = match (first, last, lang) {
        (Some(f), Some(l), Lang::Fr) => format!(", de {f} à {l}"),
        (Some(f), Some(l), Lang::En) => format!(", {f} to {l}"),
        _ => String::new(),
    };
    match lang {
        Lang::Fr => format!(
            "{count} quittance{} émise{}{range} ; {cancelled} versement{} annulé{} ; {refunds} \
             remboursement{}",
            plural_fr(count),
            plural_fr(count),
            plural_fr(cancelled),
            plural_fr(cancelled),
            plural_fr(refunds)
        ),
        Lang::En => format!(
            "{count} receipt{} given{range}; {cancelled} payment{} cancelled; {refunds} refund{}",
            plural_en(count),
            plural_en(cancelled),
            plural_en(refunds)
        ),
    }
}

/// A forfait's name: "Demi-pension 4 jours", "Half board, 4 days".
pub fn forfait(lang: Lang, k: ForfaitKind) -> String {
    match (lang, k) {
        (Lang::Fr, k) => k.label_fr(),
        (Lang::En, ForfaitKind::Dp(1)) => "Half board, 1 day".to_owned(),
        (Lang::En, ForfaitKind::Dp(n)) => format!("Half board, {n} days"),
        (Lang::En, ForfaitKind::Interne) => "Boarding".to_owned(),
    }
}

/// An aid's kind.
pub fn aid_kind(lang: Lang, k: AidKind) -> &'static str {
    match (lang, k) {
        (Lang::Fr, k) => k.label_fr(),
        (Lang::En, AidKind::Bourse) => "Scholarship",
        (Lang::En, AidKind::FondsSocial) => "Social fund",
        (Lang::En, AidKind::Collectivite) => "Local authority aid",
    }
}

/// Why a remise d'ordre is given.
pub fn remise_cause(lang: Lang, c: RemiseCause) -> &'static str {
    match (lang, c) {
        (Lang::Fr, c) => c.label_fr(),
        (Lang::En, RemiseCause::Fermeture) => "service closed",
        (Lang::En, RemiseCause::Exclusion) => "exclusion",
        (Lang::En, RemiseCause::Stage) => "work placement",
        (Lang::En, RemiseCause::Voyage) => "school trip",
        (Lang::En, RemiseCause::Maladie) => "illness, on request",
    }
}

/// Two days: "du 01/09/2026 au 18/12/2026", "2026-09-01 to 2026-12-18".
pub fn billing_span(lang: Lang, from: NaiveDate, to: NaiveDate) -> String {
    match lang {
        Lang::Fr => format!("du {} au {}", date(lang, from), date(lang, to)),
        Lang::En => format!("{} to {}", date(lang, from), date(lang, to)),
    }
}

/// What a constatation would journal now.
pub fn billing_pending(lang: Lang, lines: usize, cents: i64) -> String {
    let n = lines as u64;
    match lang {
        Lang::Fr => format!(
            "{lines} ligne{} à journaliser, {} net",
            plural_fr(n),
            euros(lang, cents)
        ),
        Lang::En => format!(
            "{lines} line{} to journal, {} net",
            plural_en(n),
            euros(lang, cents)
        ),
    }
}

/// A remise d'ordre entered: its days, its proof and when it was asked.
pub fn billing_remise(
    lang: Lang,
    from: NaiveDate,
    to: NaiveDate,
    proof: &str,
    asked_on: NaiveDate,
) -> String {
    match lang {
        Lang::Fr => format!(
            "Remise d'ordre (maladie) {}, justificatif {proof}, demandée le {}",
            billing_span(lang, from, to),
            date(lang, asked_on)
        ),
        Lang::En => format!(
            "Deduction (illness) {}, proof {proof}, asked on {}",
            billing_span(lang, from, to),
            date(lang, asked_on)
        ),
    }
}

/// The rule of a remise on request, with the term's deadline.
pub fn billing_remise_help(lang: Lang, deadline: NaiveDate) -> String {
    match lang {
        Lang::Fr => format!(
            "Sur justificatif, pour une absence d'au moins le nombre de jours de classe \
             consécutifs fixé par l'établissement, demandée au plus tard le {}.",
            date(lang, deadline)
        ),
        Lang::En => format!(
            "With a proof, for an absence of at least the consecutive school days the school \
             sets, asked by {} at the latest.",
            date(lang, deadline)
        ),
    }
}

/// How many persons the month's report has lines for, and the threshold of the low balances.
pub fn count_line(lang: Lang, key: &str, n: u64) -> String {
    match (lang, key) {
        (Lang::Fr, "month.persons") => format!("{n} personne{} avec un compte", plural_fr(n)),
        (Lang::En, "month.persons") => format!("{n} person{} with an account", plural_en(n)),
        (Lang::Fr, "low.help") => format!(
            "Personnes au ticket dont le solde paie moins de {n} repas à leur prix, du plus bas \
             au plus haut."
        ),
        (Lang::En, "low.help") => format!(
            "Persons paying by ticket whose balance pays for fewer than {n} meals at their \
             price, lowest first."
        ),
        _ => n.to_string(),
    }
}

fn plural_fr(n: u64) -> &'static str {
    if n > 1 { "s" } else { "" }
}

fn plural_en(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An amount in words, for a receipt: "vingt euros et cinquante centimes", "twenty euros and
/// fifty cents".
pub fn amount_words(lang: Lang, cents: i64) -> String {
    if lang == Lang::Fr {
        // The receipt's own words, as its PDF prints them.
        return selfgate_money::receipt::amount_in_words(cents);
    }
    let sign = if cents < 0 { "minus " } else { "" };
    let c = cents.unsigned_abs();
    let (units, rest) = (c / 100, c % 100);
    let euros = match units {
        0 if rest > 0 => String::new(),
        1 => "one euro".to_owned(),
        n => format!("{} euros", number_en(n)),
    };
    let cents = match rest {
        0 => String::new(),
        1 => "one cent".to_owned(),
        n => format!("{} cents", number_en(n)),
    };
    let words = match (euros.is_empty(), cents.is_empty()) {
        (_, true) => euros,
        (true, false) => cents,
        (false, false) => format!("{euros} and {cents}"),
    };
    format!("{sign}{words}")
}

/// 0 to 999 in English words ("two hundred and five").
fn below_1000_en(n: u64) -> String {
    const UNITS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let idx = |i: u64| usize::try_from(i).unwrap_or(0);
    let below_100 = |n: u64| -> String {
        match n {
            0..=19 => UNITS[idx(n) % 20].to_owned(),
            _ => match n % 10 {
                0 => TENS[idx(n / 10) % 10].to_owned(),
                u => format!("{}-{}", TENS[idx(n / 10) % 10], UNITS[idx(u)]),
            },
        }
    };
    let (h, r) = (n / 100, n % 100);
    match (h, r) {
        (0, r) => below_100(r),
        (h, 0) => format!("{} hundred", UNITS[idx(h) % 20]),
        (h, r) => format!("{} hundred and {}", UNITS[idx(h) % 20], below_100(r)),
    }
}

/// A whole number in English words.
fn number_en(n: u64) -> String {
    if n == 0 {
        return "zero".to_owned();
    }
    let groups = [
        (1_000_000_000_000u64, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1000, "thousand"),
    ];
    let mut parts: Vec<String> = Vec::new();
    let mut rest = n;
    for (size, name) in groups {
        let g = rest / size;
        if g > 0 {
            parts.push(format!("{} {name}", number_en(g)));
            rest %= size;
        }
    }
    if rest > 0 {
        if !parts.is_empty() && rest < 100 {
            parts.push(format!("and {}", below_1000_en(rest)));
        } else {
            parts.push(below_1000_en(rest));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod money_words_tests {
    use super::*;

    #[test]
    fn amounts_in_words_read_as_a_receipt_writes_them() {
        for (cents, fr) in [
            (2000, "vingt euros"),
            (2050, "vingt euros et cinquante centimes"),
            (100, "un euro"),
            (101, "un euro et un centime"),
            (50, "cinquante centimes"),
            (0, "zéro euro"),
            (2100, "vingt et un euros"),
            (7100, "soixante et onze euros"),
            (7700, "soixante-dix-sept euros"),
            (8000, "quatre-vingts euros"),
            (8100, "quatre-vingt-un euros"),
            (9100, "quatre-vingt-onze euros"),
            (20_000, "deux cents euros"),
            (20_500, "deux cent cinq euros"),
            (100_000, "mille euros"),
            (8_000_000, "quatre-vingt mille euros"),
            (20_000_000, "deux cent mille euros"),
            (
                123_456,
                "mille deux cent trente-quatre euros et cinquante-six centimes",
            ),
            (100_000_000, "un million d'euros"),
            (-390, "moins trois euros et quatre-vingt-dix centimes"),
        ] {
            assert_eq!(amount_words(Lang::Fr, cents), fr, "{cents}");
        }
        for (cents, en) in [
            (2000, "twenty euros"),
            (2050, "twenty euros and fifty cents"),
            (100, "one euro"),
            (1, "one cent"),
            (0, "zero euros"),
            (10_500, "one hundred and five euros"),
            (100_500, "one thousand and five euros"),
            (
                123_456,
                "one thousand two hundred and thirty-four euros and fifty-six cents",
            ),
        ] {
            assert_eq!(amount_words(Lang::En, cents), en, "{cents}");
        }
    }

    #[test]
    fn the_gate_screen_line_counts_meals() {
        assert_eq!(meals_left(Lang::Fr, 2), "Plus que 2 repas");
        assert_eq!(meals_left(Lang::Fr, 0), "Plus de repas d'avance");
        assert_eq!(meals_left(Lang::En, 2), "2 meals left");
        assert_eq!(meals_left(Lang::En, 0), "No meals left in advance");
    }
}
