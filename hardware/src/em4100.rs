//! 125 kHz EM4100 readers on a UART (RDM6300 and alike), 9600 8N1 by default.
//!
//! A frame is `0x02`, 10 ASCII hex digits (1 version byte and a 32-bit tag), 2 ASCII hex
//! digits of checksum (XOR of the 5 bytes), `0x03`. Some readers (ID-12 style) put CR LF before
//! the `0x03`: accepted. [`Em4100Decoder`] is a pure byte-at-a-time state machine: it resyncs on
//! the next `0x02` after junk, reassembles frames split across reads, and reports bad frames so
//! that they are counted. [`HoldFilter`] drops the repeats a reader sends while the card stays
//! in the field (time as an argument). [`Em4100Reader`] drives both over tokio-serial.
//!
//! Credential normalisation: the 10 hex digits, upper case, as printed on most EM4100 cards
//! and as the reader sends them (`0400A1B2C3`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::health::{Emitter, HealthHandle};
use crate::{BoxFuture, HwError, Reader, ReaderEvent};

const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// Why a frame was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Em4100Error {
    /// A byte other than a hex digit inside a frame, or a frame cut short by a new `0x02`.
    Malformed,
    /// The XOR of the 5 bytes does not match the checksum digits.
    Checksum,
}

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Em4100Frame {
    /// A well-formed frame: the 5 bytes (version, then the 32-bit tag).
    Tag([u8; 5]),
    Bad(Em4100Error),
}

