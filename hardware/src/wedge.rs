//! USB "keyboard wedge" readers: the reader types the badge number and Enter, as a keyboard.
//!
//! [`WedgeDecoder`] is pure: it takes evdev key events (code, value, time) and returns a badge
//! number at each Enter. Keys are decoded by position, not by the layout's characters, so a
//! reader set for AZERTY (which sends Shift + the digit-row keys) and one set for QWERTY give
//! the same number; numpad digits count too. Hex letters A–F are accepted: with
//! [`WedgeLayout::Azerty`] the key the layout labels `A` is `KEY_Q`.
//!
//! [`WedgeReader`] opens `/dev/input/by-id/…-event-kbd`, grabs it (`EVIOCGRAB`) so that badge
//! numbers never reach a console or the kiosk's browser, and feeds the decoder.
//!
//! Credential normalisation: the characters typed, upper case (`0012345678`, `04A1B2C3`).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::health::{Emitter, HealthHandle};
use crate::{BoxFuture, HwError, Reader, ReaderEvent};

/// evdev key codes used here (linux/input-event-codes.h).
pub mod keys {
    pub const KEY_1: u16 = 2;
    pub const KEY_0: u16 = 11;
    pub const KEY_Q: u16 = 16;
    pub const KEY_E: u16 = 18;
    pub const KEY_ENTER: u16 = 28;
    pub const KEY_A: u16 = 30;
    pub const KEY_D: u16 = 32;
    pub const KEY_F: u16 = 33;
    pub const KEY_LEFTSHIFT: u16 = 42;
    pub const KEY_C: u16 = 46;
    pub const KEY_B: u16 = 48;
    pub const KEY_RIGHTSHIFT: u16 = 54;
    pub const KEY_CAPSLOCK: u16 = 58;
    pub const KEY_NUMLOCK: u16 = 69;
    pub const KEY_KP7: u16 = 71;
    pub const KEY_KP8: u16 = 72;
    pub const KEY_KP9: u16 = 73;
    pub const KEY_KP4: u16 = 75;
    pub const KEY_KP5: u16 = 76;
    pub const KEY_KP6: u16 = 77;
    pub const KEY_KP1: u16 = 79;
    pub const KEY_KP2: u16 = 80;
    pub const KEY_KP3: u16 = 81;
    pub const KEY_KP0: u16 = 82;
    pub const KEY_KPENTER: u16 = 96;
}

/// The layout the reader is set for (only the letters depend on it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WedgeLayout {
    #[default]
    Qwerty,
    Azerty,
}

/// Why a typed badge was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WedgeError {
    /// A key that is not a digit, A–F, Shift or Enter came within the badge.
    UnexpectedKey(u16),
    /// More than [`MAX_LEN`] characters before Enter.
    TooLong,
    /// A badge started but no key came for [`KEY_TIMEOUT`]: dropped.
    Timeout,
}

/// One decoded badge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WedgeFrame {
    Badge(String),
    Bad(WedgeError),
}

/// The longest badge number accepted.
pub const MAX_LEN: usize = 32;
/// A reader types a whole badge in well under this; a longer gap drops the partial badge.
pub const KEY_TIMEOUT: Duration = Duration::from_millis(500);

/// Pure decoder of key events into badge numbers.
#[derive(Clone, Debug, Default)]
pub struct WedgeDecoder {
    layout: WedgeLayout,
    buf: String,
    error: Option<WedgeError>,
    last_key: Option<Duration>,
}

fn char_of(code: u16, layout: WedgeLayout) -> Option<char> {
    use keys::*;
    let c = match code {
        KEY_1..=KEY_0 => {
            // KEY_1..KEY_9 then KEY_0, whatever Shift says (AZERTY needs Shift for digits).
            let d = (code - KEY_1 + 1) % 10;
            char::from(b'0' + d as u8)
        }
        KEY_KP0 => '0',
        KEY_KP1 => '1',
        KEY_KP2 => '2',
        KEY_KP3 => '3',
        KEY_KP4 => '4',
        KEY_KP5 => '5',
        KEY_KP6 => '6',
        KEY_KP7 => '7',
        KEY_KP8 => '8',
        KEY_KP9 => '9',
        KEY_A if layout == WedgeLayout::Qwerty => 'A',
        KEY_Q if layout == WedgeLayout::Azerty => 'A',
        KEY_B => 'B',
        KEY_C => 'C',
        KEY_D => 'D',
        KEY_E => 'E',
        KEY_F => 'F',
        _ => return None,
    };
    Some(c)
}

