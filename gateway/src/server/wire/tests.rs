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

#[test]
fn only_hypers_own_refusals_are_replaced() {
    let hyper_400 = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 05:11:01 GMT\r\n\r\n";
    assert_eq!(hypers_refusal(hyper_400), Some((400, hyper_400.len())));
    let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
    assert_eq!(hypers_refusal(hyper_431).map(|r| r.0), Some(431));
    // The gateway's own answers carry an inquiry id (or a body), and a
    // head cut off in this write is not judged.
    for not_hypers in [
        &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ninquiry-id: 01ab\r\ncontent-length: 0\r\n\r\n"[..],
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n{\"error\":{}}",
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 00\r\n\r\n",
    ] {
        assert_eq!(hypers_refusal(not_hypers), None, "{}", String::from_utf8_lossy(not_hypers));
    }
    let ours = json_refusal(400, "01ab");
    let text = String::from_utf8(ours).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.contains("\r\ninquiry-id: 01ab\r\n"), "{text}");
    assert!(text.ends_with("\"inquiry_id\":\"01ab\"}}"), "{text}");
    assert_eq!(hypers_refusal(text.as_bytes()), None);
}
