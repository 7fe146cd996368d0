//! Wiegand 26/34-bit readers on two GPIO lines (D0, D1), through the Linux GPIO character
//! device: falling edges, kernel timestamps, no kernel debounce, a large event buffer.
//!
//! The frame decoder is pure: [`WiegandDecoder`] takes edges (which line, kernel time in ns)
//! and ends a frame on silence; [`decode_bits`] checks the parity of a 26- or 34-bit frame and
//! splits it into facility code and card number (OSDP `osdp_RAW` reads use it too). The driver
//! reads edges through the [`EdgeSource`] trait: [`GpioEdges`] on a real chip, a channel in
//! tests.
//!
//! Credential normalisation ("FFFCCCCC"): the facility code then the card number, in decimal,
//! zero-padded: 3 + 5 digits for 26-bit (`12345678` is facility 123, card 45678, as printed on
//! H10301 cards), 5 + 5 digits for 34-bit (`0004200042`).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::health::{Emitter, HealthHandle};
use crate::{BoxFuture, HwError, Reader, ReaderEvent};

/// A frame ends after this much silence (readers send bits 1–2 ms apart, 20 ms at the most).
pub const FRAME_SILENCE: Duration = Duration::from_millis(25);
/// An edge on the same line this soon after the previous bit is contact bounce: dropped.
pub const BOUNCE_NS: u64 = 60_000;
/// Edges on both lines this close together are noise: the frame is refused.
pub const NOISE_NS: u64 = 100_000;
/// The longest frame kept (bits beyond are counted, and the frame refused).
const MAX_BITS: u8 = 64;

/// Which data line fell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WiegandLine {
    /// D0 low: a 0 bit.
    D0,
    /// D1 low: a 1 bit.
    D1,
}

/// A falling edge with its kernel timestamp (CLOCK_MONOTONIC, ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub line: WiegandLine,
    pub at_ns: u64,
}

/// Why a frame was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WiegandError {
    /// Neither 26 nor 34 bits (a truncated frame, or a format not supported).
    Length(u8),
    /// A parity bit is wrong.
    Parity,
    /// Edges on both lines at once (cable noise).
    Noise,
}

/// A decoded card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WiegandCard {
    pub bits: u8,
    pub facility: u32,
    pub card: u32,
}

impl WiegandCard {
    /// The badge number, "FFFCCCCC" (26-bit) or "FFFFFCCCCC" (34-bit).
    pub fn credential(&self) -> String {
        if self.bits == 26 {
            format!("{:03}{:05}", self.facility, self.card)
        } else {
            format!("{:05}{:05}", self.facility, self.card)
        }
    }
}

/// One frame, decoded or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WiegandFrame {
    Card(WiegandCard),
    Bad(WiegandError),
}

/// Checks and splits a frame: `bits` holds `len` bits, the first received in the highest place.
/// 26-bit: even parity over bits 1–13, facility (8 bits), card (16 bits), odd parity over
/// bits 14–26. 34-bit: the same with a 16-bit facility and parities over 17 bits each.
pub fn decode_bits(bits: u64, len: u8) -> Result<WiegandCard, WiegandError> {
    let fac_bits = match len {
        26 => 8,
        34 => 16,
        n => return Err(WiegandError::Length(n)),
    };
    let half = u32::from(len) / 2;
    let mask = |n: u32| (1u64 << n) - 1;
    let first = (bits >> half) & mask(half);
    let second = bits & mask(half);
    if first.count_ones() % 2 != 0 || second.count_ones() % 2 != 1 {
        return Err(WiegandError::Parity);
    }
    let payload = (bits >> 1) & mask(u32::from(len) - 2);
    Ok(WiegandCard {
        bits: len,
        facility: ((payload >> 16) & mask(fac_bits)) as u32,
        card: (payload & 0xFFFF) as u32,
    })
}

/// Builds a frame with correct parity (tests, simulators).
pub fn encode_bits(len: u8, facility: u32, card: u32) -> u64 {
    let half = u32::from(len) / 2;
    let payload = (u64::from(facility) << 16) | u64::from(card & 0xFFFF);
    let mut bits = payload << 1;
    let first_data = (bits >> half) & ((1u64 << (half)) - 1);
    if first_data.count_ones() % 2 == 1 {
        bits |= 1 << (len - 1);
    }
    let second_data = bits & ((1u64 << half) - 1);
    if second_data.count_ones() % 2 == 0 {
        bits |= 1;
    }
    bits
}

