use super::*;

#[test]
fn signature_covers_every_field() {
    let der = generate_signing_key().unwrap();
    let s = Signer::from_pkcs8(&der).unwrap();
    let pk = s.public_key();
    let cp = s.sign("chain", CheckpointKind::Periodic, 10, 10, &[7u8; 32], 1234);
    assert!(signature_valid(&cp, &pk));
    let mut c = cp.clone();
    c.seq = 11;
    assert!(!signature_valid(&c, &pk));
    let mut c = cp.clone();
    c.chain_id = "other".into();
    assert!(!signature_valid(&c, &pk));
    let mut c = cp.clone();
    c.time_ms = 1235;
    assert!(!signature_valid(&c, &pk));
    let mut c = cp.clone();
    c.kind = CheckpointKind::Final;
    assert!(!signature_valid(&c, &pk));
    let mut c = cp.clone();
    c.every = 5;
    assert!(!signature_valid(&c, &pk));
    let mut c = cp.clone();
    c.hash = hex::encode([8u8; 32]);
    assert!(!signature_valid(&c, &pk));
    let other = Signer::from_pkcs8(&generate_signing_key().unwrap()).unwrap();
    assert!(!signature_valid(&cp, &other.public_key()));
}

#[test]
fn garbage_key_is_rejected() {
    assert!(matches!(
        Signer::from_pkcs8(b"not a key"),
        Err(AuditError::InvalidSigningKey)
    ));
}
