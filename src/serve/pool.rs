//! The threads store calls run on.
//!
//! Stores are synchronous, and the S3 store drives its own runtime, which refuses to run
//! on a thread inside another runtime: so store calls run on plain threads, never on the
//! server's runtime (not even through `spawn_blocking`, whose threads belong to it). A
//! fixed number of workers take jobs from one queue; a semaphore with one permit per
//! worker admits jobs, so at most that many store calls run or wait at once, and the
//! answer comes back through a one-shot channel.
//!
//! A job runs to its end even when the request that asked for it went away (its client
//! closed the connection, or the server is shutting down): a write is never cut off half
//! way. A job whose request went away before it started is skipped.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{Semaphore, oneshot};

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of worker threads for store calls.
pub(crate) struct Pool {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    /// Start `size` workers (at least one).
    pub(crate) fn start(size: usize) -> Result<Pool> {
        let size = size.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::with_capacity(size);
        for i in 0..size {
            let rx = Arc::clone(&rx);
            let worker = std::thread::Builder::new()
                .name(format!("pulse-store-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take a job, never while running one.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| Error::io("cannot start a thread for store calls", e))?;
            workers.push(worker);
        }
        Ok(Pool {
            queue: Mutex::new(Some(tx)),
            workers: Mutex::new(workers),
            permits: Arc::new(Semaphore::new(size)),
        })
    }

    /// Run `call` on a worker and wait for its answer (without holding up the runtime).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| stopping())?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The permit goes back when the job is done, not when its request is.
            let _permit = permit;
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(call());
        });
        {
            let queue = self.queue.lock().map_err(|_| stopping())?;
            let sender = queue.as_ref().ok_or_else(stopping)?;
            sender.send(job).map_err(|_| stopping())?;
        }
        rx.await.map_err(|_| {
            Error::other("a store call ended without an answer (the worker stopped)")
                .with_hint("the registry's log says why; retry the request")
        })?
    }

    /// Let the workers finish the jobs they have, then wait for them to end.
    pub(crate) fn stop(&self) {
        self.permits.close();
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        let workers = match self.workers.lock() {
            Ok(mut workers) => std::mem::take(&mut *workers),
            Err(_) => return,
        };
        for worker in workers {
            let _ = worker.join();
        }
    }
}

fn stopping() -> Error {
    Error::unavailable("the registry is shutting down").with_hint("retry in a moment")
}
