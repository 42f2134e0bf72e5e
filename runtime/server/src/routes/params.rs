//! Query strings of the Storage routes as a list of pairs, so that a key may repeat
//! (`?tag=a&tag=b`, also `tag[]=a`) and lists may be given comma-separated where the values are
//! names (`primaryKey=id,name`).

use crate::error::ApiError;

/// A request's query pairs, in order.
#[derive(Debug, Default)]
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

impl Params {
    fn values<'a, 'k>(&'a self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key || k.strip_suffix("[]") == Some(key))
            .map(|(_, v)| v.as_str())
    }

    /// The last value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values(key).last()
    }

    /// Every value of `key`, as given.
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.values(key).map(str::to_owned).collect()
    }

    /// Every value of `key`, each split at commas, empty parts dropped (lists of names).
    pub(crate) fn names(&self, key: &str) -> Vec<String> {
        self.values(key)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `key` as a flag: absent, `0`, `false` or `no` is false; present empty, `1`, `true` or
    /// `yes` is true.
    pub(crate) fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "" | "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                other => Err(ApiError::bad_request(format!(
                    "The query parameter \"{key}\" must be true or false, not \"{other}\"."
                ))),
            },
        }
    }

    /// `key` as a non-negative number.
    pub(crate) fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "The query parameter \"{key}\" must be a non-negative number, not \"{v}\"."
                    ))
                })
            })
            .transpose()
    }
}
