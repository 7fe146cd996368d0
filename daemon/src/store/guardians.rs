//! Guardians (*responsables*, from SIÈCLE's `ResponsablesAvecAdresses.xml`): the table
//! `guardians`, `PERSONNE_ID` → [`Guardian`] (postcard with the record-version byte, like every
//! record of the store).
//!
//! Hub or standalone data, for billing (who pays, where the notice goes): they decide nothing at
//! the gate, are not in the decision's index, not in the change log and not sent to gates.
//! Personal data (BRIEF §6): [`purge`] deletes those none of whose children is enrolled any more
//! once the accounting period after the last departure is over
//! ([`selfgate_rules::family::guardian_expired`]), run with the retention purge.

use std::collections::HashMap;

use chrono::NaiveDate;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use selfgate_rules::family::{ChildStatus, Guardian, child_status, guardian_expired};
use selfgate_rules::model::{Opposition, PersonId};

use super::{Store, StoreError, decode, decode_person, encode};

pub(super) const GUARDIANS: TableDefinition<&str, &[u8]> = TableDefinition::new("guardians");

fn decode_guardian(id: &str, bytes: &[u8]) -> Result<Guardian, StoreError> {
    decode(&format!("guardians/{id}"), bytes)
}

impl Store {
    /// Every guardian, in `PERSONNE_ID` order.
    pub fn guardians(&self) -> Result<Vec<Guardian>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(GUARDIANS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push(decode_guardian(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// The guardian of SIÈCLE `PERSONNE_ID` `id`.
    pub fn guardian(&self, id: &str) -> Result<Option<Guardian>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(GUARDIANS)?;
        t.get(id)?
            .map(|v| decode_guardian(id, v.value()))
            .transpose()
    }
}

/// `WriteOp::PutGuardian`: puts `g` in place of the record under its id.
pub(super) fn put(txn: &redb::WriteTransaction, g: &Guardian) -> Result<(), StoreError> {
    let mut t = txn.open_table(GUARDIANS)?;
    t.insert(g.id.as_str(), encode(g).as_slice())?;
    Ok(())
}

/// `WriteOp::DeleteGuardian`: deletes the guardian `id` (nothing when there is none).
pub(super) fn delete(txn: &redb::WriteTransaction, id: &str) -> Result<(), StoreError> {
    let mut t = txn.open_table(GUARDIANS)?;
    t.remove(id)?;
    Ok(())
}

/// `WriteOp::PurgeGuardians`: deletes the guardians that may not be kept on `today`, decided
/// from the persons and oppositions of the same transaction. Returns how many.
pub(super) fn purge(
    txn: &redb::WriteTransaction,
    persons: &impl ReadableTable<u32, &'static [u8]>,
    oppositions: &impl ReadableTable<u64, &'static [u8]>,
    today: NaiveDate,
) -> Result<u64, StoreError> {
    // Each SIÈCLE pupil's status, by ELEVE_ID (the person's external id).
    let mut of_person: HashMap<PersonId, Vec<Opposition>> = HashMap::new();
    for row in oppositions.iter()? {
        let (k, v) = row?;
        let o: Opposition = decode(&format!("oppositions/{}", k.value()), v.value())?;
        of_person.entry(o.person).or_default().push(o);
    }
    let mut status: HashMap<String, ChildStatus> = HashMap::new();
    for row in persons.iter()? {
        let (k, v) = row?;
        let p = decode_person(k.value(), v.value())?;
        if p.external_id.is_empty() {
            continue;
        }
        let s = child_status(&p, of_person.get(&p.id).map_or(&[], Vec::as_slice), today);
        status.insert(p.external_id, s);
    }
    let mut t = txn.open_table(GUARDIANS)?;
    let mut expired = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        let g = decode_guardian(k.value(), v.value())?;
        if guardian_expired(&g, |e| status.get(e).copied(), today) {
            expired.push(g.id);
        }
    }
    for id in &expired {
        t.remove(id.as_str())?;
    }
    Ok(expired.len() as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::store::WriteOp;
    use selfgate_rules::family::GuardianLink;

    fn helene() -> Guardian {
        Guardian {
            id: "9005".into(),
            civility: "MME".into(),
            last_name: "DURAND-BŒUF".into(),
            first_name: "Hélène".into(),
            address: vec!["Chemin des Bœufs".into(), "Lieu-dit La Croix".into()],
            postal_code: "31450".into(),
            city: "MONTGISCARD".into(),
            country: String::new(),
            email: "helene.durand@example.invalid".into(),
            phone: "0600000005".into(),
            children: ["1004", "1008"]
                .iter()
                .map(|e| GuardianLink {
                    eleve_id: (*e).into(),
                    legal: true,
                    rank: 1,
                    pays: true,
                    relation: "10".into(),
                    ended: None,
                })
                .collect(),
        }
    }

    #[test]
    fn guardians_round_trip_are_replaced_deleted_and_backed_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.guardians().unwrap().is_empty());
        assert_eq!(store.guardian("9005").unwrap(), None);

        let mut other = helene();
        other.id = "10".into();
        other.children.truncate(1);
        store
            .write_now(&[
                WriteOp::PutGuardian(Box::new(helene())),
                WriteOp::PutGuardian(Box::new(other.clone())),
            ])
            .unwrap();
        assert_eq!(store.guardian("9005").unwrap(), Some(helene()));
        let ids: Vec<String> = store
            .guardians()
            .unwrap()
            .into_iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(ids, ["10", "9005"], "in PERSONNE_ID order (as text)");

        // Put again: replaced, not added.
        let mut moved = helene();
        moved.city = "TOULOUSE".into();
        moved.children[1].ended = "2026-03-02".parse().ok();
        store
            .write_now(&[WriteOp::PutGuardian(Box::new(moved.clone()))])
            .unwrap();
        assert_eq!(store.guardian("9005").unwrap(), Some(moved.clone()));
        assert_eq!(store.guardians().unwrap().len(), 2);

        // Not in the change log (not sent to gates), even on a hub.
        store.keep_change_log().unwrap();
        let version = store.change_version().unwrap();
        store
            .write_now(&[WriteOp::PutGuardian(Box::new(helene()))])
            .unwrap();
        assert_eq!(store.change_version().unwrap(), version);

        // A backup holds them; deleting one leaves the other; deleting none is no error.
        let backup = dir.path().join("backup.redb");
        store.backup_to(&backup).unwrap();
        store
            .write_now(&[
                WriteOp::DeleteGuardian("9005".into()),
                WriteOp::DeleteGuardian("nobody".into()),
            ])
            .unwrap();
        assert_eq!(store.guardians().unwrap(), [other.clone()]);
        drop(store);
        let restored = tempfile::tempdir().unwrap();
        std::fs::copy(&backup, restored.path().join(crate::store::DB_FILE)).unwrap();
        let copy = Store::open_existing(restored.path()).unwrap();
        assert_eq!(copy.guardians().unwrap(), [other, helene()]);
        // The data directory again: the deletion was durable.
        let again = Store::open_existing(dir.path()).unwrap();
        assert_eq!(again.guardians().unwrap().len(), 1);
    }
}
