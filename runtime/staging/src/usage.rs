//! The usage file `out/usage.json` (`out/usage.yml` for a YAML component; reference §6; seed 003 "Usage File"): read after the
//! component ran, whether it succeeded or not; validated strictly. A missing file means nothing
//! was recorded; a malformed one fails the job as an application error (the component broke the
//! contract).

use berth_host_api::ContractError;
use berth_host_api::usage::{UsageRecord, parse_usage};

use super::out_dir::OutDir;
use super::{Stage, StagingError};

/// Reads `out/usage.json` (through [`OutDir`], within `limits.usage_bytes`): `Ok(None)` when the
/// file is missing.
pub fn read_usage(out: &OutDir) -> Result<Option<Vec<UsageRecord>>, StagingError> {
    let name = out.format().file_name("usage");
    let file = format!("out/{name}");
    let failed = |message: &dyn std::fmt::Display| {
        StagingError::app(
            Stage::Usage,
            &file,
            anyhow::anyhow!("Failed to store Job usage: {message}"),
        )
    };
    let limit = out.limits().usage_bytes;
    let Some(bytes) = out.read_file(&name, limit, "usage_bytes", Stage::Usage)? else {
        return Ok(None);
    };
    let json =
        crate::format::to_json(out.format(), "file", &file, &bytes).map_err(|e| failed(&e))?;
    let Ok(text) = std::str::from_utf8(&json) else {
        return Err(failed(&format!("{file} is not UTF-8")));
    };
    parse_usage(text).map(Some).map_err(|e| match e {
        // The contract's message names `out/usage.json`; a YAML component wrote `usage.yml`.
        ContractError::Usage(reason) => failed(&format!("Invalid usage file \"{file}\": {reason}")),
        other => failed(&other),
    })
}
