//! The limits on what berth reads of a component's output, their defaults and why.
//!
//! Everything under `out/` was written by code berth does not trust. These bounds keep reading
//! it cheap whatever the component did; each is enforced where the bytes are read
//! ([`crate::out_dir`], the CSV loader, gzip decompression), and each failure is a user error
//! naming the entry and the limit (`limits.<key>`).
//!
//! | key | default | why |
//! |---|---|---|
//! | `manifest_bytes` | 1 MiB | manifests are a few KB of JSON; berth holds one in memory |
//! | `state_bytes` | 16 MiB | seed 003: state "should not generally exceed 1MB"; 16× that for headroom, small enough to parse in memory |
//! | `usage_bytes` | 1 MiB | a handful of metric records |
//! | `csv_field_bytes` | 16 MiB | Keboola's backends cap a cell at 16 MiB; the CSV parser holds one field in memory |
//! | `out_entries` | 100,000 | entries (files, folders, anything) berth may list under `out/` |
//! | `out_depth` | 8 | folder nesting under `out/` (`out/tables/sliced/part` is depth 3) |
//! | `output_bytes` | 10 GiB | bytes one output mapping may load (reference §2.1: "10GB of free space"); decompressed gzip counts |
//! | `free_space_margin_bytes` | 256 MiB | free space the Storage volume keeps after the planned output |
//!
//! A component definition's `limits` object overrides the home's `[limits]` in `settings.toml`,
//! which overrides these defaults ([`OutputLimits::with`]).

use berth_storage::{DEFAULT_MAX_FIELD_BYTES, LimitOverrides};

/// Default largest manifest.
pub const DEFAULT_MANIFEST_BYTES: u64 = 1 << 20;
/// Default largest `out/state.json`.
pub const DEFAULT_STATE_BYTES: u64 = 16 << 20;
/// Default largest `out/usage.json`.
pub const DEFAULT_USAGE_BYTES: u64 = 1 << 20;
/// Default most entries under `out/`.
pub const DEFAULT_OUT_ENTRIES: u64 = 100_000;
/// Default deepest nesting under `out/`.
pub const DEFAULT_OUT_DEPTH: u32 = 8;
/// Default most bytes one output mapping loads.
pub const DEFAULT_OUTPUT_BYTES: u64 = 10 << 30;
/// Default free space kept on the Storage volume.
pub const DEFAULT_FREE_SPACE_MARGIN_BYTES: u64 = 256 << 20;

/// The limits in force for one job (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Largest manifest.
    pub manifest_bytes: u64,
    /// Largest `out/state.json`.
    pub state_bytes: u64,
    /// Largest `out/usage.json`.
    pub usage_bytes: u64,
    /// Longest CSV field.
    pub csv_field_bytes: u64,
    /// Most entries under `out/`.
    pub out_entries: u64,
    /// Deepest nesting under `out/`.
    pub out_depth: u32,
    /// Most bytes one output mapping loads.
    pub output_bytes: u64,
    /// Free space the Storage volume keeps.
    pub free_space_margin_bytes: u64,
}

impl Default for OutputLimits {
    fn default() -> Self {
        Self {
            manifest_bytes: DEFAULT_MANIFEST_BYTES,
            state_bytes: DEFAULT_STATE_BYTES,
            usage_bytes: DEFAULT_USAGE_BYTES,
            csv_field_bytes: DEFAULT_MAX_FIELD_BYTES,
            out_entries: DEFAULT_OUT_ENTRIES,
            out_depth: DEFAULT_OUT_DEPTH,
            output_bytes: DEFAULT_OUTPUT_BYTES,
            free_space_margin_bytes: DEFAULT_FREE_SPACE_MARGIN_BYTES,
        }
    }
}

impl OutputLimits {
    /// These limits with every key `overrides` sets replaced.
    pub fn with(mut self, overrides: &LimitOverrides) -> Self {
        let size = |v: Option<berth_storage::ByteSize>, d: u64| v.map_or(d, |s| s.0);
        self.manifest_bytes = size(overrides.manifest_bytes, self.manifest_bytes);
        self.state_bytes = size(overrides.state_bytes, self.state_bytes);
        self.usage_bytes = size(overrides.usage_bytes, self.usage_bytes);
        self.csv_field_bytes = size(overrides.csv_field_bytes, self.csv_field_bytes);
        self.out_entries = overrides.out_entries.unwrap_or(self.out_entries);
        self.out_depth = overrides.out_depth.unwrap_or(self.out_depth);
        self.output_bytes = size(overrides.output_bytes, self.output_bytes);
        self.free_space_margin_bytes = size(
            overrides.free_space_margin_bytes,
            self.free_space_margin_bytes,
        );
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_storage::ByteSize;

    #[test]
    fn the_nearest_override_wins() {
        let home = LimitOverrides {
            state_bytes: Some(ByteSize(100)),
            out_depth: Some(3),
            ..LimitOverrides::default()
        };
        let component = LimitOverrides {
            state_bytes: Some(ByteSize(200)),
            ..LimitOverrides::default()
        };
        let limits = OutputLimits::default().with(&home).with(&component);
        assert_eq!(limits.state_bytes, 200);
        assert_eq!(limits.out_depth, 3);
        assert_eq!(limits.manifest_bytes, DEFAULT_MANIFEST_BYTES);
        assert_eq!(limits.csv_field_bytes, 16 << 20);
    }
}
