//! The turnstile on GPIO: a relay output pulsed once per passage, and two inputs, "passage
//! done" (someone went through) and "emergency" (the fire release is active).
//!
//! [`GpioTurnstile`] works over two small traits, [`RelayLine`] and [`InputSource`]; the Linux
//! GPIO character device implements both ([`CdevRelay`], [`CdevInputs`], any board), rppal
//! implements the relay on a Raspberry Pi (feature `rpi`, `rpi::RpiRelay`).
//!
//! The relay is released when the pulse ends, when the pulse's future is dropped, and when the
//! turnstile is dropped: never a held level. The timeout after which a granted person who did
//! not pass gets a "not passed" event is the daemon's (it owns the journal): this module only
//! reports [`TurnstileInput::PassageDone`] edges.
//!
//! Inputs are dry contacts to ground with the pull-up enabled, so they read active low; the
//! kernel debounces them (10 ms). The emergency input's state is reported once at start.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::wiegand::{async_request, chip_path, gpio_err};
use crate::{BoxFuture, HwError, Turnstile, TurnstileInput};

/// Drives the turnstile's relay.
pub trait RelayLine: Send + Sync + 'static {
    /// Energises (`true`) or releases (`false`) the relay.
    fn set(&self, active: bool) -> std::io::Result<()>;
}

/// Which input changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputRole {
    PassageDone,
    Emergency,
}

/// Where input changes come from.
pub trait InputSource: Send + 'static {
    /// The inputs' state at start (role, active), reported before any change.
    fn initial(&mut self) -> std::io::Result<Vec<(InputRole, bool)>>;
    /// The next change: which input, and whether it is now active.
    fn next(&mut self) -> BoxFuture<'_, std::io::Result<(InputRole, bool)>>;
    /// The inputs wired (by default, both).
    fn roles(&self) -> Vec<InputRole> {
        vec![InputRole::PassageDone, InputRole::Emergency]
    }
}

/// What an input change means for the gate.
pub fn input_event(role: InputRole, active: bool) -> Option<TurnstileInput> {
    match (role, active) {
        (InputRole::PassageDone, true) => Some(TurnstileInput::PassageDone),
        (InputRole::PassageDone, false) => None,
        (InputRole::Emergency, true) => Some(TurnstileInput::EmergencyOn),
        (InputRole::Emergency, false) => Some(TurnstileInput::EmergencyOff),
    }
}

/// A turnstile on a relay line and optional inputs.
pub struct GpioTurnstile {
    name: String,
    relay: Arc<dyn RelayLine>,
    inputs: Mutex<Option<Box<dyn InputSource>>>,
    /// A "passage done" input is wired.
    passage_done: bool,
    /// One pulse at a time.
    pulsing: tokio::sync::Mutex<()>,
}

/// Releases the relay when dropped (a pulse cancelled halfway, a panic).
struct Release<'a>(&'a dyn RelayLine);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.set(false) {
            tracing::error!("turnstile relay could not be released: {e}");
        }
    }
}

impl GpioTurnstile {
    pub fn new(
        name: impl Into<String>,
        relay: Arc<dyn RelayLine>,
        inputs: Option<Box<dyn InputSource>>,
    ) -> Result<Self, HwError> {
        let name = name.into();
        relay.set(false).map_err(|source| HwError::Io {
            device: name.clone(),
            source,
        })?;
        let passage_done = inputs
            .as_ref()
            .is_some_and(|i| i.roles().contains(&InputRole::PassageDone));
        Ok(GpioTurnstile {
            name,
            relay,
            passage_done,
            inputs: Mutex::new(inputs),
            pulsing: tokio::sync::Mutex::new(()),
        })
    }
}

impl Drop for GpioTurnstile {
    fn drop(&mut self) {
        let _ = self.relay.set(false);
    }
}

impl Turnstile for GpioTurnstile {
    fn name(&self) -> &str {
        &self.name
    }
    fn pulse(&self, _tag: &str, length_ms: u32) -> BoxFuture<'_, Result<(), HwError>> {
        Box::pin(async move {
            let io = |source| HwError::Io {
                device: self.name.clone(),
                source,
            };
            let _one = self.pulsing.lock().await;
            let release = Release(self.relay.as_ref());
            self.relay.set(true).map_err(io)?;
            tokio::time::sleep(Duration::from_millis(u64::from(length_ms))).await;
            std::mem::forget(release);
            self.relay.set(false).map_err(io)
        })
    }
    fn reports_passage_done(&self) -> bool {
        self.passage_done
    }
    fn watch_inputs(&self, tx: mpsc::Sender<TurnstileInput>) {
        let Some(mut source) = self
            .inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let name = self.name.clone();
        tokio::spawn(async move {
            match source.initial() {
                Ok(states) => {
                    for (role, active) in states {
                        // Only an active emergency matters at start.
                        if role == InputRole::Emergency
                            && active
                            && tx.send(TurnstileInput::EmergencyOn).await.is_err()
                        {
                            return;
                        }
                    }
                }
                Err(e) => tracing::error!("turnstile {name}: cannot read inputs: {e}"),
            }
            loop {
                let change = tokio::select! {
                    c = source.next() => c,
                    _ = tx.closed() => return,
                };
                match change {
                    Ok((role, active)) => {
                        let Some(ev) = input_event(role, active) else {
                            continue;
                        };
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::error!("turnstile {name}: inputs stopped: {e}");
                        return;
                    }
                }
            }
        });
    }
}

