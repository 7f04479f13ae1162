//! The settings table (docs/settings.md) is the command line's own definition: every environment
//! variable clap reads is a row, with the flag that sets it and the default it declares.

use clap::CommandFactory;

#[test]
fn the_readme_settings_table_matches_the_command_line() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/settings.md")).unwrap();
    let rows: Vec<(String, String, String)> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let env = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            let flag = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            (env.chars().all(|c| c.is_ascii_uppercase() || c == '_') && flag.starts_with("--"))
                .then(|| {
                    (
                        env.to_string(),
                        flag.to_string(),
                        cells[2].trim_matches('`').to_string(),
                    )
                })
        })
        .collect();
    let command = carbonctl::cli::Cli::command();
    let mut declared: Vec<(String, String, String)> = command
        .get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_string_lossy().into_owned();
            let default = match a.get_default_values() {
                [] => "(none)".to_string(),
                values => values
                    .iter()
                    .map(|v| v.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            Some((env, format!("--{}", a.get_long()?), default))
        })
        .collect();
    declared.sort();
    let mut documented = rows.clone();
    documented.sort();
    assert_eq!(
        documented, declared,
        "docs/settings.md table vs clap definitions"
    );
}
