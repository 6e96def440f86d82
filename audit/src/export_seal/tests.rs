use super::*;

fn key() -> ExportKey {
    ExportKey::from_pkcs8(&crate::generate_signing_key().unwrap()).unwrap()
}

#[test]
fn the_end_signature_covers_the_digest_and_the_entry_count() {
    let k = key();
    let mut d = LinesDigest::new();
    d.line("{\"type\":\"header\"}");
    let digest = d.finish();
    let sig = k.sign_end(&digest, 7);
    assert!(end_valid(k.public_key(), &digest, 7, &sig));
    assert!(
        !end_valid(k.public_key(), &digest, 6, &sig),
        "another count"
    );
    let mut other = digest;
    other[0] ^= 1;
    assert!(
        !end_valid(k.public_key(), &other, 7, &sig),
        "another digest"
    );
    assert!(
        !end_valid(key().public_key(), &digest, 7, &sig),
        "another key"
    );
    assert!(!end_valid(k.public_key(), &digest, 7, "not base64!"));
    assert!(!end_valid(k.public_key(), &digest, 7, ""));
}

#[test]
fn lines_read_back_hash_as_the_bytes_written() {
    let mut written = LinesDigest::new();
    written.bytes(b"{\"a\":1}\n{\"b\":2}\n");
    let mut read = LinesDigest::new();
    read.line("{\"a\":1}");
    read.line("{\"b\":2}");
    assert_eq!(written.finish(), read.finish());
}

#[test]
fn the_signed_message_is_neither_a_tree_head_nor_a_cosignature() {
    let text = String::from_utf8(end_message(&[0u8; 32], 3)).unwrap();
    assert!(crate::note::TreeHead::parse(&text).is_err(), "{text}");
    assert!(!text.starts_with("cosignature/"));
}
