//! The key a database file is encrypted with (SQLCipher).

use peywand_store::StoreError;

/// The secret a database is encrypted with: a passphrase, never printed or logged.
#[derive(Clone)]
pub struct DbKey(String);

impl DbKey {
    /// A key from its text; surrounding whitespace (a key file's final newline) is not part
    /// of it.
    pub fn new(text: &str) -> Result<DbKey, StoreError> {
        let text = text.trim();
        if text.chars().count() < 16 {
            return Err(StoreError::Key(
                "a database key must be at least 16 characters".into(),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(StoreError::Key(
                "a database key cannot contain control characters".into(),
            ));
        }
        Ok(DbKey(text.to_string()))
    }

    /// The key's text, for uses beyond the database (a secret shared with a partner).
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The key as a quoted SQL string literal, for `PRAGMA key` and `ATTACH ... KEY`.
    pub(crate) fn literal(&self) -> String {
        format!("'{}'", self.0.replace('\'', "''"))
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(…)")
    }
}
