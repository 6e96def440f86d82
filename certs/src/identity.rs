//! Identity mapping: which certificate field names the officer.
//!
//! Owns the `[identity]` section's vocabulary ([`Field`], [`IdentityMapping`])
//! and [`identity_from_der`], which reads an officer identity out of a leaf
//! client certificate. It does not verify the certificate chain (rustls does
//! that before the gateway calls in here).

use std::fmt;
use std::str::FromStr;

use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    Oid, OID_X509_COMMON_NAME, OID_X509_ORGANIZATIONAL_UNIT, OID_X509_ORGANIZATION_NAME,
    OID_X509_SERIALNUMBER,
};
use x509_parser::x509::AttributeTypeAndValue;

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
    /// `san.uri:<prefix>`: the one URI SAN starting with prefix, prefix stripped
    SanUri(String),
    /// `san.email`: the one rfc822Name SAN
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
    /// The field is present but its value is not a string this crate can
    /// read (an unsupported ASN.1 string type or invalid encoding).
    #[error("client certificate field `{0}` is not a readable string")]
    Unreadable(String),
    /// The field occurs more than once, so the certificate names no single
    /// identity; refused rather than guessing which value counts.
    #[error("client certificate has more than one `{0}`")]
    Ambiguous(String),
    /// A key usage extension without `digitalSignature`: the key is not for
    /// signing, and a TLS client authenticates by signing the handshake
    /// (RFC 5280 §4.2.1.3, RFC 8446 §4.4.2.2). webpki checks the extended
    /// key usage, not this.
    #[error("client certificate's key usage does not allow digitalSignature")]
    KeyUsage,
}

/// Spelling of the `san.uri:` prefix in mapping text.
const SAN_URI_PREFIX: &str = "san.uri:";

impl FromStr for Field {
    type Err = IdentityError;

