//! The documentation holds.
//!
//! Links: every relative Markdown link in README.md, BENCHMARKS.md, emulator/README.md,
//! data/README.md and docs/*.md names a file that exists, and every `#anchor` (in the same page
//! or another Markdown page) names one of its headings, by GitHub's rules (lowercase; spaces
//! become `-`; other punctuation but `-` and `_` dropped; a repeated heading gets `-1`, `-2`,
//! ...). Links inside code blocks and code spans are not links.
//!
//! Command blocks: in README.md, emulator/README.md and docs/*.md, a ```` ```sh ```` block runs as
//! pasted on this machine from the root of the clone after `cargo build --workspace` (against
//! the emulator or the data in the clone); a ```` ```console ```` block needs what a test cannot
//! have (a real cluster, kind, Helm, Docker, the network or the `../shared` datasets). Every sh
//! block of a page runs, in order, in one bash session (`set -euo pipefail`), as a reader
//! pasting them into one shell would, with `target/debug/` pointing at the binaries under test,
//! `cargo build` lines skipped (the binaries are built), `make build && ` dropped for the same
//! reason, other `make` lines skipped (`make demo` and `make test` are what
//! `hack/fresh-clone-test.sh` runs; `make test` here would run this test again), `/tmp/` paths
//! in a directory of the run's own, and background jobs killed at the end.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn pages() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut pages: Vec<PathBuf> = [
        "README.md",
        "BENCHMARKS.md",
        "emulator/README.md",
        "data/README.md",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The page without fenced code blocks (their lines become empty, so line numbers stay).
fn prose(text: &str) -> Vec<String> {
    let mut fence: Option<String> = None;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match &fence {
                Some(marker) => {
                    if trimmed.starts_with(marker.as_str()) {
                        fence = None;
                    }
                    String::new()
                }
                None if trimmed.starts_with("```") || trimmed.starts_with("~~~") => {
                    fence = Some(trimmed[..3].to_string());
                    String::new()
                }
                None => line.to_string(),
            }
        })
        .collect()
}

/// GitHub's anchor for a heading's text.
fn slug(heading: &str) -> String {
    let text: String = heading.replace('`', "");
    // A link in a heading counts by its text.
    let text = text
        .replace("](", "\u{0}")
        .split('\u{0}')
        .next()
        .unwrap_or("")
        .to_string();
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut seen = BTreeSet::new();
    for line in prose(&text) {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let heading = rest.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(heading);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// Every `](target)` of the page outside code, with its line number.
fn links(text: &str) -> Vec<(usize, String)> {
    let lines = prose(text);
    // Code spans out (a span does not cross lines in these pages).
    let lines: Vec<String> = lines
        .iter()
        .map(|l| {
            l.split('`')
                .enumerate()
                .map(|(i, part)| if i % 2 == 0 { part } else { "" })
                .collect::<Vec<_>>()
                .join("")
        })
        .collect();
    let mut out = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            out.push((number + 1, target));
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_exists() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let shown = page.strip_prefix(ROOT).unwrap().display().to_string();
        for (line, target) in links(&text) {
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            if !file.exists() {
                broken.push(format!("{shown}:{line}: {target}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                if file.extension().is_none_or(|e| e != "md") {
                    broken.push(format!(
                        "{shown}:{line}: {target}: an anchor in a non-Markdown file"
                    ));
                } else if !anchors(&file).contains(anchor) {
                    broken.push(format!(
                        "{shown}:{line}: {target}: no heading with that anchor"
                    ));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "found only {checked} relative links: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_follow_githubs_rules() {
    assert_eq!(
        slug(" Evidence: a year of real data"),
        "evidence-a-year-of-real-data"
    );
    assert_eq!(
        slug(" Try it (no cluster, no token)"),
        "try-it-no-cluster-no-token"
    );
    assert_eq!(
        slug(" Alongside an HPA or KEDA"),
        "alongside-an-hpa-or-keda"
    );
    assert_eq!(slug(" `--sweep` and settings_x"), "--sweep-and-settings_x");
}

/// The pages whose command blocks are checked.
fn command_pages() -> Vec<PathBuf> {
    pages()
        .into_iter()
        .filter(|p| {
            let shown = p.strip_prefix(ROOT).unwrap();
            !shown.ends_with("BENCHMARKS.md") && !shown.starts_with("data")
        })
        .collect()
}

/// Every fenced block of a page: (line of its opening fence, language, body).
fn blocks(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (number, line) in text.lines().enumerate() {
        match open.take() {
            Some(block) if line.trim_start().starts_with("```") => out.push(block),
            Some((start, language, mut body)) => {
                body.push_str(line);
                body.push('\n');
                open = Some((start, language, body));
            }
            None => {
                if let Some(language) = line.trim_start().strip_prefix("```") {
                    open = Some((number + 1, language.trim().to_string(), String::new()));
                }
            }
        }
    }
    out
}

/// An sh block as the test runs it (see the module's documentation).
fn runnable(body: &str) -> String {
    body.lines()
        .filter(|line| !line.starts_with("cargo build"))
        .map(|line| line.strip_prefix("make build && ").unwrap_or(line))
        .filter(|line| !line.starts_with("make "))
        // To variables the script is given, not to the paths themselves: a path with a space
        // stays one word, and a clone under /tmp is not rewritten as a /tmp path.
        .map(|line| {
            line.replace("/tmp/", "\"$DOCS_WORK\"/")
                .replace("target/debug/", "\"$DOCS_BIN\"/")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn shell_blocks_are_sh_or_console() {
    let mut wrong = Vec::new();
    for page in command_pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, language, _) in blocks(&text) {
            if ["bash", "shell", "zsh"].contains(&language.as_str()) {
                wrong.push(format!(
                    "{}:{line}: ```{language}: use ```sh for a block that runs here, ```console for one that cannot",
                    page.strip_prefix(ROOT).unwrap().display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_sh_block_runs_as_pasted() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_carbonctl")).parent().unwrap();
    assert!(
        bin_dir.join("kube-emulator").exists(),
        "kube-emulator is not built next to carbonctl; run `cargo build --workspace` (make test does)"
    );
    let mut ran = 0;
    for (index, page) in command_pages().iter().enumerate() {
        let shown = page.strip_prefix(ROOT).unwrap().display().to_string();
        let text = std::fs::read_to_string(page).unwrap();
        let sh: Vec<_> = blocks(&text)
            .into_iter()
            .filter(|(_, language, _)| language == "sh")
            .collect();
        if sh.is_empty() {
            continue;
        }
        let work =
            std::env::temp_dir().join(format!("carbonctl-docs-{}-{index}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        let mut script = String::from(
            "set -euo pipefail\ncleanup() { local pids; pids=$(jobs -p); [ -z \"$pids\" ] || kill $pids 2>/dev/null || true; }\ntrap cleanup EXIT\n",
        );
        for (line, _, body) in &sh {
            script.push_str(&format!("echo '--- {shown}:{line}' >&2\n"));
            script.push_str(&runnable(body));
            script.push('\n');
            ran += 1;
        }
        // Bounded as a whole, so a block that waits forever fails instead of hanging the suite.
        let out = Command::new("timeout")
            .args(["300", "bash", "-c", &script])
            .current_dir(ROOT)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &work)
            .env("DOCS_WORK", &work)
            .env("DOCS_BIN", bin_dir)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&work);
        assert!(
            out.status.success(),
            "the sh blocks of {shown} failed (the last `---` line names the block):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(ran >= 6, "ran only {ran} sh blocks: is the parser broken?");
}
