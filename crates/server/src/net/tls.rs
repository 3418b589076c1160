//! TLS setup: rustls with the `ring` provider, TLS 1.2 and 1.3 only, PEM
//! loading, self-signed certificates and a reloadable certificate.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The names a generated certificate carries by default.
pub const DEFAULT_SELF_SIGNED_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// The protocol versions every config built here allows: TLS 1.3 and 1.2.
/// SSL 3, TLS 1.0 and TLS 1.1 are refused (RFC 8996); rustls does not
/// implement them at all.
pub static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Why a certificate or key could not be loaded or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The PEM input holds no `CERTIFICATE` block.
    #[error("{what}: expected at least one PEM CERTIFICATE block")]
    NoCertificate {
        /// The file or input the certificates were read from.
        what: String,
    },
    /// The PEM input could not be read, or holds no usable private key.
    #[error("{what}: {reason}")]
    Pem {
        /// The file or input.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the key, the certificate, or the pair.
    #[error("certificate or key refused: {0}")]
    Rustls(#[from] rustls::Error),
    /// Generating a self-signed certificate failed.
    #[error("certificate generation failed: {0}")]
    Generate(String),
}

/// The crypto provider used throughout: rustls's `ring` provider.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config for TLS 1.2 and 1.3 with no client authentication that
/// takes its certificate from `resolver` on every handshake (so a
/// [`ReloadableCert`] takes effect for new connections without a new config).
pub fn server_config(resolver: Arc<dyn ResolvesServerCert>) -> Result<Arc<ServerConfig>, TlsError> {
    let config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    Ok(Arc::new(config))
}

/// Builds a certified key from a PEM certificate chain (leaf first) and a
/// PEM private key (PKCS#8, PKCS#1 or SEC1), checking that they match.
pub fn certified_key_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    certified_key(cert_pem, key_pem, "certificate PEM", "key PEM")
}

/// Reads a PEM certificate chain and private key from files; see
/// [`certified_key_from_pem`].
pub fn load_pem_files(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| {
        fs::read(path).map_err(|source| TlsError::Io {
            path: path.to_owned(),
            source,
        })
    };
    certified_key(
        &read(cert)?,
        &read(key)?,
        &cert.display().to_string(),
        &key.display().to_string(),
    )
}

fn certified_key(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_what: &str,
    key_what: &str,
) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: cert_what.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            what: cert_what.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
        what: key_what.to_owned(),
        reason: format!("expected a PEM private key: {e}"),
    })?;
    Ok(CertifiedKey::from_der(chain, key, &crypto_provider())?)
}

/// A self-signed certificate and its key, in PEM.
#[derive(Clone)]
pub struct SelfSigned {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8, ECDSA P-256), PEM.
    pub key_pem: String,
}

impl fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelfSigned")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl SelfSigned {
    /// Generates a certificate for `names` (DNS names, or IP addresses
    /// written as such: `127.0.0.1`, `::1`), valid from 1975 to 4096 (rcgen's
    /// defaults), with a fresh ECDSA P-256 key.
    pub fn generate(names: &[&str]) -> Result<SelfSigned, TlsError> {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let generated = rcgen::generate_simple_self_signed(names)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        Ok(SelfSigned {
            cert_pem: generated.cert.pem(),
            key_pem: generated.key_pair.serialize_pem(),
        })
    }

    /// The certificate and key for rustls.
    pub fn certified_key(&self) -> Result<CertifiedKey, TlsError> {
        certified_key_from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }

    /// Writes the certificate and key as PEM files. The key file is created
    /// with mode 0600 on Unix. Existing files are replaced.
    pub fn write(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| TlsError::Io { path, source }
        };
        fs::write(cert, &self.cert_pem).map_err(io_err(cert))?;
        write_private(key, self.key_pem.as_bytes()).map_err(io_err(key))
    }
}

fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(data)?;
    file.sync_all()
}

/// A certificate resolver whose certificate can be replaced while the
/// server runs: every new handshake uses the current certificate, and
/// connections already established keep theirs. Wire [`ReloadableCert::reload`]
/// to SIGHUP.
pub struct ReloadableCert {
    current: RwLock<Arc<CertifiedKey>>,
    files: Option<(PathBuf, PathBuf)>,
}

