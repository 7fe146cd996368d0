//! OSDP tests: the pure packet layer, then the control panel against libosdp's peripheral
//! device (a real third-party peer) over a pseudo-terminal, in plain and secure modes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use libosdp::{OsdpCommand, OsdpCommandBuzzer, OsdpFlag};

use super::*;
use crate::testing::{LibosdpPd, PdFeedback, Pty, bus_channels};

#[test]
fn commands_round_trip_through_the_decoder_with_junk_and_splits() {
    let pkt = encode_command(5, 2, cmd::LED, &led_command(Feedback::Granted), &[], None);
    assert_eq!(pkt[0], MARK);
    let mut stream = b"\x00\x11junk".to_vec();
    stream.extend(&pkt);
    stream.extend(&pkt);
    for cut in 0..stream.len() {
        let mut d = OsdpDecoder::new();
        let mut got = d.push_slice(&stream[..cut]);
        got.extend(d.push_slice(&stream[cut..]));
        assert_eq!(got.len(), 2, "cut {cut}");
        let p = got[0].as_ref().unwrap();
        assert_eq!((p.addr, p.seq, p.code), (5, 2, cmd::LED));
        assert_eq!(p.data, led_command(Feedback::Granted));
        assert_eq!(d.junk_bytes(), 6);
    }
}

#[test]
fn a_bad_crc_is_reported_and_the_next_packet_still_decodes() {
    let mut bad = encode_command(1, 1, cmd::POLL, &[], &[], None);
    let n = bad.len();
    bad[n - 1] ^= 0x55;
    bad.extend(encode_command(1, 2, cmd::POLL, &[], &[], None));
    let got = OsdpDecoder::new().push_slice(&bad);
    assert_eq!(got[0], Err(OsdpFrameError::Check));
    assert!(matches!(got.last(), Some(Ok(p)) if p.seq == 2));
    // Soup never panics.
    let mut d = OsdpDecoder::new();
    let mut x: u64 = 0xDEAD_BEEF_CAFE_F00D;
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = [SOM, MARK, 0, 1, 8, 12, (x >> 24) as u8][(x % 7) as usize];
        let _ = d.push_slice(&[b]);
    }
}

#[test]
fn raw_wiegand_bits_decode_like_a_wiegand_reader() {
    let bits = crate::wiegand::encode_bits(26, 123, 45678);
    // 26 bits, MSB first, left-aligned in 4 bytes.
    let packed = ((bits << 6) as u32).to_be_bytes();
    let mut data = vec![0, 1, 26, 0];
    data.extend(packed);
    assert_eq!(raw_credential(&data).as_deref(), Some("12345678"));
    // Not a Wiegand 26/34: the raw bits in hex.
    assert_eq!(
        raw_credential(&[0, 0, 16, 0, 0xAB, 0xCD]).as_deref(),
        Some("ABCD")
    );
    assert_eq!(raw_credential(&[0, 1, 200, 0, 1]), None);
}

#[test]
fn scbk_files_are_32_hex_digits() {
    assert_eq!(
        parse_scbk(" 303132333435363738393a3b3c3d3e3f\n"),
        Some(SCBK_DEFAULT)
    );
    assert_eq!(parse_scbk("3031"), None);
    assert_eq!(parse_scbk("zz3132333435363738393a3b3c3d3e3f"), None);
}

async fn next(rx: &mut mpsc::Receiver<ReaderEvent>) -> ReaderEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("the reader is running")
}

