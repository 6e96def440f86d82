//! Where an unknown key of a TOML file is: the path `serde_ignored` reports,
//! as steps, and the byte offset of the key in the `toml_edit` document.
//! The config loader reports every unknown key at once, with its position.

/// One step of a path into a TOML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyStep {
    /// A key of a table.
    Key(String),
    /// An entry of an array (of tables).
    Index(usize),
}

/// The steps of a key path serde_ignored reports (outermost first).
pub(crate) fn key_steps(path: &serde_ignored::Path<'_>) -> Vec<KeyStep> {
    use serde_ignored::Path;
    let mut steps = Vec::new();
    let mut at = Some(path);
    while let Some(p) = at {
        at = match p {
            Path::Root => None,
            Path::Seq { parent, index } => {
                steps.push(KeyStep::Index(*index));
                Some(*parent)
            }
            Path::Map { parent, key } => {
                steps.push(KeyStep::Key(key.clone()));
                Some(*parent)
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => Some(*parent),
        };
    }
    steps.reverse();
    steps
}

/// Where the key at `steps` is written below `table` (a document's root):
/// the deepest step found (a key whose table cannot be walked further is
/// reported at the key itself).
pub(crate) fn key_offset(table: &dyn toml_edit::TableLike, steps: &[KeyStep]) -> Option<usize> {
    let (KeyStep::Key(k), rest) = steps.split_first()? else {
        return None;
    };
    let here = table.key(k).and_then(toml_edit::Key::span).map(|s| s.start);
    if rest.is_empty() {
        return here;
    }
    let item = table.get(k)?;
    let deeper = match (rest.first(), item) {
        (Some(KeyStep::Index(i)), toml_edit::Item::ArrayOfTables(a)) => {
            a.get(*i).and_then(|t| key_offset(t, &rest[1..]))
        }
        (Some(KeyStep::Index(i)), toml_edit::Item::Value(toml_edit::Value::Array(a))) => a
            .get(*i)
            .and_then(toml_edit::Value::as_inline_table)
            .and_then(|t| key_offset(t, &rest[1..])),
        (Some(KeyStep::Key(_)), _) => item.as_table_like().and_then(|t| key_offset(t, rest)),
        _ => None,
    };
    deeper.or(here)
}
