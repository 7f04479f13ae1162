//! The carbon API over HTTPS, end to end: carbonctl trusts the system's roots, so a CA named by
//! `SSL_CERT_FILE` (a company's or a proxy's) is trusted and an unknown certificate is refused
//! with words that say so.

mod common;

use common::cluster::Cluster;
use common::temp_dir;
use common::tls::TlsFront;

fn carbon(c: &Cluster) -> serde_json::Value {
    serde_json::from_str(&c.state()["carbon"]).unwrap()
}

#[test]
fn a_ca_in_ssl_cert_file_is_trusted_and_an_unknown_one_refused() {
    let mut c = Cluster::demo();
    let upstream = ([127, 0, 0, 1], c.emu.port()).into();
    let front = TlsFront::start(&temp_dir("tls"), upstream);
    let stranger = TlsFront::start(&temp_dir("tls-other"), upstream);
    c.set("CARBON_API_URL", &format!("{}/v3", front.url()));
    c.emu.set_carbon("FR", 41.0);

    let other = stranger.ca_pem.to_str().unwrap();
    let refused = c.run_env(&["tick"], &[("SSL_CERT_FILE", other)]);
    assert_eq!(refused.code, 0, "{}", refused.stderr);
    let seen = carbon(&c);
    assert_eq!(
        seen["france"]["gramsPerKwh"],
        serde_json::Value::Null,
        "{seen}"
    );
    let error = seen["france"]["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("TLS"), "{error}");

    let cert = front.ca_pem.to_str().unwrap();
    let trusted = c.run_env(&["tick"], &[("SSL_CERT_FILE", cert)]);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    let seen = carbon(&c);
    assert_eq!(seen["france"]["gramsPerKwh"], 41.0, "{seen}");
}