/// The relay on one line of a GPIO chip.
pub struct CdevRelay {
    req: gpiocdev::Request,
    line: u32,
}

impl CdevRelay {
    /// Requests `line` of `chip` as an output, released (inactive) at once. With `active_low`
    /// the relay is energised by driving the line low (most relay boards).
    pub fn open(chip: &str, line: u32, active_low: bool, consumer: &str) -> std::io::Result<Self> {
        let mut b = gpiocdev::Request::builder();
        b.on_chip(chip_path(chip))
            .with_consumer(consumer)
            .with_line(line)
            .as_output(gpiocdev::line::Value::Inactive);
        if active_low {
            b.as_active_low();
        }
        Ok(CdevRelay {
            req: b.request().map_err(gpio_err)?,
            line,
        })
    }
}

impl RelayLine for CdevRelay {
    fn set(&self, active: bool) -> std::io::Result<()> {
        let v = if active {
            gpiocdev::line::Value::Active
        } else {
            gpiocdev::line::Value::Inactive
        };
        self.req.set_value(self.line, v).map_err(gpio_err)
    }
}

/// The passage-done and emergency inputs on lines of a GPIO chip.
pub struct CdevInputs {
    fd: tokio::io::unix::AsyncFd<gpiocdev::Request>,
    lines: Vec<(u32, InputRole)>,
}

impl CdevInputs {
    /// Both edges, pull-up, active low, debounced 10 ms by the kernel. Call within a Tokio
    /// runtime.
    pub fn open(
        chip: &str,
        passage_done: Option<u32>,
        emergency: Option<u32>,
        consumer: &str,
    ) -> std::io::Result<Self> {
        let mut lines = Vec::new();
        lines.extend(passage_done.map(|l| (l, InputRole::PassageDone)));
        lines.extend(emergency.map(|l| (l, InputRole::Emergency)));
        let offsets: Vec<u32> = lines.iter().map(|(l, _)| *l).collect();
        let req = gpiocdev::Request::builder()
            .on_chip(chip_path(chip))
            .with_consumer(consumer)
            .with_lines(&offsets)
            .as_input()
            .as_active_low()
            .with_bias(gpiocdev::line::Bias::PullUp)
            .with_debounce_period(Duration::from_millis(10))
            .with_edge_detection(gpiocdev::line::EdgeDetection::BothEdges)
            .request()
            .map_err(gpio_err)?;
        Ok(CdevInputs {
            fd: async_request(req)?,
            lines,
        })
    }

    fn role(&self, line: u32) -> InputRole {
        self.lines
            .iter()
            .find(|(l, _)| *l == line)
            .map_or(InputRole::PassageDone, |(_, r)| *r)
    }
}

impl InputSource for CdevInputs {
    fn roles(&self) -> Vec<InputRole> {
        self.lines.iter().map(|(_, r)| *r).collect()
    }
    fn initial(&mut self) -> std::io::Result<Vec<(InputRole, bool)>> {
        let req = self.fd.get_ref();
        self.lines
            .iter()
            .map(|&(line, role)| {
                let v = req.value(line).map_err(gpio_err)?;
                Ok((role, v == gpiocdev::line::Value::Active))
            })
            .collect()
    }
    fn next(&mut self) -> BoxFuture<'_, std::io::Result<(InputRole, bool)>> {
        Box::pin(async move {
            loop {
                let mut guard = self.fd.readable().await?;
                let req = self.fd.get_ref();
                if req.has_edge_event().map_err(gpio_err)? {
                    let ev = req.read_edge_event().map_err(gpio_err)?;
                    if !req.has_edge_event().map_err(gpio_err)? {
                        guard.clear_ready();
                    }
                    let active = ev.kind == gpiocdev::line::EdgeKind::Rising;
                    return Ok((self.role(ev.offset), active));
                }
                guard.clear_ready();
            }
        })
    }
}

/// The relay through rppal on a Raspberry Pi (BCM pin numbers).
#[cfg(feature = "rpi")]
pub mod rpi {
    use std::sync::{Mutex, PoisonError};

    use super::RelayLine;

    pub struct RpiRelay {
        pin: Mutex<rppal::gpio::OutputPin>,
        active_low: bool,
    }

