//! OSDP: the packet decoder (`OsdpDecoder`, mark bytes, junk, CRC/checksum, resync) on
//! arbitrary bytes, and the secure channel's pure reply handling (`Session::open_reply`,
//! `Session::decrypt`, the handshake checks), `raw_credential` and `parse_scbk`.
//!
//! Invariants beyond "no panic":
//! - the decoder gives the same packets whether the bytes come in one read or two;
//! - a command built by `encode_command` decodes back to its fields (address, sequence,
//!   security block, code, data), and to its MAC under a session;
//! - `open_reply` accepts a reply whose MAC is right and refuses it with one bit flipped;
//!   `decrypt` undoes `encrypt` in a fresh session;
//! - a parsed SCBK prints back to itself.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use selfgate_hardware::osdp::{
    OsdpDecoder, Packet, Session, encode_command, parse_scbk, raw_credential,
};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let scbk: [u8; 16] = u.arbitrary().unwrap_or_default();
    let cp_random: [u8; 8] = u.arbitrary().unwrap_or_default();
    let session = Session::new(&scbk, &cp_random);

    // The whole input as a byte stream, in one read and in two.
    let mut whole = OsdpDecoder::new();
    let packets = whole.push_slice(data);
    let cut = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut split = OsdpDecoder::new();
    let mut again = split.push_slice(&data[..cut]);
    again.extend(split.push_slice(&data[cut..]));
    assert_eq!(packets, again, "split at {cut}");
    assert_eq!(whole.junk_bytes(), split.junk_bytes());
    assert!(whole.junk_bytes() <= data.len() as u64);

    // Every packet through the secure channel and the reply handling.
    for p in packets.iter().flatten() {
        assert!(p.mac_input.len() >= 6);
        let _ = session.clone().open_reply(p);
        let _ = session.decrypt(&p.data);
        let _ = raw_credential(&p.data);
        let _ = session.pd_cryptogram_ok(&cp_random, &cp_random, &p.data);
        let _ = session.rmac_i_ok(&p.data);
    }
    let rest = u.peek_bytes(u.len()).unwrap_or_default();
    if let Some(c) = raw_credential(rest) {
        assert!(!c.is_empty());
    }
    let _ = session.decrypt(rest);

    // SCBK text.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(key) = parse_scbk(text) {
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(parse_scbk(&hex), Some(key));
        }
    }

    // A command with fields from the input decodes back to them.
    let addr: u8 = u.arbitrary().unwrap_or(0);
    let seq: u8 = u.arbitrary().unwrap_or(0);
    let code: u8 = u.arbitrary().unwrap_or(0x60);
    let secured: bool = u.arbitrary().unwrap_or(false);
    let with_scb: bool = u.arbitrary().unwrap_or(false);
    let scb_type: u8 = u.arbitrary().unwrap_or(0x11);
    let scb_len = u.int_in_range(2..=8usize).unwrap_or(2);
    let mut scb = vec![scb_len as u8, scb_type];
    scb.resize(scb_len, 0);
    let payload: Vec<u8> = u.arbitrary().unwrap_or_default();
    let payload = &payload[..payload.len().min(1000)];
    let scb = if with_scb && !(0x15..=0x18).contains(&scb_type) {
        scb
    } else {
        Vec::new()
    };

    let mut cp = session.clone();
    let bytes = if secured {
        encode_command(addr, seq, code, payload, &[], Some(&mut cp))
    } else {
        encode_command(addr, seq, code, payload, &scb, None)
    };
    let mut d = OsdpDecoder::new();
    let got = d.push_slice(&bytes);
    assert_eq!(got.len(), 1, "{bytes:02X?} gave {got:?}");
    let p: &Packet = match &got[0] {
        Ok(p) => p,
        Err(e) => panic!("encoded command refused: {e:?}: {bytes:02X?}"),
    };
    assert_eq!((p.addr, p.seq, p.code), (addr & 0x7F, seq & 3, code));
    assert_eq!(d.junk_bytes(), 0);
    if secured {
        assert!(p.mac.is_some());
        // Fresh session: C-MAC and R-MAC both zero, so the reply keys decrypt the command.
        if !payload.is_empty() {
            assert_eq!(session.decrypt(&p.data).as_deref(), Some(payload));
        }
    } else {
        assert_eq!(
            (p.scb.as_slice(), p.data.as_slice(), p.mac),
            (scb.as_slice(), payload, None)
        );
    }

    // A reply with a right MAC opens (MAC only: the data as sent); one bit off, it does not.
    let mut reply = p.clone();
    reply.scb = vec![2, 0x16];
    let mut pd = session.clone();
    let mac = pd.mac(false, &reply.mac_input);
    reply.mac = Some([mac[0], mac[1], mac[2], mac[3]]);
    assert_eq!(
        session.clone().open_reply(&reply).as_deref(),
        Some(reply.data.as_slice())
    );
    let bit = usize::from(code) % 32;
    if let Some(m) = reply.mac.as_mut() {
        m[bit / 8] ^= 1 << (bit % 8);
    }
    assert_eq!(session.clone().open_reply(&reply), None);
});
