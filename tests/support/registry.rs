//! Real OCI registries for tests: Debian's `docker-registry` (CNCF distribution) on a free
//! 127.0.0.1 port, either plain HTTP or TLS (certificate from a throwaway CA made with the
//! `openssl` CLI) with htpasswd bcrypt auth. Killed and cleaned up on drop.
//!
//! ```ignore
//! let Some(reg) = TestRegistry::plain() else { return }; // prints why it skipped
//! let reg = TestRegistry::tls_with_auth("alice", "s3cret").unwrap();
//! reg.oci("charts")            // "oci://127.0.0.1:PORT/charts"
//! reg.options()                // signet::registry::RegistryOptions for the library
//! reg.cli_flags()              // ["--plain-http"] or ["--ca-file", PATH, "--registry-config", PATH]
//! ```

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use signet::registry::{Credentials, RegistryOptions};

/// The registry binary from Debian's `docker-registry` package.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running registry; dropped → killed and its storage deleted.
pub struct TestRegistry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    pub addr: SocketAddr,
    /// PEM CA that signed the server certificate (TLS instances).
    pub ca_file: Option<PathBuf>,
    /// Username and password required (auth instances).
    pub credentials: Option<(String, String)>,
    /// A docker config file holding `credentials` for `host` (auth instances).
    pub docker_config: Option<PathBuf>,
    /// The token server of bearer-auth instances.
    pub token_server: Option<super::token::TokenServer>,
    child: Child,
    dir: tempfile::TempDir,
}

/// How a test registry authenticates clients.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthMode {
    None,
    /// HTTP basic against an htpasswd (bcrypt) file.
    Htpasswd,
    /// Bearer tokens from a [`super::token::TokenServer`] that checks basic credentials.
    Token,
}

impl TestRegistry {
    /// A plain-HTTP registry without auth, or `None` (with a printed reason) when
    /// `docker-registry` is not installed.
    pub fn plain() -> Option<Self> {
        Self::start(false, None, AuthMode::None)
    }

    /// A TLS registry with htpasswd (bcrypt) auth for `user`/`password`.
    pub fn tls_with_auth(user: &str, password: &str) -> Option<Self> {
        Self::start(
            true,
            Some((user.to_string(), password.to_string())),
            AuthMode::Htpasswd,
        )
    }

    /// A TLS registry without auth.
    pub fn tls() -> Option<Self> {
        Self::start(true, None, AuthMode::None)
    }

    /// A TLS registry using the bearer-token flow: clients get a JWT from a local token server
    /// (which checks `user`/`password`) and present it to the registry.
    pub fn tls_with_token_auth(user: &str, password: &str) -> Option<Self> {
        Self::start(
            true,
            Some((user.to_string(), password.to_string())),
            AuthMode::Token,
        )
    }

    fn start(tls: bool, credentials: Option<(String, String)>, mode: AuthMode) -> Option<Self> {
        if !Path::new(REGISTRY_BIN).is_file() {
            super::corpus::skip(
                "registry",
                &format!(
                    "{REGISTRY_BIN} not found (install Debian's docker-registry: `make tools`)"
                ),
            );
            return None;
        }
        if (tls && which("openssl").is_none())
            || (credentials.is_some() && which("htpasswd").is_none())
        {
            super::corpus::skip(
                "registry",
                "openssl/htpasswd not found (apt-get install openssl apache2-utils)",
            );
            return None;
        }
        // A port picked by the kernel can be taken between probe and bind; retry a few times.
        let mut last_err = String::new();
        for _ in 0..5 {
            match Self::try_start(tls, credentials.clone(), mode) {
                Ok(r) => return Some(r),
                Err(e) => last_err = e,
            }
        }
        panic!("could not start docker-registry: {last_err}");
    }

