//! `[gate]`: the gate's id, its pulse, and the real readers' and turnstiles' keys
//! (`gate.readers[]`, `gate.turnstile`), validated into [`GateConfig`], [`ReaderConfig`] and
//! [`TurnstileConfig`]; every error names its key. The drivers are in
//! `selfgate-hardware`; `hardware/README.md` tells how to wire them.

use std::path::{Path, PathBuf};

use selfgate_hardware::wedge::WedgeLayout;

use serde::Deserialize;

use super::Validator;

#[derive(Clone, Debug)]
pub struct GateConfig {
    pub id: String,
    pub pulse_ms: u32,
    /// With a "passage done" input: a granted person who has not gone through this long after
    /// the pulse gets a `not_passed` correction (refund, anti-passback freed).
    pub passage_timeout_ms: Option<u32>,
    pub readers: Vec<ReaderConfig>,
    pub turnstile: TurnstileConfig,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderConfig {
    /// One credential per line from a file or named pipe (simulated hardware).
    Line { name: String, path: PathBuf },
    /// Fed by the daemon itself (demo).
    Simulated { name: String },
    /// EM4100 / RDM6300 on a serial port.
    Em4100 {
        name: String,
        device: PathBuf,
        baud: u32,
    },
    /// A USB keyboard-wedge reader through evdev (grabbed).
    UsbWedge {
        name: String,
        device: PathBuf,
        layout: selfgate_hardware::wedge::WedgeLayout,
    },
    /// Wiegand 26/34 on two lines of a GPIO chip.
    Wiegand {
        name: String,
        chip: String,
        d0_line: u32,
        d1_line: u32,
    },
    /// An OSDP reader on an RS-485 bus.
    Osdp {
        name: String,
        device: PathBuf,
        baud: u32,
        address: u8,
        secure: bool,
        key_file: Option<PathBuf>,
        install_mode: bool,
        /// The reader's output pulsed (`osdp_OUT`) on a pass: a reader-side relay.
        relay_output: Option<u8>,
    },
}

impl ReaderConfig {
    pub fn name(&self) -> &str {
        match self {
            ReaderConfig::Line { name, .. }
            | ReaderConfig::Simulated { name }
            | ReaderConfig::Em4100 { name, .. }
            | ReaderConfig::UsbWedge { name, .. }
            | ReaderConfig::Wiegand { name, .. }
            | ReaderConfig::Osdp { name, .. } => name,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnstileConfig {
    Simulated {
        pulse_log: Option<PathBuf>,
    },
    /// A relay and optional inputs on a GPIO chip (character device).
    Gpio {
        chip: String,
        relay_line: u32,
        active_low: bool,
        passage_done_line: Option<u32>,
        emergency_line: Option<u32>,
    },
    /// The relay through rppal on a Raspberry Pi (BCM number; inputs on `chip`).
    Rpi {
        relay_pin: u32,
        active_low: bool,
        chip: String,
        passage_done_line: Option<u32>,
        emergency_line: Option<u32>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawGate {
    pub(super) id: String,
    pub(super) pulse_ms: u32,
    pub(super) passage_timeout_ms: Option<u32>,
    pub(super) readers: Vec<RawReader>,
    pub(super) turnstile: RawTurnstile,
}

impl Default for RawGate {
    fn default() -> Self {
        RawGate {
            id: "ligne-1".into(),
            pulse_ms: 300,
            passage_timeout_ms: None,
            readers: Vec::new(),
            turnstile: RawTurnstile::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReader {
    pub(super) name: Option<String>,
    pub(super) kind: String,
    pub(super) path: Option<String>,
    // Hardware readers' keys: `config/hardware.rs`.
    pub(super) device: Option<String>,
    pub(super) baud: Option<u32>,
    pub(super) layout: Option<String>,
    pub(super) chip: Option<String>,
    d0_line: Option<u32>,
    d1_line: Option<u32>,
    pub(super) address: Option<u32>,
    pub(super) secure: Option<bool>,
    pub(super) key_file: Option<String>,
    pub(super) install_mode: Option<bool>,
    pub(super) relay_output: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTurnstile {
    #[serde(default = "simulated")]
    pub(super) kind: String,
    pub(super) pulse_log: Option<String>,
    // GPIO turnstiles' keys: `config/hardware.rs`.
    pub(super) chip: Option<String>,
    pub(super) relay_line: Option<u32>,
    pub(super) active_low: Option<bool>,
    pub(super) passage_done_line: Option<u32>,
    pub(super) emergency_line: Option<u32>,
}

pub(super) fn simulated() -> String {
    "simulated".into()
}

impl Default for RawTurnstile {
    fn default() -> Self {
        RawTurnstile {
            kind: simulated(),
            pulse_log: None,
            chip: None,
            relay_line: None,
            active_low: None,
            passage_done_line: None,
            emergency_line: None,
        }
    }
}

/// The reader kinds, for messages.
pub(super) const READER_KINDS: &str = "line, simulated, em4100, usb_wedge, wiegand, osdp";
/// The turnstile kinds, for messages.
pub(super) const TURNSTILE_KINDS: &str = "simulated, gpio, rpi";

const BAUDS: [u32; 8] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200];

impl Validator {
    pub(super) fn gate(&mut self, raw: RawGate) -> Option<GateConfig> {
        if raw.id.is_empty()
            || raw.id.len() > 32
            || !raw
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.err(
                "gate.id",
                format!("`{}` must be 1-32 letters, digits, - or _", raw.id),
            );
        }
        if !(50..=5000).contains(&raw.pulse_ms) {
            self.err(
                "gate.pulse_ms",
                format!("{} is outside 50..=5000 ms", raw.pulse_ms),
            );
        }
        if let Some(t) = raw.passage_timeout_ms {
            if !(1000..=600_000).contains(&t) {
                self.err(
                    "gate.passage_timeout_ms",
                    format!("{t} is outside 1000..=600000 ms"),
                );
            }
            if matches!(raw.turnstile.kind.as_str(), "gpio" | "rpi")
                && raw.turnstile.passage_done_line.is_none()
            {
                self.err(
                    "gate.passage_timeout_ms",
                    "needs the turnstile's \"passage done\" input (gate.turnstile.passage_done_line)",
                );
            }
        }
        let mut readers = Vec::new();
        for (i, r) in raw.readers.into_iter().enumerate() {
            let key = format!("gate.readers[{i}]");
            let name = r
                .name
                .clone()
                .unwrap_or_else(|| format!("lecteur-{}", i + 1));
            match (r.kind.as_str(), r.path.clone()) {
                ("line", Some(path)) => readers.push(ReaderConfig::Line {
                    name,
                    path: PathBuf::from(path),
                }),
                ("line", None) => self.err(
                    &format!("{key}.path"),
                    "a `line` reader needs a path (a file or named pipe)",
                ),
                ("simulated", _) => readers.push(ReaderConfig::Simulated { name }),
                _ => readers.extend(self.hardware_reader(&key, name, &r)),
            }
        }
        let turnstile = match raw.turnstile.kind.as_str() {
            "simulated" => TurnstileConfig::Simulated {
                pulse_log: raw.turnstile.pulse_log.map(PathBuf::from),
            },
            _ => self.hardware_turnstile(&raw.turnstile)?,
        };
        self.osdp_buses(&readers);
        Some(GateConfig {
            id: raw.id,
            pulse_ms: raw.pulse_ms,
            passage_timeout_ms: raw.passage_timeout_ms,
            readers,
            turnstile,
        })
    }

    fn required<T: Clone>(&mut self, key: &str, v: &Option<T>, what: &str) -> Option<T> {
        if v.is_none() {
            self.err(key, format!("missing: {what}"));
        }
        v.clone()
    }

    fn baud(&mut self, key: &str, baud: Option<u32>, default: u32) -> u32 {
        let b = baud.unwrap_or(default);
        if !BAUDS.contains(&b) {
            self.err(key, format!("{b} is not a serial speed ({BAUDS:?})"));
        }
        b
    }

    /// Checks the fields a reader kind does not use are absent (a key meant for another kind
    /// is a mistake worth naming).
    fn unused(&mut self, key: &str, kind: &str, r: &RawReader, allowed: &[&str]) {
        let present = [
            ("path", r.path.is_some()),
            ("device", r.device.is_some()),
            ("baud", r.baud.is_some()),
            ("layout", r.layout.is_some()),
            ("chip", r.chip.is_some()),
            ("d0_line", r.d0_line.is_some()),
            ("d1_line", r.d1_line.is_some()),
            ("address", r.address.is_some()),
            ("secure", r.secure.is_some()),
            ("key_file", r.key_file.is_some()),
            ("install_mode", r.install_mode.is_some()),
            ("relay_output", r.relay_output.is_some()),
        ];
        for (field, set) in present {
            if set && !allowed.contains(&field) {
                self.err(
                    &format!("{key}.{field}"),
                    format!("not a key of a `{kind}` reader"),
                );
            }
        }
    }

    /// A reader of a hardware kind; `None` (with errors recorded) when it is not valid.
    pub(super) fn hardware_reader(
        &mut self,
        key: &str,
        name: String,
        r: &RawReader,
    ) -> Option<ReaderConfig> {
        let kind = r.kind.as_str();
        match kind {
            "em4100" => {
                self.unused(key, kind, r, &["device", "baud"]);
                let device = self.required(
                    &format!("{key}.device"),
                    &r.device,
                    "the serial port, such as /dev/ttyUSB0 or /dev/serial0",
                );
                let baud = self.baud(&format!("{key}.baud"), r.baud, 9600);
                Some(ReaderConfig::Em4100 {
                    name,
                    device: PathBuf::from(device?),
                    baud,
                })
            }
            "usb_wedge" => {
                self.unused(key, kind, r, &["device", "layout"]);
                let device = self.required(
                    &format!("{key}.device"),
                    &r.device,
                    "the input device, such as /dev/input/by-id/usb-…-event-kbd",
                )?;
                let layout = match r.layout.as_deref().unwrap_or("qwerty") {
                    "qwerty" => WedgeLayout::Qwerty,
                    "azerty" => WedgeLayout::Azerty,
                    other => {
                        self.err(
                            &format!("{key}.layout"),
                            format!("`{other}` is not a layout (qwerty, azerty)"),
                        );
                        return None;
                    }
                };
                Some(ReaderConfig::UsbWedge {
                    name,
                    device: PathBuf::from(device),
                    layout,
                })
            }
            "wiegand" => {
                self.unused(key, kind, r, &["chip", "d0_line", "d1_line"]);
                let chip = self.required(
                    &format!("{key}.chip"),
                    &r.chip,
                    "the GPIO chip, such as gpiochip0",
                );
                let d0 = self.required(&format!("{key}.d0_line"), &r.d0_line, "D0's line");
                let d1 = self.required(&format!("{key}.d1_line"), &r.d1_line, "D1's line");
                let (chip, d0_line, d1_line) = (chip?, d0?, d1?);
                if d0_line == d1_line {
                    self.err(&format!("{key}.d1_line"), "D0 and D1 must be two lines");
                    return None;
                }
                Some(ReaderConfig::Wiegand {
                    name,
                    chip,
                    d0_line,
                    d1_line,
                })
            }
            "osdp" => {
                self.unused(
                    key,
                    kind,
                    r,
                    &[
                        "device",
                        "baud",
                        "address",
                        "secure",
                        "key_file",
                        "install_mode",
                        "relay_output",
                    ],
                );
                let device = self.required(
                    &format!("{key}.device"),
                    &r.device,
                    "the RS-485 serial port, such as /dev/ttyUSB0",
                )?;
                let baud = self.baud(&format!("{key}.baud"), r.baud, 9600);
                let address = r.address.unwrap_or(0);
                if address > 126 {
                    self.err(
                        &format!("{key}.address"),
                        format!("{address} is outside 0..=126"),
                    );
                }
                let secure = r.secure.unwrap_or(true);
                let install_mode = r.install_mode.unwrap_or(false);
                let key_file = r.key_file.as_ref().map(PathBuf::from);
                match &key_file {
                    Some(path) => self.scbk_file(&format!("{key}.key_file"), path),
                    None if secure => self.err(
                        &format!("{key}.key_file"),
                        "missing: the reader's secure channel key (SCBK) file, 32 hex digits",
                    ),
                    None => {}
                }
                if install_mode && !secure {
                    self.err(
                        &format!("{key}.install_mode"),
                        "install mode sets a secure channel key: it needs secure = true",
                    );
                }
                if r.relay_output.is_some_and(|n| n > 255) {
                    self.err(
                        &format!("{key}.relay_output"),
                        "an output number of the reader, 0..=255",
                    );
                }
                Some(ReaderConfig::Osdp {
                    name,
                    device: PathBuf::from(device),
                    baud,
                    address: address.min(126) as u8,
                    secure,
                    key_file,
                    install_mode,
                    relay_output: r.relay_output.map(|n| n.min(255) as u8),
                })
            }
            other => {
                self.err(
                    &format!("{key}.kind"),
                    format!("`{other}` is not a reader kind ({READER_KINDS})"),
                );
                None
            }
        }
    }

    /// OSDP readers sharing a `device` are one RS-485 bus (multi-drop): one speed, one address
    /// each.
    pub(super) fn osdp_buses(&mut self, readers: &[ReaderConfig]) {
        let mut seen: Vec<(&Path, u32, u8)> = Vec::new();
        for (i, r) in readers.iter().enumerate() {
            let ReaderConfig::Osdp {
                device,
                baud,
                address,
                ..
            } = r
            else {
                continue;
            };
            for &(d, b, a) in &seen {
                if d != device.as_path() {
                    continue;
                }
                if b != *baud {
                    self.err(
                        &format!("gate.readers[{i}].baud"),
                        format!(
                            "{baud}: the readers on {} share one bus, at {b} bauds",
                            d.display()
                        ),
                    );
                }
                if a == *address {
                    self.err(
                        &format!("gate.readers[{i}].address"),
                        format!(
                            "{address} is already the address of another reader on {}",
                            d.display()
                        ),
                    );
                }
            }
            seen.push((device, *baud, *address));
        }
    }

    /// The key file must hold 32 hex digits and be readable by its owner only.
    fn scbk_file(&mut self, key: &str, path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => self.err(
                key,
                format!(
                    "{} is readable by group or others (mode {:o}): chmod 600 it",
                    path.display(),
                    m.permissions().mode() & 0o777
                ),
            ),
            Ok(_) => match std::fs::read_to_string(path) {
                Ok(text) if selfgate_hardware::parse_scbk(&text).is_some() => {}
                Ok(_) => self.err(
                    key,
                    format!("{} must hold 32 hex digits (16 bytes)", path.display()),
                ),
                Err(e) => self.err(key, format!("cannot read {}: {e}", path.display())),
            },
            Err(e) => self.err(key, format!("cannot read {}: {e}", path.display())),
        }
    }

    /// A turnstile of a hardware kind.
    pub(super) fn hardware_turnstile(&mut self, t: &RawTurnstile) -> Option<TurnstileConfig> {
        let kind = t.kind.as_str();
        if !matches!(kind, "gpio" | "rpi") {
            self.err(
                "gate.turnstile.kind",
                format!("`{kind}` is not a turnstile kind ({TURNSTILE_KINDS})"),
            );
            return None;
        }
        if t.pulse_log.is_some() {
            self.err(
                "gate.turnstile.pulse_log",
                format!("not a key of a `{kind}` turnstile"),
            );
        }
        let relay_line = self.required(
            "gate.turnstile.relay_line",
            &t.relay_line,
            if kind == "rpi" {
                "the relay's BCM GPIO number"
            } else {
                "the relay's line on the chip"
            },
        )?;
        let inputs = [t.passage_done_line, t.emergency_line];
        if kind == "gpio" || inputs.iter().any(Option::is_some) {
            self.required(
                "gate.turnstile.chip",
                &t.chip,
                "the GPIO chip, such as gpiochip0",
            )?;
        }
        let lines: Vec<u32> = std::iter::once(relay_line)
            .chain(inputs.into_iter().flatten())
            .collect();
        for (i, l) in lines.iter().enumerate() {
            if lines[..i].contains(l) {
                self.err(
                    "gate.turnstile",
                    format!("line {l} is given twice (relay, passage done, emergency)"),
                );
            }
        }
        let chip = t.chip.clone().unwrap_or_default();
        let active_low = t.active_low.unwrap_or(false);
        Some(if kind == "gpio" {
            TurnstileConfig::Gpio {
                chip,
                relay_line,
                active_low,
                passage_done_line: t.passage_done_line,
                emergency_line: t.emergency_line,
            }
        } else {
            TurnstileConfig::Rpi {
                relay_pin: relay_line,
                active_low,
                chip,
                passage_done_line: t.passage_done_line,
                emergency_line: t.emergency_line,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn gate(readers: &str, turnstile: &str) -> Result<Config, Vec<String>> {
        let text = format!("[gate]\n{readers}\n[gate.turnstile]\n{turnstile}\n");
        Config::parse(&text, "t.toml").map_err(|e| e.errors)
    }

    #[test]
    fn every_reader_kind_is_read_with_its_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("scbk");
        std::fs::write(&key, "000102030405060708090a0b0c0d0e0f\n").unwrap();
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let readers = format!(
            r#"
[[gate.readers]]
kind = "em4100"
device = "/dev/ttyUSB0"
[[gate.readers]]
name = "usb"
kind = "usb_wedge"
device = "/dev/input/by-id/usb-reader-event-kbd"
layout = "azerty"
[[gate.readers]]
kind = "wiegand"
chip = "gpiochip0"
d0_line = 17
d1_line = 27
[[gate.readers]]
kind = "osdp"
device = "/dev/ttyUSB1"
baud = 115200
address = 1
key_file = "{}"
install_mode = true
"#,
            key.display()
        );
        let c = gate(
            &readers,
            "kind = \"gpio\"\nchip = \"gpiochip0\"\nrelay_line = 5\nactive_low = true\nemergency_line = 6",
        )
        .unwrap();
        assert_eq!(
            c.gate.readers,
            [
                ReaderConfig::Em4100 {
                    name: "lecteur-1".into(),
                    device: "/dev/ttyUSB0".into(),
                    baud: 9600
                },
                ReaderConfig::UsbWedge {
                    name: "usb".into(),
                    device: "/dev/input/by-id/usb-reader-event-kbd".into(),
                    layout: WedgeLayout::Azerty
                },
                ReaderConfig::Wiegand {
                    name: "lecteur-3".into(),
                    chip: "gpiochip0".into(),
                    d0_line: 17,
                    d1_line: 27
                },
                ReaderConfig::Osdp {
                    name: "lecteur-4".into(),
                    device: "/dev/ttyUSB1".into(),
                    baud: 115_200,
                    address: 1,
                    secure: true,
                    key_file: Some(key.clone()),
                    install_mode: true,
                    relay_output: None
                },
            ]
        );
        assert_eq!(
            c.gate.turnstile,
            TurnstileConfig::Gpio {
                chip: "gpiochip0".into(),
                relay_line: 5,
                active_low: true,
                passage_done_line: None,
                emergency_line: Some(6)
            }
        );
        // A key file readable by others is refused, naming the key.
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o640))
            .unwrap();
        let errs = gate(&readers, "kind = \"simulated\"").unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("gate.readers[3].key_file: "),
            "{errs:?}"
        );
        assert!(errs[0].contains("chmod 600"), "{errs:?}");
    }

    #[test]
    fn osdp_readers_on_one_device_share_a_bus_with_distinct_addresses() {
        let r = |addr: u32, baud: u32| {
            format!(
                "[[gate.readers]]\nkind = \"osdp\"\ndevice = \"/dev/ttyUSB0\"\nsecure = false\n\
                 address = {addr}\nbaud = {baud}\nrelay_output = 1\n"
            )
        };
        let ok = gate(
            &format!("passage_timeout_ms = 5000\n{}{}", r(0, 9600), r(1, 9600)),
            "kind = \"simulated\"",
        )
        .unwrap();
        assert_eq!(ok.gate.readers.len(), 2);
        assert_eq!(ok.gate.passage_timeout_ms, Some(5000));
        assert!(matches!(
            ok.gate.readers[1],
            ReaderConfig::Osdp {
                address: 1,
                relay_output: Some(1),
                ..
            }
        ));
        let errs = gate(
            &format!("{}{}{}", r(0, 9600), r(0, 9600), r(2, 19200)),
            "kind = \"simulated\"",
        )
        .unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|e| e.split(": ").next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "gate.readers[1].address",
                "gate.readers[2].baud",
                "gate.readers[2].baud"
            ],
            "{errs:?}"
        );
        // A passage timeout needs a "passage done" input.
        let errs = gate(
            "passage_timeout_ms = 5000",
            "kind = \"gpio\"\nchip = \"gpiochip0\"\nrelay_line = 5",
        )
        .unwrap_err();
        assert!(errs[0].starts_with("gate.passage_timeout_ms: "), "{errs:?}");
    }

    #[test]
    fn the_board_profiles_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/boards");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let c = Config::parse(&text, &path.display().to_string());
            assert!(c.is_ok(), "{}: {:?}", path.display(), c.err());
            n += 1;
        }
        assert!(n >= 3);
    }

    #[test]
    fn bad_hardware_keys_name_their_key() {
        let errs = gate(
            r#"
[[gate.readers]]
kind = "em4100"
baud = 9601
[[gate.readers]]
kind = "wiegand"
chip = "gpiochip0"
d0_line = 4
d1_line = 4
path = "/x"
[[gate.readers]]
kind = "osdp"
device = "/dev/ttyUSB1"
address = 200
[[gate.readers]]
kind = "usb_wedge"
device = "/dev/input/event3"
layout = "dvorak"
[[gate.readers]]
kind = "nfc"
"#,
            "kind = \"gpio\"\nrelay_line = 5",
        )
        .unwrap_err();
        let keys: Vec<&str> = errs
            .iter()
            .map(|e| e.split(": ").next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "gate.readers[0].device",
                "gate.readers[0].baud",
                "gate.readers[1].path",
                "gate.readers[1].d1_line",
                "gate.readers[2].address",
                "gate.readers[2].key_file",
                "gate.readers[3].layout",
                "gate.readers[4].kind",
                "gate.turnstile.chip",
            ],
            "{errs:#?}"
        );
        assert!(errs[7].contains(READER_KINDS), "{errs:?}");
    }
}
