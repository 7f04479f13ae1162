//! The emulator's state as every handler sees it: the world, the injected faults and the
//! request log, each behind its own lock.

use std::sync::{Mutex, MutexGuard};

use crate::faults::Faults;
use crate::requests::RequestRecord;
use crate::world::World;

/// Everything the handlers share; each lock is held only for one synchronous step.
pub struct Shared {
    world: Mutex<World>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RequestRecord>>,
    pub token: String,
    /// `127.0.0.1:PORT`, as discovery advertises it.
    pub host: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not wedge the server for the tests after it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(world: World, token: String, host: String) -> Shared {
        Shared {
            world: Mutex::new(world),
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            token,
            host,
        }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    pub fn log(&self) -> MutexGuard<'_, Vec<RequestRecord>> {
        lock(&self.log)
    }
}
