//! The hardware a node drives, built from `[gate]`: readers (simulated, scripted lines, or the
//! real drivers of `selfgate-hardware`) and the turnstile.

use std::path::PathBuf;
use std::sync::Arc;

use selfgate_hardware::sim::{LineReader, SimReader, SimTurnstile};
use selfgate_hardware::{Reader, Turnstile};

use crate::config::{Config, ReaderConfig, TurnstileConfig};
use crate::node::gate::Hardware;

/// Hardware the configuration names that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum HardwareError {
    #[error("while setting up reader {reader}: {message}")]
    Reader { reader: String, message: String },
    #[error("while setting up the turnstile: {0}")]
    Turnstile(String),
}

/// Builds the hardware the configuration names.
pub fn hardware(config: &Config) -> Result<Hardware, HardwareError> {
    let mut readers: Vec<Box<dyn Reader>> = Vec::new();
    // OSDP readers sharing a device are one RS-485 bus (multi-drop).
    let mut buses = std::collections::HashMap::new();
    for r in &config.gate.readers {
        match r {
            ReaderConfig::Line { name, path } => {
                readers.push(Box::new(LineReader::new(name.clone(), path.clone())))
            }
            ReaderConfig::Simulated { name } => {
                // Nobody holds the handle in `run`: the reader stays silent.
                let (reader, _handle) = SimReader::new(name.clone());
                readers.push(Box::new(reader));
            }
            other => readers.push(real_reader(other, &mut buses).map_err(|message| {
                HardwareError::Reader {
                    reader: other.name().to_owned(),
                    message,
                }
            })?),
        }
    }
    let turnstile: Arc<dyn Turnstile> = match &config.gate.turnstile {
        TurnstileConfig::Simulated { pulse_log } => {
            let (t, _handle) = SimTurnstile::new(
                format!("{}-tourniquet", config.gate.id),
                pulse_log.clone(),
                true,
            )
            .map_err(|e| {
                HardwareError::Turnstile(format!("simulated turnstile's pulse log: {e}"))
            })?;
            Arc::new(t)
        }
        other => real_turnstile(&format!("{}-tourniquet", config.gate.id), other)
            .map_err(HardwareError::Turnstile)?,
    };
    Ok(Hardware { readers, turnstile })
}

/// A hardware reader (drivers in `selfgate-hardware`, wiring in `hardware/README.md`). Devices
/// are opened when the reader runs: one missing at start is reported offline and retried.
fn real_reader(
    r: &ReaderConfig,
    buses: &mut std::collections::HashMap<PathBuf, selfgate_hardware::osdp::OsdpBus>,
) -> Result<Box<dyn Reader>, String> {
    use selfgate_hardware::{em4100, osdp, wedge, wiegand};
    Ok(match r {
        ReaderConfig::Em4100 { name, device, baud } => Box::new(em4100::Em4100Reader::new(
            name.clone(),
            device.clone(),
            *baud,
        )),
        ReaderConfig::UsbWedge {
            name,
            device,
            layout,
        } => Box::new(wedge::WedgeReader::new(
            name.clone(),
            device.clone(),
            *layout,
        )),
        ReaderConfig::Wiegand {
            name,
            chip,
            d0_line,
            d1_line,
        } => Box::new(wiegand::WiegandReader::gpio(
            name.clone(),
            chip,
            *d0_line,
            *d1_line,
        )),
        ReaderConfig::Osdp {
            name,
            device,
            baud,
            address,
            secure,
            key_file,
            install_mode,
            relay_output,
        } => {
            let mut settings = osdp::OsdpSettings::new(device.clone(), *baud, *address);
            settings.relay_output = *relay_output;
            if let (true, Some(path)) = (secure, key_file) {
                // Checked at load (32 hex digits, mode 600); read again as it may have changed.
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("while reading {}: {e}", path.display()))?;
                settings.scbk = Some(
                    osdp::parse_scbk(&text)
                        .ok_or_else(|| format!("{} is not 32 hex digits", path.display()))?,
                );
                settings.install_mode = *install_mode;
            }
            let bus = buses
                .entry(device.clone())
                .or_insert_with(|| osdp::OsdpBus::new(device.clone(), *baud));
            Box::new(osdp::OsdpReader::on_bus(name.clone(), settings, bus))
        }
        ReaderConfig::Line { .. } | ReaderConfig::Simulated { .. } => {
            return Err("not a hardware reader".to_owned());
        }
    })
}

