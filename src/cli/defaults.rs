//! Every setting's default, declared once: clap shows them in `--help`, `Default` for the
//! argument groups builds the default settings from them, and a test holds the README's
//! settings table to them.

pub const TICK_TIMEOUT: &str = "40s";
pub const CARBON_API_URL: &str = "https://api.electricitymaps.com/v3";
pub const UKCI_API_URL: &str = "https://api.carbonintensity.org.uk";
pub const WATTTIME_API_URL: &str = "https://api.watttime.org";
pub const CARBON_API_TIMEOUT: &str = "5s";
pub const CPU_SOURCE: &str = "metrics";
pub const METRICS_MAX_AGE: &str = "3m";
pub const NODE_REFRESH: &str = "10m";

pub const REGIONS: &str = "denmark=DK,france=FR,latvia=LV";
pub const REGION_LABEL: &str = "region";
pub const DEPLOYMENT_PATTERN: &str = "nginx-{region}";
pub const SCALE_TARGET: &str = "replicas";
pub const STATE_CONFIGMAP: &str = "carbonctl-state";
pub const WATTS_PER_REPLICA: &str = "2.4";
pub const LOG_FORMAT: &str = "json";

pub const SCALE_UP_THRESHOLD: &str = "70";
pub const SCALE_DOWN_THRESHOLD: &str = "30";
pub const HOLD_CYCLES: &str = "3";
pub const COOLDOWN: &str = "3m";
pub const MIN_REPLICAS: &str = "1";
pub const MAX_REPLICAS: &str = "5";
pub const CPU_TRIGGER: &str = "avg";
pub const CARBON_CACHE_TTL: &str = "5m";
pub const REBALANCE_MARGIN: &str = "off";
pub const REBALANCE_READY_TIMEOUT: &str = "10m";
pub const REBALANCE_FORECAST: &str = "off";
pub const CARBON_MAX_STALENESS: &str = "1h";
