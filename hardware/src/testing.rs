//! A real OSDP reader for tests: libosdp's `PeripheralDevice` (the C library, a third-party
//! peer) on the master side of a pseudo-terminal, while the control panel under test
//! ([`crate::osdp::OsdpReader`]) opens the slave path as its serial port.
//!
//! Built for this crate's own tests and, with the feature `libosdp-peer`, for other crates'
//! tests (the daemon runs a card read from libosdp through its gate and back as LED/BUZ):
//!
//! ```text
//! let pty = Pty::open()?;
//! let pd = LibosdpPd::secure(&pty, 1, key);          // or LibosdpPd::plain(&pty, 1)
//! // OsdpSettings::new(pty.slave_path(), 9600, 1) with scbk = Some(key) on the CP side
//! pd.present_wiegand26(123, 45678);                 // the CP reads "12345678"
//! pd.wait_for_feedback(&[PdFeedback::Led(OsdpLedColor::Green), PdFeedback::Beeps(1)]).await;
//! ```
//!
//! The PD runs on its own thread (libosdp is polled with `refresh`) and stops when the
//! [`LibosdpPd`] is dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use libosdp;
use libosdp::{
    Channel, ChannelError, OsdpCommand, OsdpEvent, OsdpEventCardRead, OsdpStatusReport,
    OsdpStatusReportType, PdCapEntity, PdCapability, PdInfoBuilder, PeripheralDevice,
};
pub use libosdp::{OsdpFlag, OsdpLedColor};

pub use crate::pty::Pty;

/// How long [`LibosdpPd::wait_for`] waits.
const WAIT: Duration = Duration::from_secs(4);

/// A pty master descriptor set non-blocking (libosdp polls its channel).
fn nonblocking_master(pty: &Pty) -> OwnedFd {
    let master: OwnedFd = pty.master().into();
    // SAFETY: fcntl on an owned descriptor.
    unsafe {
        let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    master
}

/// libosdp's PD on the master side of the pty (non-blocking).
pub struct PtyChannel(OwnedFd);

impl PtyChannel {
    pub fn new(pty: &Pty) -> PtyChannel {
        PtyChannel(nonblocking_master(pty))
    }
}

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
pub struct MuxChannel {
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

/// `n` channels on the pty's master, each seeing every byte the CP writes; the multiplexer
/// thread runs until `stop` is set.
pub fn bus_channels(pty: &Pty, n: usize, stop: Arc<AtomicBool>) -> Vec<MuxChannel> {
    let master = nonblocking_master(pty);
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

/// What a reader shows a person, from the commands its PD received: the temporary colour of
/// each `osdp_LED`, the repeat count of each `osdp_BUZ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PdFeedback {
    Led(OsdpLedColor),
    Beeps(u8),
}

impl PdFeedback {
    /// What the gate shows on a pass (green, one beep) or a denial (red, two beeps).
    pub fn verdict(pass: bool) -> [PdFeedback; 2] {
        if pass {
            [PdFeedback::Led(OsdpLedColor::Green), PdFeedback::Beeps(1)]
        } else {
            [PdFeedback::Led(OsdpLedColor::Red), PdFeedback::Beeps(2)]
        }
    }
}

/// A libosdp peripheral device (a reader) running on its own thread.
pub struct LibosdpPd {
    cards: std::sync::mpsc::Sender<(usize, Vec<u8>)>,
    /// Local status reports to send: (tamper, power).
    status: std::sync::mpsc::Sender<(u8, u8)>,
    commands: Arc<Mutex<Vec<OsdpCommand>>>,
    /// The PD's own view: is its secure channel up?
    sc_active: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LibosdpPd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl LibosdpPd {
    /// A PD without a secure channel at `address` on the pty.
    pub fn plain(pty: &Pty, address: i32) -> LibosdpPd {
        Self::on_pty(pty, address, None, OsdpFlag::empty())
    }

    /// A PD holding `key` as its SCBK that refuses plaintext (`EnforceSecure`).
    pub fn secure(pty: &Pty, address: i32, key: [u8; 16]) -> LibosdpPd {
        Self::on_pty(pty, address, Some(key), OsdpFlag::EnforceSecure)
    }

    /// A PD on the pty, with any key and flags (install mode, enforce secure).
    pub fn on_pty(pty: &Pty, address: i32, key: Option<[u8; 16]>, flags: OsdpFlag) -> LibosdpPd {
        Self::on_channel(Box::new(PtyChannel::new(pty)), address, key, flags)
    }

    /// A PD on any channel (such as a [`MuxChannel`] of a multi-drop bus).
    pub fn on_channel(
        channel: Box<dyn Channel + Send>,
        address: i32,
        key: Option<[u8; 16]>,
        flags: OsdpFlag,
    ) -> LibosdpPd {
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
                cmds.lock().unwrap().push(c.clone());
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
        LibosdpPd {
            cards,
            status,
            commands,
            sc_active,
            stop,
            thread: Some(thread),
        }
    }

    /// A card read: `nbits` Wiegand bits, MSB first, left-aligned in `data` (`osdp_RAW`).
    pub fn present_wiegand(&self, nbits: usize, data: Vec<u8>) {
        self.cards.send((nbits, data)).unwrap();
    }

    /// A 26-bit Wiegand (H10301) card: the CP reads it as "FFFCCCCC" (facility, card).
    pub fn present_wiegand26(&self, facility: u32, card: u32) {
        let bits = crate::wiegand::encode_bits(26, facility, card);
        self.present_wiegand(26, ((bits << 6) as u32).to_be_bytes().to_vec());
    }

    /// A 34-bit Wiegand card: the CP reads it as "FFFFFCCCCC" (facility, card).
    pub fn present_wiegand34(&self, facility: u32, card: u32) {
        let bits = crate::wiegand::encode_bits(34, facility, card);
        self.present_wiegand(34, (bits << 30).to_be_bytes()[..5].to_vec());
    }

    /// A local status report (`osdp_LSTATR`): tamper and power, 0 normal, 1 alarm.
    pub fn report_status(&self, tamper: u8, power: u8) {
        self.status.send((tamper, power)).unwrap();
    }

    /// Every command the PD received and accepted, in order.
    pub fn commands(&self) -> Vec<OsdpCommand> {
        self.commands.lock().unwrap().clone()
    }

    /// The LED colours and beep counts received so far, in order.
    pub fn feedback(&self) -> Vec<PdFeedback> {
        self.commands()
            .iter()
            .filter_map(|c| match c {
                OsdpCommand::Led(l) => Some(PdFeedback::Led(l.temporary.on_color)),
                OsdpCommand::Buzzer(b) => Some(PdFeedback::Beeps(b.rep_count)),
                _ => None,
            })
            .collect()
    }

    /// Whether the PD sees its secure channel active.
    pub fn sc_active(&self) -> bool {
        self.sc_active.load(Ordering::Relaxed)
    }

    /// Waits (up to 4 s) until the received commands satisfy `done`; returns them. Panics
    /// naming `what` and listing the commands otherwise.
    pub async fn wait_for(
        &self,
        what: &str,
        mut done: impl FnMut(&[OsdpCommand]) -> bool,
    ) -> Vec<OsdpCommand> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let c = self.commands();
            if done(&c) {
                return c;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("the PD never got {what}: {c:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the LED/buzzer feedback received is exactly `want`; returns it.
    pub async fn wait_for_feedback(&self, want: &[PdFeedback]) -> Vec<PdFeedback> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let seen = self.feedback();
            if seen.len() >= want.len() || tokio::time::Instant::now() >= deadline {
                assert_eq!(seen, want, "the LED/buzzer feedback the PD received");
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
