//! Grid carbon intensity: the ElectricityMaps client, static sources (a constant or a file),
//! and the cache rules that decide what to fetch and what a failure leaves behind.

pub mod cache;
pub mod electricitymaps;
pub mod source;
pub mod static_source;

pub use cache::refresh;
pub use source::MAX_GRAMS_PER_KWH;
