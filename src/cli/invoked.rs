//! The name the binary answers to. Installed or linked as `kubectl-carbon` on the PATH, it is
//! the kubectl plugin `kubectl carbon` (kubectl runs it with the words after `carbon`), and its
//! help and usage say so.

use std::ffi::OsStr;
use std::path::Path;

/// The file name kubectl looks for to run `kubectl carbon`.
pub const PLUGIN_FILE: &str = "kubectl-carbon";

/// How usage lines name the command, from the program's `argv[0]`.
pub fn display_name(argv0: Option<&OsStr>) -> &'static str {
    let file = argv0.and_then(|a| Path::new(a).file_name());
    if file == Some(OsStr::new(PLUGIN_FILE)) {
        "kubectl carbon"
    } else {
        "carbonctl"
    }
}

/// The command line, parsed under the name the binary was invoked as; usage errors exit 2.
pub fn parse() -> super::Cli {
    use clap::FromArgMatches;
    let name = display_name(std::env::args_os().next().as_deref());
    let mut matches = super::help::command(name).get_matches();
    super::Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_the_kubectl_plugin_only_under_its_file_name() {
        let name = |a: &str| display_name(Some(OsStr::new(a)));
        assert_eq!(name("/usr/local/bin/kubectl-carbon"), "kubectl carbon");
        assert_eq!(name("kubectl-carbon"), "kubectl carbon");
        assert_eq!(name("/usr/bin/carbonctl"), "carbonctl");
        assert_eq!(name("kubectl-carbonctl"), "carbonctl");
        assert_eq!(display_name(None), "carbonctl");
    }
}
