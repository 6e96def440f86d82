use super::*;

fn frame(kind: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, 0];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn run(chunks: &[&[u8]]) -> Vec<WireEvent> {
    let log = WireLog::default();
    let mut r = FrameReader::default();
    for c in chunks {
        r.feed(c, &log);
    }
    log.take().0
}

#[test]
fn server_resets_and_goaways_with_an_error_are_events() {
    let mut bytes = frame(0x4, 0, &[]); // SETTINGS
    bytes.extend(frame(RST_STREAM, 3, &1u32.to_be_bytes()));
    bytes.extend(frame(RST_STREAM, 5, &CANCEL.to_be_bytes()));
    bytes.extend(frame(RST_STREAM, 7, &NO_ERROR.to_be_bytes()));
    bytes.extend(frame(HEADERS, 9, b"hpack"));
    bytes.extend(frame(RST_STREAM, 9, &1u32.to_be_bytes()));
    bytes.extend(frame(0x0, 11, &[0u8; 40000])); // DATA
    let mut goaway = 9u32.to_be_bytes().to_vec();
    goaway.extend(0xbu32.to_be_bytes());
    goaway.extend(b"debug data");
    bytes.extend(frame(GOAWAY, 0, &goaway));
    let want = vec![
        WireEvent::StreamReset { stream: 3, code: 1 },
        WireEvent::GoAway { code: 0xb },
    ];
    assert_eq!(run(&[&bytes]), want);
    // The same bytes in every split give the same events.
    for split in [1, 2, 7, 9, 10, 4096] {
        let chunks: Vec<&[u8]> = bytes.chunks(split).collect();
        assert_eq!(run(&chunks), want, "split {split}");
    }
    assert_eq!(
        WireEvent::GoAway { code: 0xb }.rule(),
        "HTTP/2 connection closed by the gateway for an error: ENHANCE_YOUR_CALM"
    );
}

#[test]
fn the_preface_decides_http2() {
    let log = Arc::new(WireLog::default());
    let mut w = Watched::new((), log.clone());
    w.saw_read(&H2_PREFACE[..5]);
    assert!(w.frames.is_none() && !w.decided);
    w.saw_read(&H2_PREFACE[5..]);
    assert!(w.frames.is_some());
    let mut w = Watched::new((), log.clone());
    w.saw_read(b"GET / HTTP/1.1\r\n");
    assert!(w.frames.is_none() && w.decided);
    assert_eq!(log.bytes_read(), H2_PREFACE.len() as u64 + 16);
}
