//! `qu_subscription`: the transitions a node commits from now on, pulled
//! with `qu_subscription_next` or pushed to a callback on one dispatcher
//! thread.
//!
//! Pull waits in slices of at most 100 ms, so freeing the subscription from
//! another thread ends a waiting `next` promptly (with `QU_CLOSED`). The
//! callback variant lends each transition to C for the duration of the
//! call only: it is registered as a handle before the call and unregistered
//! after it.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quptime::blocking::{Dispatcher, Next, Subscription};

use crate::cluster::{CLUSTERS, qu_cluster};
use crate::guard::{call, out_arg, write_out};
use crate::handle::Registry;
use crate::result::{Fail, qu_result};
use crate::transition::{TRANSITIONS, Transition, qu_transition};

/// A stream of committed transitions (opaque).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct qu_subscription {
    _private: [u8; 0],
}

/// `timeout_ms` for `qu_subscription_next` that waits until a transition
/// comes or the stream ends.
pub const QU_WAIT_FOREVER: u32 = 0xFFFF_FFFF;

/// Called with each committed transition, on the subscription's own
/// dispatcher thread, one call at a time, in commit order. `userdata` is
/// what was passed to `qu_cluster_subscribe_callback`. `transition` is
/// lent for this call only: read it with the `qu_transition_*` accessors,
/// copy what you keep, never free it. The callback may call other quptime
/// functions, but must not block for long (later transitions wait), must
/// not unwind (C++ exceptions, longjmp) out of the call, and must not call
/// `qu_cluster_shutdown`/`qu_cluster_free` of its own node.
#[allow(non_camel_case_types)]
pub type qu_transition_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, transition: *const qu_transition)>;

#[derive(Debug)]
enum Stream {
    Pull {
        sub: Subscription,
        freed: AtomicBool,
    },
    Callback(Dispatcher),
}

static SUBSCRIPTIONS: Registry<Stream> = Registry::new("subscription handle");

/// The C caller's userdata, carried to the dispatcher thread. The caller
/// promised (by the documented contract) that it may be used from there.
struct Userdata(*mut c_void);

// SAFETY: the pointer is only handed back to the C callback, whose contract
// makes it usable from the dispatcher thread.
unsafe impl Send for Userdata {}

impl Userdata {
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// Subscribe to the transitions the node commits from now on (every node
/// publishes every transition, in the same order). Pull them with
/// `qu_subscription_next`. On `QU_OK`, `*out` holds a new handle: release
/// it with `qu_subscription_free`. A subscription may outlive its node: it
/// then answers `QU_CLOSED`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_subscribe(
    cluster: *const qu_cluster,
    out: *mut *mut qu_subscription,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out, "out")?;
        let stream = Stream::Pull {
            sub: node.subscribe()?,
            freed: AtomicBool::new(false),
        };
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, SUBSCRIPTIONS.insert(stream)) };
        Ok(())
    })
}

/// Call `callback(userdata, transition)` with every transition the node
/// commits from now on, on one dispatcher thread owned by the
/// subscription, until the subscription is freed or the node stops. On
/// `QU_OK`, `*out` holds a new handle: release it with
/// `qu_subscription_free`, which waits for a call in progress to return;
/// after that (or once the node has stopped) no call is made, and
/// `userdata` may be released.
///
/// # Safety
/// `cluster` is any pointer value (checked); `callback` is NULL or a
/// function following the `qu_transition_callback` contract; `userdata` is
/// passed through untouched and must stay valid as said above; `out` is
/// NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_subscribe_callback(
    cluster: *const qu_cluster,
    callback: qu_transition_callback,
    userdata: *mut c_void,
    out: *mut *mut qu_subscription,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let Some(callback) = callback else {
            return Err(Fail::null("callback"));
        };
        let out = out_arg(out, "out")?;
        let userdata = Userdata(userdata);
        let dispatcher = node.on_transition(move |record| {
            let handle: *mut qu_transition = TRANSITIONS.insert(Transition::new(&record));
            let ud = userdata.get();
            // SAFETY: the callback and userdata follow the documented
            // contract; the handle is live for the duration of the call.
            unsafe { callback(ud, handle) };
            // Already gone if the callback freed it (against the rules).
            let _ = TRANSITIONS.remove(handle);
        })?;
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, SUBSCRIPTIONS.insert(Stream::Callback(dispatcher))) };
        Ok(())
    })
}