/// Polls, reads a 26-bit and a 34-bit card, and sends feedback that reaches the PD.
async fn cards_and_feedback(settings: OsdpSettings, pd: &LibosdpPd) {
    let secure = settings.scbk.is_some();
    let reader = OsdpReader::new("osdp", settings);
    let feedback = reader.feedback().expect("an OSDP reader takes feedback");
    let health = reader.health().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let task = tokio::spawn(Box::new(reader).run(tx));
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Status {
            reader: "osdp".into(),
            online: true
        }
    );
    pd.present_wiegand26(123, 45678);
    pd.present_wiegand34(42, 4242);
    for want in ["12345678", "0004204242"] {
        assert_eq!(
            next(&mut rx).await,
            ReaderEvent::Credential {
                reader: "osdp".into(),
                credential: want.into()
            }
        );
    }
    // Through the trait the gate uses: a denial is red and two beeps, a pass green and one.
    feedback.verdict(false);
    pd.wait_for_feedback(&PdFeedback::verdict(false)).await;
    feedback.verdict(true);
    let mut want = PdFeedback::verdict(false).to_vec();
    want.extend(PdFeedback::verdict(true));
    pd.wait_for_feedback(&want).await;
    // The default tone, 100 ms on and off.
    let beeps = |n: u8| {
        OsdpCommand::Buzzer(OsdpCommandBuzzer {
            reader: 0,
            control_code: 2,
            on_count: 1,
            off_count: 1,
            rep_count: n,
        })
    };
    let got = pd.commands();
    assert!(
        got.contains(&beeps(2)) && got.contains(&beeps(1)),
        "{got:?}"
    );
    let h = health.snapshot();
    assert!(h.online && h.frames_ok > 4, "{h:?}");
    assert_eq!(pd.sc_active(), secure, "the PD's secure channel");
    task.abort();
}

#[tokio::test]
async fn plain_mode_against_libosdp() {
    let pty = Pty::open().unwrap();
    let pd = LibosdpPd::plain(&pty, 1);
    let settings = OsdpSettings::new(pty.slave_path(), 9600, 1);
    cards_and_feedback(settings, &pd).await;
}

#[tokio::test]
async fn secure_channel_against_libosdp_with_mac_and_encryption() {
    let key = *b"selfgate-scbk-01";
    let pty = Pty::open().unwrap();
    let pd = LibosdpPd::secure(&pty, 3, key);
    let mut settings = OsdpSettings::new(pty.slave_path(), 9600, 3);
    settings.scbk = Some(key);
    cards_and_feedback(settings, &pd).await;
}

#[tokio::test]
async fn install_mode_sets_the_key_with_keyset_then_reconnects_on_it() {
    let key = *b"selfgate-scbk-02";
    let pty = Pty::open().unwrap();
    let pd = LibosdpPd::on_pty(&pty, 0, None, OsdpFlag::InstallMode);
    let mut settings = OsdpSettings::new(pty.slave_path(), 9600, 0);
    settings.scbk = Some(key);
    settings.install_mode = true;
    cards_and_feedback(settings, &pd).await;
    pd.wait_for("osdp_KEYSET with the new key", |c| {
        c.iter()
            .any(|c| matches!(c, OsdpCommand::KeySet(k) if k.data == key))
    })
    .await;
}

#[tokio::test]
async fn install_mode_with_the_key_already_installed_connects_on_it() {
    // The reader was given the school's key, then power cycled: install_mode is still on in
    // the configuration. It stayed offline for ever when only the default key was tried.
    let key = *b"selfgate-scbk-03";
    let pty = Pty::open().unwrap();
    let pd = LibosdpPd::secure(&pty, 2, key);
    let mut settings = OsdpSettings::new(pty.slave_path(), 9600, 2);
    settings.scbk = Some(key);
    settings.install_mode = true;
    cards_and_feedback(settings, &pd).await;
    assert!(
        !pd.commands()
            .iter()
            .any(|c| matches!(c, OsdpCommand::KeySet(_))),
        "no KEYSET: the key was there"
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_never_falls_back_to_plaintext() {
    let pty = Pty::open().unwrap();
    let _pd = LibosdpPd::secure(&pty, 1, *b"the-readers-key!");
    let mut settings = OsdpSettings::new(pty.slave_path(), 9600, 1);
    settings.scbk = Some(*b"not-the-same-key");
    let reader = OsdpReader::new("osdp", settings);
    let (tx, mut rx) = mpsc::channel(8);
    let task = tokio::spawn(Box::new(reader).run(tx));
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Status {
            reader: "osdp".into(),
            online: false
        }
    );
    let again = tokio::time::timeout(Duration::from_secs(3), rx.recv()).await;
    assert!(again.is_err(), "never online: {again:?}");
    task.abort();
}

#[tokio::test]
async fn a_silent_bus_is_offline() {
    let pty = Pty::open().unwrap();
    let settings = OsdpSettings::new(pty.slave_path(), 9600, 9);
    let reader = OsdpReader::new("osdp", settings);
    let health = reader.health().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let task = tokio::spawn(Box::new(reader).run(tx));
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Status {
            reader: "osdp".into(),
            online: false
        }
    );
    assert!(!health.snapshot().online);
    task.abort();
}