impl WedgeDecoder {
    pub fn new(layout: WedgeLayout) -> Self {
        WedgeDecoder {
            layout,
            ..WedgeDecoder::default()
        }
    }

    /// Feeds one key event: `code` an evdev key code, `value` 1 press, 0 release, 2 repeat,
    /// `at` the event's time. Returns a badge (or a refused one) when Enter is pressed, or when
    /// a partial badge timed out before this key.
    pub fn push(&mut self, code: u16, value: i32, at: Duration) -> Option<WedgeFrame> {
        use keys::*;
        if value != 1 {
            return None; // releases and autorepeat carry nothing
        }
        let timed_out = self.in_badge()
            && self
                .last_key
                .is_some_and(|t| at.saturating_sub(t) > KEY_TIMEOUT);
        self.last_key = Some(at);
        if timed_out {
            self.clear();
            // This key starts the next badge; an Enter only ends the one that timed out.
            if !matches!(code, KEY_ENTER | KEY_KPENTER) {
                let _ = self.key(code);
            }
            return Some(WedgeFrame::Bad(WedgeError::Timeout));
        }
        match code {
            KEY_ENTER | KEY_KPENTER => {
                let frame = match self.error.take() {
                    Some(e) => Some(WedgeFrame::Bad(e)),
                    None if self.buf.is_empty() => None,
                    None => Some(WedgeFrame::Badge(std::mem::take(&mut self.buf))),
                };
                self.clear();
                frame
            }
            _ => self.key(code),
        }
    }

    /// Whether part of a badge has been typed.
    pub fn in_badge(&self) -> bool {
        !self.buf.is_empty() || self.error.is_some()
    }

    fn key(&mut self, code: u16) -> Option<WedgeFrame> {
        use keys::*;
        match code {
            KEY_LEFTSHIFT | KEY_RIGHTSHIFT | KEY_CAPSLOCK | KEY_NUMLOCK => {}
            _ => match char_of(code, self.layout) {
                Some(_) if self.error.is_some() => {}
                Some(_) if self.buf.len() >= MAX_LEN => self.error = Some(WedgeError::TooLong),
                Some(c) => self.buf.push(c),
                None => {
                    if self.error.is_none() {
                        self.error = Some(WedgeError::UnexpectedKey(code));
                    }
                }
            },
        }
        None
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.error = None;
    }
}

/// A keyboard-wedge reader through evdev, grabbed.
pub struct WedgeReader {
    name: String,
    device: PathBuf,
    layout: WedgeLayout,
    health: HealthHandle,
}

impl WedgeReader {
    pub fn new(name: impl Into<String>, device: impl Into<PathBuf>, layout: WedgeLayout) -> Self {
        WedgeReader {
            name: name.into(),
            device: device.into(),
            layout,
            health: HealthHandle::default(),
        }
    }

    fn open(&self) -> Result<evdev::raw_stream::EventStream, HwError> {
        let io = |source| HwError::Io {
            device: self.device.display().to_string(),
            source,
        };
        let mut dev = evdev::raw_stream::RawDevice::open(&self.device).map_err(io)?;
        // EVIOCGRAB: while we hold the device, its keys reach nobody else (console, X, kiosk).
        dev.grab().map_err(io)?;
        dev.into_event_stream().map_err(io)
    }
}

/// evdev's EV_KEY event type.
const EV_KEY: u16 = 1;

