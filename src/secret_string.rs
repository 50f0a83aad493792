//! A string that must not be printed: the shared signing secret, the database and SMTP URLs
//! (which may carry passwords), the metrics token. `Debug` prints `***`, there is no `Display`,
//! and the value is read only through [`SecretString::expose`], so a `{:?}` of the
//! configuration or the app state in a log line cannot leak one, and a grep for `expose()`
//! finds every place that reads one.
use std::fmt;
use std::sync::Arc;

/// A secret text; cheap to clone (shared, never copied).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Arc<str>);

impl SecretString {
    pub fn new(value: impl Into<Arc<str>>) -> SecretString {
        SecretString(value.into())
    }

    /// The secret itself, for the one place that needs it (signing, connecting, comparing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> SecretString {
        SecretString::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> SecretString {
        SecretString::new(value)
    }
}

impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        String::deserialize(d).map(SecretString::from)
    }
}

#[cfg(test)]
mod tests {
    use super::SecretString;

    #[test]
    fn debug_hides_the_value_and_expose_shows_it() {
        let s = SecretString::from("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
    }
}