/// Pure frame decoder over edges.
#[derive(Clone, Debug, Default)]
pub struct WiegandDecoder {
    bits: u64,
    len: u8,
    overflow: bool,
    noise: bool,
    last: Option<Edge>,
}

impl WiegandDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one falling edge. When it comes after a silence, the frame before it ends first
    /// and is returned.
    pub fn push(&mut self, edge: Edge) -> Option<WiegandFrame> {
        let silence_ns = FRAME_SILENCE.as_nanos() as u64;
        let mut ended = None;
        if let Some(last) = self.last {
            let gap = edge.at_ns.saturating_sub(last.at_ns);
            if gap >= silence_ns {
                ended = self.finish();
            } else if gap < BOUNCE_NS && edge.line == last.line {
                return None;
            } else if gap < NOISE_NS && edge.line != last.line {
                self.noise = true;
            }
        }
        if self.len >= MAX_BITS {
            self.overflow = true;
        } else {
            self.bits = (self.bits << 1) | u64::from(edge.line == WiegandLine::D1);
            self.len += 1;
        }
        self.last = Some(edge);
        ended
    }

    /// Whether a frame is in progress.
    pub fn in_frame(&self) -> bool {
        self.len > 0 || self.overflow
    }

    /// Ends the frame in progress if `now_ns` is past its silence.
    pub fn poll(&mut self, now_ns: u64) -> Option<WiegandFrame> {
        let last = self.last?;
        if now_ns.saturating_sub(last.at_ns) >= FRAME_SILENCE.as_nanos() as u64 {
            self.finish()
        } else {
            None
        }
    }

    /// Ends the frame in progress now (the driver saw the silence).
    pub fn finish(&mut self) -> Option<WiegandFrame> {
        if !self.in_frame() {
            self.last = None;
            return None;
        }
        let frame = if self.noise {
            WiegandFrame::Bad(WiegandError::Noise)
        } else if self.overflow {
            WiegandFrame::Bad(WiegandError::Length(MAX_BITS))
        } else {
            match decode_bits(self.bits, self.len) {
                Ok(card) => WiegandFrame::Card(card),
                Err(e) => WiegandFrame::Bad(e),
            }
        };
        *self = WiegandDecoder::default();
        Some(frame)
    }
}

/// Where a Wiegand driver gets its edges from.
pub trait EdgeSource: Send + 'static {
    /// The next falling edge on D0 or D1.
    fn next_edge(&mut self) -> BoxFuture<'_, std::io::Result<Edge>>;
}

/// Edges from two lines of a GPIO chip (`/dev/gpiochipN`), falling edge, kernel timestamps.
pub struct GpioEdges {
    fd: tokio::io::unix::AsyncFd<gpiocdev::Request>,
    d0: u32,
}

/// Kernel buffer for edge events: two full 34-bit frames and more.
const EVENT_BUFFER: u32 = 256;

/// `gpiochip0` or a path: the device path.
pub fn chip_path(chip: &str) -> PathBuf {
    if chip.contains('/') {
        PathBuf::from(chip)
    } else {
        PathBuf::from("/dev").join(chip)
    }
}

pub(crate) fn gpio_err(e: gpiocdev::Error) -> std::io::Error {
    std::io::Error::other(e)
}

/// Registers a line request with the Tokio reactor, for its edge events.
pub(crate) fn async_request(
    req: gpiocdev::Request,
) -> std::io::Result<tokio::io::unix::AsyncFd<gpiocdev::Request>> {
    // SAFETY: a Request owns its line-request descriptor for its whole life and `as_raw_fd`
    // always returns that one descriptor.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(req, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
}

