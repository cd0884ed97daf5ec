//! Handing one half of a split product to another core in a fraction of a microsecond.
//!
//! Inside [`in_pool`](super::in_pool) the other workers of the pool wait for work in a spin loop.
//! Through rayon's `join`, they find a half only by stealing it from the caller's deque, and the
//! caller, when done with its own half first, waits for the other one by yielding to the kernel, a
//! system call a round; together about 2–4 µs a split, as long as a whole half of a batch of one's
//! matrix-vector product (ARCHITECTURE.md has the measurement). Here instead each waiting worker
//! watches a mailbox of its own: the caller posts the job there, runs its own half, then takes the
//! job back if the worker has not started it, or else spins until the worker is done.
//!
//! The job lives on the caller's stack and is handed over as a raw pointer: the caller does not
//! return, nor unwind, before the job has been taken back or is done ([`Posted`]'s `Drop`).

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// The mailboxes of the workers that help one [`in_pool`](super::in_pool) call, one per worker.
pub(super) struct Crew {
    mailboxes: Box<[Mailbox]>,
}

/// One worker's mailbox. Its own cache lines, so that a worker watching its mailbox does not slow
/// down the ones next to it.
#[repr(align(128))]
struct Mailbox {
    /// One of `EMPTY`, `CLAIMED`, `POSTED`, `RUNNING`, `DONE`.
    state: AtomicU8,
    /// Whether the worker is watching the mailbox now (not napping, not gone).
    watched: AtomicBool,
    /// The job; written by the poster between `CLAIMED` and `POSTED`, read by the worker after it
    /// moved the state from `POSTED` to `RUNNING`.
    job: UnsafeCell<Option<JobRef>>,
}

// SAFETY: `job` is written only by the thread that moved `state` from EMPTY to CLAIMED, and read
// only by the thread that then moved it from POSTED to RUNNING (the release store of POSTED and the
// acquiring exchange order the two).
unsafe impl Sync for Mailbox {}

/// Free: a poster may claim it.
const EMPTY: u8 = 0;
/// A poster is writing the job.
const CLAIMED: u8 = 1;
/// The job waits for the worker (or for its poster to take it back).
const POSTED: u8 = 2;
/// The worker is running the job.
const RUNNING: u8 = 3;
/// The worker has run the job; its poster empties the mailbox.
const DONE: u8 = 4;

/// A type-erased pointer to a [`StackJob`] and the function that runs it.
#[derive(Clone, Copy)]
struct JobRef {
    job: *const (),
    run: unsafe fn(*const ()),
}

thread_local! {
    /// The crew this thread works in, and its own mailbox (`None` for the thread that called
    /// `in_pool`): set for the time of an `in_pool` call, on its thread and on its helpers.
    static MEMBER: Cell<Option<(*const Crew, Option<usize>)>> = const { Cell::new(None) };
}

impl Crew {
    /// Mailboxes for `helpers` workers.
    pub(super) fn new(helpers: usize) -> Self {
        let mailboxes = (0..helpers)
            .map(|_| Mailbox {
                state: AtomicU8::new(EMPTY),
                watched: AtomicBool::new(false),
                job: UnsafeCell::new(None),
            })
            .collect();
        Self { mailboxes }
    }

    /// The number of mailboxes.
    pub(super) fn len(&self) -> usize {
        self.mailboxes.len()
    }

    /// Makes this thread a member of the crew (watching mailbox `own`, if any) until the returned
    /// guard is dropped, which restores what it was before.
    pub(super) fn enter(&self, own: Option<usize>) -> Membership {
        let before = MEMBER.with(|member| member.replace(Some((self as *const Crew, own))));
        Membership { before }
    }

