//! OSDP (IEC 60839-11-5) control panel over RS-485: this gate is the CP, readers are PDs.
//!
//! Layers:
//! - packets (pure): [`encode_command`] builds a command, [`OsdpDecoder`] takes bytes and
//!   returns replies (mark byte and junk skipped, CRC-16 or checksum checked, resync on the next
//!   start byte);
//! - the secure channel (pure): [`Session`] derives S-ENC/S-MAC1/S-MAC2 from the SCBK and the
//!   two random numbers, checks the PD's cryptogram, chains the MACs and en/decrypts data
//!   (AES-128, as libosdp and the standard do);
//! - [`OsdpReader`]: the CP loop over tokio-serial for one PD address: ID, CAP, secure channel
//!   (install mode: SCBK-D then KEYSET), POLL with sequence numbers and retries, `osdp_RAW`
//!   card reads, LED/buzzer feedback through an [`OsdpFeedback`] handle.
//!
//! Credentials: `osdp_RAW` Wiegand reads of 26 or 34 bits are normalised as Wiegand readers'
//! ("FFFCCCCC", see [`crate::wiegand`]); other bit counts give the raw bits as upper-case hex.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aes::Aes128;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::health::{Emitter, HealthHandle};
use crate::{BoxFuture, HwError, Reader, ReaderAlarm, ReaderEvent, ReaderFeedback};

/// Parses a secure channel base key (SCBK): 32 hex digits, surrounding blanks ignored.
pub fn parse_scbk(text: &str) -> Option<[u8; 16]> {
    let t = text.trim();
    if t.len() != 32 || !t.is_ascii() {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// The install-mode key every new PD knows (SCBK-D).
pub const SCBK_DEFAULT: [u8; 16] = [
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
];

pub const SOM: u8 = 0x53;
pub const MARK: u8 = 0xFF;
const CTRL_SQN: u8 = 0x03;
const CTRL_CRC: u8 = 0x04;
const CTRL_SCB: u8 = 0x08;
/// The longest packet accepted.
const MAX_PACKET: usize = 1440;

/// Command codes (CP → PD).
pub mod cmd {
    pub const POLL: u8 = 0x60;
    pub const ID: u8 = 0x61;
    pub const CAP: u8 = 0x62;
    pub const LSTAT: u8 = 0x64;
    pub const OUT: u8 = 0x68;
    pub const LED: u8 = 0x69;
    pub const BUZ: u8 = 0x6A;
    pub const KEYSET: u8 = 0x75;
    pub const CHLNG: u8 = 0x76;
    pub const SCRYPT: u8 = 0x77;
}

/// Reply codes (PD → CP).
pub mod reply {
    pub const ACK: u8 = 0x40;
    pub const NAK: u8 = 0x41;
    pub const PDID: u8 = 0x45;
    pub const PDCAP: u8 = 0x46;
    pub const LSTATR: u8 = 0x48;
    pub const RAW: u8 = 0x50;
    pub const CCRYPT: u8 = 0x76;
    pub const RMAC_I: u8 = 0x78;
    pub const BUSY: u8 = 0x79;
}

/// Security block types.
mod scs {
    pub const CHLNG: u8 = 0x11;
    pub const SCRYPT: u8 = 0x13;
    pub const MAC_CMD: u8 = 0x15;
    pub const MAC_REPLY: u8 = 0x16;
    pub const ENC_CMD: u8 = 0x17;
    pub const ENC_REPLY: u8 = 0x18;
}

/// CRC-16 of OSDP packets: polynomial 0x1021, initial value 0x1D0F, not reflected.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0x1D0F;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b))
        .wrapping_neg()
}

/// One packet as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The address byte (a PD sets the top bit on its replies).
    pub addr: u8,
    pub seq: u8,
    /// The security block, length and type bytes included (empty when absent).
    pub scb: Vec<u8>,
    pub code: u8,
    pub data: Vec<u8>,
    pub mac: Option<[u8; 4]>,
    /// The bytes the MAC covers: from the start byte to the end of the data.
    pub mac_input: Vec<u8>,
}

impl Packet {
    fn scb_type(&self) -> Option<u8> {
        self.scb.get(1).copied()
    }
}

/// Why bytes were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsdpFrameError {
    /// A length field out of range or a packet too short for its header.
    Length,
    /// CRC or checksum mismatch.
    Check,
}

