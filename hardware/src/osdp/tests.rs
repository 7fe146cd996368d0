//! OSDP tests: the pure packet layer, then the control panel against libosdp's peripheral
//! device (a real third-party peer) over a pseudo-terminal, in plain and secure modes.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use libosdp::{
    Channel, ChannelError, OsdpCommand, OsdpEvent, OsdpEventCardRead, OsdpFlag, OsdpStatusReport,
    OsdpStatusReportType, PdCapEntity, PdCapability, PdInfoBuilder, PeripheralDevice,
};

use super::*;

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

/// libosdp's PD on the master side of the pty (non-blocking).
struct PtyChannel(OwnedFd);

impl Channel for PtyChannel {
    fn get_id(&self) -> i32 {
        1
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(ChannelError::WouldBlock)
        } else {
            Ok(n as usize)
        }
    }
    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::write(self.0.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(ChannelError::WouldBlock)
        } else {
            Ok(n as usize)
        }
    }
    fn flush(&mut self) -> Result<(), ChannelError> {
        Ok(())
    }
    fn close(&mut self) -> Result<(), ChannelError> {
        Ok(())
    }
}

/// One of several PDs sharing the pty (multi-drop): a multiplexer thread copies every byte the
/// CP sends to each PD's queue (as an RS-485 bus does); replies go straight to the master.
struct MuxChannel {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    pending: Vec<u8>,
    master: OwnedFd,
}

