//! LISTEN/NOTIFY: an idle node blocked in `wait_for_work` wakes when another connection queues a
//! job or ends one (which may free a configuration), and times out when nothing happens.

use std::time::Duration;

use berth_postgres::JobStatus;
use serde_json::json;

use crate::{claim, fresh, queue};

/// Long enough that a missing notification shows up as a test failure, not a slow pass.
const WAIT: Duration = Duration::from_secs(30);

#[test]
fn an_idle_node_wakes_when_a_job_is_queued_or_ends() {
    let Some((_db, mut q)) = fresh("an_idle_node_wakes_when_a_job_is_queued_or_ends") else {
        return;
    };
    let mut listener = q.listener().unwrap();
    // Nothing happened: the wait times out.
    assert!(!listener.wait_for_work(Duration::from_millis(50)).unwrap());

    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        ready_tx.send(()).unwrap();
        let woken = listener.wait_for_work(WAIT).unwrap();
        (listener, woken)
    });
    ready_rx.recv().unwrap();
    queue(&mut q, "1", "c", Some("a"));
    let (mut listener, woken) = waiter.join().unwrap();
    assert!(woken, "queueing a job did not wake the listener");

    // Queue two more: they wake it; the second notification may arrive after the first
    // wake-up (at most one more), then the waits time out again.
    queue(&mut q, "2", "c", Some("a"));
    queue(&mut q, "3", "c", Some("a"));
    assert!(listener.wait_for_work(WAIT).unwrap());
    let extra = (0..3)
        .filter(|_| listener.wait_for_work(Duration::from_millis(200)).unwrap())
        .count();
    assert!(extra <= 1, "{extra} more wake-ups for one more job");

    // A claim wakes nobody; the job ending does (its configuration's next job may start).
    assert_eq!(claim(&mut q, "n").as_deref(), Some("1"));
    assert!(!listener.wait_for_work(Duration::from_millis(50)).unwrap());
    q.update_claimed_job("n", "1", JobStatus::Success, &json!({}))
        .unwrap()
        .unwrap();
    assert!(listener.wait_for_work(WAIT).unwrap());
    // A kill of a waiting job frees nothing new but ends a job: it wakes too.
    q.transition_job("3", &[JobStatus::Waiting], JobStatus::Cancelled)
        .unwrap()
        .unwrap();
    assert!(listener.wait_for_work(WAIT).unwrap());
}

#[test]
fn a_rolled_back_queueing_wakes_nobody() {
    let Some((_db, mut q)) = fresh("a_rolled_back_queueing_wakes_nobody") else {
        return;
    };
    queue(&mut q, "1", "c", None);
    let mut listener = q.listener().unwrap();
    // The same id again fails: its transaction (and its NOTIFY) roll back.
    let again = crate::waiting_job("1", "c", None);
    assert!(q.insert_job(&again).is_err());
    assert!(!listener.wait_for_work(Duration::from_millis(200)).unwrap());
}
