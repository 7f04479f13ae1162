//! The one way carbonctl builds an HTTP client for the carbon API and the Pushgateway.
//!
//! TLS uses the rustls and ring that kube already links, and trusts the system's roots
//! (on Linux `/etc/ssl/certs`, or `SSL_CERT_FILE`/`SSL_CERT_DIR`) instead of a root list
//! compiled into the binary: a proxy's or a company's CA is then trusted the same way as by
//! every other tool on the host, and the image ships Debian's bundle at the standard path.
//! Bodies are not asked for gzip: the answers read here are a few hundred bytes of JSON.

use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{RootCerts, TlsConfig};

pub fn agent(timeout: Duration) -> ureq::Agent {
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::PlatformVerifier)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("carbonctl/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .into()
}
