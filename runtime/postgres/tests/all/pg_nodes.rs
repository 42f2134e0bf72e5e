//! Several nodes on one queue: heartbeats, kills from another node seen at the next heartbeat,
//! the sweep that ends jobs whose node stopped (never re-running them), and a slow node that
//! comes back after the sweep (it can no longer record anything for the job).

use std::sync::{Arc, Barrier};
use std::time::Duration;

use berth_postgres::{
    Heartbeat, JobStatus, NewJob, PgStorage, StoredJob, SweptJob, node_stopped_message,
};
use serde_json::{Value, json};

use crate::{claim, fresh, queue};

/// An expiry no heartbeat in these tests is older than.
const LONG: Duration = Duration::from_secs(3600);

/// What berth-job would do with the record of a swept job: keep it, add the message.
fn end_record(job: &StoredJob, to: JobStatus, message: &str) -> Value {
    let mut record = job.record.clone();
    record["status"] = json!(to.as_str());
    record["message"] = json!(message);
    record
}

#[test]
fn a_kill_from_another_node_is_seen_at_the_next_heartbeat() {
    let Some((db, mut a)) = fresh("a_kill_from_another_node_is_seen_at_the_next_heartbeat") else {
        return;
    };
    let mut b = PgStorage::connect(db.url()).unwrap();
    queue(&mut a, "1", "c", Some("x"));
    assert_eq!(claim(&mut a, "node-a").as_deref(), Some("1"));
    assert_eq!(a.heartbeat("node-a", "1").unwrap(), Heartbeat::Run);
    // Another node's heartbeat for a job it does not hold is refused and names the holder.
    assert_eq!(
        b.heartbeat("node-b", "1").unwrap(),
        Heartbeat::Lost {
            status: JobStatus::Processing,
            node: Some("node-a".into())
        }
    );
    // Node b cannot record anything for it either.
    assert_eq!(
        b.update_claimed_job("node-b", "1", JobStatus::Success, &json!({}))
            .unwrap(),
        Err(JobStatus::Processing)
    );
    // The kill, from node b.
    assert_eq!(
        b.transition_job("1", &[JobStatus::Processing], JobStatus::Terminating)
            .unwrap(),
        Ok(JobStatus::Processing)
    );
    assert_eq!(a.heartbeat("node-a", "1").unwrap(), Heartbeat::Stop);
    // Node a saving progress as processing does not undo the kill; it ends the job terminated.
    assert_eq!(
        a.update_claimed_job("node-a", "1", JobStatus::Processing, &json!({"p": 1}))
            .unwrap(),
        Ok(JobStatus::Terminating)
    );
    assert_eq!(a.job("1").unwrap().status, JobStatus::Terminating);
    assert_eq!(
        a.update_claimed_job("node-a", "1", JobStatus::Terminated, &json!({"end": true}))
            .unwrap(),
        Ok(JobStatus::Terminating)
    );
    let job = b.job("1").unwrap();
    assert_eq!(job.status, JobStatus::Terminated);
    assert!(job.finished.is_some());
    assert_eq!(
        a.heartbeat("node-a", "1").unwrap(),
        Heartbeat::Lost {
            status: JobStatus::Terminated,
            node: Some("node-a".into())
        }
    );
}

