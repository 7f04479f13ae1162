//! A loopback HTTPS front for the emulator: TLS with a certificate made by `openssl` for the
//! run, forwarding the plain bytes to the emulator, as a TLS-terminating proxy or a provider's
//! real endpoint would present them.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub struct TlsFront {
    addr: SocketAddr,
    /// The CA that signed the front's certificate, as PEM: a trust store of one.
    pub ca_pem: PathBuf,
}

impl TlsFront {
    /// A front for 127.0.0.1, its CA and certificate made in `dir`, forwarding to `upstream`.
    pub fn start(dir: &Path, upstream: SocketAddr) -> TlsFront {
        let (ca_pem, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
        let (cert_pem, key_pem, csr) = (
            dir.join("front.pem"),
            dir.join("front.key"),
            dir.join("front.csr"),
        );
        let ext = dir.join("front.ext");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-days", "2", "-subj", "/CN=carbonctl-test-ca"],
            ]
            .concat(),
            &[("-keyout", &ca_key), ("-out", &ca_pem)],
        );
        openssl(
            &[&["req"][..], &ec, &["-subj", "/CN=127.0.0.1"]].concat(),
            &[("-keyout", &key_pem), ("-out", &csr)],
        );
        openssl(
            &["x509", "-req", "-days", "2", "-set_serial", "2"],
            &[
                ("-in", &csr),
                ("-CA", &ca_pem),
                ("-CAkey", &ca_key),
                ("-extfile", &ext),
                ("-out", &cert_pem),
            ],
        );
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_pem)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(&key_pem).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("front binds");
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let config = config.clone();
                std::thread::spawn(move || serve(client, config, upstream));
            }
        });
        TlsFront { addr, ca_pem }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

fn openssl(args: &[&str], paths: &[(&str, &PathBuf)]) {
    let mut command = Command::new("openssl");
    command.args(args);
    for (flag, path) in paths {
        command.arg(flag).arg(path);
    }
    let out = command.output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// One connection: the handshake, then bytes both ways until either side is done.
fn serve(client: TcpStream, config: Arc<rustls::ServerConfig>, upstream: SocketAddr) {
    let timeout = Some(Duration::from_millis(50));
    client.set_read_timeout(timeout).unwrap();
    let Ok(connection) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(connection, client);
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    server.set_read_timeout(timeout).unwrap();
    let mut buf = [0u8; 16 * 1024];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if is_wait(&e) => {}
            // A client that refused the certificate ends here.
            Err(_) => break,
        }
        match server.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|_| tls.flush()).is_err() {
                    break;
                }
            }
            Err(e) if is_wait(&e) => {}
            Err(_) => break,
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let _ = tls.sock.shutdown(Shutdown::Both);
}

fn is_wait(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