impl Reader for WedgeReader {
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
            loop {
                let Some(mut stream) = out
                    .open_or_retry(&self.name, Duration::from_secs(2), || self.open())
                    .await
                else {
                    return Ok(());
                };
                let mut decoder = WedgeDecoder::new(self.layout);
                loop {
                    let ev = tokio::select! {
                        ev = stream.next_event() => ev,
                        _ = out.events.closed() => return Ok(()),
                    };
                    let ev = match ev {
                        Ok(ev) => ev,
                        Err(e) => {
                            // Unplugged (ENODEV) or worse: reopen.
                            tracing::warn!("reader {}: {e}", self.name);
                            break;
                        }
                    };
                    if ev.event_type().0 != EV_KEY {
                        continue;
                    }
                    let at = ev
                        .timestamp()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default();
                    if !handle_frame(&out, decoder.push(ev.code(), ev.value(), at)).await {
                        return Ok(());
                    }
                }
                if !out.status(false).await {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    }
}

/// Counts a decoded frame and sends its badge; false when the receiving side is gone.
async fn handle_frame(out: &Emitter, frame: Option<WedgeFrame>) -> bool {
    match frame {
        None => true,
        Some(WedgeFrame::Badge(b)) => {
            out.health.frame_ok();
            out.credential(b).await
        }
        Some(WedgeFrame::Bad(e)) => {
            tracing::debug!("reader {}: refused input: {e:?}", out.name);
            out.health.frame_bad();
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::keys::*;
    use super::*;

    /// A recorded key stream: (code, value) with 8 ms between events, as readers type.
    fn play(d: &mut WedgeDecoder, stream: &[(u16, i32)], start_ms: u64) -> Vec<WedgeFrame> {
        stream
            .iter()
            .enumerate()
            .filter_map(|(i, &(c, v))| d.push(c, v, Duration::from_millis(start_ms + 8 * i as u64)))
            .collect()
    }

    /// Press and release of each key, wrapped in Shift when `shift`.
    fn typed(codes: &[u16], shift: bool) -> Vec<(u16, i32)> {
        let mut out = Vec::new();
        for &c in codes {
            if shift {
                out.push((KEY_LEFTSHIFT, 1));
            }
            out.push((c, 1));
            out.push((c, 0));
            if shift {
                out.push((KEY_LEFTSHIFT, 0));
            }
        }
        out
    }

    const KEY_2: u16 = 3;
    const KEY_3: u16 = 4;
    // "0012345678" on the digit row.
    const DIGITS: [u16; 10] = [KEY_0, KEY_0, KEY_1, 3, 4, 5, 6, 7, 8, 9];

    #[test]
    fn qwerty_reader_digits_then_enter() {
        let mut d = WedgeDecoder::new(WedgeLayout::Qwerty);
        let mut s = typed(&DIGITS, false);
        s.extend(typed(&[KEY_ENTER], false));
        assert_eq!(
            play(&mut d, &s, 0),
            [WedgeFrame::Badge("0012345678".into())]
        );
    }

    #[test]
    fn azerty_reader_sends_shifted_digit_row_and_gives_the_same_number() {
        // Recorded from an AZERTY-set reader: LeftShift down/up around each digit-row key.
        let mut d = WedgeDecoder::new(WedgeLayout::Azerty);
        let mut s = typed(&DIGITS, true);
        s.extend(typed(&[KEY_ENTER], false));
        assert_eq!(
            play(&mut d, &s, 0),
            [WedgeFrame::Badge("0012345678".into())]
        );
        // Hex letters: on AZERTY the `A` key is KEY_Q.
        let s = typed(&[KEY_0, KEY_4, KEY_Q, KEY_B, KEY_KPENTER], true);
        const KEY_4: u16 = 5;
        assert_eq!(play(&mut d, &s, 1000), [WedgeFrame::Badge("04AB".into())]);
    }

    #[test]
    fn numpad_digits_and_autorepeat_and_empty_enters() {
        let mut d = WedgeDecoder::new(WedgeLayout::Qwerty);
        let mut s = vec![(KEY_ENTER, 1), (KEY_ENTER, 0), (KEY_NUMLOCK, 1)];
        s.extend(typed(&[KEY_KP1, KEY_KP9, KEY_KP0], false));
        s.push((KEY_KP0, 2)); // autorepeat is not a key press
        s.extend(typed(&[KEY_KPENTER], false));
        assert_eq!(play(&mut d, &s, 0), [WedgeFrame::Badge("190".into())]);
    }

    #[test]
    fn unexpected_keys_too_long_and_timeouts_are_refused_then_decoding_resumes() {
        let mut d = WedgeDecoder::new(WedgeLayout::Qwerty);
        const KEY_Z: u16 = 44;
        let mut s = typed(&[KEY_1, KEY_Z, KEY_2, KEY_ENTER], false);
        s.extend(typed(&[KEY_3, KEY_ENTER], false));
        assert_eq!(
            play(&mut d, &s, 0),
            [
                WedgeFrame::Bad(WedgeError::UnexpectedKey(KEY_Z)),
                WedgeFrame::Badge("3".into())
            ]
        );
        let mut s = typed(&[KEY_1; MAX_LEN + 1], false);
        s.extend(typed(&[KEY_ENTER], false));
        assert_eq!(
            play(&mut d, &s, 10_000),
            [WedgeFrame::Bad(WedgeError::TooLong)]
        );
        // A badge cut off by silence: the next key starts a fresh one.
        let ms = Duration::from_millis;
        assert_eq!(d.push(KEY_1, 1, ms(20_000)), None);
        assert_eq!(
            d.push(KEY_2, 1, ms(21_000)),
            Some(WedgeFrame::Bad(WedgeError::Timeout))
        );
        assert_eq!(
            d.push(KEY_ENTER, 1, ms(21_010)),
            Some(WedgeFrame::Badge("2".into()))
        );
    }

    /// Found by the `wedge` fuzz target (tests/fuzz): an Enter coming after a partial badge had
    /// timed out was taken as a key of the next badge, so that badge was refused
    /// (`UnexpectedKey(KEY_ENTER)`) although typed correctly.
    #[test]
    fn an_enter_after_a_timed_out_badge_does_not_spoil_the_next_one() {
        let ms = Duration::from_millis;
        for enter in [KEY_ENTER, KEY_KPENTER] {
            let mut d = WedgeDecoder::new(WedgeLayout::Qwerty);
            assert_eq!(d.push(KEY_1, 1, ms(0)), None);
            assert_eq!(
                d.push(enter, 1, ms(600)),
                Some(WedgeFrame::Bad(WedgeError::Timeout))
            );
            assert!(!d.in_badge());
            let s = typed(&[KEY_1, KEY_0, KEY_ENTER], false);
            assert_eq!(play(&mut d, &s, 610), [WedgeFrame::Badge("10".into())]);
        }
    }

    #[test]
    fn arbitrary_key_streams_never_panic() {
        let mut d = WedgeDecoder::new(WedgeLayout::Azerty);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..100_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let code = (x % 120) as u16;
            let value = ((x >> 8) % 3) as i32;
            let _ = d.push(code, value, Duration::from_millis(i * (x >> 20) % 700));
        }
    }

    #[tokio::test]
    async fn a_missing_device_is_offline_and_counted_frames_go_through_the_emitter() {
        let reader = WedgeReader::new("usb", "/nonexistent/event-kbd", WedgeLayout::Qwerty);
        let health = reader.health().unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let task = tokio::spawn(Box::new(reader).run(tx));
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            got.ok().flatten(),
            Some(ReaderEvent::Status {
                reader: "usb".into(),
                online: false
            })
        );
        task.abort();
        // What the driver does with each decoded frame, up to the evdev read.
        let (tx, mut rx) = mpsc::channel(4);
        let out = Emitter {
            name: "usb".into(),
            events: tx,
            health: health.clone(),
        };
        assert!(handle_frame(&out, Some(WedgeFrame::Badge("42".into()))).await);
        assert!(handle_frame(&out, Some(WedgeFrame::Bad(WedgeError::TooLong))).await);
        assert_eq!(
            rx.recv().await,
            Some(ReaderEvent::Credential {
                reader: "usb".into(),
                credential: "42".into()
            })
        );
        let h = health.snapshot();
        assert_eq!((h.frames_ok, h.frames_bad), (1, 1));
    }
}
