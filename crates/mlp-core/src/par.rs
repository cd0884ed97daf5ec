//! Which products run on one thread and which on all of them.

use faer::Par;

/// Products with fewer multiply-adds than this run on one thread: below it, waking the second core
/// costs more than it saves (measured with `mlp-cli bench-forward` and `cargo bench -p mlp-core`).
pub const PARALLEL_THRESHOLD_MACS: usize = 1 << 22;

/// The parallelism of an `m × k` by `k × n` product, for a network allowed `threads` threads.
///
/// `Par::rayon` runs on rayon's global pool, whose threads are started once, not per call.
#[inline]
pub fn for_product(m: usize, n: usize, k: usize, threads: usize) -> Par {
    let macs = m.saturating_mul(n).saturating_mul(k);
    if threads <= 1 || macs < PARALLEL_THRESHOLD_MACS {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}

/// The number of threads available by default: rayon's global pool size.
pub fn default_threads() -> usize {
    rayon::current_num_threads()
}
