//! Building the classic repository for `tests/mirror.rs` with the real tools: a throwaway
//! GnuPG key (and the legacy keyrings Helm reads), small charts, `helm package [--sign]` and
//! `helm repo index`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::tools::{run, run_ok, tool};

pub struct Tools {
    pub helm: PathBuf,
    pub gpg: PathBuf,
    pub cosign: PathBuf,
}

pub fn tools() -> Option<Tools> {
    Some(Tools {
        helm: tool("helm")?,
        gpg: tool("gpg")?,
        cosign: tool("cosign")?,
    })
}

/// A throwaway GnuPG home with one RSA signing key; the legacy keyrings Helm reads.
pub struct GpgKey {
    pub home: PathBuf,
    /// `gpg --export-secret-keys` (what `helm package --sign --keyring` reads).
    pub secring: PathBuf,
    /// `gpg --export` (what `signet mirror --keyring` reads).
    pub pubring: PathBuf,
    pub uid: String,
}

impl GpgKey {
    pub fn generate(gpg: &Path, dir: &Path, name: &str) -> Self {
        let home = dir.join(format!("gnupg-{name}"));
        std::fs::create_dir_all(&home).expect("gnupg home");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))
                .expect("chmod gnupg home");
        }
        let uid = format!("{name} <{name}@signet.test>");
        run_ok(
            Command::new(gpg)
                .env("GNUPGHOME", &home)
                .args(["--batch", "--passphrase", "", "--quick-gen-key", &uid])
                .args(["rsa2048", "sign", "never"]),
        );
        let export = |args: &[&str], file: &str| {
            let out = run(Command::new(gpg).env("GNUPGHOME", &home).args(args));
            assert!(
                out.status.success() && !out.stdout.is_empty(),
                "gpg {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let path = dir.join(file);
            std::fs::write(&path, out.stdout).expect("write keyring");
            path
        };
        let secring = export(
            &["--batch", "--export-secret-keys"],
            &format!("{name}-secring.gpg"),
        );
        let pubring = export(&["--batch", "--export"], &format!("{name}-pubring.gpg"));
        Self {
            home,
            secring,
            pubring,
            uid,
        }
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Writes a small chart `name`/`version` (with `note` in a template so versions differ).
pub fn chart_dir(dir: &Path, name: &str, version: &str, note: &str) -> PathBuf {
    let chart = dir.join(format!("src-{name}-{version}-{note}"));
    std::fs::create_dir_all(chart.join("templates")).expect("chart dir");
    std::fs::write(
        chart.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: {name}\nversion: {version}\ndescription: mirror test chart\n"
        ),
    )
    .expect("Chart.yaml");
    std::fs::write(chart.join("values.yaml"), format!("note: {note}\n")).expect("values");
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  note: {{ .Values.note | quote }}\n",
    )
    .expect("template");
    chart
}

/// `helm package [--sign]` of a chart into `repo`; returns the archive path.
pub fn package(
    t: &Tools,
    dir: &Path,
    repo: &Path,
    name: &str,
    version: &str,
    note: &str,
    key: Option<&GpgKey>,
) -> PathBuf {
    let chart = chart_dir(dir, name, version, note);
    let mut cmd = Command::new(&t.helm);
    cmd.env("HOME", dir)
        .arg("package")
        .arg(&chart)
        .arg("-d")
        .arg(repo);
    if let Some(key) = key {
        cmd.args(["--sign", "--key", &key.uid, "--keyring"])
            .arg(&key.secring);
    }
    run_ok(&mut cmd);
    repo.join(format!("{name}-{version}.tgz"))
}

pub fn repo_index(t: &Tools, dir: &Path, repo: &Path) {
    run_ok(
        Command::new(&t.helm)
            .env("HOME", dir)
            .args(["repo", "index"])
            .arg(repo),
    );
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
