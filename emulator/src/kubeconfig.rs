//! The kubeconfig an emulator hands out: kubectl, kube-rs and carbonctl all find the server
//! and the bearer token the same way they would for a real cluster.

use std::path::Path;

use anyhow::Context;

/// The context, cluster and user all carry `name`, so kubeconfigs of several emulators merge
/// (`KUBECONFIG=a:b:c`) without one hiding another.
pub fn render(server: &str, token: &str, name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster:
    server: {server}
users:
- name: {name}
  user:
    token: {token}
contexts:
- name: {name}
  context:
    cluster: {name}
    user: {name}
    namespace: default
current-context: {name}
preferences: {{}}
"
    )
}

pub fn write(path: &Path, server: &str, token: &str, name: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, render(server, token, name))
        .with_context(|| format!("cannot write kubeconfig {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_server_token_and_namespace() {
        let text = render("http://127.0.0.1:4321", "secret", "kube-emulator");
        assert!(text.contains("    server: http://127.0.0.1:4321\n"));
        assert!(text.contains("    token: secret\n"));
        assert!(text.contains("    namespace: default\n"));
        assert!(text.contains("current-context: kube-emulator\n"));
    }
}
