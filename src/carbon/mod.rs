//! Grid carbon intensity: the providers (ElectricityMaps, the UK Carbon Intensity API, WattTime's
//! index, static sources), what their answers become, and the cache rules that decide what to fetch and what
//! a failure leaves behind.

pub mod answer;
pub mod cache;
pub mod electricitymaps;
pub mod source;
pub mod static_source;
pub mod ukci;
pub mod watttime;

pub use cache::refresh;
pub use source::MAX_GRAMS_PER_KWH;
