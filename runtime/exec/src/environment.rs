//! The environment a component sees: exactly the KBC_* contract of reference §1.5, nothing of
//! the host.

use berth_host_api::env;

/// The values of the KBC_* environment of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEnvironment {
    /// `KBC_RUNID`: the run id of this job.
    pub run_id: String,
    /// `KBC_PROJECTID`.
    pub project_id: String,
    /// `KBC_CONFIGID`: the configuration id (or a digest of the parameters when there is none).
    pub config_id: String,
    /// `KBC_CONFIGVERSION`, empty when unknown.
    pub config_version: String,
    /// `KBC_CONFIGROWID`, only for row jobs.
    pub config_row_id: Option<String>,
    /// `KBC_COMPONENTID`.
    pub component_id: String,
    /// `KBC_STACKID`: non-empty, so SDKs know they run under a runner.
    pub stack_id: String,
    /// `KBC_BRANCHID`.
    pub branch_id: String,
    /// `KBC_STAGING_FILE_PROVIDER`.
    pub staging_file_provider: String,
    /// `KBC_PROJECT_FEATURE_GATES`: always contains `queuev2`.
    pub feature_gates: Vec<String>,
    /// `KBC_COMPONENT_RUN_MODE`: `run` or `debug`.
    pub run_mode: String,
    /// `KBC_DATA_TYPE_SUPPORT`, only when set.
    pub data_type_support: Option<String>,
    /// `KBC_TOKEN`: a forwarded token, only for a component with `forward_token` run by a server.
    pub token: Option<String>,
    /// `KBC_URL`: the server's URL, with `token`.
    pub url: Option<String>,
}

/// The stack id berth reports when none is configured.
pub const DEFAULT_STACK_ID: &str = "berth.local";
/// The project id berth reports when none is configured.
pub const DEFAULT_PROJECT_ID: &str = "1";

impl JobEnvironment {
    /// An environment for `component_id` with berth's local defaults and a fresh run id.
    pub fn local(component_id: &str, config_id: &str) -> Self {
        Self {
            run_id: new_run_id(),
            project_id: DEFAULT_PROJECT_ID.to_owned(),
            config_id: config_id.to_owned(),
            config_version: String::new(),
            config_row_id: None,
            component_id: component_id.to_owned(),
            stack_id: DEFAULT_STACK_ID.to_owned(),
            branch_id: "default".to_owned(),
            staging_file_provider: "local".to_owned(),
            feature_gates: vec!["queuev2".to_owned()],
            run_mode: "run".to_owned(),
            data_type_support: None,
            token: None,
            url: None,
        }
    }

    /// The variables, in a stable order.
    pub fn to_vars(&self) -> Vec<(String, String)> {
        let mut gates = self.feature_gates.clone();
        if !gates.iter().any(|g| g == "queuev2") {
            gates.push("queuev2".to_owned());
        }
        let mut vars = vec![
            (env::KBC_DATADIR, env::DATA_DIR_IN_SANDBOX.to_owned()),
            (env::KBC_RUNID, self.run_id.clone()),
            (env::KBC_PROJECTID, self.project_id.clone()),
            (env::KBC_CONFIGID, self.config_id.clone()),
            (env::KBC_CONFIGVERSION, self.config_version.clone()),
            (env::KBC_COMPONENTID, self.component_id.clone()),
            (env::KBC_STACKID, self.stack_id.clone()),
            (env::KBC_BRANCHID, self.branch_id.clone()),
            (
                env::KBC_STAGING_FILE_PROVIDER,
                self.staging_file_provider.clone(),
            ),
            (env::KBC_PROJECT_FEATURE_GATES, gates.join(",")),
            (env::KBC_COMPONENT_RUN_MODE, self.run_mode.clone()),
        ];
        if let Some(row) = &self.config_row_id {
            vars.push((env::KBC_CONFIGROWID, row.clone()));
        }
        if let Some(support) = &self.data_type_support {
            vars.push((env::KBC_DATA_TYPE_SUPPORT, support.clone()));
        }
        if let Some(token) = &self.token {
            vars.push((env::KBC_TOKEN, token.clone()));
        }
        if let Some(url) = &self.url {
            vars.push((env::KBC_URL, url.clone()));
        }
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// A new run id: milliseconds since the epoch followed by three digits (a per-process counter
/// from a random start), numeric as Keboola's run ids are, and increasing over time.
pub fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Ids this process makes within one millisecond differ (up to 1,000 of them; random digits
    // alone collided at three jobs queued in the same millisecond one time in a few hundred),
    // and another process starts elsewhere.
    static SEQUENCE: std::sync::OnceLock<AtomicU32> = std::sync::OnceLock::new();
    let sequence = SEQUENCE.get_or_init(|| {
        let start = u32::try_from(uuid::Uuid::new_v4().as_u128() % 1000).unwrap_or_default();
        AtomicU32::new(start)
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let suffix = sequence.fetch_add(1, Ordering::Relaxed) % 1000;
    format!("{}{suffix:03}", now.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_made_together_differ() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_run_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() >= 16 && id.bytes().all(|b| b.is_ascii_digit()))
        );
    }

    #[test]
    fn holds_the_whole_contract() {
        let vars = JobEnvironment::local("demo", "123").to_vars();
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("KBC_DATADIR"), Some("/data/"));
        assert_eq!(get("KBC_COMPONENTID"), Some("demo"));
        assert_eq!(get("KBC_CONFIGID"), Some("123"));
        assert_eq!(get("KBC_PROJECT_FEATURE_GATES"), Some("queuev2"));
        assert_eq!(get("KBC_COMPONENT_RUN_MODE"), Some("run"));
        assert!(get("KBC_RUNID").is_some_and(|r| r.len() > 10));
        assert!(get("KBC_STACKID").is_some_and(|s| !s.is_empty()));
        assert!(get("KBC_CONFIGROWID").is_none());
        assert!(get("KBC_TOKEN").is_none() && get("KBC_URL").is_none());
        let mut forwarded = JobEnvironment::local("demo", "123");
        forwarded.token = Some("7-secret".into());
        forwarded.url = Some("http://127.0.0.1:8080".into());
        let vars = forwarded.to_vars();
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("KBC_TOKEN"), Some("7-secret"));
        assert_eq!(get("KBC_URL"), Some("http://127.0.0.1:8080"));
    }
}