#[test]
fn the_sweep_ends_jobs_whose_node_stopped_and_never_reruns_them() {
    let Some((db, mut a)) = fresh("the_sweep_ends_jobs_whose_node_stopped") else {
        return;
    };
    let mut b = PgStorage::connect(db.url()).unwrap();
    queue(&mut a, "1", "c", Some("x"));
    queue(&mut a, "2", "c", Some("x"));
    queue(&mut a, "3", "c", Some("y"));
    queue(&mut a, "4", "c", None);
    assert_eq!(claim(&mut a, "node-a").as_deref(), Some("1"));
    assert_eq!(claim(&mut a, "node-a").as_deref(), Some("3"));
    b.transition_job("3", &[JobStatus::Processing], JobStatus::Terminating)
        .unwrap()
        .unwrap();
    // Fresh heartbeats: nothing to sweep.
    assert!(b.sweep_expired(LONG, end_record).unwrap().is_empty());

    // Node a stops heartbeating; with an expiry of zero every heartbeat is old.
    let swept = b.sweep_expired(Duration::ZERO, end_record).unwrap();
    let mut ended: Vec<(String, JobStatus)> = swept
        .iter()
        .map(|s| (s.job.id.clone(), s.job.status))
        .collect();
    ended.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        ended,
        [
            ("1".to_owned(), JobStatus::Error),
            ("3".to_owned(), JobStatus::Terminated)
        ]
    );
    let SweptJob {
        job,
        node,
        last_heartbeat,
    } = swept.iter().find(|s| s.job.id == "1").unwrap();
    assert_eq!(node.as_deref(), Some("node-a"));
    assert!(job.finished.is_some());
    let message = node_stopped_message(Some("node-a"), *last_heartbeat);
    assert!(
        message.starts_with(
            "The job was running on node \"node-a\", which stopped sending heartbeats (last at "
        ) && message.ends_with("it was not run again, because components have side effects."),
        "{message}"
    );
    assert_eq!(job.record["message"], json!(message));
    assert_eq!(
        job.record["id"],
        json!("1"),
        "the rest of the record is kept"
    );
    assert_eq!(b.job("1").unwrap().status, JobStatus::Error);
    // Waiting jobs are never swept; nothing is swept twice.
    assert!(
        b.sweep_expired(Duration::ZERO, end_record)
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.job("4").unwrap().status, JobStatus::Waiting);

    // The swept job is not run again; its configuration's next job may start.
    assert_eq!(claim(&mut b, "node-b").as_deref(), Some("2"));
    assert_eq!(claim(&mut b, "node-b").as_deref(), Some("4"));
    assert_eq!(claim(&mut b, "node-b"), None);

    // Node a was only slow: it learns it lost the job and cannot overwrite the verdict.
    assert_eq!(
        a.heartbeat("node-a", "1").unwrap(),
        Heartbeat::Lost {
            status: JobStatus::Error,
            node: Some("node-a".into())
        }
    );
    assert_eq!(
        a.update_claimed_job("node-a", "1", JobStatus::Success, &json!({"late": true}))
            .unwrap(),
        Err(JobStatus::Error)
    );
    let job = a.job("1").unwrap();
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.record["message"], json!(message));
}

#[test]
fn a_job_recorded_running_is_adopted_by_its_first_heartbeat() {
    let Some((_db, mut q)) = fresh("a_job_recorded_running_is_adopted") else {
        return;
    };
    let job = q
        .insert_job(&NewJob {
            id: "now".into(),
            component_id: "c".into(),
            config_id: Some("x".into()),
            status: JobStatus::Processing,
            token_id: None,
            request: json!({}),
            record: json!({}),
        })
        .unwrap();
    assert!(job.started.is_some());
    // It runs: its configuration's queued jobs wait for it.
    queue(&mut q, "next", "c", Some("x"));
    assert_eq!(claim(&mut q, "n"), None);
    assert_eq!(q.heartbeat("runner", "now").unwrap(), Heartbeat::Run);
    assert_eq!(
        q.heartbeat("other", "now").unwrap(),
        Heartbeat::Lost {
            status: JobStatus::Processing,
            node: Some("runner".into())
        }
    );
    q.update_claimed_job("runner", "now", JobStatus::Success, &json!({}))
        .unwrap()
        .unwrap();
    assert_eq!(claim(&mut q, "n").as_deref(), Some("next"));
}

/// Several nodes sweeping at once: each expired job is ended by exactly one of them.
#[test]
fn concurrent_sweeps_end_each_job_once() {
    let Some((db, mut q)) = fresh("concurrent_sweeps_end_each_job_once") else {
        return;
    };
    let jobs = 60;
    for n in 0..jobs {
        queue(&mut q, &n.to_string(), "c", Some(&format!("cfg-{n}")));
    }
    while claim(&mut q, "dead").is_some() {}
    let sweepers = 3;
    let barrier = Arc::new(Barrier::new(sweepers));
    let handles: Vec<_> = (0..sweepers)
        .map(|_| {
            let url = db.url().to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut q = PgStorage::connect(&url).unwrap();
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let swept = q.sweep_expired(Duration::ZERO, end_record).unwrap();
                    if swept.is_empty() {
                        break;
                    }
                    mine.extend(swept.into_iter().map(|s| s.job.id));
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let mut expected: Vec<String> = (0..jobs).map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(all, expected);
    let counts = q.job_counts().unwrap();
    assert_eq!(counts, [(JobStatus::Error, jobs)]);
}
