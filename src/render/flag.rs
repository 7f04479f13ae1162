//! Country flags for the console view and tables.

use crate::carbon::source::{STATIC_PREFIX, UKCI_PREFIX, WATTTIME_PREFIX};

/// The country flag of an ElectricityMaps zone (`DK-DK1` -> 🇩🇰), from its two-letter prefix.
pub fn flag(zone: &str) -> String {
    // A provider's own area names no country by its letters: `ukci:` is Great Britain, a
    // static source or a WattTime region (`CAISO_NORTH` is not Canada) none.
    let zone = if zone.starts_with(UKCI_PREFIX) {
        "GB"
    } else if zone.starts_with(STATIC_PREFIX) || zone.starts_with(WATTTIME_PREFIX) {
        return String::new();
    } else {
        zone
    };
    let letters: Vec<char> = zone.chars().take(2).collect();
    if letters.len() != 2 || !letters.iter().all(|c| c.is_ascii_alphabetic()) {
        return String::new();
    }
    letters
        .iter()
        .filter_map(|c| char::from_u32(0x1F1E6 + (c.to_ascii_uppercase() as u32 - 'A' as u32)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::flag;

    #[test]
    fn flags_come_from_the_zone_country() {
        assert_eq!(flag("DK-DK1"), "🇩🇰");
        assert_eq!(flag("FR"), "🇫🇷");
        assert_eq!(flag("lv"), "🇱🇻");
        assert_eq!(flag("1"), "");
        assert_eq!(flag("ukci:13"), "🇬🇧");
        assert_eq!(flag("static:120"), "");
        assert_eq!(flag("static:/etc/st.csv"), "");
        assert_eq!(flag("watttime:CAISO_NORTH"), "");
    }
}