/// A hardware turnstile: the relay is requested (and released) at once, so a wrong chip or
/// line stops the start with a clear message.
fn real_turnstile(name: &str, t: &TurnstileConfig) -> Result<Arc<dyn Turnstile>, String> {
    use selfgate_hardware::gpio::{CdevInputs, CdevRelay, GpioTurnstile, InputSource, RelayLine};
    let consumer = format!("selfgate-{name}");
    let inputs = |chip: &str, pd: Option<u32>, em: Option<u32>| -> Result<_, String> {
        Ok(if pd.is_some() || em.is_some() {
            Some(Box::new(
                CdevInputs::open(chip, pd, em, &consumer)
                    .map_err(|e| format!("while requesting the turnstile inputs on {chip}: {e}"))?,
            ) as Box<dyn InputSource>)
        } else {
            None
        })
    };
    let (relay, inputs): (Arc<dyn RelayLine>, _) = match t {
        TurnstileConfig::Gpio {
            chip,
            relay_line,
            active_low,
            passage_done_line,
            emergency_line,
        } => (
            Arc::new(
                CdevRelay::open(chip, *relay_line, *active_low, &consumer).map_err(|e| {
                    format!("while requesting the relay on {chip} line {relay_line}: {e}")
                })?,
            ),
            inputs(chip, *passage_done_line, *emergency_line)?,
        ),
        #[cfg(feature = "rpi")]
        TurnstileConfig::Rpi {
            relay_pin,
            active_low,
            chip,
            passage_done_line,
            emergency_line,
        } => (
            Arc::new(
                selfgate_hardware::gpio::rpi::RpiRelay::open(
                    u8::try_from(*relay_pin)
                        .map_err(|_| "relay_pin is not a BCM number".to_owned())?,
                    *active_low,
                )
                .map_err(|e| format!("while requesting BCM GPIO {relay_pin}: {e}"))?,
            ),
            inputs(chip, *passage_done_line, *emergency_line)?,
        ),
        #[cfg(not(feature = "rpi"))]
        TurnstileConfig::Rpi { .. } => {
            return Err(
                "this selfgate was built without the `rpi` feature: use kind = \"gpio\" (the \
                 GPIO character device works on a Raspberry Pi too) or rebuild with --features rpi"
                    .to_owned(),
            );
        }
        TurnstileConfig::Simulated { .. } => return Err("not a hardware turnstile".to_owned()),
    };
    Ok(Arc::new(
        GpioTurnstile::new(name, relay, inputs).map_err(|e| e.to_string())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(readers: &str, turnstile: &str) -> Result<Config, Vec<String>> {
        let text = format!("[gate]\n{readers}\n[gate.turnstile]\n{turnstile}\n");
        Config::parse(&text, "t.toml").map_err(|e| e.errors)
    }

    #[tokio::test]
    async fn the_daemon_wires_hardware_readers_and_names_a_missing_gpio_chip() {
        let c = gate(
            "[[gate.readers]]\nname = \"a\"\nkind = \"em4100\"\ndevice = \"/dev/ttyNONE\"\n\
             [[gate.readers]]\nname = \"b\"\nkind = \"usb_wedge\"\ndevice = \"/dev/input/none\"\n\
             [[gate.readers]]\nname = \"c\"\nkind = \"wiegand\"\nchip = \"gpiochip0\"\n\
             d0_line = 1\nd1_line = 2\n\
             [[gate.readers]]\nname = \"d\"\nkind = \"osdp\"\ndevice = \"/dev/ttyNONE\"\n\
             secure = false",
            "kind = \"simulated\"",
        )
        .unwrap();
        // Devices open when the readers run (offline and retried until then).
        let hw = hardware(&c).unwrap();
        let names: Vec<&str> = hw.readers.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert!(hw.readers.iter().all(|r| r.health().is_some()));
        // The relay is requested at start: this machine has no GPIO chip.
        let c = gate("", "kind = \"gpio\"\nchip = \"gpiochip9\"\nrelay_line = 3").unwrap();
        let e = hardware(&c).err().unwrap();
        assert!(format!("{e:#}").contains("gpiochip9 line 3"), "{e:#}");
    }
}
