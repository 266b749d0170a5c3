//! A certificate authority made at test time, and the server certificates
//! it signs.
//!
//! Mocks that must speak real TLS on loopback (the sign-in servers behind
//! [`crate::mock_claude_ai`], an HTTPS Anthropic upstream) need a
//! certificate a client accepts only when told to trust this CA, the way a
//! user's machine trusts a public one. A fresh CA per test means no client
//! can trust it by accident, and the test can hand it out deliberately
//! (`NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`, an SPKI pin).

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rcgen::{Issuer, KeyUsagePurpose, PublicKeyData};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed CA that exists only for one test.
pub struct TestCa {
    cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// Makes a CA whose name says it is fake, so a stray copy explains
    /// itself. The name is unique, as distinct real CAs' names are: a
    /// verifier picks candidate issuers by name, so two test CAs sharing one
    /// would fail as a bad signature rather than an unknown issuer.
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::default();
        let name = format!("Gatehouse e2e FAKE CA {} (tests only)", uuid::Uuid::new_v4().simple());
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa { cert, issuer: Issuer::new(params, key) }
    }

    /// The CA certificate, PEM-encoded.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// Writes the CA certificate (PEM) to `path`, for a client to trust.
    pub fn write_pem(&self, path: &Path) {
        std::fs::write(path, self.pem()).expect("writing the CA certificate");
    }

    /// A server certificate for `hosts`, signed by this CA.
    pub fn issue(&self, hosts: &[&str]) -> ServerCert {
        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(hosts.iter().map(|host| host.to_string()).collect::<Vec<_>>()).expect("names");
        params.distinguished_name.push(DnType::CommonName, hosts[0]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = params.signed_by(&key, &self.issuer).expect("server certificate");
        ServerCert {
            // The CA rides along, as real servers send their intermediates.
            chain: vec![cert.der().clone(), self.cert.der().clone()],
            spki_sha256: STANDARD.encode(Sha256::digest(key.subject_public_key_info())),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// A server certificate with its chain and private key.
pub struct ServerCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    spki_sha256: String,
}

impl ServerCert {
    /// The base64 SHA-256 of the certificate's public key, the pin Chromium's
    /// `--ignore-certificate-errors-spki-list` takes.
    pub fn spki_sha256(&self) -> &str {
        &self.spki_sha256
    }

    /// A rustls server configuration presenting this certificate and
    /// offering `alpn` (most preferred first) to clients that ask.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), PrivateKeyDer::Pkcs8(self.key.clone_key()))
            .expect("TLS configuration");
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Arc::new(config)
    }
}