impl fmt::Debug for ReloadableCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableCert")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadableCert {
    /// A resolver serving `key`; [`reload`](Self::reload) has no files to
    /// read, use [`replace`](Self::replace) instead.
    pub fn new(key: CertifiedKey) -> Arc<ReloadableCert> {
        Arc::new(ReloadableCert {
            current: RwLock::new(Arc::new(key)),
            files: None,
        })
    }

    /// A resolver serving the PEM files at `cert` and `key`, re-read by
    /// [`reload`](Self::reload).
    pub fn from_pem_files(
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Result<Arc<ReloadableCert>, TlsError> {
        let (cert, key) = (cert.into(), key.into());
        let loaded = load_pem_files(&cert, &key)?;
        Ok(Arc::new(ReloadableCert {
            current: RwLock::new(Arc::new(loaded)),
            files: Some((cert, key)),
        }))
    }

    /// Loads the PEM files at `cert` and `key`, first generating a
    /// self-signed certificate for `names` into them if neither exists (the
    /// default setup of a server that was given no certificate). Returns the
    /// resolver and whether a certificate was generated. If only one of the
    /// two files exists, nothing is overwritten and loading fails.
    pub fn load_or_generate(
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
        names: &[&str],
    ) -> Result<(Arc<ReloadableCert>, bool), TlsError> {
        let (cert, key) = (cert.into(), key.into());
        let generate = !cert.exists() && !key.exists();
        if generate {
            SelfSigned::generate(names)?.write(&cert, &key)?;
        }
        Ok((ReloadableCert::from_pem_files(cert, key)?, generate))
    }

    /// Re-reads the PEM files given to [`from_pem_files`](Self::from_pem_files).
    /// On error the current certificate stays in use. Without files this
    /// does nothing.
    pub fn reload(&self) -> Result<(), TlsError> {
        if let Some((cert, key)) = &self.files {
            let loaded = load_pem_files(cert, key)?;
            self.replace(loaded);
        }
        Ok(())
    }

    /// Serves `key` from the next handshake on.
    pub fn replace(&self, key: CertifiedKey) {
        let key = Arc::new(key);
        match self.current.write() {
            Ok(mut guard) => *guard = key,
            // A panic while holding the lock cannot leave the Arc half
            // written; take the value over.
            Err(poisoned) => *poisoned.into_inner() = key,
        }
    }

    /// The certificate served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A server config (TLS 1.2 and 1.3) using this resolver.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, TlsError> {
        server_config(Arc::clone(self) as Arc<dyn ResolvesServerCert>)
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_cert_loads_and_names_match() {
        let ss = SelfSigned::generate(&DEFAULT_SELF_SIGNED_NAMES).unwrap();
        assert!(ss.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(ss.key_pem.contains("PRIVATE KEY"));
        assert!(!format!("{ss:?}").contains("PRIVATE KEY"));
        let key = ss.certified_key().unwrap();
        assert_eq!(key.cert.len(), 1);
        key.keys_match().unwrap();
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = SelfSigned::generate(&["a.test"]).unwrap();
        let b = SelfSigned::generate(&["b.test"]).unwrap();
        let err = certified_key_from_pem(a.cert_pem.as_bytes(), b.key_pem.as_bytes()).unwrap_err();
        assert!(matches!(err, TlsError::Rustls(_)), "{err}");
    }

    #[test]
    fn pem_errors_say_what() {
        let ss = SelfSigned::generate(&["a.test"]).unwrap();
        assert!(matches!(
            certified_key_from_pem(b"", ss.key_pem.as_bytes()),
            Err(TlsError::NoCertificate { .. })
        ));
        assert!(matches!(
            certified_key_from_pem(ss.cert_pem.as_bytes(), b"junk"),
            Err(TlsError::Pem { .. })
        ));
    }

    #[test]
    fn write_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let first = SelfSigned::generate(&["first.test"]).unwrap();
        first.write(&cert, &key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
        let resolver = ReloadableCert::from_pem_files(&cert, &key).unwrap();
        let before = resolver.current().cert[0].clone();
        // A broken file keeps the old certificate.
        fs::write(&cert, "garbage").unwrap();
        assert!(resolver.reload().is_err());
        assert_eq!(resolver.current().cert[0], before);
        let second = SelfSigned::generate(&["second.test"]).unwrap();
        second.write(&cert, &key).unwrap();
        resolver.reload().unwrap();
        assert_ne!(resolver.current().cert[0], before);
    }

    #[test]
    fn load_or_generate_generates_once() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let (first, generated) =
            ReloadableCert::load_or_generate(&cert, &key, &DEFAULT_SELF_SIGNED_NAMES).unwrap();
        assert!(generated);
        let (second, generated) =
            ReloadableCert::load_or_generate(&cert, &key, &DEFAULT_SELF_SIGNED_NAMES).unwrap();
        assert!(!generated);
        assert_eq!(first.current().cert, second.current().cert);
        // A lone certificate file is not silently replaced.
        fs::remove_file(&key).unwrap();
        assert!(ReloadableCert::load_or_generate(&cert, &key, &["x.test"]).is_err());
        assert!(cert.exists() && !key.exists());
    }

    #[test]
    fn config_builds() {
        let ss = SelfSigned::generate(&DEFAULT_SELF_SIGNED_NAMES).unwrap();
        let resolver = ReloadableCert::new(ss.certified_key().unwrap());
        let config = resolver.server_config().unwrap();
        assert!(config.alpn_protocols.is_empty());
    }
}
