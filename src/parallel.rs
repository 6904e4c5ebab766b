//! Work spread over a few threads: each thread takes the next index until none is left,
//! and results come back in index order. Stores use it to keep several requests in
//! flight (sync, verify, copies to S3) without an async runtime in their callers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::Result;

/// `work(i)` for every `i < count`, at most `jobs` at once; the results in index order.
pub fn map<T: Send>(count: usize, jobs: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    run(count, jobs, &|_| false, work)
}

/// `work(i)` for every `i < count`, at most `jobs` at once, until one fails: then no
/// thread takes more work, and the first error (in index order) is returned.
pub fn try_map<T: Send>(
    count: usize,
    jobs: usize,
    work: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    run(count, jobs, &|r: &Result<T>| r.is_err(), work)
        .into_iter()
        .collect()
}

fn run<T: Send>(
    count: usize,
    jobs: usize,
    stops: &(dyn Fn(&T) -> bool + Sync),
    work: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let done: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(count));
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            scope.spawn(|| {
                while !stopped.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return;
                    }
                    let outcome = work(i);
                    if stops(&outcome) {
                        stopped.store(true, Ordering::Relaxed);
                    }
                    done.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, outcome));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn results_come_back_in_order() {
        assert_eq!(
            map(100, 7, |i| i * 2),
            (0..100).map(|i| i * 2).collect::<Vec<_>>()
        );
        assert_eq!(map(0, 4, |i| i), Vec::<usize>::new());
    }

    #[test]
    fn the_first_error_stops_the_work() {
        let err = try_map(1000, 3, |i| {
            if i == 10 {
                Err(Error::other("ten"))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(err.message(), "ten");
    }
}
