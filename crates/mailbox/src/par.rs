//! A parallel map over a slice on scoped threads, for bulk work that is
//! independent from message to message: opening a large mailbox the
//! first time (a stat or a header read and parse per message), and a
//! SEARCH that reads message content.

use std::num::NonZeroUsize;

/// At most this many threads, whatever the machine has: the work is
/// mostly system calls on one directory, and other sessions need cores.
const MAX_THREADS: usize = 4;

/// Below this many items per thread, threads cost more than they save.
const MIN_PER_THREAD: usize = 128;

/// `items.iter().map(f).collect()`, computed on up to [`MAX_THREADS`]
/// threads in contiguous chunks; the order of the results is that of
/// `items`. Runs on the caller's thread alone when the input is short or
/// a thread cannot be started.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let by_size = items.len() / MIN_PER_THREAD;
    let threads = if by_size < 2 {
        1
    } else {
        cores().min(MAX_THREADS).min(by_size)
    };
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .skip(1)
            .map(|part| {
                std::thread::Builder::new()
                    .name("postroom-par".into())
                    .spawn_scoped(scope, move || part.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        // The first chunk on this thread, meanwhile.
        let mut out: Vec<R> = items[..chunk.min(items.len())].iter().map(f).collect();
        out.reserve(items.len() - out.len());
        let mut start = chunk;
        for h in handles {
            let end = (start + chunk).min(items.len());
            match h.map(|h| h.join()) {
                Ok(Ok(part)) => out.extend(part),
                // Could not start, or panicked: do that chunk here.
                Ok(Err(_)) | Err(_) => out.extend(items[start..end].iter().map(f)),
            }
            start = end;
        }
        out
    })
}

/// The machine's parallelism, asked once (the standard library reads
/// the cgroup quota files on every call).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_of_the_input() {
        for n in [0, 1, 127, 128, 300, 1000, 4097] {
            let items: Vec<u32> = (0..n).collect();
            let got = map(&items, |x| x * 2);
            let want: Vec<u32> = items.iter().map(|x| x * 2).collect();
            assert_eq!(got, want, "n = {n}");
        }
    }
}
