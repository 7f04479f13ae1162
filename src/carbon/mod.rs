//! Grid carbon intensity: the ElectricityMaps client and the cache rules that decide what to
//! fetch and what a failure leaves behind.

pub mod cache;
pub mod electricitymaps;

pub use cache::refresh;
pub use electricitymaps::MAX_GRAMS_PER_KWH;