/// Pure packet decoder: bytes in, packets out.
#[derive(Clone, Debug, Default)]
pub struct OsdpDecoder {
    buf: Vec<u8>,
    junk: u64,
}

impl OsdpDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes skipped outside packets (mark bytes not counted).
    pub fn junk_bytes(&self) -> u64 {
        self.junk
    }

    /// Drops a partial packet.
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// Feeds bytes; returns every packet (or refused packet) completed by them.
    pub fn push_slice(&mut self, bytes: &[u8]) -> Vec<Result<Packet, OsdpFrameError>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            // Resync on the start byte.
            let start = self.buf.iter().position(|&b| b == SOM);
            let skipped = start.unwrap_or(self.buf.len());
            self.junk += self.buf[..skipped].iter().filter(|&&b| b != MARK).count() as u64;
            self.buf.drain(..skipped);
            if self.buf.len() < 5 {
                return out;
            }
            let len = usize::from(u16::from_le_bytes([self.buf[2], self.buf[3]]));
            let ctrl = self.buf[4];
            let check_len = if ctrl & CTRL_CRC != 0 { 2 } else { 1 };
            if !(6 + check_len..=MAX_PACKET).contains(&len) {
                self.buf.drain(..1);
                out.push(Err(OsdpFrameError::Length));
                continue;
            }
            if self.buf.len() < len {
                return out;
            }
            let p: Vec<u8> = self.buf[..len].to_vec();
            let body = &p[..len - check_len];
            let ok = if check_len == 2 {
                crc16(body) == u16::from_le_bytes([p[len - 2], p[len - 1]])
            } else {
                checksum(body) == p[len - 1]
            };
            if !ok {
                self.buf.drain(..1);
                out.push(Err(OsdpFrameError::Check));
                continue;
            }
            self.buf.drain(..len);
            out.push(parse(&p, body.len(), ctrl));
        }
    }
}

fn parse(p: &[u8], body_len: usize, ctrl: u8) -> Result<Packet, OsdpFrameError> {
    let mut pos = 5;
    let scb = if ctrl & CTRL_SCB != 0 {
        let n = usize::from(*p.get(pos).ok_or(OsdpFrameError::Length)?);
        if n < 2 || pos + n >= body_len {
            return Err(OsdpFrameError::Length);
        }
        pos += n;
        p[5..5 + n].to_vec()
    } else {
        Vec::new()
    };
    let has_mac = matches!(scb.get(1), Some(0x15..=0x18));
    let end = if has_mac {
        body_len.checked_sub(4).ok_or(OsdpFrameError::Length)?
    } else {
        body_len
    };
    if pos >= end {
        return Err(OsdpFrameError::Length);
    }
    let mac = has_mac.then(|| [p[end], p[end + 1], p[end + 2], p[end + 3]]);
    Ok(Packet {
        addr: p[1],
        seq: ctrl & CTRL_SQN,
        code: p[pos],
        data: p[pos + 1..end].to_vec(),
        scb,
        mac,
        mac_input: p[..end].to_vec(),
    })
}

