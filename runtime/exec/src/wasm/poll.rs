//! A `poll_oneoff` that a timeout can cancel, so that file I/O can run inline.
//!
//! wasmtime-wasi 48 offers one switch, `allow_blocking_current_thread`: on, every file operation
//! under /data runs on the current thread (off, each one hops to tokio's blocking pool, ~0.1 ms
//! apiece); but on, a guest's sleep (`poll_oneoff` on one relative clock) also becomes a plain
//! `std::thread::sleep` that no timeout can cut short. This module shadows `poll_oneoff` with an
//! implementation whose waits are tokio timers, cancelled with the run's future, so the switch can
//! stay on.
//!
//! Semantics, for the sandbox berth provides (no sockets, stdin closed, regular files only):
//! clock subscriptions wait as asked (relative, or absolute on the realtime clock; an absolute
//! monotonic deadline counts as due); file-descriptor subscriptions are reported ready at once,
//! as regular files always are; with any descriptor ready the call does not wait.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Extern, Linker};

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;

const SUBSCRIPTION_SIZE: usize = 48;
const EVENT_SIZE: usize = 32;
const TAG_CLOCK: u8 = 0;
const TAG_FD_READ: u8 = 1;
const TAG_FD_WRITE: u8 = 2;
const CLOCK_REALTIME: u32 = 0;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

/// Replaces `wasi_snapshot_preview1::poll_oneoff` in `linker`.
pub(super) fn shadow_poll_oneoff<T: Send + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap_async(
        "wasi_snapshot_preview1",
        "poll_oneoff",
        |mut caller: Caller<'_, T>, (subs, events, count, nevents): (i32, i32, i32, i32)| {
            Box::new(async move {
                Ok(poll_oneoff(
                    &mut caller,
                    subs as u32,
                    events as u32,
                    count as u32,
                    nevents as u32,
                )
                .await)
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// One parsed subscription.
enum Subscription {
    Clock { userdata: u64, wait: Duration },
    Fd { userdata: u64, tag: u8 },
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default())
}

fn parse(raw: &[u8]) -> Option<Vec<Subscription>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    raw.chunks_exact(SUBSCRIPTION_SIZE)
        .map(|sub| {
            let userdata = u64_at(sub, 0);
            match sub[8] {
                TAG_CLOCK => {
                    let clock = u32::from_le_bytes(sub[16..20].try_into().ok()?);
                    let timeout = u64_at(sub, 24);
                    let flags = u16::from_le_bytes(sub[40..42].try_into().ok()?);
                    let wait = if flags & SUBCLOCKFLAGS_ABSTIME == 0 {
                        timeout
                    } else if clock == CLOCK_REALTIME {
                        u64::try_from(u128::from(timeout).saturating_sub(now)).unwrap_or(u64::MAX)
                    } else {
                        0
                    };
                    Some(Subscription::Clock {
                        userdata,
                        wait: Duration::from_nanos(wait),
                    })
                }
                tag @ (TAG_FD_READ | TAG_FD_WRITE) => Some(Subscription::Fd { userdata, tag }),
                _ => None,
            }
        })
        .collect()
}

async fn poll_oneoff<T>(
    caller: &mut Caller<'_, T>,
    subs: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> i32 {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return ERRNO_INVAL;
    };
    if count == 0 {
        return ERRNO_INVAL;
    }
    let mut raw = vec![0u8; count as usize * SUBSCRIPTION_SIZE];
    if memory.read(&*caller, subs as usize, &mut raw).is_err() {
        return ERRNO_FAULT;
    }
    let Some(subscriptions) = parse(&raw) else {
        return ERRNO_INVAL;
    };
    let mut ready: Vec<(u64, u8)> = subscriptions
        .iter()
        .filter_map(|s| match s {
            Subscription::Fd { userdata, tag } => Some((*userdata, *tag)),
            Subscription::Clock { .. } => None,
        })
        .collect();
    if ready.is_empty() {
        let wait = subscriptions
            .iter()
            .filter_map(|s| match s {
                Subscription::Clock { wait, .. } => Some(*wait),
                Subscription::Fd { .. } => None,
            })
            .min()
            .unwrap_or_default();
        tokio::time::sleep(wait).await;
        ready.extend(subscriptions.iter().filter_map(|s| match s {
            Subscription::Clock { userdata, wait: w } if *w <= wait => Some((*userdata, TAG_CLOCK)),
            _ => None,
        }));
    }
    for (index, (userdata, tag)) in ready.iter().enumerate() {
        let mut event = [0u8; EVENT_SIZE];
        event[0..8].copy_from_slice(&userdata.to_le_bytes());
        event[10] = *tag;
        let at = events as usize + index * EVENT_SIZE;
        if memory.write(&mut *caller, at, &event).is_err() {
            return ERRNO_FAULT;
        }
    }
    let written = (ready.len() as u32).to_le_bytes();
    if memory
        .write(&mut *caller, nevents as usize, &written)
        .is_err()
    {
        return ERRNO_FAULT;
    }
    ERRNO_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(userdata: u64, tag: u8, clock: u32, timeout: u64, flags: u16) -> Vec<u8> {
        let mut sub = vec![0u8; SUBSCRIPTION_SIZE];
        sub[0..8].copy_from_slice(&userdata.to_le_bytes());
        sub[8] = tag;
        sub[16..20].copy_from_slice(&clock.to_le_bytes());
        sub[24..32].copy_from_slice(&timeout.to_le_bytes());
        sub[40..42].copy_from_slice(&flags.to_le_bytes());
        sub
    }

    #[test]
    fn relative_and_absolute_clocks_become_waits() {
        let mut raw = subscription(7, TAG_CLOCK, 1, 5_000_000, 0);
        raw.extend(subscription(
            8,
            TAG_CLOCK,
            CLOCK_REALTIME,
            1,
            SUBCLOCKFLAGS_ABSTIME,
        ));
        raw.extend(subscription(9, TAG_CLOCK, 1, 123, SUBCLOCKFLAGS_ABSTIME));
        let parsed = parse(&raw).unwrap();
        let waits: Vec<(u64, Duration)> = parsed
            .iter()
            .map(|s| match s {
                Subscription::Clock { userdata, wait } => (*userdata, *wait),
                Subscription::Fd { .. } => panic!("no fd here"),
            })
            .collect();
        assert_eq!(
            waits,
            vec![
                (7, Duration::from_millis(5)),
                (8, Duration::ZERO),
                (9, Duration::ZERO)
            ]
        );
    }

    #[test]
    fn descriptors_are_kept_and_unknown_tags_rejected() {
        let raw = subscription(1, TAG_FD_READ, 0, 0, 0);
        assert!(matches!(
            parse(&raw).unwrap()[..],
            [Subscription::Fd {
                userdata: 1,
                tag: TAG_FD_READ
            }]
        ));
        assert!(parse(&subscription(1, 9, 0, 0, 0)).is_none());
    }
}