    /// Runs the job posted in mailbox `own`, if there is one; returns whether it ran one.
    pub(super) fn run_posted(&self, own: usize) -> bool {
        let mailbox = &self.mailboxes[own];
        if mailbox.state.load(Ordering::Relaxed) != POSTED
            || mailbox
                .state
                .compare_exchange(POSTED, RUNNING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        // SAFETY: this thread moved the state from POSTED to RUNNING, so the job was written and
        // its poster waits (it can no longer take it back) until DONE is stored.
        unsafe {
            let job = (*mailbox.job.get()).expect("a posted job");
            (job.run)(job.job);
        }
        mailbox.state.store(DONE, Ordering::Release);
        true
    }

    /// Marks mailbox `own` as watched, or not (while its worker naps or after it left).
    pub(super) fn watch(&self, own: usize, watched: bool) {
        self.mailboxes[own]
            .watched
            .store(watched, Ordering::Relaxed);
    }

    /// A watched, empty mailbox other than `own`, claimed for posting.
    fn claim(&self, own: Option<usize>) -> Option<&Mailbox> {
        self.mailboxes
            .iter()
            .enumerate()
            .filter(|&(index, mailbox)| {
                Some(index) != own && mailbox.watched.load(Ordering::Relaxed)
            })
            .map(|(_, mailbox)| mailbox)
            .find(|mailbox| {
                mailbox
                    .state
                    .compare_exchange(EMPTY, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            })
    }
}

/// Restores the thread's former crew membership when dropped.
pub(super) struct Membership {
    before: Option<(*const Crew, Option<usize>)>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        MEMBER.with(|member| member.set(self.before));
    }
}

/// Runs `a` on this thread and `b` on a helper whose mailbox is free when this thread works in an
/// [`in_pool`](super::in_pool) call (on this thread if the helper has not started it by the time
/// `a` is done), and both through `rayon::join` otherwise. Panics in either reach the caller.
pub(super) fn join(a: impl FnOnce() + Send, b: impl FnOnce() + Send) {
    let member = MEMBER.with(Cell::get);
    // SAFETY: a member's crew outlives its membership (`in_pool` drops the guards first).
    let mailbox = member.and_then(|(crew, own)| unsafe { &*crew }.claim(own));
    let Some(mailbox) = mailbox else {
        rayon::join(a, b);
        return;
    };
    let job = StackJob {
        f: UnsafeCell::new(Some(b)),
        panic: UnsafeCell::new(None),
    };
    let posted = Posted::new(mailbox, &job);
    a();
    posted.finish();
}

/// A job on its poster's stack: the closure, and the panic it raised on the helper, if any.
struct StackJob<F> {
    f: UnsafeCell<Option<F>>,
    panic: UnsafeCell<Option<Box<dyn Any + Send>>>,
}

impl<F: FnOnce() + Send> StackJob<F> {
    /// Runs the job behind `job` on a helper, keeping a panic for the poster.
    ///
    /// # Safety
    /// `job` points to a live `StackJob<F>` that no other thread touches until this returns.
    unsafe fn run_erased(job: *const ()) {
        // SAFETY: as the caller promises.
        let job = unsafe { &*job.cast::<Self>() };
        // SAFETY: only this thread touches the job now.
        let f = unsafe { (*job.f.get()).take() }.expect("a job runs once");
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(f)) {
            // SAFETY: as above; the poster reads it after the release store of DONE.
            unsafe { *job.panic.get() = Some(panic) };
        }
    }
}

/// A job posted in a claimed mailbox. Dropped without [`finish`](Posted::finish) (its poster
/// unwinding), it still takes the job back or waits for it, so that the job never outlives it.
struct Posted<'a, F: FnOnce() + Send> {
    mailbox: &'a Mailbox,
    job: &'a StackJob<F>,
    settled: bool,
}

impl<'a, F: FnOnce() + Send> Posted<'a, F> {
    /// Posts `job` in `mailbox`, claimed by this thread.
    fn new(mailbox: &'a Mailbox, job: &'a StackJob<F>) -> Self {
        let job_ref = JobRef {
            job: (job as *const StackJob<F>).cast(),
            run: StackJob::<F>::run_erased,
        };
        // SAFETY: this thread claimed the mailbox (EMPTY → CLAIMED): nobody else touches `job`.
        unsafe { *mailbox.job.get() = Some(job_ref) };
        mailbox.state.store(POSTED, Ordering::Release);
        Self {
            mailbox,
            job,
            settled: false,
        }
    }

    /// Runs the job here if the helper has not started it, or else waits until it is done, and
    /// raises the helper's panic, if any, here.
    fn finish(mut self) {
        let taken_back = self.settle();
        if taken_back {
            // SAFETY: taken back, the job is this thread's alone again.
            let f = unsafe { (*self.job.f.get()).take() }.expect("a job runs once");
            f();
        } else if let Some(panic) = unsafe { (*self.job.panic.get()).take() } {
            // SAFETY (above): the helper stored the panic before DONE, read after it.
            panic::resume_unwind(panic);
        }
    }