/// Builds a command packet (with the mark byte). With an active `session` the packet carries a
/// MAC and its data is encrypted; `scb` is the security block for the handshake commands.
pub fn encode_command(
    addr: u8,
    seq: u8,
    code: u8,
    data: &[u8],
    scb: &[u8],
    session: Option<&mut Session>,
) -> Vec<u8> {
    let mut p = vec![SOM, addr & 0x7F, 0, 0, (seq & CTRL_SQN) | CTRL_CRC];
    let (scb, payload): (Vec<u8>, Vec<u8>) = match &session {
        Some(_) if data.is_empty() => (vec![2, scs::MAC_CMD], Vec::new()),
        Some(s) => (vec![2, scs::ENC_CMD], s.encrypt(data)),
        None => (scb.to_vec(), data.to_vec()),
    };
    if !scb.is_empty() {
        p[4] |= CTRL_SCB;
    }
    p.extend_from_slice(&scb);
    p.push(code);
    p.extend_from_slice(&payload);
    let mac_len = if session.is_some() { 4 } else { 0 };
    let total = p.len() + mac_len + 2;
    p[2..4].copy_from_slice(&(total as u16).to_le_bytes());
    if let Some(s) = session {
        let mac = s.mac(true, &p);
        p.extend_from_slice(&mac[..4]);
    }
    let crc = crc16(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    let mut out = vec![MARK];
    out.extend(p);
    out
}

fn aes(key: &[u8; 16]) -> Aes128 {
    Aes128::new(GenericArray::from_slice(key))
}

fn ecb(key: &[u8; 16], block: [u8; 16]) -> [u8; 16] {
    let mut b = GenericArray::from(block);
    aes(key).encrypt_block(&mut b);
    b.into()
}

/// CBC over whole blocks, in place.
fn cbc_encrypt(key: &[u8; 16], iv: [u8; 16], data: &mut [u8]) -> [u8; 16] {
    let c = aes(key);
    let mut prev = iv;
    for chunk in data.chunks_mut(16) {
        for (b, p) in chunk.iter_mut().zip(prev) {
            *b ^= p;
        }
        let mut b = GenericArray::clone_from_slice(chunk);
        c.encrypt_block(&mut b);
        chunk.copy_from_slice(&b);
        prev.copy_from_slice(chunk);
    }
    prev
}

fn cbc_decrypt(key: &[u8; 16], iv: [u8; 16], data: &mut [u8]) {
    let c = aes(key);
    let mut prev = iv;
    for chunk in data.chunks_mut(16) {
        let mut this = [0u8; 16];
        this.copy_from_slice(chunk);
        let mut b = GenericArray::clone_from_slice(chunk);
        c.decrypt_block(&mut b);
        for ((o, d), p) in chunk.iter_mut().zip(b).zip(prev) {
            *o = d ^ p;
        }
        prev = this;
    }
}

fn not(b: [u8; 16]) -> [u8; 16] {
    b.map(|x| !x)
}

/// A secure channel session (one per PD, renewed at each handshake).
#[derive(Clone)]
pub struct Session {
    s_enc: [u8; 16],
    s_mac1: [u8; 16],
    s_mac2: [u8; 16],
    c_mac: [u8; 16],
    r_mac: [u8; 16],
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session { keys: (redacted) }")
    }
}

impl Session {
    /// Derives the session keys from the SCBK and the CP's random number.
    pub fn new(scbk: &[u8; 16], cp_random: &[u8; 8]) -> Session {
        let derive = |a: u8, b: u8| {
            let mut k = [0u8; 16];
            k[0] = a;
            k[1] = b;
            k[2..8].copy_from_slice(&cp_random[..6]);
            ecb(scbk, k)
        };
        Session {
            s_enc: derive(0x01, 0x82),
            s_mac1: derive(0x01, 0x01),
            s_mac2: derive(0x01, 0x02),
            c_mac: [0; 16],
            r_mac: [0; 16],
        }
    }

    fn cryptogram(&self, first: &[u8; 8], second: &[u8; 8]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(first);
        b[8..].copy_from_slice(second);
        ecb(&self.s_enc, b)
    }

    /// Whether the PD's (client) cryptogram proves it holds the key.
    pub fn pd_cryptogram_ok(&self, cp_random: &[u8; 8], pd_random: &[u8; 8], c: &[u8]) -> bool {
        let want = self.cryptogram(cp_random, pd_random);
        c.len() == 16 && want.iter().zip(c).fold(0, |a, (x, y)| a | (x ^ y)) == 0
    }

    /// The CP's (server) cryptogram, sent in osdp_SCRYPT; sets the initial R-MAC from it.
    pub fn cp_cryptogram(&mut self, cp_random: &[u8; 8], pd_random: &[u8; 8]) -> [u8; 16] {
        let c = self.cryptogram(pd_random, cp_random);
        self.r_mac = ecb(&self.s_mac2, ecb(&self.s_mac1, c));
        c
    }

    /// Whether the PD's initial R-MAC (osdp_RMAC_I) is the expected one.
    pub fn rmac_i_ok(&self, data: &[u8]) -> bool {
        data == self.r_mac
    }

    /// The MAC of `bytes` (commands chain from the last R-MAC, replies from the last C-MAC);
    /// kept as the next IV.
    pub fn mac(&mut self, is_cmd: bool, bytes: &[u8]) -> [u8; 16] {
        let mut buf = bytes.to_vec();
        if buf.len() % 16 != 0 {
            buf.push(0x80);
            buf.resize(buf.len().div_ceil(16) * 16, 0);
        }
        let mut iv = if is_cmd { self.r_mac } else { self.c_mac };
        let n = buf.len();
        if n > 16 {
            iv = cbc_encrypt(&self.s_mac1, iv, &mut buf[..n - 16]);
        }
        let mac = cbc_encrypt(&self.s_mac2, iv, &mut buf[n - 16..]);
        if is_cmd {
            self.c_mac = mac;
        } else {
            self.r_mac = mac;
        }
        mac
    }

