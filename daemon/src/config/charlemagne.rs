//! `[charlemagne]`: where the month's consumptions go in the accounts of a private school that
//! keeps them with Charlemagne (BRIEF §7, `docs/charlemagne-compta.md`): the journal's code, the
//! account debited with each pupil's meals (the families') and the accounts credited (the
//! meals' revenue, one per service if wanted), the piece numbers' prefix. Validated into
//! `selfgate_money::charlemagne::Accounts`, every error naming its key.

use std::collections::BTreeMap;

use serde::Deserialize;

use selfgate_money::charlemagne::Accounts;
use selfgate_rules::model::Service;

use super::Validator;

/// `[charlemagne]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCharlemagne {
    journal: String,
    debit_account: String,
    debit_label: String,
    credit_account: String,
    credit_label: String,
    piece_prefix: String,
    service_accounts: BTreeMap<String, RawServiceAccount>,
}

/// `[charlemagne.service_accounts.CODE]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServiceAccount {
    account: String,
    label: String,
}

impl Default for RawCharlemagne {
    fn default() -> Self {
        RawCharlemagne {
            journal: "VT".into(),
            debit_account: "4110000".into(),
            debit_label: "Familles - restauration".into(),
            credit_account: "7061000".into(),
            credit_label: "Ventes de repas".into(),
            piece_prefix: "CONSO".into(),
            service_accounts: BTreeMap::new(),
        }
    }
}

impl Validator {
    fn code_key(&mut self, key: &str, value: &str, max: usize, extra: &[char]) -> String {
        let v = value.trim();
        if v.is_empty()
            || v.chars().count() > max
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        {
            self.err(
                key,
                format!(
                    "`{value}` must be 1-{max} letters or digits{}",
                    if extra.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (or {})",
                            extra
                                .iter()
                                .map(char::to_string)
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    }
                ),
            );
        }
        v.to_owned()
    }

    fn label_key(&mut self, key: &str, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() || v.chars().count() > 60 || v.chars().any(char::is_control) {
            self.err(key, "must be 1-60 characters, no tab or line break");
        }
        v.to_owned()
    }

    pub(super) fn charlemagne(&mut self, raw: RawCharlemagne, services: &[Service]) -> Accounts {
        let journal = self.code_key("charlemagne.journal", &raw.journal, 8, &[]);
        let debit_account = self.code_key("charlemagne.debit_account", &raw.debit_account, 20, &[]);
        let debit_label = self.label_key("charlemagne.debit_label", &raw.debit_label);
        let credit_account =
            self.code_key("charlemagne.credit_account", &raw.credit_account, 20, &[]);
        let credit_label = self.label_key("charlemagne.credit_label", &raw.credit_label);
        let piece_prefix = self.code_key(
            "charlemagne.piece_prefix",
            &raw.piece_prefix,
            12,
            &['-', '_'],
        );
        let mut service_accounts = BTreeMap::new();
        for (code, a) in raw.service_accounts {
            let key = format!("charlemagne.service_accounts.{code}");
            if !services.iter().any(|s| s.code == code) {
                self.err(&key, format!("no service has code `{code}`"));
            }
            let account = self.code_key(&format!("{key}.account"), &a.account, 20, &[]);
            let label = self.label_key(&format!("{key}.label"), &a.label);
            service_accounts.insert(code, (account, label));
        }
        Accounts {
            journal,
            debit_account,
            debit_label,
            credit_account,
            credit_label,
            service_accounts,
            piece_prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::test_errors as errors;

    #[test]
    fn defaults_and_a_service_account() {
        let c = Config::parse(
            "[charlemagne]\njournal = \"RS\"\n\
             [charlemagne.service_accounts.dejeuner]\naccount = \"7062\"\nlabel = \"Déjeuners\"\n",
            "t.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.charlemagne.journal, "RS");
        assert_eq!(c.charlemagne.debit_account, "4110000");
        assert_eq!(
            c.charlemagne.service_accounts.get("dejeuner"),
            Some(&("7062".to_owned(), "Déjeuners".to_owned()))
        );
    }

    #[test]
    fn bad_keys_are_named() {
        let e = errors(
            "[charlemagne]\njournal = \"VENTES REPAS\"\ndebit_account = \"\"\n\
             credit_label = \"a\\tb\"\npiece_prefix = \"C/\"\n\
             [charlemagne.service_accounts.gouter]\naccount = \"7\"\nlabel = \"Goûters\"\n",
        );
        for key in [
            "charlemagne.journal",
            "charlemagne.debit_account",
            "charlemagne.credit_label",
            "charlemagne.piece_prefix",
            "charlemagne.service_accounts.gouter",
        ] {
            assert!(
                e.iter().any(|m| m.starts_with(key)),
                "no error for {key}: {e:?}"
            );
        }
        let e = errors(
            "[[exchanges]]\nname = \"in\"\nkind = \"charlemagne_encaissements\"\n\
             schedule = \"0 */10 * * * *\"\nsoftware = \"easilys\"\n\
             [[exchanges]]\nname = \"out\"\nkind = \"charlemagne_consommations\"\n\
             schedule = \"0 0 6 1 * *\"\ntarget = \"https://x.invalid/\"\n",
        );
        for key in [
            "exchanges[0].software",
            "exchanges[0].target",
            "exchanges[1].target",
        ] {
            assert!(
                e.iter().any(|m| m.starts_with(key)),
                "no error for {key}: {e:?}"
            );
        }
        assert_eq!(e.len(), 3, "{e:?}");
        let e = errors("[charlemagne]\ncolour = 1\n");
        assert!(e.len() == 1 && e[0].contains("colour"), "{e:?}");
    }
}
