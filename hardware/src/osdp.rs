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
use crate::{BoxFuture, HwError, Reader, ReaderEvent, ReaderFeedback};

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

/// Sends feedback to an [`OsdpReader`]'s reader (what [`Reader::feedback`] gives).
#[derive(Clone, Debug)]
pub struct OsdpFeedback(mpsc::Sender<Feedback>);

impl OsdpFeedback {
    /// Queues feedback; false when the reader has stopped or is busy.
    pub fn send(&self, f: Feedback) -> bool {
        self.0.try_send(f).is_ok()
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
            poll_interval: Duration::from_millis(100),
            reply_timeout: Duration::from_millis(200),
            tries: 3,
        }
    }
}

/// An OSDP reader: the CP side for one PD.
pub struct OsdpReader {
    name: String,
    settings: OsdpSettings,
    health: HealthHandle,
    feedback_rx: mpsc::Receiver<Feedback>,
    feedback_tx: mpsc::Sender<Feedback>,
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

struct Link<'a> {
    port: tokio_serial::SerialStream,
    decoder: OsdpDecoder,
    seq: u8,
    session: Option<Session>,
    settings: &'a OsdpSettings,
    health: &'a HealthHandle,
}

fn random8() -> std::io::Result<[u8; 8]> {
    use std::io::Read;
    let mut b = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

impl Link<'_> {
    /// Sends a command and returns the PD's reply (data decrypted), with retries of the same
    /// sequence number.
    async fn transact(&mut self, code: u8, data: &[u8], scb: &[u8]) -> Result<Packet, LinkError> {
        let addr = self.settings.address;
        let mut buf = [0u8; 512];
        for _ in 0..self.settings.tries {
            // MAC chaining: a retry must carry the same MAC as the first send.
            let saved = self.session.clone();
            let pkt = encode_command(addr, self.seq, code, data, scb, self.session.as_mut());
            self.port.write_all(&pkt).await?;
            let deadline = tokio::time::Instant::now() + self.settings.reply_timeout;
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
                            self.health.frame_bad();
                            continue;
                        }
                    };
                    if p.addr != (addr | 0x80) || p.seq != self.seq {
                        continue; // another PD's reply, or a stale one
                    }
                    if let Some(s) = self.session.as_mut() {
                        match s.open_reply(&p) {
                            Some(d) => p.data = d,
                            None => {
                                self.health.frame_bad();
                                return Err(LinkError::Secure("reply MAC does not verify"));
                            }
                        }
                    }
                    self.health.frame_ok();
                    self.seq = if self.seq >= 3 { 1 } else { self.seq + 1 };
                    return Ok(p);
                }
            }
            self.session = saved;
        }
        Err(LinkError::NoReply(code))
    }

    /// CHLNG/SCRYPT with `key` (`key_type` 0: SCBK-D, 1: SCBK).
    async fn secure(&mut self, key: &[u8; 16], key_type: u8) -> Result<(), LinkError> {
        self.session = None;
        let cp_random = random8()?;
        let r = self
            .transact(cmd::CHLNG, &cp_random, &[3, scs::CHLNG, key_type])
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
            .transact(cmd::SCRYPT, &c, &[3, scs::SCRYPT, key_type])
            .await?;
        if r.code != reply::RMAC_I || !s.rmac_i_ok(&r.data) {
            return Err(LinkError::Secure("bad osdp_RMAC_I"));
        }
        self.session = Some(s);
        Ok(())
    }
}

impl OsdpReader {
    pub fn new(name: impl Into<String>, settings: OsdpSettings) -> Self {
        let (feedback_tx, feedback_rx) = mpsc::channel(8);
        OsdpReader {
            name: name.into(),
            settings,
            health: HealthHandle::default(),
            feedback_rx,
            feedback_tx,
        }
    }

    fn open(&self) -> Result<tokio_serial::SerialStream, std::io::Error> {
        let builder = tokio_serial::new(
            self.settings.device.display().to_string(),
            self.settings.baud,
        );
        tokio_serial::SerialStream::open(&builder).map_err(std::io::Error::other)
    }

    /// One connection: setup, then polls until the link fails.
    async fn session(&mut self, out: &Emitter) -> Result<(), LinkError> {
        let port = self.open()?;
        let settings = self.settings.clone();
        let mut link = Link {
            port,
            decoder: OsdpDecoder::new(),
            seq: 0,
            session: None,
            settings: &settings,
            health: &self.health,
        };
        let id = link.transact(cmd::ID, &[0], &[]).await?;
        if id.code == reply::PDID && id.data.len() >= 12 {
            tracing::info!(
                "reader {}: OSDP PD vendor {:02X}{:02X}{:02X} model {} serial {:02X?}",
                self.name,
                id.data[0],
                id.data[1],
                id.data[2],
                id.data[3],
                &id.data[5..9]
            );
        }
        let _cap = link.transact(cmd::CAP, &[0], &[]).await?;
        if let Some(key) = settings.scbk {
            if settings.install_mode {
                link.secure(&SCBK_DEFAULT, 0).await?;
                let mut data = vec![1, 16];
                data.extend_from_slice(&key);
                let r = link.transact(cmd::KEYSET, &data, &[]).await?;
                if r.code != reply::ACK {
                    return Err(LinkError::Secure("osdp_KEYSET refused"));
                }
                tracing::warn!(
                    "reader {}: key installed; set install_mode = false in the configuration",
                    self.name
                );
            }
            link.secure(&key, 1).await?;
        }
        if !out.status(true).await {
            return Err(LinkError::Closed);
        }
        loop {
            let (code, data) = match self.feedback_rx.try_recv() {
                Ok(f) => {
                    let r = link.transact(cmd::LED, &led_command(f), &[]).await?;
                    if r.code == reply::NAK {
                        tracing::debug!("reader {}: osdp_LED refused", self.name);
                    }
                    (cmd::BUZ, buzzer_command(f))
                }
                Err(_) => (cmd::POLL, Vec::new()),
            };
            let r = link.transact(code, &data, &[]).await?;
            match r.code {
                reply::RAW => match raw_credential(&r.data) {
                    Some(c) => {
                        if !out.credential(c).await {
                            return Err(LinkError::Closed);
                        }
                    }
                    None => self.health.frame_bad(),
                },
                reply::LSTATR if r.data.len() >= 2 => {
                    tracing::warn!(
                        "reader {}: tamper {}, power {}",
                        self.name,
                        if r.data[0] != 0 { "ON" } else { "normal" },
                        if r.data[1] != 0 { "FAILURE" } else { "normal" }
                    );
                }
                reply::NAK => tracing::debug!("reader {}: NAK {:02X?}", self.name, r.data),
                _ => {}
            }
            if code == cmd::POLL {
                tokio::select! {
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = out.events.closed() => return Err(LinkError::Closed),
                }
            }
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
    /// Lights the reader's LED and sounds its buzzer after a decision.
    fn feedback(&self) -> Option<Arc<dyn ReaderFeedback>> {
        Some(Arc::new(OsdpFeedback(self.feedback_tx.clone())))
    }
    fn run(
        mut self: Box<Self>,
        events: mpsc::Sender<ReaderEvent>,
    ) -> BoxFuture<'static, Result<(), HwError>> {
        Box::pin(async move {
            let out = Emitter {
                name: self.name.clone(),
                events,
                health: self.health.clone(),
            };
            loop {
                match self.session(&out).await {
                    Err(LinkError::Closed) | Ok(()) => return Ok(()),
                    Err(e) => tracing::warn!("reader {}: {e}", self.name),
                }
                if !out.status(false).await {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }
}

#[cfg(test)]
mod tests;
