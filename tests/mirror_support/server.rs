//! A static file server for the classic repository in `tests/mirror.rs`: HTTP or HTTPS (a
//! throwaway CA from rcgen, optionally demanding a client certificate) on 127.0.0.1, optional
//! basic auth, one request per connection, GETs counted per path.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Serves the files of a directory over HTTP or HTTPS on 127.0.0.1, one request per connection,
/// optionally demanding basic auth; counts GETs per path.
pub struct RepoServer {
    pub port: u16,
    pub tls: bool,
    /// PEM CA that signed the server certificate (TLS servers).
    pub ca_file: Option<PathBuf>,
    pub hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl RepoServer {
    pub fn start(root: &Path, tls_dir: Option<&Path>, auth: Option<(&str, &str)>) -> Self {
        Self::start_with(root, tls_dir.map(|d| (d, false)), auth)
    }

    /// An HTTPS server that demands a client certificate from its CA (written to
    /// `dir/client.pem` and `dir/client.key`).
    pub fn start_mutual_tls(root: &Path, dir: &Path) -> Self {
        Self::start_with(root, Some((dir, true)), None)
    }

    fn start_with(root: &Path, tls: Option<(&Path, bool)>, auth: Option<(&str, &str)>) -> Self {
        signet::tls::install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the repository server");
        let port = listener.local_addr().expect("server address").port();
        let (config, ca_file) = match tls {
            Some((dir, client_auth)) => {
                let (config, ca) = tls_config(dir, client_auth);
                (Some(Arc::new(config)), Some(ca))
            }
            None => (None, None),
        };
        let expected_auth = auth.map(|(u, p)| {
            use base64::Engine as _;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let root = root.to_path_buf();
        let shared = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (root, hits, auth, config) = (
                    root.clone(),
                    shared.clone(),
                    expected_auth.clone(),
                    config.clone(),
                );
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                    match config {
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut tls = rustls::StreamOwned::new(conn, stream);
                            serve(&mut tls, &root, &hits, auth.as_deref());
                            tls.conn.send_close_notify();
                            let _ = tls.flush();
                        }
                        None => {
                            let mut stream = stream;
                            serve(&mut stream, &root, &hits, auth.as_deref());
                        }
                    }
                });
            }
        });
        Self {
            port,
            tls: tls.is_some(),
            ca_file,
            hits,
        }
    }

    pub fn url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/",
            if self.tls { "https" } else { "http" },
            self.port
        )
    }

    /// GETs of archives (`.tgz`) answered so far, authorized or not.
    pub fn archive_downloads(&self) -> usize {
        let hits = self.hits.lock().expect("hits");
        hits.iter()
            .filter(|(path, _)| path.ends_with(".tgz"))
            .map(|(_, n)| n)
            .sum()
    }
}

/// A CA and a server certificate for 127.0.0.1 (rcgen); returns the rustls config and the CA
/// PEM file written in `dir`.
pub fn tls_config(dir: &Path, client_auth: bool) -> (rustls::ServerConfig, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "signet mirror test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA");
    let leaf_key = KeyPair::generate().expect("server key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params")
        .signed_by(&leaf_key, &ca)
        .expect("server certificate");
    let ca_file = dir.join("repo-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write CA");
    let chain = vec![rustls::pki_types::CertificateDer::from(leaf.der().to_vec())];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let builder = rustls::ServerConfig::builder();
    let builder = if client_auth {
        let client_key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params
            .distinguished_name
            .push(DnType::CommonName, "signet mirror client");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = params
            .signed_by(&client_key, &ca)
            .expect("client certificate");
        std::fs::write(dir.join("client.pem"), client.pem()).expect("write client cert");
        std::fs::write(dir.join("client.key"), client_key.serialize_pem()).expect("write key");
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(ca.der().to_vec()))
            .expect("client CA");
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(chain, key)
        .expect("server TLS config");
    (config, ca_file)
}

pub fn serve(
    stream: &mut (impl Read + Write),
    root: &Path,
    hits: &Mutex<HashMap<String, usize>>,
    auth: Option<&str>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = percent_decode(target.split('?').next().unwrap_or("/"));
    *hits.lock().expect("hits").entry(path.clone()).or_default() += 1;
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    let respond = |stream: &mut dyn Write, status: &str, extra: &str, body: &[u8]| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
            body.len()
        );
        if method != "HEAD" {
            let _ = stream.write_all(body);
        }
        let _ = stream.flush();
    };
    if let Some(expected) = auth
        && authorization.as_deref() != Some(expected)
    {
        respond(
            stream,
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"charts\"\r\n",
            b"unauthorized\n",
        );
        return;
    }
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|s| s == "..") {
        respond(stream, "400 Bad Request", "", b"");
        return;
    }
    match std::fs::read(root.join(relative)) {
        Ok(body) => respond(stream, "200 OK", "", &body),
        Err(_) => respond(stream, "404 Not Found", "", b"not found\n"),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
