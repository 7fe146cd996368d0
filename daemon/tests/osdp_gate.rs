//! End to end through a real OSDP reader: libosdp's peripheral device (the C library, a
//! third-party peer) on a pseudo-terminal presents a card; the daemon's OSDP control panel
//! (built from `[[gate.readers]] kind = "osdp"` by `node::hardware`, as `selfgate run` does)
//! reads it, the gate decides, journals, pulses the turnstile after the commit, and the
//! decision comes back to the PD as `osdp_LED` + `osdp_BUZ`. Plain and secure channel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use selfgate::config::Config;
use selfgate::node::Services;
use selfgate::node::kiosk::view;
use selfgate::store::Store;
use selfgate_hardware::testing::{LibosdpPd, PdFeedback, Pty};
use selfgate_rules::journal::{Passage, Reason, Verdict};
use selfgate_rules::model::PersonId;

/// An H10301 card, facility 123, card 45678: an OSDP reader's `osdp_RAW` Wiegand 26 read is
/// normalised as a Wiegand reader's, facility then card, 3 + 5 digits (`hardware/README.md`).
const FACILITY: u32 = 123;
const CARD: u32 = 45_678;
const BADGE: &str = "12345678";
/// A well-formed card nobody is enrolled under.
const UNKNOWN: (u32, u32, &str) = (200, 1, "20000001");
/// Another: the read after the last that counts, marking the moment to check nothing followed.
const UNKNOWN_2: (u32, u32, &str) = (200, 2, "20000002");

const READER: &str = "entree";
const ADDRESS: u8 = 1;

/// A store on `dir` with a ticket pupil (`BADGE`, 10 €), a service open all day in UTC, and one
/// OSDP reader on `device` (`reader` holds its secure channel keys).
fn setup(dir: &std::path::Path, reader: &str) -> (Config, Store) {
    common::avoid_end_of_day();
    let store = Store::open(dir).unwrap();
    let mut config = common::all_day_config(&format!(
        "[[gate.readers]]\nname = \"{READER}\"\nkind = \"osdp\"\naddress = {ADDRESS}\n{reader}"
    ));
    config.data_dir = dir.to_path_buf();
    common::one_pupil(&store, &config.gate.id, BADGE, 1_000, 1);
    (config, store)
}

use common::eventually;

/// The journal's passages with their event ids, in order.
fn passages(store: &Store) -> Vec<(String, Passage)> {
    store
        .events(None)
        .unwrap()
        .into_iter()
        .filter_map(|e| Some((format!("{}/{}", e.gate, e.seq), e.passage()?.clone())))
        .collect()
}

/// A known card, then two unknown ones, presented at the libosdp PD.
async fn card_reads_reach_a_decision_and_the_reader(secure: bool) {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let pty = Pty::open().unwrap();
    let device = pty.slave_path();
    let (pd, reader) = if secure {
        // The reader's own key, in a file only its owner reads (checked at load).
        let key = *b"canteen-reader-1";
        let path = dir.path().join("entree.scbk");
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(&path, format!("{hex}\n")).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
        std::fs::set_permissions(&path, perms).unwrap();
        (
            LibosdpPd::secure(&pty, i32::from(ADDRESS), key),
            format!(
                "device = \"{}\"\nsecure = true\nkey_file = \"{}\"",
                device.display(),
                path.display()
            ),
        )
    } else {
        (
            LibosdpPd::plain(&pty, i32::from(ADDRESS)),
            format!("device = \"{}\"\nsecure = false", device.display()),
        )
    };
    let (config, store) = setup(dir.path(), &reader);
    // The readers `selfgate run` builds from this configuration: the real OSDP control panel.
    let hw = selfgate::node::hardware::hardware(&config).unwrap();
    assert_eq!(hw.readers.len(), 1);
    assert_eq!(hw.readers[0].name(), READER);
    let (hw, turnstile) = common::sim_hardware(hw.readers);
    let node = common::node_on(&store, config, hw, Services::NONE).await;
    let shared = node.shared().clone();
    eventually("the OSDP reader is online", || {
        shared.reader_health().get(READER).is_some_and(|h| h.online)
    })
    .await;
    // libosdp's own view: its secure channel is up exactly when the CP was given a key.
    eventually("the PD's secure channel state", || pd.sc_active() == secure).await;

    // The enrolled card: a pass, journaled, then one pulse; green and one beep on the reader.
    pd.present_wiegand26(FACILITY, CARD);
    pd.wait_for_feedback(&PdFeedback::verdict(true)).await;
    let journal = passages(&store);
    assert_eq!(journal.len(), 1, "{journal:?}");
    let (pass_id, pass) = &journal[0];
    assert_eq!(pass.credential.as_deref(), Some(BADGE));
    assert_eq!(pass.person, Some(PersonId(0)));
    assert_eq!((pass.verdict, pass.reason), (Verdict::Pass, Reason::Ticket));
    assert_eq!(pass.charge_cents, 390);
    eventually("the turnstile pulsed", || !turnstile.pulses().is_empty()).await;
    let pulses = turnstile.pulses();
    assert_eq!(pulses.len(), 1);
    assert_eq!(
        &pulses[0].tag, pass_id,
        "the pulse belongs to the journaled pass"
    );
    assert_eq!(pulses[0].length_ms, shared.config().gate.pulse_ms);
    assert_eq!(shared.engine().roster().balance(PersonId(0)), 1_000 - 390);

    // An unknown card: a denial, journaled, no pulse; red and two beeps on the reader.
    let (facility, card, number) = UNKNOWN;
    pd.present_wiegand26(facility, card);
    let mut both = PdFeedback::verdict(true).to_vec();
    both.extend(PdFeedback::verdict(false));
    pd.wait_for_feedback(&both).await;
    let journal = passages(&store);
    assert_eq!(journal.len(), 2, "{journal:?}");
    let deny = &journal[1].1;
    assert_eq!(deny.credential.as_deref(), Some(number));
    assert_eq!(deny.person, None);
    assert_eq!(
        (deny.verdict, deny.reason),
        (Verdict::Deny, Reason::UnknownBadge)
    );
    assert_eq!(deny.charge_cents, 0);
    let feed = view::recent(&shared, 10);
    assert_eq!(feed.len(), 2, "the kiosk's feed");
    assert_eq!(feed[0].reason, "unknown_badge");

    // Nothing more came of the two reads: a third card's decision marks the moment (one task
    // shows each decision and pulses for it, in commit order, so anything the denial sent was
    // sent before). Its red + two beeps come right after the denial's, and the turnstile still
    // has its one pulse: a denial opens nothing.
    let (facility, card, number) = UNKNOWN_2;
    pd.present_wiegand26(facility, card);
    let mut all = both.clone();
    all.extend(PdFeedback::verdict(false));
    pd.wait_for_feedback(&all).await;
    let journal = passages(&store);
    assert_eq!(journal.len(), 3, "{journal:?}");
    assert_eq!(journal[2].1.credential.as_deref(), Some(number));
    assert_eq!(turnstile.pulses().len(), 1, "a denial opens nothing");
    assert_eq!(pd.feedback(), all);
    assert_eq!(pd.sc_active(), secure);
    let h = &shared.reader_health()[READER];
    assert!(h.online && h.frames_ok >= 2, "{h:?}");

    node.stop().await;
    eprintln!(
        "secure = {secure}: {:.1} s from the pty to the last check",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_channel_card_reads_through_the_gate_to_libosdp() {
    card_reads_reach_a_decision_and_the_reader(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_channel_card_reads_through_the_gate_to_libosdp() {
    card_reads_reach_a_decision_and_the_reader(true).await;
}