/// Two libosdp PDs at addresses 1 and 2 on one pty (through a multiplexer, as on an RS-485
/// bus): one bus task polls both, each read comes from its own reader, feedback reaches the
/// right PD, `osdp_OUT` pulses the reader-side relay, tamper reports become alarms.
#[tokio::test]
async fn two_readers_on_one_bus_by_address_with_relay_output_and_tamper() {
    let pty = Pty::open().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut chans = bus_channels(&pty, 2, stop.clone()).into_iter();
    let pd1 = LibosdpPd::on_channel(Box::new(chans.next().unwrap()), 1, None, OsdpFlag::empty());
    let pd2 = LibosdpPd::on_channel(Box::new(chans.next().unwrap()), 2, None, OsdpFlag::empty());
    let bus = OsdpBus::new(pty.slave_path(), 9600);
    let r1 = OsdpReader::on_bus("r1", OsdpSettings::new(pty.slave_path(), 9600, 1), &bus);
    let mut s2 = OsdpSettings::new(pty.slave_path(), 9600, 2);
    s2.relay_output = Some(1);
    let r2 = OsdpReader::on_bus("r2", s2, &bus);
    let (fb1, fb2) = (r1.feedback().unwrap(), r2.feedback().unwrap());
    let h2 = r2.health().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let t1 = tokio::spawn(Box::new(r1).run(tx.clone()));
    let t2 = tokio::spawn(Box::new(r2).run(tx));
    let mut online = Vec::new();
    for _ in 0..2 {
        match next(&mut rx).await {
            ReaderEvent::Status {
                reader,
                online: true,
            } => online.push(reader),
            other => panic!("{other:?}"),
        }
    }
    online.sort();
    assert_eq!(online, ["r1", "r2"]);
    pd2.present_wiegand26(1, 222);
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Credential {
            reader: "r2".into(),
            credential: "00100222".into()
        }
    );
    pd1.present_wiegand26(1, 111);
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Credential {
            reader: "r1".into(),
            credential: "00100111".into()
        }
    );
    // Feedback goes to the reader it is meant for.
    fb2.verdict(true);
    fb2.open(300);
    fb1.verdict(false);
    // Output 1 temporarily on (control code 5) for 3 x 100 ms.
    pd2.wait_for("osdp_OUT 1 5 3", |c| {
        c.iter().any(|c| {
            matches!(c, OsdpCommand::Output(o)
                if (o.output_no, o.control_code, o.timer_count) == (1, 5, 3))
        })
    })
    .await;
    assert_eq!(pd2.feedback(), PdFeedback::verdict(true));
    pd1.wait_for_feedback(&PdFeedback::verdict(false)).await;
    // osdp_OUT on a reader without relay_output is never sent.
    fb1.open(300);
    // Tamper on reader 2: an alarm event, in its health too; then back to normal.
    pd2.report_status(1, 0);
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Alarm {
            reader: "r2".into(),
            alarm: ReaderAlarm::Tamper,
            active: true
        }
    );
    assert!(h2.snapshot().tamper);
    pd2.report_status(0, 0);
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Alarm {
            reader: "r2".into(),
            alarm: ReaderAlarm::Tamper,
            active: false
        }
    );
    assert!(
        !pd1.commands()
            .iter()
            .any(|c| matches!(c, OsdpCommand::Output(_))),
        "{:?}",
        pd1.commands()
    );
    t1.abort();
    t2.abort();
    stop.store(true, Ordering::Relaxed);
}