    fn try_start(
        tls: bool,
        credentials: Option<(String, String)>,
        mode: AuthMode,
    ) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("signet-registry-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        // The token server binds a port of its own first: started after the probe, it could
        // take the very port the probe freed for the registry, and then answer the readiness
        // check in its place (a registry that failed to bind, and a TLS client told EOF).
        let token_server =
            match (&credentials, mode) {
                (Some((user, password)), AuthMode::Token) => Some(
                    super::token::TokenServer::start(dir.path(), user, password)?,
                ),
                _ => None,
            };
        let port = free_port()?;
        let host = format!("127.0.0.1:{port}");
        let addr: SocketAddr = host.parse().map_err(|e| format!("{e}"))?;
        let storage = dir.path().join("data");
        std::fs::create_dir_all(&storage).map_err(|e| e.to_string())?;

        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  \
             filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  \
             secret: signet-test-secret\n",
            storage.display()
        );
        let mut ca_file = None;
        if tls {
            let (ca, cert, key) = make_certs(dir.path())?;
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
            ca_file = Some(ca);
        }
        let mut docker_config = None;
        if let Some(server) = &token_server {
            config.push_str(&format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    \
                 rootcertbundle: {}\n",
                server.realm,
                super::token::SERVICE,
                super::token::ISSUER,
                server.cert_file.display()
            ));
        }
        if let Some((user, password)) = &credentials {
            let htpasswd = dir.path().join("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .map_err(|e| format!("htpasswd: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "htpasswd failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            std::fs::write(&htpasswd, &out.stdout).map_err(|e| e.to_string())?;
            if mode == AuthMode::Htpasswd {
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: signet-test\n    path: {}\n",
                    htpasswd.display()
                ));
            }
            let cfg_dir = dir.path().join("docker");
            std::fs::create_dir_all(&cfg_dir).map_err(|e| e.to_string())?;
            let path = cfg_dir.join("config.json");
            signet::registry::login(&path, &host, user, password).map_err(|e| e.to_string())?;
            docker_config = Some(path);
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("spawn {REGISTRY_BIN}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log =
                    std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
                return Err(format!("docker-registry exited with {status}: {log}"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Something listens there; a registry that lost the port to another process
                // exits at once, so give it a moment to show that before trusting the port.
                std::thread::sleep(Duration::from_millis(50));
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(dir.path().join("registry.log"))
                        .unwrap_or_default();
                    return Err(format!(
                        "docker-registry exited with {status} while {addr} answered: {log}"
                    ));
                }
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("docker-registry did not start listening within 15 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            host,
            addr,
            ca_file,
            credentials,
            docker_config,
            token_server,
            child,
            dir,
        })
    }

    /// `oci://127.0.0.1:PORT/<path>`.
    pub fn oci(&self, path: &str) -> String {
        format!("oci://{}/{}", self.host, path.trim_start_matches('/'))
    }

    /// Whether the registry speaks plain HTTP.
    pub fn is_plain_http(&self) -> bool {
        self.ca_file.is_none()
    }

    /// Library options reaching this registry with its credentials (if any).
    pub fn options(&self) -> RegistryOptions {
        RegistryOptions {
            plain_http: self.is_plain_http(),
            ca_file: self.ca_file.clone(),
            credentials: match &self.credentials {
                Some((u, p)) => Credentials::Basic {
                    username: u.clone(),
                    password: p.clone(),
                },
                None => Credentials::Anonymous,
            },
            ..RegistryOptions::default()
        }
    }

    /// `signet`/`helm` flags reaching this registry: `--plain-http`, or `--ca-file` plus
    /// `--registry-config` when it needs credentials.
    pub fn cli_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        match &self.ca_file {
            None => flags.push("--plain-http".to_string()),
            Some(ca) => {
                flags.push("--ca-file".to_string());
                flags.push(ca.display().to_string());
            }
        }
        if let Some(cfg) = &self.docker_config {
            flags.push("--registry-config".to_string());
            flags.push(cfg.display().to_string());
        }
        flags
    }

    /// The directory holding this registry's files (config, certs, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The registry's log so far (useful in assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Overwrites a stored blob's bytes in the registry's filesystem storage, so that the next
    /// pull of `digest` serves corrupted content (for digest-mismatch tests). Returns whether
    /// the blob was found.
    pub fn corrupt_blob(&self, digest: &str) -> bool {
        let hex = digest.trim_start_matches("sha256:");
        let path = self
            .dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data");
        match std::fs::read(&path) {
            Ok(mut bytes) => {
                if let Some(b) = bytes.last_mut() {
                    *b ^= 0xff;
                }
                std::fs::write(&path, bytes).is_ok()
            }
            Err(_) => false,
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI.
/// Returns (ca.pem, server.pem, server.key).
fn make_certs(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let p = |n: &str| dir.join(n);
    let ossl = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    ossl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=signet test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    ossl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ])?;
    std::fs::write(
        p("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n\
         keyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n",
    )
    .map_err(|e| e.to_string())?;
    ossl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    Ok((p("ca.pem"), p("server.pem"), p("server.key")))
}

/// A TCP proxy in front of the registry that counts the HTTP requests passing through it (the
/// registry's own access log is off in the test support). Request lines are found in the
/// client-to-registry byte stream; during the measured phases only bodiless GET/HEAD requests
/// flow, so a line that looks like a request line is one.
pub struct CountingProxy {
    /// `127.0.0.1:PORT` of the proxy: use it in place of the registry's host.
    pub host: String,
    counts: std::sync::Arc<std::sync::Mutex<(usize, usize)>>,
}

impl CountingProxy {
    pub fn start(upstream: std::net::SocketAddr) -> Self {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let host = listener.local_addr().expect("proxy address").to_string();
        let counts = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
        let shared = counts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (Ok(mut client_read), Ok(mut server_write)) =
                    (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                let counts = shared.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut line = Vec::new();
                    while let Ok(n) = std::io::Read::read(&mut client_read, &mut buf) {
                        if n == 0 {
                            break;
                        }
                        // Counted before it is forwarded: the response can reach the client
                        // (and a test read the counts) before this thread runs again.
                        for &byte in &buf[..n] {
                            if byte != b'\n' {
                                if line.len() < 8192 {
                                    line.push(byte);
                                }
                                continue;
                            }
                            count_request_line(&line, &counts);
                            line.clear();
                        }
                        if std::io::Write::write_all(&mut server_write, &buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = server_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut server_read, mut client_write) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server_read, &mut client_write);
                    let _ = client_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Self { host, counts }
    }

    /// (requests, blob downloads) so far.
    pub fn counts(&self) -> (usize, usize) {
        *self.counts.lock().expect("proxy counts")
    }
}

fn count_request_line(line: &[u8], counts: &std::sync::Mutex<(usize, usize)>) {
    let Ok(line) = std::str::from_utf8(line) else {
        return;
    };
    let mut words = line.trim_end().split(' ');
    let (Some(method), Some(path), Some(version)) = (words.next(), words.next(), words.next())
    else {
        return;
    };
    if !version.starts_with("HTTP/1.") || !path.starts_with("/v2/") {
        return;
    }
    let mut counts = counts.lock().expect("proxy counts");
    counts.0 += 1;
    if method == "GET" && path.contains("/blobs/") {
        counts.1 += 1;
    }
}