    /// Encrypts a command's data (padded with 0x80 then zeros).
    pub fn encrypt(&self, data: &[u8]) -> Vec<u8> {
        let mut buf = data.to_vec();
        buf.push(0x80);
        buf.resize(buf.len().div_ceil(16) * 16, 0);
        cbc_encrypt(&self.s_enc, not(self.r_mac), &mut buf);
        buf
    }

    /// Decrypts a reply's data; `None` when malformed.
    pub fn decrypt(&self, data: &[u8]) -> Option<Vec<u8>> {
        if data.is_empty() || data.len() % 16 != 0 {
            return None;
        }
        let mut buf = data.to_vec();
        cbc_decrypt(&self.s_enc, not(self.c_mac), &mut buf);
        while buf.last() == Some(&0) {
            buf.pop();
        }
        (buf.pop() == Some(0x80)).then_some(buf)
    }

    /// Checks a reply's MAC and decrypts its data; `None` when the MAC is wrong.
    pub fn open_reply(&mut self, p: &Packet) -> Option<Vec<u8>> {
        let mac = p.mac?;
        let want = self.mac(false, &p.mac_input);
        if want[..4] != mac {
            return None;
        }
        match p.scb_type() {
            Some(scs::ENC_REPLY) => self.decrypt(&p.data),
            Some(scs::MAC_REPLY) => Some(p.data.clone()),
            _ => None,
        }
    }
}

/// A card read from `osdp_RAW`: reader number, format (1 = Wiegand), bit count, bits.
pub fn raw_credential(data: &[u8]) -> Option<String> {
    if data.len() < 4 {
        return None;
    }
    let nbits = usize::from(u16::from_le_bytes([data[2], data[3]]));
    let bytes = &data[4..];
    if nbits == 0 || bytes.len() < nbits.div_ceil(8) {
        return None;
    }
    if nbits <= 64 {
        let mut v: u64 = 0;
        for i in 0..nbits {
            v = (v << 1) | u64::from((bytes[i / 8] >> (7 - i % 8)) & 1);
        }
        if let Ok(card) = crate::wiegand::decode_bits(v, nbits as u8) {
            return Some(card.credential());
        }
    }
    Some(
        bytes[..nbits.div_ceil(8)]
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect(),
    )
}

/// Reader feedback after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feedback {
    /// Green LED and one beep.
    Granted,
    /// Red LED and two beeps.
    Denied,
}

/// `osdp_LED` data for a feedback: reader 0, LED 0, a 2 s temporary colour, permanent unchanged.
pub fn led_command(f: Feedback) -> Vec<u8> {
    let colour = match f {
        Feedback::Granted => 2, // green
        Feedback::Denied => 1,  // red
    };
    // reader, led, temp: control=set, on, off, on colour, off colour, timer (LE, 100 ms),
    // perm: control=NOP, on, off, on colour, off colour.
    vec![0, 0, 2, 20, 0, colour, 0, 20, 0, 0, 0, 0, 0, 0]
}

/// `osdp_BUZ` data: reader 0, default tone, 100 ms on, 100 ms off, one or two beeps.
pub fn buzzer_command(f: Feedback) -> Vec<u8> {
    let count = match f {
        Feedback::Granted => 1,
        Feedback::Denied => 2,
    };
    vec![0, 2, 1, 1, count]
}

/// What the gate asks of a PD after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// `osdp_LED` then `osdp_BUZ`.
    Show(Feedback),
    /// `osdp_OUT`: the reader-side relay on for this many ms.
    Open(u32),
}

/// Sends feedback to an [`OsdpReader`]'s reader (what [`Reader::feedback`] gives).
#[derive(Clone, Debug)]
pub struct OsdpFeedback(mpsc::Sender<Action>);

impl OsdpFeedback {
    /// Queues feedback; false when the reader has stopped or is busy.
    pub fn send(&self, f: Feedback) -> bool {
        self.0.try_send(Action::Show(f)).is_ok()
    }
}