impl Em4100Frame {
    /// The badge number: 10 upper-case hex digits.
    pub fn credential(bytes: &[u8; 5]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for `0x02`; anything else is junk.
    Idle,
    /// Collecting the 12 hex digits.
    Digits,
    /// The 12 digits are in: expecting `0x03`, CR or LF.
    End,
}

/// Pure EM4100 frame decoder: feed it bytes, it returns frames.
#[derive(Clone, Debug)]
pub struct Em4100Decoder {
    state: State,
    digits: [u8; 12],
    len: usize,
    junk: u64,
}

impl Default for Em4100Decoder {
    fn default() -> Self {
        Self::new()
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

impl Em4100Decoder {
    pub fn new() -> Self {
        Em4100Decoder {
            state: State::Idle,
            digits: [0; 12],
            len: 0,
            junk: 0,
        }
    }

    /// Bytes seen outside any frame (line noise, a reader's boot banner).
    pub fn junk_bytes(&self) -> u64 {
        self.junk
    }

    /// Whether a frame is partly received.
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// Drops a partial frame (the driver calls it after a silence); true if one was dropped.
    pub fn reset(&mut self) -> bool {
        let was = self.in_frame();
        self.state = State::Idle;
        self.len = 0;
        was
    }

    /// Feeds one byte; returns a frame when one ends here (well-formed or not).
    pub fn push(&mut self, b: u8) -> Option<Em4100Frame> {
        match self.state {
            State::Idle => {
                if b == STX {
                    self.start();
                } else {
                    self.junk += 1;
                }
                None
            }
            State::Digits => {
                if b == STX {
                    // The previous frame was cut short: count it, start over.
                    self.start();
                    return Some(Em4100Frame::Bad(Em4100Error::Malformed));
                }
                if hex_value(b).is_none() {
                    self.reset();
                    return Some(Em4100Frame::Bad(Em4100Error::Malformed));
                }
                self.digits[self.len] = b;
                self.len += 1;
                if self.len == self.digits.len() {
                    self.state = State::End;
                }
                None
            }
            State::End => match b {
                b'\r' | b'\n' => None,
                ETX => {
                    self.reset();
                    Some(self.frame())
                }
                STX => {
                    self.start();
                    Some(Em4100Frame::Bad(Em4100Error::Malformed))
                }
                _ => {
                    self.reset();
                    Some(Em4100Frame::Bad(Em4100Error::Malformed))
                }
            },
        }
    }

    /// Feeds a slice of bytes, returning every frame that ends in it.
    pub fn push_slice(&mut self, bytes: &[u8]) -> Vec<Em4100Frame> {
        bytes.iter().filter_map(|&b| self.push(b)).collect()
    }

    fn start(&mut self) {
        self.state = State::Digits;
        self.len = 0;
    }

    fn frame(&self) -> Em4100Frame {
        let mut bytes = [0u8; 6];
        for (i, pair) in self.digits.chunks(2).enumerate() {
            let hi = hex_value(pair[0]).unwrap_or(0);
            let lo = hex_value(pair[1]).unwrap_or(0);
            bytes[i] = (hi << 4) | lo;
        }
        let xor = bytes[..5].iter().fold(0, |a, b| a ^ b);
        if xor != bytes[5] {
            return Em4100Frame::Bad(Em4100Error::Checksum);
        }
        let mut tag = [0u8; 5];
        tag.copy_from_slice(&bytes[..5]);
        Em4100Frame::Tag(tag)
    }
}

/// Encodes a frame as a reader sends it (tests, the simulator).
pub fn encode_frame(tag: [u8; 5]) -> Vec<u8> {
    let xor = tag.iter().fold(0, |a, b| a ^ b);
    let mut out = vec![STX];
    for b in tag.iter().chain(std::iter::once(&xor)) {
        out.extend_from_slice(format!("{b:02X}").as_bytes());
    }
    out.push(ETX);
    out
}

/// Holds back a credential seen again within `hold` of its last sighting: a card resting on
/// the reader is reported once, until it has been away for `hold`. The daemon's debounce
/// (`school.debounce_ms`) still merges reads of one badge across readers and longer gaps.
#[derive(Clone, Debug)]
pub struct HoldFilter {
    hold: Duration,
    last: Option<(String, Instant)>,
}

impl HoldFilter {
    pub fn new(hold: Duration) -> Self {
        HoldFilter { hold, last: None }
    }

    /// Whether `credential`, seen at `at`, is a new read (true) or a repeat (false).
    pub fn admit(&mut self, credential: &str, at: Instant) -> bool {
        let repeat = matches!(&self.last, Some((c, t))
            if c == credential && at.saturating_duration_since(*t) < self.hold);
        self.last = Some((credential.to_owned(), at));
        !repeat
    }
}

/// The default hold: an RDM6300 repeats a resting card about every 100 ms.
pub const DEFAULT_HOLD: Duration = Duration::from_millis(800);

/// A partial frame older than this is dropped (a whole frame takes 15 ms at 9600 baud).
const FRAME_SILENCE: Duration = Duration::from_millis(100);

/// How long to wait before reopening a device that failed or went away.
const REOPEN_DELAY: Duration = Duration::from_secs(2);

/// An EM4100 reader on a serial port (`/dev/ttyUSB0`, `/dev/serial0`, …).
pub struct Em4100Reader {
    name: String,
    device: PathBuf,
    baud: u32,
    hold: Duration,
    health: HealthHandle,
}

impl Em4100Reader {
    pub fn new(name: impl Into<String>, device: impl Into<PathBuf>, baud: u32) -> Self {
        Em4100Reader {
            name: name.into(),
            device: device.into(),
            baud,
            hold: DEFAULT_HOLD,
            health: HealthHandle::default(),
        }
    }

    pub fn with_hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    fn open(&self) -> Result<tokio_serial::SerialStream, HwError> {
        let path = self.device.display().to_string();
        let builder = tokio_serial::new(path.clone(), self.baud)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(tokio_serial::Parity::None)
            .stop_bits(tokio_serial::StopBits::One)
            .flow_control(tokio_serial::FlowControl::None);
        tokio_serial::SerialStream::open(&builder).map_err(|e| HwError::Device {
            device: path,
            message: e.to_string(),
        })
    }
}

impl Reader for Em4100Reader {
    fn name(&self) -> &str {
        &self.name
    }
    fn health(&self) -> Option<HealthHandle> {
        Some(self.health.clone())
    }
    fn run(
        self: Box<Self>,
        events: mpsc::Sender<ReaderEvent>,
    ) -> BoxFuture<'static, Result<(), HwError>> {
        Box::pin(async move {
            let out = Emitter {
                name: self.name.clone(),
                events,
                health: self.health.clone(),
            };
            let mut decoder = Em4100Decoder::new();
            let mut hold = HoldFilter::new(self.hold);
            let mut buf = [0u8; 256];
            loop {
                let Some(mut port) = out
                    .open_or_retry(&self.name, REOPEN_DELAY, || self.open())
                    .await
                else {
                    return Ok(());
                };
                decoder.reset();
                loop {
                    let read = if decoder.in_frame() {
                        match tokio::time::timeout(FRAME_SILENCE, port.read(&mut buf)).await {
                            Ok(r) => r,
                            Err(_) => {
                                // A frame cut short by silence.
                                if decoder.reset() {
                                    self.health.frame_bad();
                                }
                                continue;
                            }
                        }
                    } else {
                        tokio::select! {
                            r = port.read(&mut buf) => r,
                            _ = out.events.closed() => return Ok(()),
                        }
                    };
                    let n = match read {
                        Ok(0) => {
                            tracing::warn!("reader {}: device closed", self.name);
                            break;
                        }
                        Ok(n) => n,
                        Err(e) => {
                            tracing::warn!("reader {}: read failed: {e}", self.name);
                            break;
                        }
                    };
                    for frame in decoder.push_slice(&buf[..n]) {
                        match frame {
                            Em4100Frame::Tag(tag) => {
                                self.health.frame_ok();
                                let credential = Em4100Frame::credential(&tag);
                                if hold.admit(&credential, Instant::now())
                                    && !out.credential(credential).await
                                {
                                    return Ok(());
                                }
                            }
                            Em4100Frame::Bad(e) => {
                                tracing::debug!("reader {}: bad frame: {e:?}", self.name);
                                self.health.frame_bad();
                            }
                        }
                    }
                }
                if !out.status(false).await {
                    return Ok(());
                }
                tokio::time::sleep(REOPEN_DELAY).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: [u8; 5] = [0x04, 0x00, 0xA1, 0xB2, 0xC3];

    fn tags(frames: &[Em4100Frame]) -> Vec<String> {
        frames
            .iter()
            .filter_map(|f| match f {
                Em4100Frame::Tag(t) => Some(Em4100Frame::credential(t)),
                Em4100Frame::Bad(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_frame_decodes_to_ten_hex_digits() {
        let mut d = Em4100Decoder::new();
        let frames = d.push_slice(&encode_frame(TAG));
        assert_eq!(tags(&frames), ["0400A1B2C3"]);
        // Lower-case digits and CR LF before ETX (ID-12 style) are accepted.
        let mut raw = encode_frame(TAG);
        raw.splice(13..13, *b"\r\n");
        let lower: Vec<u8> = raw.iter().map(|b| b.to_ascii_lowercase()).collect();
        assert_eq!(tags(&d.push_slice(&lower)), ["0400A1B2C3"]);
    }

    #[test]
    fn junk_before_and_between_frames_is_skipped_and_counted() {
        let mut d = Em4100Decoder::new();
        let mut raw = b"RDM6300 v1\r\n\xff\x00".to_vec();
        raw.extend(encode_frame(TAG));
        raw.extend(b"zz");
        raw.extend(encode_frame([0x01, 0x02, 0x03, 0x04, 0x05]));
        let frames = d.push_slice(&raw);
        assert_eq!(tags(&frames), ["0400A1B2C3", "0102030405"]);
        assert_eq!(frames.len(), 2, "junk outside frames is not a bad frame");
        assert_eq!(d.junk_bytes(), 16);
    }

    #[test]
    fn frames_split_across_reads_are_reassembled() {
        let raw = encode_frame(TAG);
        for cut in 0..raw.len() {
            let mut d = Em4100Decoder::new();
            let mut frames = d.push_slice(&raw[..cut]);
            frames.extend(d.push_slice(&raw[cut..]));
            assert_eq!(tags(&frames), ["0400A1B2C3"], "cut at {cut}");
        }
    }

    #[test]
    fn bad_checksum_is_reported_not_decoded() {
        let mut raw = encode_frame(TAG);
        raw[12] = if raw[12] == b'0' { b'1' } else { b'0' };
        let mut d = Em4100Decoder::new();
        assert_eq!(
            d.push_slice(&raw),
            [Em4100Frame::Bad(Em4100Error::Checksum)]
        );
    }

    #[test]
    fn a_truncated_frame_resyncs_on_the_next_start_byte() {
        let good = encode_frame(TAG);
        let mut raw = good[..7].to_vec();
        raw.extend(&good);
        let mut d = Em4100Decoder::new();
        let frames = d.push_slice(&raw);
        assert_eq!(
            frames,
            [
                Em4100Frame::Bad(Em4100Error::Malformed),
                Em4100Frame::Tag(TAG)
            ]
        );
        // A non-hex byte inside a frame, and a missing ETX.
        let mut raw = good.clone();
        raw[4] = b'G';
        assert_eq!(
            d.push_slice(&raw),
            [Em4100Frame::Bad(Em4100Error::Malformed)]
        );
        let mut raw = good[..13].to_vec();
        raw.push(b'x');
        raw.extend(&good);
        assert_eq!(
            d.push_slice(&raw),
            [
                Em4100Frame::Bad(Em4100Error::Malformed),
                Em4100Frame::Tag(TAG)
            ]
        );
    }

    #[test]
    fn any_byte_soup_never_panics_and_decoding_resumes() {
        // A small deterministic fuzz: xorshift bytes, biased towards frame bytes.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut d = Em4100Decoder::new();
        let alphabet = b"\x02\x030123456789ABCDEFabcdefG\r\n\xff";
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = alphabet[(x % alphabet.len() as u64) as usize];
            let _ = d.push(b);
        }
        // Still decodes after the soup.
        d.reset();
        assert_eq!(tags(&d.push_slice(&encode_frame(TAG))), ["0400A1B2C3"]);
    }

    #[test]
    fn hold_filter_reports_a_resting_card_once() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut h = HoldFilter::new(Duration::from_millis(500));
        assert!(h.admit("A", ms(0)));
        // Repeats every 100 ms while the card rests: held, and the hold follows them.
        for t in [100, 200, 300, 700, 1100] {
            assert!(!h.admit("A", ms(t)), "at {t} ms");
        }
        // Another card at once; then the first again at once.
        assert!(h.admit("B", ms(1150)));
        assert!(h.admit("A", ms(1200)));
        // Away for longer than the hold: a new read.
        assert!(h.admit("A", ms(1800)));
    }

    #[tokio::test]
    async fn reader_over_a_pseudo_terminal_reads_frames_and_counts_bad_ones() {
        use std::io::Write;
        let pty = crate::pty::Pty::open().unwrap();
        let reader =
            Em4100Reader::new("em", pty.slave_path(), 9600).with_hold(Duration::from_millis(300));
        let health = reader.health().unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let task = tokio::spawn(Box::new(reader).run(tx));
        let next = async |rx: &mut mpsc::Receiver<ReaderEvent>| {
            tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            next(&mut rx).await,
            ReaderEvent::Status {
                reader: "em".into(),
                online: true
            }
        );
        let mut master = pty.master();
        // Junk, a frame split in two writes, a bad checksum, then the same card resting.
        let good = encode_frame(TAG);
        master.write_all(b"\xff\xfejunk").unwrap();
        master.write_all(&good[..5]).unwrap();
        master.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        master.write_all(&good[5..]).unwrap();
        let mut bad = good.clone();
        bad[12] ^= 1;
        master.write_all(&bad).unwrap();
        for _ in 0..3 {
            master.write_all(&good).unwrap();
        }
        master
            .write_all(&encode_frame([0x12, 0x00, 0x00, 0xBE, 0xEF]))
            .unwrap();
        assert_eq!(
            next(&mut rx).await,
            ReaderEvent::Credential {
                reader: "em".into(),
                credential: "0400A1B2C3".into()
            }
        );
        assert_eq!(
            next(&mut rx).await,
            ReaderEvent::Credential {
                reader: "em".into(),
                credential: "120000BEEF".into()
            }
        );
        let h = health.snapshot();
        assert!(h.online);
        assert_eq!((h.frames_ok, h.frames_bad), (5, 1));
        assert!(h.last_frame.is_some());
        // The receiving side goes: the reader ends.
        drop(rx);
        let done = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(done.is_ok_and(|r| r.is_ok_and(|r| r.is_ok())));
    }

    #[tokio::test]
    async fn a_missing_device_is_reported_offline_not_a_crash() {
        let reader = Em4100Reader::new("em", "/nonexistent/ttyUSB9", 9600);
        let health = reader.health().unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let task = tokio::spawn(Box::new(reader).run(tx));
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            got.ok().flatten(),
            Some(ReaderEvent::Status {
                reader: "em".into(),
                online: false
            })
        );
        // Reported once, not at every retry.
        let got = tokio::time::timeout(Duration::from_millis(2500), rx.recv()).await;
        assert!(got.is_err(), "no second event expected, got {got:?}");
        assert!(!health.snapshot().online);
        task.abort();
    }
}
