//! Identity mapping: which certificate field names the officer.

use std::str::FromStr;

/// One certificate field an identity attribute is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `subject.serialNumber` (OID 2.5.4.5)
    SubjectSerialNumber,
    /// `subject.CN`
    SubjectCn,
    /// `subject.O`
    SubjectO,
    /// `subject.OU`
    SubjectOu,
    /// `san.uri:<prefix>`: the first URI SAN starting with prefix, prefix stripped
    SanUri(String),
    /// `san.email`: the first rfc822Name SAN
    SanEmail,
}

/// Error parsing a mapping or reading an identity.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Mapping text not understood.
    #[error("unknown identity field `{0}` (expected subject.serialNumber, subject.CN, subject.O, subject.OU, san.uri:<prefix> or san.email)")]
    UnknownField(String),
    /// Certificate could not be parsed.
    #[error("client certificate could not be parsed")]
    BadCertificate,
    /// The field the officer id comes from is absent.
    #[error("client certificate has no `{0}`")]
    Missing(String),
}

impl FromStr for Field {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let _ = s;
        todo!()
    }
}

/// The `[identity]` section, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityMapping {
    /// Source of the officer id (required in the cert).
    pub officer_id: Field,
    /// Source of the display name (empty if absent).
    pub name: Field,
    /// Source of the unit (empty if absent).
    pub unit: Field,
}

impl Default for IdentityMapping {
    fn default() -> Self {
        IdentityMapping {
            officer_id: Field::SubjectSerialNumber,
            name: Field::SubjectCn,
            unit: Field::SubjectO,
        }
    }
}

/// Read the identity out of a leaf certificate (DER).
pub fn identity_from_der(
    der: &[u8],
    mapping: &IdentityMapping,
) -> Result<policy::Identity, IdentityError> {
    let _ = (der, mapping);
    todo!()
}
