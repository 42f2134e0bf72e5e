//! What every request handler shares: the home, the workers, the event writer and the metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use berth_job::home::Home;
use berth_job::launch::ExecutorKind;

use crate::workers::Workers;

/// The server's shared state.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) home: Home,
    /// The server's own URL (`url` of created jobs, `KBC_URL`).
    pub(crate) url: String,
    pub(crate) workers: Workers,
    pub(crate) metrics: Metrics,
    pub(crate) started: Instant,
}

/// Counters for `/metrics` (job counts by status come from Storage).
#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics {
    inner: Arc<MetricsInner>,
}

#[derive(Debug, Default)]
struct MetricsInner {
    requests: AtomicU64,
    actions: AtomicU64,
    action_micros: AtomicU64,
    wasi_jobs: AtomicU64,
    wasi_job_micros: AtomicU64,
    docker_jobs: AtomicU64,
    docker_job_micros: AtomicU64,
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl Metrics {
    pub(crate) fn request(&self) {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn action_finished(&self, took: Duration) {
        self.inner.actions.fetch_add(1, Ordering::Relaxed);
        self.inner
            .action_micros
            .fetch_add(micros(took), Ordering::Relaxed);
    }

    pub(crate) fn job_finished(&self, executor: Option<ExecutorKind>, took: Duration) {
        let (count, sum) = match executor {
            Some(ExecutorKind::Docker) => (&self.inner.docker_jobs, &self.inner.docker_job_micros),
            _ => (&self.inner.wasi_jobs, &self.inner.wasi_job_micros),
        };
        count.fetch_add(1, Ordering::Relaxed);
        sum.fetch_add(micros(took), Ordering::Relaxed);
    }

    /// The counters in Prometheus' text format.
    pub(crate) fn render(&self, out: &mut String) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let seconds = |a: &AtomicU64| load(a) as f64 / 1e6;
        let i = &self.inner;
        out.push_str("# HELP berth_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE berth_http_requests_total counter\n");
        out.push_str(&format!(
            "berth_http_requests_total {}\n",
            load(&i.requests)
        ));
        out.push_str("# HELP berth_action_duration_seconds Synchronous actions and their time.\n");
        out.push_str("# TYPE berth_action_duration_seconds summary\n");
        out.push_str(&format!(
            "berth_action_duration_seconds_count {}\nberth_action_duration_seconds_sum {}\n",
            load(&i.actions),
            seconds(&i.action_micros)
        ));
        out.push_str(
            "# HELP berth_job_duration_seconds Finished jobs and their time, by executor.\n",
        );
        out.push_str("# TYPE berth_job_duration_seconds summary\n");
        for (executor, count, sum) in [
            ("wasi", &i.wasi_jobs, &i.wasi_job_micros),
            ("docker", &i.docker_jobs, &i.docker_job_micros),
        ] {
            out.push_str(&format!(
                "berth_job_duration_seconds_count{{executor=\"{executor}\"}} {}\n\
                 berth_job_duration_seconds_sum{{executor=\"{executor}\"}} {}\n",
                load(count),
                seconds(sum)
            ));
        }
    }
}
