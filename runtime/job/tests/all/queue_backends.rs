//! `berth_job::queue` on both queue backends: the same code queues, claims, kills and recovers
//! jobs through `&mut dyn JobQueue` on the embedded Storage (`queue_backends::duckdb::…`) and on
//! PostgreSQL (`queue_backends::postgres::…`, a fresh database of the test cluster; skipped with a
//! message when none answers, failing when `BERTH_REQUIRE_POSTGRES=1`). The queue's own rules are
//! berth-postgres's `queue_suite`; this checks the job layer written on top of them.

use std::any::Any;
use std::path::PathBuf;

use berth_job::home::Home;
use berth_job::queue::{self, Killed, QueuedJob};
use berth_job::record::{JobRecord, JobStore, parse};
use berth_postgres::PgStorage;
use berth_postgres::testing::TestDatabase;
use berth_storage::{JobQueue, JobStatus, Storage};
use serde_json::json;
use tempfile::TempDir;

/// One backend's queue for one test, a home for the record mirror, and what keeps the database.
struct Backend {
    queue: Box<dyn JobQueue + Send>,
    home: TempDir,
    _keep: Box<dyn Any>,
}

impl Backend {
    fn duckdb() -> Self {
        let dir = TempDir::new().unwrap();
        Self {
            queue: Box::new(Storage::open(dir.path()).unwrap()),
            home: TempDir::new().unwrap(),
            _keep: Box::new(dir),
        }
    }

    fn postgres(test: &str) -> Option<Self> {
        let db = TestDatabase::create(test)?;
        let queue = PgStorage::connect(db.url()).unwrap().for_node("n");
        Some(Self {
            queue: Box::new(queue),
            home: TempDir::new().unwrap(),
            _keep: Box::new(db),
        })
    }

    fn run(mut self, case: fn(&mut dyn JobQueue, &Mirror)) {
        let mirror = Mirror {
            store: JobStore::new(&Home::new(self.home.path())),
            dir: self.home.path().join("jobs"),
        };
        case(&mut *self.queue, &mirror);
    }
}

/// The home's record mirror: where the queue functions write it, and its files.
struct Mirror {
    store: JobStore,
    dir: PathBuf,
}

impl Mirror {
    /// The mirrored record of job `id`.
    fn record(&self, id: &str) -> JobRecord {
        let text = std::fs::read_to_string(self.dir.join(format!("{id}.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

macro_rules! on_both {
    ($($case:ident),+ $(,)?) => {
        mod duckdb {
            $(
                #[test]
                fn $case() {
                    super::Backend::duckdb().run(super::$case);
                }
            )+
        }

        mod postgres {
            $(
                #[test]
                fn $case() {
                    if let Some(backend) = super::Backend::postgres(stringify!($case)) {
                        backend.run(super::$case);
                    }
                }
            )+
        }
    };
}

on_both!(
    queued_jobs_are_claimed_in_order_and_killed,
    interrupted_jobs_end_and_are_never_run_again,
);

fn job(config: Option<&str>) -> QueuedJob {
    QueuedJob {
        component: "acme.c".into(),
        config: config.map(str::to_owned),
        config_data: config.is_none().then(|| json!({"parameters": {}})),
        ..QueuedJob::default()
    }
}

fn queued_jobs_are_claimed_in_order_and_killed(q: &mut dyn JobQueue, mirror: &Mirror) {
    let first = queue::enqueue(q, &job(Some("a")), Some("7")).unwrap();
    let second = queue::enqueue(q, &job(Some("a")), None).unwrap();
    let data = queue::enqueue(q, &job(None), None).unwrap();
    assert_eq!(first.status, JobStatus::Waiting);
    assert_eq!(q.job(&first.id).unwrap().token_id.as_deref(), Some("7"));

    let claimed = queue::claim(q).unwrap().unwrap();
    assert_eq!(claimed.record.id, first.id);
    assert_eq!(claimed.record.status, JobStatus::Processing);
    assert_eq!(claimed.job, job(Some("a")));
    // The second job of configuration "a" waits for the first; the configData job goes.
    let next = queue::claim(q).unwrap().unwrap();
    assert_eq!(next.record.id, data.id);
    assert!(queue::claim(q).unwrap().is_none());

    // A waiting job is cancelled at once, saying so, and mirrored.
    assert_eq!(
        queue::kill_in(q, &mirror.store, &second.id).unwrap(),
        Killed::Cancelled
    );
    let cancelled = parse(&q.job(&second.id).unwrap()).unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert_eq!(
        cancelled.result.message,
        "The job was cancelled while waiting."
    );
    assert!(cancelled.finished.is_some());
    assert_eq!(mirror.record(&second.id).status, JobStatus::Cancelled);

    // A running job is asked to stop; asking again changes nothing.
    assert_eq!(
        queue::kill_in(q, &mirror.store, &first.id).unwrap(),
        Killed::Terminating
    );
    assert_eq!(
        queue::kill_in(q, &mirror.store, &first.id).unwrap(),
        Killed::Unchanged(JobStatus::Terminating)
    );
    assert_eq!(q.job(&first.id).unwrap().status, JobStatus::Terminating);
    let err = queue::kill_in(q, &mirror.store, "nope").unwrap_err();
    assert!(err.is_user_error(), "{err}");
}

fn interrupted_jobs_end_and_are_never_run_again(q: &mut dyn JobQueue, mirror: &Mirror) {
    let running = queue::enqueue(q, &job(Some("a")), None).unwrap();
    let stopping = queue::enqueue(q, &job(Some("b")), None).unwrap();
    let waiting = queue::enqueue(q, &job(Some("a")), None).unwrap();
    assert_eq!(queue::claim(q).unwrap().unwrap().record.id, running.id);
    assert_eq!(queue::claim(q).unwrap().unwrap().record.id, stopping.id);
    queue::kill_in(q, &mirror.store, &stopping.id).unwrap();

    let interrupted = queue::interrupted_jobs(q).unwrap();
    let ids: Vec<&str> = interrupted.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, [stopping.id.as_str(), running.id.as_str()]);
    for job in &interrupted {
        queue::end_interrupted(q, &mirror.store, job).unwrap();
    }
    let error = parse(&q.job(&running.id).unwrap()).unwrap();
    assert_eq!(error.status, JobStatus::Error);
    assert_eq!(error.result.message, queue::INTERRUPTED_MESSAGE);
    assert_eq!(error.result.exit_code, Some(2));
    let terminated = parse(&q.job(&stopping.id).unwrap()).unwrap();
    assert_eq!(terminated.status, JobStatus::Terminated);
    assert_eq!(mirror.record(&running.id).status, JobStatus::Error);
    assert!(queue::interrupted_jobs(q).unwrap().is_empty());
    // The waiting job stays queued and runs next; the interrupted ones never again.
    assert_eq!(queue::claim(q).unwrap().unwrap().record.id, waiting.id);
    assert!(queue::claim(q).unwrap().is_none());
}