    /// Takes the job back if the helper has not started it (returns `true`), or else waits until
    /// the helper is done with it; then empties the mailbox.
    fn settle(&mut self) -> bool {
        self.settled = true;
        let state = &self.mailbox.state;
        if state
            .compare_exchange(POSTED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        // Spin for a while, as the helper's part usually ends within microseconds; then let other
        // threads have the core, in case the helper is one of them waiting for it.
        let start = Instant::now();
        let mut looks = 0u32;
        while state.load(Ordering::Acquire) != DONE {
            looks = looks.wrapping_add(1);
            // (The clock is read every 64 looks only: reading it takes longer than a look.)
            if looks % 64 != 0 || start.elapsed() < SPIN_BEFORE_YIELDING {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        state.store(EMPTY, Ordering::Release);
        false
    }
}

impl<F: FnOnce() + Send> Drop for Posted<'_, F> {
    fn drop(&mut self) {
        if !self.settled {
            self.settle();
        }
    }
}

/// How long a poster spins for its helper to finish before yielding the core between looks.
const SPIN_BEFORE_YIELDING: Duration = Duration::from_micros(100);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::thread::{self, ThreadId};

    /// Runs `test` on this thread as the caller of a crew of one helper: a plain thread that runs
    /// what is posted in its mailbox (marked watched) while `serve`, and does nothing otherwise.
    fn with_helper(serve: bool, test: impl FnOnce(ThreadId)) {
        let crew = Crew::new(1);
        let stop = AtomicBool::new(false);
        thread::scope(|scope| {
            let helper = scope.spawn(|| {
                let _member = crew.enter(Some(0));
                while serve && !stop.load(Ordering::Acquire) {
                    crew.run_posted(0);
                    std::hint::spin_loop();
                }
            });
            crew.watch(0, true);
            let _member = crew.enter(None);
            // Stops the helper even when `test` panics.
            struct Stop<'a>(&'a AtomicBool);
            impl Drop for Stop<'_> {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::Release);
                }
            }
            let _stop = Stop(&stop);
            test(helper.thread().id());
        });
    }

    /// Spins until `flag` is set or 10 ms have passed.
    fn wait_for(flag: &AtomicBool) {
        let start = Instant::now();
        while !flag.load(Ordering::Acquire) && start.elapsed() < Duration::from_millis(10) {
            std::hint::spin_loop();
        }
    }

    /// The thread each half of a `join` ran on; the first half waits up to 10 ms for the second
    /// to start, so that a working helper has the time to take it.
    fn join_threads() -> (ThreadId, ThreadId) {
        let (mut a, mut b) = (None, None);
        let b_started = AtomicBool::new(false);
        join(
            || {
                wait_for(&b_started);
                a = Some(thread::current().id());
            },
            || {
                b_started.store(true, Ordering::Release);
                b = Some(thread::current().id());
            },
        );
        (a.unwrap(), b.unwrap())
    }

    #[test]
    fn a_watching_helper_runs_the_posted_half() {
        with_helper(true, |helper| {
            // The helper may not be looking yet the first times; then the caller runs both.
            let handed = (0..100).any(|_| join_threads() == (thread::current().id(), helper));
            assert!(handed, "the helper never ran a posted half");
        });
    }

    #[test]
    fn a_half_nobody_takes_runs_on_the_caller() {
        with_helper(false, |_| {
            let me = thread::current().id();
            assert_eq!(join_threads(), (me, me));
            // Taken back, the mailbox is free again.
            assert_eq!(join_threads(), (me, me));
        });
    }

    #[test]
    fn a_panic_on_the_helper_reaches_the_caller_and_the_mailbox_is_freed() {
        with_helper(true, |helper| {
            let mut seen_on_helper = false;
            // Each try panics once: a hundred tries at most, as every panic prints its message.
            for _ in 0..100 {
                let (b_started, on_helper) = (AtomicBool::new(false), AtomicBool::new(false));
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    join(
                        || wait_for(&b_started),
                        || {
                            b_started.store(true, Ordering::Release);
                            on_helper.store(thread::current().id() == helper, Ordering::Relaxed);
                            panic!("the posted half");
                        },
                    )
                }));
                assert!(result.is_err(), "the panic was lost");
                if on_helper.load(Ordering::Relaxed) {
                    seen_on_helper = true;
                    break;
                }
            }
            assert!(seen_on_helper, "the helper never ran a posted half");
            let handed = (0..100).any(|_| join_threads().1 == helper);
            assert!(handed, "the mailbox stayed taken after the panic");
        });
    }

    #[test]
    fn outside_a_crew_join_is_rayons() {
        let me = thread::current().id();
        let (a, b) = join_threads();
        // From outside the pool, rayon runs both halves on its workers.
        assert!(rayon::current_thread_index().is_none());
        assert!(a != me && b != me);
    }
}
