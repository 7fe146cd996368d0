//! OSDP (IEC 60839-11-5) control panel over RS-485.

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
