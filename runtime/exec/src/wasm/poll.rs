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
//!
//! The guest's numbers are never trusted: `count` and the three pointers are checked against the
//! size of the guest's memory (in 64-bit arithmetic) before anything is read, and nothing is
//! allocated per subscription — one pass over the guest's memory finds the wait, a second writes
//! the events in place. A guest passing `count = u32::MAX` gets `EFAULT`, not a host allocation.

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

/// Nanoseconds since the Unix epoch (the realtime clock's reading).
fn realtime_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// Parses one 48-byte subscription; `None` for an unknown tag.
fn parse_one(sub: &[u8; SUBSCRIPTION_SIZE], now: u128) -> Option<Subscription> {
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
}

/// Parses a buffer of whole subscriptions (unit tests; the shim parses in place).
#[cfg(test)]
fn parse(raw: &[u8]) -> Option<Vec<Subscription>> {
    let now = realtime_now();
    raw.chunks_exact(SUBSCRIPTION_SIZE)
        .map(|sub| parse_one(sub.try_into().ok()?, now))
        .collect()
}

/// Where the guest's arguments point, checked against the guest's memory before anything is
/// read or allocated: `count` subscriptions at `subs`, as many event slots at `events`, the
/// result count at `nevents`. Every range must lie inside the memory (checked in 64 bits, so no
/// product or sum can wrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Regions {
    subs: usize,
    events: usize,
    count: usize,
    nevents: usize,
}

impl Regions {
    /// The regions of a call, or the errno to return: `INVAL` for no subscriptions, `FAULT` for
    /// a range outside a memory of `memory_len` bytes.
    pub(crate) fn check(
        memory_len: usize,
        subs: u32,
        events: u32,
        count: u32,
        nevents: u32,
    ) -> Result<Self, i32> {
        if count == 0 {
            return Err(ERRNO_INVAL);
        }
        let len = memory_len as u64;
        let fits = |at: u32, item: usize| {
            u64::from(at)
                .checked_add(u64::from(count) * item as u64)
                .is_some_and(|end| end <= len)
        };
        let nevents_fits = u64::from(nevents) + 4 <= len;
        if !fits(subs, SUBSCRIPTION_SIZE) || !fits(events, EVENT_SIZE) || !nevents_fits {
            return Err(ERRNO_FAULT);
        }
        Ok(Self {
            subs: subs as usize,
            events: events as usize,
            count: count as usize,
            nevents: nevents as usize,
        })
    }

    fn subscription(&self, memory: &[u8], index: usize) -> [u8; SUBSCRIPTION_SIZE] {
        let at = self.subs + index * SUBSCRIPTION_SIZE;
        let mut sub = [0u8; SUBSCRIPTION_SIZE];
        sub.copy_from_slice(&memory[at..at + SUBSCRIPTION_SIZE]);
        sub
    }
}

/// What a first pass over the subscriptions found, without keeping them.
struct Scan {
    /// Any descriptor subscription (then the call does not wait).
    any_fd: bool,
    /// The shortest clock wait.
    wait: Duration,
}

/// The first pass: validates every tag and finds the wait. `None` for an unknown tag.
fn scan(memory: &[u8], regions: &Regions, now: u128) -> Option<Scan> {
    let mut any_fd = false;
    let mut wait: Option<Duration> = None;
    for index in 0..regions.count {
        match parse_one(&regions.subscription(memory, index), now)? {
            Subscription::Fd { .. } => any_fd = true,
            Subscription::Clock { wait: w, .. } => wait = Some(wait.map_or(w, |m| m.min(w))),
        }
    }
    Some(Scan {
        any_fd,
        wait: wait.unwrap_or_default(),
    })
}

