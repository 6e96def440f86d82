//! Helpers for end-to-end tests: certificates a correct gateway must refuse.
//!
//! Owns issuing deliberately defective officer certificates from a dev PKI
//! folder (EKU without clientAuth; chained through a CA:FALSE intermediate).
//! Never use these outside tests. Expired certificates need no helper: give
//! [`crate::pki::issue`] an [`OfficerSpec`] whose `not_after` is past; a
//! certificate from another CA comes from a second [`crate::pki::init`].

use std::path::Path;

use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose};

use crate::pki::{self, IssueOptions, Issued, OfficerEku, OfficerSpec, Outputs, PkiError};

/// Common name of the intermediate made by [`issue_via_intermediate`].
pub const ROGUE_INTERMEDIATE_CN: &str = "credgate CA:FALSE intermediate";

/// Like [`crate::pki::issue`] but WITHOUT the clientAuth extended key usage:
/// the EKU extension lists serverAuth only, so a TLS server verifying client
/// certificates must refuse it. (A certificate with no EKU extension at all
/// would be accepted: RFC 5280 reads that as "any purpose".)
pub fn issue_without_client_auth(
    dir: &Path,
    spec: &OfficerSpec,
    out_prefix: &Path,
) -> Result<Issued, PkiError> {
    let options = IssueOptions {
        eku: OfficerEku::ServerAuthOnly,
        ..IssueOptions::default()
    };
    pki::issue_with_options(dir, spec, out_prefix, &options)
}

/// Issue an officer certificate signed by an intermediate that is itself
/// signed by the CA in `dir` but marked CA:FALSE (basicConstraints) — a
/// chain any verifier must reject.
///
/// `PREFIX.pem` holds the leaf then the intermediate, so a TLS client
/// presenting it sends the whole chain; `PREFIX.p12` holds leaf,
/// intermediate and CA. The intermediate has keyCertSign so that only the
/// CA flag makes the chain invalid.
pub fn issue_via_intermediate(
    dir: &Path,
    spec: &OfficerSpec,
    out_prefix: &Path,
) -> Result<Issued, PkiError> {
    let ca = pki::Ca::load(dir)?;
    let outputs = Outputs::new(out_prefix)?;
    let generate = |e: rcgen::Error| PkiError::Generate {
        path: outputs.cert.clone(),
        reason: e.to_string(),
    };

    let mut mid_params = CertificateParams::default();
    mid_params.distinguished_name = DistinguishedName::new();
    mid_params
        .distinguished_name
        .push(DnType::CommonName, ROGUE_INTERMEDIATE_CN);
    mid_params.is_ca = IsCa::ExplicitNoCa;
    mid_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    mid_params.use_authority_key_identifier_extension = true;
    mid_params.not_before = spec.not_before;
    mid_params.not_after = spec.not_after;
    mid_params.serial_number = Some(pki::random_serial(&outputs.cert)?);
    let mid_key = KeyPair::generate().map_err(generate)?;
    let mid = mid_params
        .signed_by(&mid_key, &ca.cert, &ca.key)
        .map_err(generate)?;

    let leaf_params = pki::officer_params(spec, &IssueOptions::default(), &outputs.cert)?;
    let leaf_key = KeyPair::generate().map_err(generate)?;
    let leaf = leaf_params
        .signed_by(&leaf_key, &mid, &mid_key)
        .map_err(generate)?;
    outputs.write(
        &leaf_key,
        &[leaf.der().to_vec(), mid.der().to_vec(), ca.der.clone()],
        2,
    )
}
