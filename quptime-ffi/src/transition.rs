//! `qu_transition`: one committed state change of one check, read through
//! accessors. Its strings are made once, when the transition arrives, and
//! lent to C for as long as the handle lives.

use std::ffi::{CString, c_char};

use quptime::state::{CheckState, TransitionRecord};

use crate::guard::{call, call_ptr};
use crate::handle::{Registry, lend};
use crate::result::qu_result;

/// A committed check transition (opaque).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct qu_transition {
    _private: [u8; 0],
}

/// A check's agreed state.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qu_check_state {
    /// Not a state: the accessor was given an invalid handle.
    QU_STATE_NONE = 0,
    /// A majority of the members sees the target working.
    QU_STATE_UP = 1,
    /// A majority of the members sees the target failing.
    QU_STATE_DOWN = 2,
    /// Too few fresh results to say.
    QU_STATE_UNKNOWN = 3,
}

impl From<CheckState> for qu_check_state {
    fn from(s: CheckState) -> qu_check_state {
        match s {
            CheckState::Up => qu_check_state::QU_STATE_UP,
            CheckState::Down => qu_check_state::QU_STATE_DOWN,
            CheckState::Unknown => qu_check_state::QU_STATE_UNKNOWN,
        }
    }
}

/// A transition and the strings lent out of it.
#[derive(Debug)]
pub(crate) struct Transition {
    seq: u64,
    from: qu_check_state,
    to: qu_check_state,
    check_id: CString,
    check_name: CString,
    target: CString,
    at: CString,
    master: CString,
    summary: CString,
    json: CString,
}

impl Transition {
    pub(crate) fn new(t: &TransitionRecord) -> Transition {
        Transition {
            seq: t.seq,
            from: t.from.into(),
            to: t.to.into(),
            check_id: lend(&t.check_id),
            check_name: lend(&t.check_name),
            target: lend(&t.target),
            at: lend(&t.at),
            master: lend(t.master.as_str()),
            summary: lend(&t.evidence_summary()),
            json: lend(&serde_json::to_string(t).unwrap_or_default()),
        }
    }
}

pub(crate) static TRANSITIONS: Registry<Transition> = Registry::new("transition handle");

/// Release a transition returned by `qu_subscription_next`. Never free the
/// transition lent to a callback. NULL does nothing; freeing twice returns
/// `QU_ERR_INVALID_HANDLE` and does nothing else.
///
/// # Safety
/// `transition` is NULL or any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_free(transition: *mut qu_transition) -> qu_result {
    call(|| TRANSITIONS.release(transition).map(drop))
}

fn lent(t: *const qu_transition, field: impl Fn(&Transition) -> &CString) -> *const c_char {
    call_ptr(|| {
        let tr = TRANSITIONS.get(t)?;
        // The registry keeps `tr` alive until the handle is freed.
        Ok(field(&tr).as_ptr())
    })
}

fn number<T: Copy>(t: *const qu_transition, none: T, field: impl Fn(&Transition) -> T) -> T {
    let mut v = none;
    call(|| {
        v = field(&*TRANSITIONS.get(t)?);
        Ok(())
    });
    v
}

/// Position in the cluster-wide sequence of transitions (from 1; 0 for an
/// invalid handle).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_seq(transition: *const qu_transition) -> u64 {
    number(transition, 0, |t| t.seq)
}

/// The state the check left (`QU_STATE_NONE` for an invalid handle).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_from(transition: *const qu_transition) -> qu_check_state {
    number(transition, qu_check_state::QU_STATE_NONE, |t| t.from)
}

/// The state the check entered (`QU_STATE_NONE` for an invalid handle).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_to(transition: *const qu_transition) -> qu_check_state {
    number(transition, qu_check_state::QU_STATE_NONE, |t| t.to)
}

/// The check's id. The string accessors below return NULL for an invalid
/// handle; otherwise the string is borrowed from the transition: valid
/// until it is freed (or, in a callback, until the callback returns). Never
/// free it.
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_check_id(transition: *const qu_transition) -> *const c_char {
    lent(transition, |t| &t.check_id)
}

/// The check's name when the transition was decided (borrowed).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_check_name(
    transition: *const qu_transition,
) -> *const c_char {
    lent(transition, |t| &t.check_name)
}

/// The check's target when the transition was decided (borrowed).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_target(transition: *const qu_transition) -> *const c_char {
    lent(transition, |t| &t.target)
}

/// When the master decided it, RFC 3339 UTC (borrowed).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_at(transition: *const qu_transition) -> *const c_char {
    lent(transition, |t| &t.at)
}

/// The id of the master that decided it (borrowed).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_master(transition: *const qu_transition) -> *const c_char {
    lent(transition, |t| &t.master)
}

/// What the members saw, such as "2/3 failing: b=status 503, c=status 503"
/// (borrowed).
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_summary(transition: *const qu_transition) -> *const c_char {
    lent(transition, |t| &t.summary)
}

/// The whole transition as one line of JSON (seq, check_id, check_name,
/// target, from, to, at, master, term, evidence), borrowed.
///
/// # Safety
/// `transition` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_transition_json(transition: *const qu_transition) -> *const c_char {
    lent(transition, |t| &t.json)
}

/// "up", "down", "unknown" or "none": a static string for a
/// `qu_check_state` value (never NULL, never free it).
#[unsafe(no_mangle)]
pub extern "C" fn qu_check_state_name(state: u32) -> *const c_char {
    let s: &'static str = match state {
        1 => "up\0",
        2 => "down\0",
        3 => "unknown\0",
        _ => "none\0",
    };
    s.as_ptr().cast()
}