impl GpioEdges {
    pub fn open(chip: &str, d0: u32, d1: u32, consumer: &str) -> std::io::Result<GpioEdges> {
        let req = gpiocdev::Request::builder()
            .on_chip(chip_path(chip))
            .with_consumer(consumer)
            .with_lines(&[d0, d1])
            .as_input()
            .with_edge_detection(gpiocdev::line::EdgeDetection::FallingEdge)
            .with_event_clock(gpiocdev::line::EventClock::Monotonic)
            .with_kernel_event_buffer_size(EVENT_BUFFER)
            .request()
            .map_err(gpio_err)?;
        Ok(GpioEdges {
            fd: async_request(req)?,
            d0,
        })
    }
}

impl EdgeSource for GpioEdges {
    fn next_edge(&mut self) -> BoxFuture<'_, std::io::Result<Edge>> {
        Box::pin(async move {
            loop {
                let mut guard = self.fd.readable().await?;
                let req = self.fd.get_ref();
                if req.has_edge_event().map_err(gpio_err)? {
                    let ev = req.read_edge_event().map_err(gpio_err)?;
                    if !req.has_edge_event().map_err(gpio_err)? {
                        guard.clear_ready();
                    }
                    return Ok(Edge {
                        line: if ev.offset == self.d0 {
                            WiegandLine::D0
                        } else {
                            WiegandLine::D1
                        },
                        at_ns: ev.timestamp_ns,
                    });
                }
                guard.clear_ready();
            }
        })
    }
}

/// Opens an [`EdgeSource`]: how the reader reaches its lines (a GPIO chip, or a test's channel).
pub type EdgeOpener = Box<dyn Fn() -> std::io::Result<Box<dyn EdgeSource>> + Send + Sync>;

/// A Wiegand reader.
pub struct WiegandReader {
    name: String,
    device: String,
    open: EdgeOpener,
    health: HealthHandle,
}

impl WiegandReader {
    /// A reader on lines `d0` and `d1` of `chip` (`gpiochip0` or `/dev/gpiochip0`).
    pub fn gpio(name: impl Into<String>, chip: &str, d0: u32, d1: u32) -> Self {
        let name = name.into();
        let consumer = format!("selfgate-{name}");
        let chip_name = chip.to_owned();
        WiegandReader {
            device: format!("{chip} lines {d0}/{d1}"),
            name,
            open: Box::new(move || {
                Ok(Box::new(GpioEdges::open(&chip_name, d0, d1, &consumer)?)
                    as Box<dyn EdgeSource>)
            }),
            health: HealthHandle::default(),
        }
    }

    /// A reader over any edge source (tests, other GPIO back ends).
    pub fn with_source(
        name: impl Into<String>,
        device: impl Into<String>,
        open: EdgeOpener,
    ) -> Self {
        WiegandReader {
            name: name.into(),
            device: device.into(),
            open,
            health: HealthHandle::default(),
        }
    }
}

impl Reader for WiegandReader {
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
                // Wiegand has no link to supervise: open lines count as online.
                let what = format!("{} ({})", self.name, self.device);
                let Some(mut source) = out
                    .open_or_retry(&what, Duration::from_secs(2), || (self.open)())
                    .await
                else {
                    return Ok(());
                };
                match read_frames(source.as_mut(), &out).await {
                    Ok(()) => return Ok(()),
                    Err(e) => tracing::warn!("reader {} ({}): {e}", self.name, self.device),
                }
                if !out.status(false).await {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    }
}

/// Reads edges into frames until the receiving side goes (Ok) or the source fails (Err).
async fn read_frames(source: &mut dyn EdgeSource, out: &Emitter) -> std::io::Result<()> {
    let mut decoder = WiegandDecoder::new();
    loop {
        let edge = if decoder.in_frame() {
            match tokio::time::timeout(FRAME_SILENCE, source.next_edge()).await {
                Ok(e) => e?,
                Err(_) => {
                    if !emit(out, decoder.finish()).await {
                        return Ok(());
                    }
                    continue;
                }
            }
        } else {
            tokio::select! {
                e = source.next_edge() => e?,
                _ = out.events.closed() => return Ok(()),
            }
        };
        if !emit(out, decoder.push(edge)).await {
            return Ok(());
        }
    }
}

