//! Usage: [`Context::record_usage`] appends a `{metric, value}` record and rewrites
//! `out/usage.json` at once, so a run that fails later still reports what it consumed (seed 003
//! recommends writing the file progressively).

use berth_host_api::UsageRecord;
use berth_host_api::usage::{parse_usage, usage_to_json};
use serde_json::Value;

use crate::{Context, Error, Result};

impl Context {
    /// Records `value` units of `metric` and rewrites `out/usage.json`. Records already in the
    /// file (e.g. from an earlier context in the same run) are kept.
    pub fn record_usage(&mut self, metric: &str, value: impl Into<Value>) -> Result<()> {
        let value = value.into();
        if metric.is_empty() {
            return Err(Error::application("A usage metric must not be empty."));
        }
        match &value {
            Value::Null | Value::Array(_) | Value::Object(_) => {
                return Err(Error::application(format!(
                    "The usage value of \"{metric}\" must be a number or a non-empty string, not {value}."
                )));
            }
            Value::String(s) if s.is_empty() => {
                return Err(Error::application(format!(
                    "The usage value of \"{metric}\" must not be empty."
                )));
            }
            _ => {}
        }
        let path = self.data_dir().out_usage();
        if self.usage.is_none() {
            let existing = match std::fs::read_to_string(&path) {
                Ok(text) => parse_usage(&text)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(Error::io("Cannot read", &path, e)),
            };
            self.usage = Some(existing);
        }
        let records = self.usage.get_or_insert_with(Vec::new);
        records.push(UsageRecord::new(metric, value));
        std::fs::write(&path, usage_to_json(records))
            .map_err(|e| Error::io("Cannot write", &path, e))
    }

    /// The usage recorded so far by this context.
    pub fn usage(&self) -> &[UsageRecord] {
        self.usage.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_host_api::{ConfigFile, DataDir};

    #[test]
    fn appends_and_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.create_layout().unwrap();
        let mut ctx = Context::new(data, ConfigFile::default());
        ctx.record_usage("rows", 3).unwrap();
        ctx.record_usage("API calls", "12").unwrap();
        let text = std::fs::read_to_string(ctx.data_dir().out_usage()).unwrap();
        let parsed = parse_usage(&text).unwrap();
        assert_eq!(
            parsed,
            vec![
                UsageRecord::new("rows", 3),
                UsageRecord::new("API calls", "12")
            ]
        );
        assert!(ctx.record_usage("", 1).is_err());
        assert!(ctx.record_usage("x", Value::Null).is_err());
        assert_eq!(ctx.usage().len(), 2);
    }
}
