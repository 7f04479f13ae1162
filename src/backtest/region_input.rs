//! One region as a replay takes it: its name, its carbon series and its replicas at the start.
//! Apart from the replay model so that what the rule sees of carbon (`seen`) and the model both
//! read it without reading each other.

use super::series::Series;

pub struct RegionInput {
    pub name: String,
    /// Must cover every tick of the replay.
    pub carbon: Series,
    /// Replicas at the first tick.
    pub start: i32,
}
