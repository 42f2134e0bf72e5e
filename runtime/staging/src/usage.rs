//! The usage file `out/usage.json` (reference §6; seed 003 "Usage File"): read after the
//! component ran, whether it succeeded or not; validated strictly. A missing file means nothing
//! was recorded; a malformed one fails the job as an application error (the component broke the
//! contract).

use std::fs;
use std::io::ErrorKind;

use berth_host_api::DataDir;
use berth_host_api::usage::{UsageRecord, parse_usage};

use super::{Stage, StagingError};

/// Reads `out/usage.json`: `Ok(None)` when the file is missing.
pub fn read_usage(data: &DataDir) -> Result<Option<Vec<UsageRecord>>, StagingError> {
    let file = berth_host_api::paths::OUT_USAGE;
    super::reject_symlinks(&data.root, file, Stage::Usage)?;
    let text = match fs::read_to_string(data.out_usage()) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            return Err(StagingError::app(
                Stage::Usage,
                file,
                anyhow::anyhow!("Failed to store Job usage: {file} is not UTF-8"),
            ));
        }
        Err(e) => return Err(StagingError::app(Stage::Usage, file, e)),
    };
    parse_usage(&text).map(Some).map_err(|e| {
        StagingError::app(
            Stage::Usage,
            file,
            anyhow::anyhow!("Failed to store Job usage: {e}"),
        )
    })
}
