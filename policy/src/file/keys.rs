//! The keys each table of `policy.toml` may hold, declared once as serde
//! types, and every other key reported (with its table and position) by
//! running `serde_ignored` over the parsed document.
//!
//! These types only name keys: a value of the wrong type is accepted here
//! (the reader reports it with the expected type), so one mistyped value
//! never hides an unknown key elsewhere. A table given as something else
//! than a table is not looked into, as the reader does not read it.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::diag::Diagnostic;
use crate::toml_keys::{key_offset, key_steps, KeyStep};

/// The top level.
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct PolicyKeys {
    items: Option<Table<BTreeMap<String, Table<ItemKeys>>>>,
    /// Purpose codes are the keys: any is allowed.
    purposes: Option<Any>,
    fields: Option<Table<FieldsKeys>>,
    roles: Option<Tables<RoleKeys>>,
    officers: Option<Tables<OfficerKeys>>,
    record_fields: Option<Table<RecordFieldsKeys>>,
    alerts: Option<Tables<AlertKeys>>,
}

/// `[items.CODE]`
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct ItemKeys {
    category: Option<Any>,
    inquiry_period_days: Option<Any>,
    statutory_basis: Option<Any>,
    name: Option<Any>,
    description: Option<Any>,
}

/// `[fields]`
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct FieldsKeys {
    prohibited: Option<Any>,
    consent_required: Option<Any>,
    mask: Option<Table<BTreeMap<String, Table<MaskKeys>>>>,
}

/// `[fields.mask.NAME]`
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct MaskKeys {
    keep_start: Option<Any>,
    keep_end: Option<Any>,
}

/// `[[roles]]`
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct RoleKeys {
    name: Option<Any>,
    kind: Option<Any>,
    items: Option<Any>,
    purposes: Option<Any>,
    subject_types: Option<Any>,
    consent_fields: Option<Any>,
    unmasked: Option<Any>,
    beyond_inquiry_period: Option<Any>,
    statutory_basis: Option<Any>,
    rate: Option<Any>,
    description: Option<Any>,
}

/// `[[officers]]`
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct OfficerKeys {
    id: Option<Any>,
    name: Option<Any>,
    unit: Option<Any>,
    roles: Option<Any>,
    valid_from: Option<Any>,
    valid_until: Option<Any>,
}

/// `[record_fields]`
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct RecordFieldsKeys {
    records: Option<Any>,
    item: Option<Any>,
    decided_on: Option<Any>,
    punishment_ends: Option<Any>,
    restored: Option<Any>,
    objection: Option<Any>,
    withheld_by_subject: Option<Any>,
}

/// `[[alerts]]`
#[derive(Deserialize)]
#[allow(
    dead_code,
    reason = "the fields name the keys; serde reads them, code never does"
)]
struct AlertKeys {
    name: Option<Any>,
    kind: Option<Any>,
    threshold: Option<Any>,
    window: Option<Any>,
    action: Option<Any>,
    suspend_for: Option<Any>,
    hours: Option<Any>,
    days: Option<Any>,
    description: Option<Any>,
}

/// Every unknown key of a parsed policy, as `unknown key `K` in PLACE` at
/// the key, in no particular order.
pub(super) fn unknown(doc: &toml_edit::ImDocument<&str>, file: &str) -> Vec<Diagnostic> {
    let text = doc.raw();
    let mut unknown: Vec<Vec<KeyStep>> = Vec::new();
    let de = toml_edit::de::Deserializer::from(doc.clone());
    let walked = serde_ignored::deserialize(de, |path| unknown.push(key_steps(&path)));
    let mut diags = Vec::new();
    if let Err::<PolicyKeys, _>(e) = walked {
        // Not expected: every value is accepted above. Fail closed.
        diags.push(Diagnostic::file_level(
            file,
            format!("cannot check the policy's keys: {}", e.message()),
        ));
    }
    for steps in unknown {
        let Some((KeyStep::Key(key), table)) = steps.split_last() else {
            continue;
        };
        // A date-time's own representation in serde, seen where a table
        // was expected (the reader reports the type).
        if key.starts_with("$__toml_private") {
            continue;
        }
        let at = key_offset(doc.as_table(), &steps).unwrap_or(0);
        let message = format!("unknown key `{key}` in {}", place(table));
        diags.push(Diagnostic::at(file, text, at, message));
    }
    diags
}

/// How messages name the table at `steps` (as the reader names it).
fn place(steps: &[KeyStep]) -> String {
    let key = |s: &KeyStep| match s {
        KeyStep::Key(k) => k.clone(),
        KeyStep::Index(i) => i.to_string(),
    };
    match steps {
        [] => "the policy".to_owned(),
        [KeyStep::Key(k), KeyStep::Index(_)] if k == "roles" => "a `[[roles]]` entry".to_owned(),
        [KeyStep::Key(k), KeyStep::Index(_)] => format!("an `[[{k}]]` entry"),
        _ => format!("`{}`", steps.iter().map(key).collect::<Vec<_>>().join(".")),
    }
}

/// Any value, read and dropped. (serde's `IgnoredAny` would be reported
/// by serde_ignored as an unknown key.)
struct Any;

/// `T` when the value is a table; any other value is accepted and not
/// looked into.
struct Table<T>(PhantomData<T>);

/// Each entry of an array that is a table, as `T`; anything else is
/// accepted and not looked into.
struct Tables<T>(PhantomData<T>);

/// Scalars (and date-times, which toml_edit gives as one) need no look.
macro_rules! accept_scalars {
    ($value:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    accept_scalars!(Any);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Any, A::Error> {
        while seq.next_element::<Any>()?.is_some() {}
        Ok(Any)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
        while map.next_entry::<Any, Any>()?.is_some() {}
        Ok(Any)
    }
}

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
}

struct TableVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
    type Value = Table<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    accept_scalars!(Table(PhantomData));

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        AnyVisitor.visit_seq(seq)?;
        Ok(Table(PhantomData))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Table(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TableVisitor(PhantomData))
    }
}

struct TablesVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TablesVisitor<T> {
    type Value = Tables<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    accept_scalars!(Tables(PhantomData));

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Vec::<Table<T>>::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Tables(PhantomData))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        AnyVisitor.visit_map(map)?;
        Ok(Tables(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tables<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TablesVisitor(PhantomData))
    }
}