impl ReaderFeedback for OsdpFeedback {
    fn verdict(&self, pass: bool) {
        let f = if pass {
            Feedback::Granted
        } else {
            Feedback::Denied
        };
        if !self.send(f) {
            tracing::debug!("OSDP feedback dropped: the reader is stopped or busy");
        }
    }
    fn open(&self, length_ms: u32) {
        if self.0.try_send(Action::Open(length_ms)).is_err() {
            tracing::debug!("OSDP relay pulse dropped: the reader is stopped or busy");
        }
    }
}

/// `osdp_OUT` data: output `n` temporarily on for `length_ms` (in 100 ms units, at least one),
/// then back to its permanent state.
pub fn output_command(n: u8, length_ms: u32) -> Vec<u8> {
    let units = u16::try_from(length_ms.div_ceil(100).max(1)).unwrap_or(u16::MAX);
    let [lo, hi] = units.to_le_bytes();
    vec![n, 5, lo, hi]
}

/// How the CP talks to its PD.
#[derive(Clone, Debug)]
pub struct OsdpSettings {
    pub device: PathBuf,
    pub baud: u32,
    pub address: u8,
    /// The PD's SCBK: `Some` for a secure channel (plaintext then refused).
    pub scbk: Option<[u8; 16]>,
    /// Connect with SCBK-D and send `scbk` with osdp_KEYSET first.
    pub install_mode: bool,
    /// The PD's output driving a reader-side relay, pulsed (`osdp_OUT`) on a pass.
    pub relay_output: Option<u8>,
    /// Between polls.
    pub poll_interval: Duration,
    /// For a reply.
    pub reply_timeout: Duration,
    /// Sends of one command before the PD is declared offline.
    pub tries: u32,
}

impl OsdpSettings {
    pub fn new(device: impl Into<PathBuf>, baud: u32, address: u8) -> Self {
        OsdpSettings {
            device: device.into(),
            baud,
            address,
            scbk: None,
            install_mode: false,
            relay_output: None,
            poll_interval: Duration::from_millis(100),
            reply_timeout: Duration::from_millis(200),
            tries: 3,
        }
    }
}

/// One RS-485 bus (multi-drop): the serial port shared by the readers (PDs) on it, each at its
/// own address. One task owns the port and polls each PD in turn; the readers made with
/// [`OsdpReader::on_bus`] register with it when they run (the first to run drives the bus).
#[derive(Clone)]
pub struct OsdpBus(Arc<BusShared>);

struct BusShared {
    device: PathBuf,
    baud: u32,
    register: mpsc::UnboundedSender<PdLink>,
    registered: std::sync::Mutex<Option<mpsc::UnboundedReceiver<PdLink>>>,
}

impl OsdpBus {
    pub fn new(device: impl Into<PathBuf>, baud: u32) -> OsdpBus {
        let (register, rx) = mpsc::unbounded_channel();
        OsdpBus(Arc::new(BusShared {
            device: device.into(),
            baud,
            register,
            registered: std::sync::Mutex::new(Some(rx)),
        }))
    }
}

/// An OSDP reader: the CP side for one PD, on a bus of its own ([`OsdpReader::new`]) or
/// shared with other PDs ([`OsdpReader::on_bus`]).
pub struct OsdpReader {
    name: String,
    settings: OsdpSettings,
    health: HealthHandle,
    feedback_rx: mpsc::Receiver<Action>,
    feedback_tx: mpsc::Sender<Action>,
    bus: OsdpBus,
}

/// Why a link went down.
#[derive(Debug)]
enum LinkError {
    Io(std::io::Error),
    /// No valid reply after every try.
    NoReply(u8),
    /// The PD refused or failed the secure channel.
    Secure(&'static str),
    /// The reading side is gone: stop.
    Closed,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Io(e) => write!(f, "{e}"),
            LinkError::NoReply(code) => write!(f, "no reply to command {code:#04x}"),
            LinkError::Secure(why) => write!(f, "secure channel: {why}"),
            LinkError::Closed => f.write_str("stopped"),
        }
    }
}

impl From<std::io::Error> for LinkError {
    fn from(e: std::io::Error) -> Self {
        LinkError::Io(e)
    }
}

/// The serial port of a bus and its decoder.
struct Port {
    port: tokio_serial::SerialStream,
    decoder: OsdpDecoder,
}