/// The second pass: writes one event per ready subscription (every descriptor when `any_fd`,
/// else every clock whose wait was `waited` or less) and returns how many. Subscriptions are
/// copied out one at a time, so events overlapping them cannot confuse the parse.
fn write_events(
    memory: &mut [u8],
    regions: &Regions,
    now: u128,
    any_fd: bool,
    waited: Duration,
) -> u32 {
    let mut written = 0usize;
    for index in 0..regions.count {
        let ready = match parse_one(&regions.subscription(memory, index), now) {
            Some(Subscription::Fd { userdata, tag }) if any_fd => Some((userdata, tag)),
            Some(Subscription::Clock { userdata, wait }) if !any_fd && wait <= waited => {
                Some((userdata, TAG_CLOCK))
            }
            _ => None,
        };
        if let Some((userdata, tag)) = ready {
            let mut event = [0u8; EVENT_SIZE];
            event[0..8].copy_from_slice(&userdata.to_le_bytes());
            event[10] = tag;
            let at = regions.events + written * EVENT_SIZE;
            memory[at..at + EVENT_SIZE].copy_from_slice(&event);
            written += 1;
        }
    }
    u32::try_from(written).unwrap_or(u32::MAX)
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
    // Every pointer and the count are checked against the memory before anything is read, so a
    // guest's `count` can never size a host allocation (berth copies nothing: both passes work
    // in the guest's memory).
    let regions = match Regions::check(memory.data_size(&*caller), subs, events, count, nevents) {
        Ok(regions) => regions,
        Err(errno) => return errno,
    };
    let now = realtime_now();
    let Some(found) = scan(memory.data(&*caller), &regions, now) else {
        return ERRNO_INVAL;
    };
    if !found.any_fd {
        tokio::time::sleep(found.wait).await;
    }
    // The guest is suspended during the wait and the memory cannot shrink, so the regions
    // checked above still lie inside it.
    let data = memory.data_mut(&mut *caller);
    let written = write_events(data, &regions, now, found.any_fd, found.wait);
    data[regions.nevents..regions.nevents + 4].copy_from_slice(&written.to_le_bytes());
    ERRNO_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_numbers_are_checked_against_the_memory() {
        let page = 65_536;
        assert_eq!(Regions::check(page, 0, 0, 0, 0), Err(ERRNO_INVAL));
        assert_eq!(Regions::check(page, 0, 1024, u32::MAX, 0), Err(ERRNO_FAULT));
        // 0x0555_5556 * 48 wraps a u32 to a small number; checked in 64 bits it does not fit.
        assert_eq!(Regions::check(page, 0, 0, 0x0555_5556, 0), Err(ERRNO_FAULT));
        assert_eq!(Regions::check(page, u32::MAX, 0, 1, 0), Err(ERRNO_FAULT));
        assert_eq!(
            Regions::check(page, 0, (page - 31) as u32, 1, 0),
            Err(ERRNO_FAULT)
        );
        assert_eq!(
            Regions::check(page, 0, 64, 1, (page - 3) as u32),
            Err(ERRNO_FAULT)
        );
        assert!(Regions::check(page, 0, (page - 32) as u32, 1, (page - 4) as u32).is_ok());
        assert!(Regions::check(page, 0, 48 * 600, 600, 0).is_ok());
    }

    #[test]
    fn events_are_written_in_place_even_over_the_subscriptions() {
        let mut memory = vec![0u8; 4096];
        memory[..48].copy_from_slice(&subscription(5, TAG_FD_READ, 0, 0, 0));
        memory[48..96].copy_from_slice(&subscription(6, TAG_FD_WRITE, 0, 0, 0));
        memory[96..144].copy_from_slice(&subscription(7, TAG_CLOCK, 1, 1_000, 0));
        // Events overlap the subscriptions they answer.
        let regions = Regions::check(memory.len(), 0, 0, 3, 4000).unwrap();
        let found = scan(&memory, &regions, 0).unwrap();
        assert!(found.any_fd);
        let written = write_events(&mut memory, &regions, 0, found.any_fd, found.wait);
        assert_eq!(written, 2);
        assert_eq!(u64_at(&memory, 0), 5);
        assert_eq!(memory[10], TAG_FD_READ);
        assert_eq!(u64_at(&memory, 32), 6);
        assert_eq!(memory[42], TAG_FD_WRITE);
    }

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