    /// Parse the mapping spelling used in `[identity]`, exactly as documented:
    /// `subject.serialNumber`, `subject.CN`, `subject.O`, `subject.OU`,
    /// `san.uri:<prefix>` (prefix may be empty: any URI SAN) or `san.email`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "subject.serialNumber" => Ok(Field::SubjectSerialNumber),
            "subject.CN" => Ok(Field::SubjectCn),
            "subject.O" => Ok(Field::SubjectO),
            "subject.OU" => Ok(Field::SubjectOu),
            "san.email" => Ok(Field::SanEmail),
            _ => match s.strip_prefix(SAN_URI_PREFIX) {
                Some(prefix) => Ok(Field::SanUri(prefix.to_owned())),
                None => Err(IdentityError::UnknownField(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for Field {
    /// The mapping spelling; `s.parse::<Field>()?.to_string() == s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::SubjectSerialNumber => f.write_str("subject.serialNumber"),
            Field::SubjectCn => f.write_str("subject.CN"),
            Field::SubjectO => f.write_str("subject.O"),
            Field::SubjectOu => f.write_str("subject.OU"),
            Field::SanUri(prefix) => write!(f, "{SAN_URI_PREFIX}{prefix}"),
            Field::SanEmail => f.write_str("san.email"),
        }
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

/// Lowercase hex SHA-256 of a certificate's DER bytes (the identity's
/// `fingerprint`).
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, der))
}

/// Read the identity out of a leaf certificate (DER).
///
/// The officer id is required: if the mapped field is absent or blank the
/// result is [`IdentityError::Missing`]. Name and unit are empty strings when
/// their field is absent. The fingerprint is the lowercase hex SHA-256 of
/// `der`. Trailing bytes after the certificate are refused.
pub fn identity_from_der(
    der: &[u8],
    mapping: &IdentityMapping,
) -> Result<policy::Identity, IdentityError> {
    let (rest, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|_| IdentityError::BadCertificate)?;
    if !rest.is_empty() {
        return Err(IdentityError::BadCertificate);
    }
    match cert.key_usage() {
        Ok(Some(ku)) if !ku.value.digital_signature() => return Err(IdentityError::KeyUsage),
        Ok(_) => {}
        Err(_) => return Err(IdentityError::BadCertificate),
    }
    let officer_id = match read_field(&cert, &mapping.officer_id)? {
        Some(id) if !id.trim().is_empty() => id,
        _ => return Err(IdentityError::Missing(mapping.officer_id.to_string())),
    };
    let name = read_field(&cert, &mapping.name)?.unwrap_or_default();
    let unit = read_field(&cert, &mapping.unit)?.unwrap_or_default();
    Ok(policy::Identity {
        officer_id,
        name,
        unit,
        fingerprint: fingerprint(der),
    })
}

/// The value of one mapped field, `None` if the certificate lacks it.
fn read_field(cert: &X509Certificate<'_>, field: &Field) -> Result<Option<String>, IdentityError> {
    match field {
        Field::SubjectSerialNumber => subject_attr(cert, &OID_X509_SERIALNUMBER, field),
        Field::SubjectCn => subject_attr(cert, &OID_X509_COMMON_NAME, field),
        Field::SubjectO => subject_attr(cert, &OID_X509_ORGANIZATION_NAME, field),
        Field::SubjectOu => subject_attr(cert, &OID_X509_ORGANIZATIONAL_UNIT, field),
        Field::SanUri(prefix) => single(
            san_names(cert)?.into_iter().filter_map(|name| match name {
                GeneralName::URI(uri) => uri.strip_prefix(prefix.as_str()).map(str::to_owned),
                _ => None,
            }),
            field,
        ),
        Field::SanEmail => single(
            san_names(cert)?.into_iter().filter_map(|name| match name {
                GeneralName::RFC822Name(email) => Some((*email).to_owned()),
                _ => None,
            }),
            field,
        ),
    }
}

/// The only value of `values`: `None` if there is none, `Ambiguous` if
/// there are several.
fn single(
    mut values: impl Iterator<Item = String>,
    field: &Field,
) -> Result<Option<String>, IdentityError> {
    let first = values.next();
    if values.next().is_some() {
        return Err(IdentityError::Ambiguous(field.to_string()));
    }
    Ok(first)
}

/// The subject attribute with `oid`, decoded as a string; several
/// attributes of that type are `Ambiguous`.
fn subject_attr(
    cert: &X509Certificate<'_>,
    oid: &Oid<'_>,
    field: &Field,
) -> Result<Option<String>, IdentityError> {
    let mut attrs = cert.subject().iter_by_oid(oid);
    let first = attrs.next();
    if attrs.next().is_some() {
        return Err(IdentityError::Ambiguous(field.to_string()));
    }
    match first {
        None => Ok(None),
        Some(attr) => decode_attr(attr)
            .map(Some)
            .ok_or_else(|| IdentityError::Unreadable(field.to_string())),
    }
}

/// Decode a directory string: the ASCII/UTF-8 types x509-parser reads, plus
/// BMPString (UTF-16BE) and UniversalString (UTF-32BE) which some CAs emit.
fn decode_attr(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    if let Ok(s) = attr.as_str() {
        return Some(s.to_owned());
    }
    let value = attr.attr_value();
    let data = value.data;
    match value.tag() {
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units = data
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok())
                .map(u16::from_be_bytes);
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                .map(|c| char::from_u32(u32::from_be_bytes(c)))
                .collect::<Option<String>>()
        }
        _ => None,
    }
}

/// All subject alternative names (empty if the extension is absent); a
/// malformed or duplicated SAN extension is a bad certificate.
fn san_names<'a>(cert: &'a X509Certificate<'_>) -> Result<Vec<&'a GeneralName<'a>>, IdentityError> {
    match cert.subject_alternative_name() {
        Ok(Some(ext)) => Ok(ext.value.general_names.iter().collect()),
        Ok(None) => Ok(Vec::new()),
        Err(_) => Err(IdentityError::BadCertificate),
    }
}

#[cfg(test)]
mod tests;
