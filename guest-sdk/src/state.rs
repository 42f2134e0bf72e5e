//! State: read what the previous run left (`in/state.json`) and leave state for the next run
//! (`out/state.json`). A missing or `{}` input state reads as your type's `Default`.

use berth_host_api::state::read_in_state;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Context, Error, Result};

impl Context {
    /// `in/state.json` as JSON; `{}` when the file is missing or empty.
    pub fn state_value(&self) -> Result<Value> {
        let path = self.data_dir().in_state();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("Cannot read", &path, e)),
        };
        Ok(read_in_state(bytes.as_deref())?)
    }

    /// `in/state.json` as your type; a missing file or `{}` gives `T::default()`.
    pub fn state<T: DeserializeOwned + Default>(&self) -> Result<T> {
        let value = self.state_value()?;
        if value.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(T::default());
        }
        serde_json::from_value(value)
            .map_err(|e| Error::application(format!("Cannot read the state in in/state.json: {e}")))
    }

    /// Writes `state` to `out/state.json` (replacing what was there).
    pub fn write_state<T: Serialize>(&self, state: &T) -> Result<()> {
        let path = self.data_dir().out_state();
        let text = serde_json::to_string(state)
            .map_err(|e| Error::application(format!("Cannot serialise the state: {e}")))?;
        std::fs::write(&path, text).map_err(|e| Error::io("Cannot write", &path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_host_api::state::{StateUpdate, read_out_state};
    use berth_host_api::{ConfigFile, DataDir};
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct S {
        last_id: u64,
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.create_layout().unwrap();
        let ctx = Context::new(data, ConfigFile::default());
        assert_eq!(ctx.state::<S>().unwrap(), S::default());
        std::fs::write(ctx.data_dir().in_state(), "{}").unwrap();
        assert_eq!(ctx.state::<S>().unwrap(), S::default());
        std::fs::write(ctx.data_dir().in_state(), r#"{"last_id": 7}"#).unwrap();
        assert_eq!(ctx.state::<S>().unwrap(), S { last_id: 7 });
        ctx.write_state(&S { last_id: 9 }).unwrap();
        let written = std::fs::read(ctx.data_dir().out_state()).unwrap();
        assert_eq!(
            read_out_state(Some(&written)).unwrap(),
            StateUpdate::Set(serde_json::json!({"last_id": 9}))
        );
    }
}