/// Take the next transition, waiting up to `timeout_ms` milliseconds (0:
/// only look; `QU_WAIT_FOREVER`: no limit).
///
/// Returns `QU_OK` with `*out` holding a new transition (free it with
/// `qu_transition_free`), `QU_TIMEOUT` when none came in time, or
/// `QU_CLOSED` once the node has stopped or the subscription is being
/// freed; `*out` is written only on `QU_OK`. Several threads may wait on
/// one subscription: each transition goes to one of them. Not for a
/// callback subscription (`QU_ERR_INVALID_INPUT`).
///
/// # Safety
/// `subscription` is any pointer value (checked); `out` is NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_subscription_next(
    subscription: *const qu_subscription,
    timeout_ms: u32,
    out: *mut *mut qu_transition,
) -> qu_result {
    call(|| {
        let stream = SUBSCRIPTIONS.get(subscription)?;
        let out = out_arg(out, "out")?;
        let Stream::Pull { sub, freed } = &*stream else {
            return Err(Fail::invalid(
                "this subscription delivers to a callback; qu_subscription_next is only for \
                 subscriptions made with qu_cluster_subscribe",
            ));
        };
        let deadline = (timeout_ms != QU_WAIT_FOREVER)
            .then(|| Instant::now() + Duration::from_millis(timeout_ms.into()));
        loop {
            if freed.load(Ordering::Acquire) {
                return Err(Fail::new(
                    qu_result::QU_CLOSED,
                    "the subscription was freed",
                ));
            }
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            match sub.next_timeout(Some(left.min(Duration::from_millis(100)))) {
                Next::Transition(t) => {
                    let handle = TRANSITIONS.insert(Transition::new(&t));
                    // SAFETY: checked non-NULL; valid for writes by contract.
                    unsafe { write_out(out, handle) };
                    return Ok(());
                }
                Next::Closed => {
                    return Err(Fail::new(
                        qu_result::QU_CLOSED,
                        "the node has stopped; no more transitions will come",
                    ));
                }
                Next::Timeout
                    if left.is_zero() || deadline.is_some_and(|d| Instant::now() >= d) =>
                {
                    return Err(Fail::new(
                        qu_result::QU_TIMEOUT,
                        format!("no transition within {timeout_ms} ms"),
                    ));
                }
                Next::Timeout => {}
            }
        }
    })
}

/// How many transitions this subscription skipped because it fell behind
/// the retained history (pull subscriptions; 0 for callbacks).
///
/// # Safety
/// `subscription` is any pointer value (checked); `out` is NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_subscription_missed(
    subscription: *const qu_subscription,
    out: *mut u64,
) -> qu_result {
    call(|| {
        let stream = SUBSCRIPTIONS.get(subscription)?;
        let out = out_arg(out, "out")?;
        let missed = match &*stream {
            Stream::Pull { sub, .. } => sub.missed(),
            Stream::Callback(_) => 0,
        };
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, missed) };
        Ok(())
    })
}

/// End the subscription and release the handle. For a callback
/// subscription, waits until a callback in progress has returned (when
/// called from that callback, returns without waiting); no call follows.
/// A `qu_subscription_next` waiting on another thread returns `QU_CLOSED`
/// within 100 ms. NULL does nothing; freeing twice returns
/// `QU_ERR_INVALID_HANDLE` and does nothing else.
///
/// # Safety
/// `subscription` is NULL or any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_subscription_free(subscription: *mut qu_subscription) -> qu_result {
    call(|| {
        let Some(stream) = SUBSCRIPTIONS.release(subscription)? else {
            return Ok(());
        };
        match &*stream {
            Stream::Pull { freed, .. } => freed.store(true, Ordering::Release),
            Stream::Callback(dispatcher) => dispatcher.stop(),
        }
        Ok(())
    })
}