/// One PD's link state on its bus.
struct PdLink {
    name: String,
    settings: OsdpSettings,
    health: HealthHandle,
    out: Emitter,
    actions: mpsc::Receiver<Action>,
    seq: u8,
    session: Option<Session>,
    online: bool,
    retry_at: tokio::time::Instant,
}

fn random8() -> std::io::Result<[u8; 8]> {
    use std::io::Read;
    let mut b = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

impl Port {
    /// Sends a command to `pd` and returns its reply (data decrypted), with retries of the same
    /// sequence number. Replies from other addresses are skipped.
    async fn transact(
        &mut self,
        pd: &mut PdLink,
        code: u8,
        data: &[u8],
        scb: &[u8],
    ) -> Result<Packet, LinkError> {
        let addr = pd.settings.address;
        let mut buf = [0u8; 512];
        for _ in 0..pd.settings.tries {
            // MAC chaining: a retry must carry the same MAC as the first send.
            let saved = pd.session.clone();
            let pkt = encode_command(addr, pd.seq, code, data, scb, pd.session.as_mut());
            self.port.write_all(&pkt).await?;
            let deadline = tokio::time::Instant::now() + pd.settings.reply_timeout;
            self.decoder.reset();
            loop {
                let n = match tokio::time::timeout_at(deadline, self.port.read(&mut buf)).await {
                    Err(_) => break,
                    Ok(r) => r?,
                };
                if n == 0 {
                    return Err(LinkError::Io(std::io::ErrorKind::UnexpectedEof.into()));
                }
                for p in self.decoder.push_slice(&buf[..n]) {
                    let mut p = match p {
                        Ok(p) => p,
                        Err(_) => {
                            pd.health.frame_bad();
                            continue;
                        }
                    };
                    if p.addr != (addr | 0x80) || p.seq != pd.seq {
                        continue; // another PD's reply, or a stale one
                    }
                    if let Some(s) = pd.session.as_mut() {
                        match s.open_reply(&p) {
                            Some(d) => p.data = d,
                            None => {
                                pd.health.frame_bad();
                                return Err(LinkError::Secure("reply MAC does not verify"));
                            }
                        }
                    }
                    pd.health.frame_ok();
                    pd.seq = if pd.seq >= 3 { 1 } else { pd.seq + 1 };
                    return Ok(p);
                }
            }
            pd.session = saved;
        }
        Err(LinkError::NoReply(code))
    }

    /// CHLNG/SCRYPT with `key` (`key_type` 0: SCBK-D, 1: SCBK).
    async fn secure(
        &mut self,
        pd: &mut PdLink,
        key: &[u8; 16],
        key_type: u8,
    ) -> Result<(), LinkError> {
        pd.session = None;
        let cp_random = random8()?;
        let r = self
            .transact(pd, cmd::CHLNG, &cp_random, &[3, scs::CHLNG, key_type])
            .await?;
        if r.code != reply::CCRYPT || r.data.len() != 32 {
            return Err(LinkError::Secure("no osdp_CCRYPT to osdp_CHLNG"));
        }
        let mut pd_random = [0u8; 8];
        pd_random.copy_from_slice(&r.data[8..16]);
        let mut s = Session::new(key, &cp_random);
        if !s.pd_cryptogram_ok(&cp_random, &pd_random, &r.data[16..32]) {
            return Err(LinkError::Secure("the reader does not hold this key"));
        }
        let c = s.cp_cryptogram(&cp_random, &pd_random);
        let r = self
            .transact(pd, cmd::SCRYPT, &c, &[3, scs::SCRYPT, key_type])
            .await?;
        if r.code != reply::RMAC_I || !s.rmac_i_ok(&r.data) {
            return Err(LinkError::Secure("bad osdp_RMAC_I"));
        }
        pd.session = Some(s);
        Ok(())
    }

    /// Connects to `pd`: ID, CAP, the secure channel (install mode: SCBK-D then KEYSET).
    async fn connect(&mut self, pd: &mut PdLink) -> Result<(), LinkError> {
        pd.seq = 0;
        pd.session = None;
        let id = self.transact(pd, cmd::ID, &[0], &[]).await?;
        if id.code == reply::PDID && id.data.len() >= 12 {
            tracing::info!(
                "reader {}: OSDP PD vendor {:02X}{:02X}{:02X} model {} serial {:02X}{:02X}{:02X}{:02X}",
                pd.name,
                id.data[0],
                id.data[1],
                id.data[2],
                id.data[3],
                id.data[8],
                id.data[7],
                id.data[6],
                id.data[5]
            );
        }
        let _cap = self.transact(pd, cmd::CAP, &[0], &[]).await?;
        if let Some(key) = pd.settings.scbk {
            // Install mode: the reader may hold the school's key already (installed, then power
            // cycled): that key first, the default key (SCBK-D) and KEYSET only when it fails.
            let installed = pd.settings.install_mode
                && match self.secure(pd, &key, 1).await {
                    Ok(()) => true,
                    Err(LinkError::Secure(why)) => {
                        tracing::debug!(
                            "reader {}: the school's key is not installed yet ({why}): installing it",
                            pd.name
                        );
                        false
                    }
                    Err(e) => return Err(e),
                };
            if pd.settings.install_mode && !installed {
                self.secure(pd, &SCBK_DEFAULT, 0).await?;
                let mut data = vec![1, 16];
                data.extend_from_slice(&key);
                let r = self.transact(pd, cmd::KEYSET, &data, &[]).await?;
                if r.code != reply::ACK {
                    return Err(LinkError::Secure("osdp_KEYSET refused"));
                }
                tracing::warn!(
                    "reader {}: key installed; set install_mode = false in the configuration",
                    pd.name
                );
            }
            if !installed {
                self.secure(pd, &key, 1).await?;
            }
        }
        // The reader's local status (tamper, power) once at connect.
        let r = self.transact(pd, cmd::LSTAT, &[], &[]).await?;
        pd.reply(&r).await?;
        pd.online = true;
        if !pd.out.status(true).await {
            return Err(LinkError::Closed);
        }
        Ok(())
    }

    /// One turn of `pd`: the gate's feedback if some is queued, else a POLL.
    async fn poll(&mut self, pd: &mut PdLink) -> Result<(), LinkError> {
        let (code, data) = match pd.actions.try_recv() {
            Ok(Action::Show(f)) => {
                let r = self.transact(pd, cmd::LED, &led_command(f), &[]).await?;
                if r.code == reply::NAK {
                    tracing::debug!("reader {}: osdp_LED refused", pd.name);
                }
                (cmd::BUZ, buzzer_command(f))
            }
            Ok(Action::Open(ms)) => match pd.settings.relay_output {
                Some(n) => (cmd::OUT, output_command(n, ms)),
                None => (cmd::POLL, Vec::new()),
            },
            Err(_) => (cmd::POLL, Vec::new()),
        };
        let r = self.transact(pd, code, &data, &[]).await?;
        if r.code == reply::NAK && code == cmd::OUT {
            tracing::warn!("reader {}: osdp_OUT refused {:02X?}", pd.name, r.data);
        }
        pd.reply(&r).await
    }
}

impl PdLink {
    /// Acts on a PD's reply: card reads, status reports.
    async fn reply(&mut self, r: &Packet) -> Result<(), LinkError> {
        match r.code {
            reply::RAW => match raw_credential(&r.data) {
                Some(c) => {
                    if !self.out.credential(c).await {
                        return Err(LinkError::Closed);
                    }
                }
                None => self.health.frame_bad(),
            },
            reply::LSTATR if r.data.len() >= 2 => {
                let (tamper, power) = (r.data[0] != 0, r.data[1] != 0);
                for (alarm, active) in [(ReaderAlarm::Tamper, tamper), (ReaderAlarm::Power, power)]
                {
                    if self.health.set_alarm(alarm, active) {
                        if active {
                            tracing::warn!("reader {}: {alarm:?} alarm", self.name);
                        } else {
                            tracing::info!("reader {}: {alarm:?} back to normal", self.name);
                        }
                        if !self.out.alarm(alarm, active).await {
                            return Err(LinkError::Closed);
                        }
                    }
                }
            }
            reply::NAK => tracing::debug!("reader {}: NAK {:02X?}", self.name, r.data),
            _ => {}
        }
        Ok(())
    }

    /// The PD stopped answering (or failed the secure channel): offline, retried in 1 s.
    async fn down(&mut self) -> bool {
        self.online = false;
        self.session = None;
        self.seq = 0;
        self.retry_at = tokio::time::Instant::now() + Duration::from_secs(1);
        self.out.status(false).await
    }
}

fn open_port(device: &std::path::Path, baud: u32) -> std::io::Result<Port> {
    let builder = tokio_serial::new(device.display().to_string(), baud);
    let port = tokio_serial::SerialStream::open(&builder).map_err(std::io::Error::other)?;
    Ok(Port {
        port,
        decoder: OsdpDecoder::new(),
    })
}

/// The bus task: owns the port, polls each registered PD in turn, reconnects PDs that went
/// offline (every second), reopens the port after an I/O error. Ends when every PD's reading
/// side is gone.
async fn run_bus(bus: Arc<BusShared>, mut registered: mpsc::UnboundedReceiver<PdLink>) {
    let mut pds: Vec<PdLink> = Vec::new();
    let mut port: Option<Port> = None;
    loop {
        while let Ok(pd) = registered.try_recv() {
            pds.push(pd);
        }
        pds.retain(|pd| !pd.out.events.is_closed());
        if pds.is_empty() {
            return;
        }
        let p = match &mut port {
            Some(p) => p,
            None => match open_port(&bus.device, bus.baud) {
                Ok(p) => port.insert(p),
                Err(e) => {
                    tracing::warn!("OSDP bus {}: {e}", bus.device.display());
                    for pd in &mut pds {
                        pd.down().await;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let mut io_failed = false;
        for pd in &mut pds {
            let r = if pd.online {
                p.poll(pd).await
            } else if tokio::time::Instant::now() >= pd.retry_at {
                p.connect(pd).await
            } else {
                continue;
            };
            match r {
                Ok(()) | Err(LinkError::Closed) => {}
                Err(e) => {
                    tracing::warn!("reader {}: {e}", pd.name);
                    io_failed |= matches!(e, LinkError::Io(_));
                    pd.down().await;
                }
            }
        }
        if io_failed {
            port = None;
            for pd in &mut pds {
                if pd.online {
                    pd.down().await;
                }
            }
        }
        let interval = pds
            .iter()
            .map(|pd| pd.settings.poll_interval)
            .min()
            .unwrap_or(Duration::from_millis(100));
        tokio::time::sleep(interval).await;
    }
}

impl OsdpReader {
    /// A reader alone on its bus (its own serial port).
    pub fn new(name: impl Into<String>, settings: OsdpSettings) -> Self {
        let bus = OsdpBus::new(settings.device.clone(), settings.baud);
        Self::on_bus(name, settings, &bus)
    }

    /// A reader on a shared bus, at `settings.address` (its `device` and `baud` are the bus's).
    pub fn on_bus(name: impl Into<String>, settings: OsdpSettings, bus: &OsdpBus) -> Self {
        let (feedback_tx, feedback_rx) = mpsc::channel(8);
        OsdpReader {
            name: name.into(),
            settings,
            health: HealthHandle::default(),
            feedback_rx,
            feedback_tx,
            bus: bus.clone(),
        }
    }
}

impl Reader for OsdpReader {
    fn name(&self) -> &str {
        &self.name
    }
    fn health(&self) -> Option<HealthHandle> {
        Some(self.health.clone())
    }
    /// Lights the reader's LED and sounds its buzzer after a decision; pulses its relay output
    /// (`relay_output`) on a pass.
    fn feedback(&self) -> Option<Arc<dyn ReaderFeedback>> {
        Some(Arc::new(OsdpFeedback(self.feedback_tx.clone())))
    }
    fn run(
        self: Box<Self>,
        events: mpsc::Sender<ReaderEvent>,
    ) -> BoxFuture<'static, Result<(), HwError>> {
        Box::pin(async move {
            let OsdpReader {
                name,
                settings,
                health,
                feedback_rx,
                bus,
                ..
            } = *self;
            let out = Emitter {
                name: name.clone(),
                events: events.clone(),
                health: health.clone(),
            };
            let pd = PdLink {
                name,
                settings,
                health,
                out,
                actions: feedback_rx,
                seq: 0,
                session: None,
                online: false,
                retry_at: tokio::time::Instant::now(),
            };
            if bus.0.register.send(pd).is_err() {
                return Ok(());
            }
            let driver = bus
                .0
                .registered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            match driver {
                // The first reader of the bus to run drives it for all.
                Some(rx) => run_bus(bus.0.clone(), rx).await,
                None => events.closed().await,
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