async fn emit(out: &Emitter, frame: Option<WiegandFrame>) -> bool {
    match frame {
        None => true,
        Some(WiegandFrame::Card(card)) => {
            out.health.frame_ok();
            out.credential(card.credential()).await
        }
        Some(WiegandFrame::Bad(e)) => {
            tracing::debug!("reader {}: bad frame: {e:?}", out.name);
            out.health.frame_bad();
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generated stream: `len` bits of `bits`, first at `start_ns`, spaced 2 ms ± jitter.
    fn stream(bits: u64, len: u8, start_ns: u64, seed: &mut u64) -> Vec<Edge> {
        let mut t = start_ns;
        (0..len)
            .map(|i| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                let jitter = (*seed % 1_500_000) as i64 - 750_000; // ± 0.75 ms
                let e = Edge {
                    line: if (bits >> (len - 1 - i)) & 1 == 1 {
                        WiegandLine::D1
                    } else {
                        WiegandLine::D0
                    },
                    at_ns: t,
                };
                t = (t as i64 + 2_000_000 + jitter) as u64;
                e
            })
            .collect()
    }

    fn decode_all(edges: &[Edge], end_ns: u64) -> Vec<WiegandFrame> {
        let mut d = WiegandDecoder::new();
        let mut out: Vec<_> = edges.iter().filter_map(|&e| d.push(e)).collect();
        out.extend(d.poll(end_ns));
        out
    }

    #[test]
    fn parity_and_fields_of_26_and_34_bit_frames() {
        // H10301: facility 123, card 45678.
        let b = encode_bits(26, 123, 45678);
        let card = decode_bits(b, 26).unwrap();
        assert_eq!((card.facility, card.card), (123, 45678));
        assert_eq!(card.credential(), "12345678");
        // A known frame: FC 1, card 1 = 0 00000001 0000000000000001 0 → parity bits 1 and 0.
        #[allow(clippy::unusual_byte_groupings)] // grouped as the frame's fields
        let expected = 0b1_00000001_0000000000000001_0;
        assert_eq!(encode_bits(26, 1, 1), expected);
        let card = decode_bits(encode_bits(34, 42, 42), 34).unwrap();
        assert_eq!(card.credential(), "0004200042");
        for bit in 0..26 {
            assert_eq!(
                decode_bits(b ^ (1 << bit), 26),
                Err(WiegandError::Parity),
                "bit {bit}"
            );
        }
        assert_eq!(decode_bits(b >> 1, 25), Err(WiegandError::Length(25)));
    }

    #[test]
    fn jittered_streams_decode_and_frames_end_on_silence() {
        let mut seed = 0x1234_5678_9ABC_DEF1;
        let mut edges = stream(encode_bits(26, 200, 1), 26, 0, &mut seed);
        // The next card 300 ms later: the first frame ends when its first edge comes.
        edges.extend(stream(
            encode_bits(34, 65535, 65535),
            34,
            300_000_000,
            &mut seed,
        ));
        let frames = decode_all(&edges, 2_000_000_000);
        let creds: Vec<String> = frames
            .iter()
            .map(|f| match f {
                WiegandFrame::Card(c) => c.credential(),
                WiegandFrame::Bad(e) => format!("{e:?}"),
            })
            .collect();
        assert_eq!(creds, ["20000001", "6553565535"]);
        // Not yet silent: nothing ends.
        let mut d = WiegandDecoder::new();
        let edges = stream(encode_bits(26, 1, 2), 26, 0, &mut seed);
        for &e in &edges {
            assert_eq!(d.push(e), None);
        }
        let last = edges[25].at_ns;
        assert_eq!(d.poll(last + 24_000_000), None);
        assert!(matches!(
            d.poll(last + 25_000_000),
            Some(WiegandFrame::Card(WiegandCard { card: 2, .. }))
        ));
    }

    #[test]
    fn truncated_bad_parity_noise_and_bounce() {
        let mut seed = 7;
        let full = stream(encode_bits(26, 12, 3456), 26, 0, &mut seed);
        assert_eq!(
            decode_all(&full[..20], 1_000_000_000),
            [WiegandFrame::Bad(WiegandError::Length(20))]
        );
        let bad = stream(encode_bits(26, 12, 3456) ^ 0b100, 26, 0, &mut seed);
        assert_eq!(
            decode_all(&bad, 1_000_000_000),
            [WiegandFrame::Bad(WiegandError::Parity)]
        );
        // A bounce (same line, 20 µs later) is dropped: the frame still decodes.
        let mut bounced = full.clone();
        bounced.insert(
            5,
            Edge {
                line: full[4].line,
                at_ns: full[4].at_ns + 20_000,
            },
        );
        assert!(matches!(
            decode_all(&bounced, 1_000_000_000)[..],
            [WiegandFrame::Card(WiegandCard { card: 3456, .. })]
        ));
        // Both lines at once: noise, refused.
        let mut noisy = full.clone();
        let other = match full[4].line {
            WiegandLine::D0 => WiegandLine::D1,
            WiegandLine::D1 => WiegandLine::D0,
        };
        noisy.insert(
            5,
            Edge {
                line: other,
                at_ns: full[4].at_ns + 10_000,
            },
        );
        assert_eq!(
            decode_all(&noisy, 1_000_000_000),
            [WiegandFrame::Bad(WiegandError::Noise)]
        );
        // Endless bits: refused, no overflow.
        let long: Vec<Edge> = (0..200)
            .map(|i| Edge {
                line: WiegandLine::D1,
                at_ns: i * 1_000_000,
            })
            .collect();
        assert_eq!(
            decode_all(&long, 10_000_000_000),
            [WiegandFrame::Bad(WiegandError::Length(MAX_BITS))]
        );
    }

    /// Edges from a test's channel, as the GPIO chip would give them.
    struct ChannelEdges(mpsc::Receiver<Edge>);

    impl EdgeSource for ChannelEdges {
        fn next_edge(&mut self) -> BoxFuture<'_, std::io::Result<Edge>> {
            Box::pin(async move {
                self.0
                    .recv()
                    .await
                    .ok_or_else(|| std::io::Error::other("lines released"))
            })
        }
    }

    #[tokio::test]
    async fn reader_turns_edges_into_credentials_through_the_edge_source() {
        let (edge_tx, edge_rx) = mpsc::channel(256);
        let slot = std::sync::Mutex::new(Some(edge_rx));
        let reader = WiegandReader::with_source(
            "wg",
            "test",
            Box::new(move || {
                let rx = slot
                    .lock()
                    .unwrap()
                    .take()
                    .ok_or_else(|| std::io::Error::other("gone"))?;
                Ok(Box::new(ChannelEdges(rx)) as Box<dyn EdgeSource>)
            }),
        );
        let health = reader.health().unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let task = tokio::spawn(Box::new(reader).run(tx));
        let next = async |rx: &mut mpsc::Receiver<ReaderEvent>| {
            tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap()
        };
        assert!(matches!(
            next(&mut rx).await,
            ReaderEvent::Status { online: true, .. }
        ));
        let mut seed = 99;
        // A bad-parity frame, then a good one: each ends on the driver's silence timer.
        for e in stream(encode_bits(26, 1, 1) ^ 1, 26, 0, &mut seed) {
            edge_tx.send(e).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        for e in stream(encode_bits(26, 5, 777), 26, 1_000_000_000, &mut seed) {
            edge_tx.send(e).await.unwrap();
        }
        assert_eq!(
            next(&mut rx).await,
            ReaderEvent::Credential {
                reader: "wg".into(),
                credential: "00500777".into()
            }
        );
        let h = health.snapshot();
        assert_eq!((h.frames_ok, h.frames_bad), (1, 1));
        // The lines go away: offline.
        drop(edge_tx);
        assert!(matches!(
            next(&mut rx).await,
            ReaderEvent::Status { online: false, .. }
        ));
        task.abort();
    }

    #[tokio::test]
    async fn no_gpio_chip_here_means_offline_not_a_crash() {
        let reader = WiegandReader::gpio("wg", "gpiochip99", 17, 27);
        let (tx, mut rx) = mpsc::channel(4);
        let task = tokio::spawn(Box::new(reader).run(tx));
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert!(matches!(
            got,
            Ok(Some(ReaderEvent::Status { online: false, .. }))
        ));
        task.abort();
    }
}