    impl RpiRelay {
        pub fn open(bcm_pin: u8, active_low: bool) -> std::io::Result<Self> {
            let err = |e: rppal::gpio::Error| std::io::Error::other(e);
            let pin = rppal::gpio::Gpio::new()
                .map_err(err)?
                .get(bcm_pin)
                .map_err(err)?;
            let pin = if active_low {
                pin.into_output_high()
            } else {
                pin.into_output_low()
            };
            Ok(RpiRelay {
                pin: Mutex::new(pin),
                active_low,
            })
        }
    }

    impl RelayLine for RpiRelay {
        fn set(&self, active: bool) -> std::io::Result<()> {
            let mut pin = self.pin.lock().unwrap_or_else(PoisonError::into_inner);
            if active != self.active_low {
                pin.set_high();
            } else {
                pin.set_low();
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A relay that records (time, level).
    #[derive(Default)]
    struct FakeRelay(Mutex<Vec<(Instant, bool)>>);

    impl RelayLine for FakeRelay {
        fn set(&self, active: bool) -> std::io::Result<()> {
            self.0.lock().unwrap().push((Instant::now(), active));
            Ok(())
        }
    }

    impl FakeRelay {
        fn levels(&self) -> Vec<bool> {
            self.0.lock().unwrap().iter().map(|(_, l)| *l).collect()
        }
    }

    struct FakeInputs {
        initial: Vec<(InputRole, bool)>,
        rx: mpsc::Receiver<(InputRole, bool)>,
    }

    impl InputSource for FakeInputs {
        fn initial(&mut self) -> std::io::Result<Vec<(InputRole, bool)>> {
            Ok(self.initial.clone())
        }
        fn next(&mut self) -> BoxFuture<'_, std::io::Result<(InputRole, bool)>> {
            Box::pin(async move {
                self.rx
                    .recv()
                    .await
                    .ok_or_else(|| std::io::Error::other("released"))
            })
        }
    }

    #[tokio::test]
    async fn a_pulse_energises_the_relay_for_its_length_then_releases_it() {
        let relay = Arc::new(FakeRelay::default());
        let t = GpioTurnstile::new("t", relay.clone(), None).unwrap();
        assert!(!t.reports_passage_done(), "no inputs wired");
        t.pulse("ligne-1/1", 120).await.unwrap();
        let log = relay.0.lock().unwrap().clone();
        assert_eq!(relay.levels(), [false, true, false]);
        let held = log[2].0 - log[1].0;
        assert!(held >= Duration::from_millis(120), "{held:?}");
        assert!(held < Duration::from_millis(400), "{held:?}");
    }

    #[tokio::test]
    async fn a_cancelled_pulse_and_a_dropped_turnstile_release_the_relay() {
        let relay = Arc::new(FakeRelay::default());
        let t = GpioTurnstile::new("t", relay.clone(), None).unwrap();
        let r = tokio::time::timeout(Duration::from_millis(20), t.pulse("x", 5000)).await;
        assert!(r.is_err(), "cancelled halfway");
        assert_eq!(relay.levels(), [false, true, false]);
        drop(t);
        assert_eq!(relay.levels().last(), Some(&false));
    }

    #[tokio::test]
    async fn inputs_become_turnstile_events_with_the_emergency_state_at_start() {
        assert_eq!(input_event(InputRole::PassageDone, false), None);
        let relay = Arc::new(FakeRelay::default());
        let (in_tx, in_rx) = mpsc::channel(8);
        let inputs = FakeInputs {
            initial: vec![
                (InputRole::PassageDone, false),
                (InputRole::Emergency, true),
            ],
            rx: in_rx,
        };
        let t = GpioTurnstile::new("t", relay, Some(Box::new(inputs))).unwrap();
        assert!(t.reports_passage_done());
        let (tx, mut rx) = mpsc::channel(8);
        t.watch_inputs(tx);
        for change in [
            (InputRole::Emergency, false),
            (InputRole::PassageDone, true),
            (InputRole::PassageDone, false),
            (InputRole::Emergency, true),
        ] {
            in_tx.send(change).await.unwrap();
        }
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(
                tokio::time::timeout(Duration::from_secs(5), rx.recv())
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        assert_eq!(
            got,
            [
                TurnstileInput::EmergencyOn,
                TurnstileInput::EmergencyOff,
                TurnstileInput::PassageDone,
                TurnstileInput::EmergencyOn
            ]
        );
    }

    #[tokio::test]
    async fn no_gpio_chip_here_is_an_error_not_a_crash() {
        assert!(CdevRelay::open("gpiochip99", 17, true, "selfgate-test").is_err());
        assert!(CdevInputs::open("/dev/gpiochip99", Some(22), Some(23), "selfgate-test").is_err());
    }
}
