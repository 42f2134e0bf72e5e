//! Runs on several threads at once share one engine without holding each other back: a guest
//! busy in wasm code on one thread must not stop the timers (sleeps, timeouts) of a guest
//! waiting on another.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_exec::testing::{Run, run_data_dir};
use berth_exec::{Cancel, Outcome};
use components_artifacts as guests;

#[test]
fn a_waiting_guest_times_out_while_another_thread_runs_a_busy_one() {
    // Compiled beforehand, so that the busy guest is running, not compiling, when the waiting
    // one starts.
    for guest in [guests::SPIN_FOREVER, guests::SLEEP_FOREVER] {
        let name = berth_exec::testing::module_name(guest);
        berth_exec::testing::engine()
            .load(std::path::Path::new(guest), &name)
            .expect("the guest loads");
    }
    let busy_dir = run_data_dir();
    let busy_path = busy_dir.path().to_path_buf();
    let stop_busy = Cancel::new();
    let busy_ended = Arc::new(AtomicBool::new(false));
    let busy = {
        let stop_busy = stop_busy.clone();
        let busy_ended = busy_ended.clone();
        std::thread::spawn(move || {
            let (_, outcome) = Run::new(guests::SPIN_FOREVER, &busy_path)
                .timeout(Duration::from_secs(30))
                .cancel(&stop_busy)
                .run();
            busy_ended.store(true, Ordering::SeqCst);
            outcome
        })
    };
    // Let the busy guest start first, so that its thread is the one driving the engine's
    // runtime when the waiting guest arrives (the order that used to starve the timers).
    std::thread::sleep(Duration::from_millis(300));

    let waiting_dir = run_data_dir();
    let (_, waiting) = Run::new(guests::SLEEP_FOREVER, waiting_dir.path())
        .timeout(Duration::from_secs(1))
        .run();
    let busy_was_running = !busy_ended.load(Ordering::SeqCst);
    stop_busy.cancel();
    let busy = busy.join().unwrap();

    assert!(
        matches!(waiting, Outcome::Timeout { .. }),
        "the waiting guest times out: {waiting:?}"
    );
    assert!(
        busy_was_running,
        "the waiting guest's timeout fired only after the busy guest on the other thread ended"
    );
    assert!(matches!(busy, Outcome::Terminated { .. }), "{busy:?}");
}
