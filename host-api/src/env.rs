//! Names of the `KBC_*` environment variables the runner passes to a component (reference §1.5).
//!
//! Only the names live here; which values the runner sets, and when, is the runner's business.
//! A component reads them with `std::env::var` (or through the guest SDK's accessors).

/// The run id (in Queue v2 the job id). Always set, possibly empty.
pub const KBC_RUNID: &str = "KBC_RUNID";
/// The project id. Always set.
pub const KBC_PROJECTID: &str = "KBC_PROJECTID";
/// The data folder as the component sees it; its value is [`DATA_DIR_IN_SANDBOX`].
pub const KBC_DATADIR: &str = "KBC_DATADIR";
/// The configuration id (or a digest of the parameters when there is none). Always set.
pub const KBC_CONFIGID: &str = "KBC_CONFIGID";
/// The configuration version, or `""`. Always set.
pub const KBC_CONFIGVERSION: &str = "KBC_CONFIGVERSION";
/// The id of the running component. Always set.
pub const KBC_COMPONENTID: &str = "KBC_COMPONENTID";
/// The host part of the Storage API URL, e.g. `connection.keboola.com`. Always set.
pub const KBC_STACKID: &str = "KBC_STACKID";
/// The project's staging file provider: `aws`, `azure` or `gcp`. Always set.
pub const KBC_STAGING_FILE_PROVIDER: &str = "KBC_STAGING_FILE_PROVIDER";
/// Comma-joined project feature gates; contains `queuev2` on the current queue. Always set.
pub const KBC_PROJECT_FEATURE_GATES: &str = "KBC_PROJECT_FEATURE_GATES";
/// `run` or `debug`. Always set.
pub const KBC_COMPONENT_RUN_MODE: &str = "KBC_COMPONENT_RUN_MODE";
/// `authoritative`, `hints` or `none`; only with the `new-native-types` project feature.
pub const KBC_DATA_TYPE_SUPPORT: &str = "KBC_DATA_TYPE_SUPPORT";
/// The configuration row id; only for row jobs.
pub const KBC_CONFIGROWID: &str = "KBC_CONFIGROWID";
/// The branch id; set whenever the job has a branch.
pub const KBC_BRANCHID: &str = "KBC_BRANCHID";
/// The Storage API token; only when the component forwards the token.
pub const KBC_TOKEN: &str = "KBC_TOKEN";
/// The Storage API URL; only when the component forwards the token.
pub const KBC_URL: &str = "KBC_URL";

/// The value of `KBC_DATADIR` inside the sandbox: `/data/`, with the trailing slash.
pub const DATA_DIR_IN_SANDBOX: &str = "/data/";

/// Every variable name above, in the order of reference §1.5.
pub const ALL: [&str; 15] = [
    KBC_RUNID,
    KBC_PROJECTID,
    KBC_DATADIR,
    KBC_CONFIGID,
    KBC_CONFIGVERSION,
    KBC_COMPONENTID,
    KBC_STACKID,
    KBC_STAGING_FILE_PROVIDER,
    KBC_PROJECT_FEATURE_GATES,
    KBC_COMPONENT_RUN_MODE,
    KBC_DATA_TYPE_SUPPORT,
    KBC_CONFIGROWID,
    KBC_BRANCHID,
    KBC_TOKEN,
    KBC_URL,
];