impl Channel for MuxChannel {
    fn get_id(&self) -> i32 {
        2
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        while let Ok(b) = self.rx.try_recv() {
            self.pending.extend(b);
        }
        if self.pending.is_empty() {
            return Err(ChannelError::WouldBlock);
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::write(self.master.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(ChannelError::WouldBlock)
        } else {
            Ok(n as usize)
        }
    }
    fn flush(&mut self) -> Result<(), ChannelError> {
        Ok(())
    }
    fn close(&mut self) -> Result<(), ChannelError> {
        Ok(())
    }
}

/// `n` channels on the pty's master, each seeing every byte the CP writes.
fn bus_channels(pty: &crate::pty::Pty, n: usize, stop: Arc<AtomicBool>) -> Vec<MuxChannel> {
    let master: OwnedFd = pty.master().into();
    // SAFETY: fcntl on an owned descriptor.
    unsafe {
        let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let mut txs = Vec::new();
    let mut out = Vec::new();
    for _ in 0..n {
        let (tx, rx) = std::sync::mpsc::channel();
        txs.push(tx);
        out.push(MuxChannel {
            rx,
            pending: Vec::new(),
            master: master.try_clone().unwrap(),
        });
    }
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                for tx in &txs {
                    let _ = tx.send(buf[..n as usize].to_vec());
                }
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    out
}

struct Pd {
    cards: std::sync::mpsc::Sender<(usize, Vec<u8>)>,
    /// Local status reports to send: (tamper, power).
    status: std::sync::mpsc::Sender<(u8, u8)>,
    commands: Arc<Mutex<Vec<String>>>,
    /// The PD's own view: is its secure channel up?
    sc_active: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Pd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn spawn_pd(pty: &crate::pty::Pty, address: i32, key: Option<[u8; 16]>, flags: OsdpFlag) -> Pd {
    let master: OwnedFd = pty.master().into();
    // SAFETY: fcntl on an owned descriptor.
    unsafe {
        let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    spawn_pd_on(Box::new(PtyChannel(master)), address, key, flags)
}

fn spawn_pd_on(
    channel: Box<dyn Channel + Send>,
    address: i32,
    key: Option<[u8; 16]>,
    flags: OsdpFlag,
) -> Pd {
    let (status, status_rx) = std::sync::mpsc::channel::<(u8, u8)>();
    let (cards, card_rx) = std::sync::mpsc::channel::<(usize, Vec<u8>)>();
    let commands = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sc_active = Arc::new(AtomicBool::new(false));
    let (cmds, stopping, sc) = (commands.clone(), stop.clone(), sc_active.clone());
    let thread = std::thread::spawn(move || {
        let mut info = PdInfoBuilder::new()
            .name("pd")
            .unwrap()
            .address(address)
            .unwrap()
            .baud_rate(9600)
            .unwrap()
            .flag(flags)
            .capabilities(&[
                PdCapability::CommunicationSecurity(PdCapEntity::new(1, 1)),
                PdCapability::LedControl(PdCapEntity::new(1, 1)),
                PdCapability::AudibleOutput(PdCapEntity::new(1, 1)),
                PdCapability::CardDataFormat(PdCapEntity::new(1, 1)),
                PdCapability::OutputControl(PdCapEntity::new(1, 2)),
            ]);
        if let Some(k) = key {
            info = info.secure_channel_key(k);
        }
        let mut pd = PeripheralDevice::new(info, channel).unwrap();
        pd.set_command_callback(move |c: &mut OsdpCommand| {
            let s = match c {
                OsdpCommand::Led(l) => format!("led {:?}", l.temporary.on_color),
                OsdpCommand::Buzzer(b) => format!("buz {b:?}"),
                OsdpCommand::KeySet(k) => format!("keyset {:02x?}", k.data),
                OsdpCommand::Output(o) => {
                    format!("out {} {} {}", o.output_no, o.control_code, o.timer_count)
                }
                other => format!("{other:?}"),
            };
            cmds.lock().unwrap().push(s);
            0
        });
        while !stopping.load(Ordering::Relaxed) {
            pd.refresh();
            sc.store(pd.is_sc_active(), Ordering::Relaxed);
            while let Ok((nbits, data)) = card_rx.try_recv() {
                let ev = OsdpEventCardRead::new_wiegand(nbits, data).unwrap();
                pd.notify_event(OsdpEvent::CardRead(ev)).unwrap();
            }
            while let Ok((tamper, power)) = status_rx.try_recv() {
                let mut report = [0u8; 64];
                report[0] = tamper;
                report[1] = power;
                pd.notify_event(OsdpEvent::Status(OsdpStatusReport {
                    type_: OsdpStatusReportType::Local,
                    nr_entries: 2,
                    report,
                }))
                .unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    Pd {
        cards,
        status,
        commands,
        sc_active,
        stop,
        thread: Some(thread),
    }
}

async fn next(rx: &mut mpsc::Receiver<ReaderEvent>) -> ReaderEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("the reader is running")
}

async fn wait_for(commands: &Arc<Mutex<Vec<String>>>, what: &str) -> Vec<String> {
    for _ in 0..200 {
        let c = commands.lock().unwrap().clone();
        if c.iter().any(|s| s.starts_with(what)) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the PD never got `{what}`: {:?}", commands.lock().unwrap())
}

/// Polls, reads a 26-bit and a 34-bit card, and sends feedback that reaches the PD.
async fn cards_and_feedback(settings: OsdpSettings, pd: &Pd) {
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
    let w26 = ((crate::wiegand::encode_bits(26, 123, 45678) << 6) as u32).to_be_bytes();
    pd.cards.send((26, w26.to_vec())).unwrap();
    let w34 = ((crate::wiegand::encode_bits(34, 42, 4242) << 30).to_be_bytes())[..5].to_vec();
    pd.cards.send((34, w34)).unwrap();
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
    let beeps = |n: u8| {
        format!(
            "buz OsdpCommandBuzzer {{ reader: 0, control_code: 2, on_count: 1, off_count: 1, rep_count: {n} }}"
        )
    };
    feedback.verdict(false);
    let got = wait_for(&pd.commands, &beeps(2)).await;
    assert!(got.iter().any(|c| c == "led Red"), "{got:?}");
    feedback.verdict(true);
    let got = wait_for(&pd.commands, &beeps(1)).await;
    assert!(got.iter().any(|c| c == "led Green"), "{got:?}");
    let h = health.snapshot();
    assert!(h.online && h.frames_ok > 4, "{h:?}");
    assert_eq!(
        pd.sc_active.load(Ordering::Relaxed),
        secure,
        "the PD's secure channel"
    );
    task.abort();
}

#[tokio::test]
async fn plain_mode_against_libosdp() {
    let pty = crate::pty::Pty::open().unwrap();
    let pd = spawn_pd(&pty, 1, None, OsdpFlag::empty());
    let settings = OsdpSettings::new(pty.slave_path(), 9600, 1);
    cards_and_feedback(settings, &pd).await;
}

#[tokio::test]
async fn secure_channel_against_libosdp_with_mac_and_encryption() {
    let key = *b"selfgate-scbk-01";
    let pty = crate::pty::Pty::open().unwrap();
    let pd = spawn_pd(&pty, 3, Some(key), OsdpFlag::EnforceSecure);
    let mut settings = OsdpSettings::new(pty.slave_path(), 9600, 3);
    settings.scbk = Some(key);
    cards_and_feedback(settings, &pd).await;
}

#[tokio::test]
async fn install_mode_sets_the_key_with_keyset_then_reconnects_on_it() {
    let key = *b"selfgate-scbk-02";
    let pty = crate::pty::Pty::open().unwrap();
    let pd = spawn_pd(&pty, 0, None, OsdpFlag::InstallMode);
    let mut settings = OsdpSettings::new(pty.slave_path(), 9600, 0);
    settings.scbk = Some(key);
    settings.install_mode = true;
    cards_and_feedback(settings, &pd).await;
    let got = wait_for(&pd.commands, "keyset").await;
    assert!(
        got.contains(&format!("keyset {:02x?}", key.to_vec())),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_never_falls_back_to_plaintext() {
    let pty = crate::pty::Pty::open().unwrap();
    let _pd = spawn_pd(&pty, 1, Some(*b"the-readers-key!"), OsdpFlag::EnforceSecure);
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
    let pty = crate::pty::Pty::open().unwrap();
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
    let pty = crate::pty::Pty::open().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut chans = bus_channels(&pty, 2, stop.clone()).into_iter();
    let pd1 = spawn_pd_on(Box::new(chans.next().unwrap()), 1, None, OsdpFlag::empty());
    let pd2 = spawn_pd_on(Box::new(chans.next().unwrap()), 2, None, OsdpFlag::empty());
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
    let w26 = |card| ((crate::wiegand::encode_bits(26, 1, card) << 6) as u32).to_be_bytes();
    pd2.cards.send((26, w26(222).to_vec())).unwrap();
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Credential {
            reader: "r2".into(),
            credential: "00100222".into()
        }
    );
    pd1.cards.send((26, w26(111).to_vec())).unwrap();
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
    let got2 = wait_for(&pd2.commands, "out").await;
    assert!(got2.iter().any(|c| c == "led Green"), "{got2:?}");
    assert!(
        got2.contains(&"out 1 5 3".to_owned()),
        "temporary on, 3 x 100 ms: {got2:?}"
    );
    let got1 = wait_for(&pd1.commands, "led Red").await;
    assert!(!got1.iter().any(|c| c.starts_with("led Green")), "{got1:?}");
    // osdp_OUT on a reader without relay_output is never sent.
    fb1.open(300);
    // Tamper on reader 2: an alarm event, in its health too; then back to normal.
    pd2.status.send((1, 0)).unwrap();
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Alarm {
            reader: "r2".into(),
            alarm: ReaderAlarm::Tamper,
            active: true
        }
    );
    assert!(h2.snapshot().tamper);
    pd2.status.send((0, 0)).unwrap();
    assert_eq!(
        next(&mut rx).await,
        ReaderEvent::Alarm {
            reader: "r2".into(),
            alarm: ReaderAlarm::Tamper,
            active: false
        }
    );
    assert!(
        !pd1.commands
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.starts_with("out"))
    );
    t1.abort();
    t2.abort();
    stop.store(true, Ordering::Relaxed);
}
