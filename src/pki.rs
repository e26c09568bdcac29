//! Certificates as Pigsty makes them, issued with rcgen.
//!
//! - A CA like Pigsty's `pigsty-ca`: CA:TRUE, pathlen 1, for key and CRL signing.
//! - An existing CA is loaded whatever the form of its key: PKCS#8, PKCS#1 RSA
//!   (`BEGIN RSA PRIVATE KEY`, as Pigsty's usually is) or SEC1 EC (`BEGIN EC PRIVATE KEY`).
//! - Member certificates: subject `O=pigsty, OU=etcd, CN=<cls>-<seq>` (the order Pigsty's
//!   `openssl_csr` task writes it), SANs `IP:<ip>`, `IP:127.0.0.1`, `DNS:localhost`,
//!   `DNS:<cls>-<seq>`, for both server and client auth (one certificate serves client and peer
//!   traffic).
//! - Key files are created with mode 0600 and no file is overwritten without `force`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// Pigsty's `cert_validity` default for member certificates.
pub const MEMBER_VALIDITY_DAYS: i64 = 7300;
/// A CA made here lives as long as Pigsty's.
pub const CA_VALIDITY_DAYS: i64 = 36500;

/// A certificate problem, said with the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot read {what} {path}: {reason}")]
    Read {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("{path}: no {what} found (expected PEM {expected})")]
    NoPem {
        what: &'static str,
        path: String,
        expected: &'static str,
    },
    #[error("{path}: this key cannot sign certificates: {reason}")]
    UnsupportedKey { path: String, reason: String },
    #[error("{key} does not belong to {cert}: the public keys differ; give the key that was made with this CA")]
    KeyMismatch { key: String, cert: String },
    #[error("{path} is not a CA certificate (basicConstraints CA:TRUE missing); give the CA, not a member certificate")]
    NotCa { path: String },
    #[error("{path} exists; pass --force to overwrite it")]
    Exists { path: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// A certificate authority that can issue member certificates.
pub struct Ca {
    cert_pem: String,
    key: KeyPair,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// A member certificate and its key, in PEM.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub name: String,
    pub cert_pem: String,
    pub key_pem: String,
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(days);
}

impl Ca {
    /// A new CA like Pigsty's: CN=`common_name`, O=pigsty, CA:TRUE pathlen 1, ECDSA P-256.
    pub fn create(common_name: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn.push(DnType::OrganizationName, "pigsty");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, CA_VALIDITY_DAYS);
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            cert_pem: cert.pem(),
            key,
        })
    }

    /// Load a CA from its certificate and key files.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Ca, PkiError> {
        let read = |what, p: &Path| {
            crate::input::read(p, crate::input::PEM_LIMIT, "a PEM file").map_err(|e| {
                PkiError::Read {
                    what,
                    path: p.display().to_string(),
                    reason: e.to_string(),
                }
            })
        };
        let cert = read("CA certificate", cert_path)?;
        let key = read("CA key", key_path)?;
        Self::from_pem_named(
            &cert,
            &key,
            &cert_path.display().to_string(),
            &key_path.display().to_string(),
        )
    }

    /// Load a CA from PEM text.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        Self::from_pem_named(
            cert_pem.as_bytes(),
            key_pem.as_bytes(),
            "CA certificate",
            "CA key",
        )
    }

    fn from_pem_named(
        cert: &[u8],
        key: &[u8],
        cert_name: &str,
        key_name: &str,
    ) -> Result<Ca, PkiError> {
        let der = CertificateDer::from_pem_slice(cert).map_err(|_| PkiError::NoPem {
            what: "certificate",
            path: cert_name.to_string(),
            expected: "'CERTIFICATE'",
        })?;
        let (_, x509) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| PkiError::UnsupportedKey {
                path: cert_name.to_string(),
                reason: format!("not an X.509 certificate: {e}"),
            })?;
        let is_ca = x509
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(PkiError::NotCa {
                path: cert_name.to_string(),
            });
        }
        let key_der = PrivateKeyDer::from_pem_slice(key).map_err(|_| PkiError::NoPem {
            what: "private key",
            path: key_name.to_string(),
            expected: "'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY'",
        })?;
        let pkcs8 = to_pkcs8(&key_der).ok_or_else(|| PkiError::UnsupportedKey {
            path: key_name.to_string(),
            reason: "unreadable key structure".into(),
        })?;
        let key = KeyPair::try_from(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)))
            .map_err(|e| PkiError::UnsupportedKey {
                path: key_name.to_string(),
                reason: format!("{e} (supported: RSA 2048-4096, ECDSA P-256/P-384, Ed25519)"),
            })?;
        if x509.public_key().subject_public_key.data.as_ref() != key.der_bytes() {
            return Err(PkiError::KeyMismatch {
                key: key_name.to_string(),
                cert: cert_name.to_string(),
            });
        }
        let cert_pem = String::from_utf8_lossy(cert).into_owned();
        Ok(Ca { cert_pem, key })
    }

    /// The CA certificate in PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA key in PEM (PKCS#8).
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Issue a member certificate: subject O=pigsty, OU=etcd, CN=`name` (as Pigsty's etcd role
    /// asks for it), SANs IP:`ip`, IP:127.0.0.1, DNS:localhost, DNS:`name`, server and client
    /// auth, valid 7300 days.
    pub fn issue_member(&self, name: &str, ip: IpAddr) -> Result<IssuedCert, PkiError> {
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "pigsty");
        dn.push(DnType::OrganizationalUnitName, "etcd");
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        params.subject_alt_names.push(SanType::IpAddress(ip));
        if ip != localhost {
            params.subject_alt_names.push(SanType::IpAddress(localhost));
        }
        params
            .subject_alt_names
            .push(SanType::DnsName("localhost".try_into()?));
        params
            .subject_alt_names
            .push(SanType::DnsName(name.try_into()?));
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, MEMBER_VALIDITY_DAYS);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(IssuedCert {
            name: name.to_string(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Write `DIR/ca.crt` (0644) and `DIR/ca.key` (0600).
    pub fn write(&self, dir: &Path, force: bool) -> Result<Vec<PathBuf>, PkiError> {
        let crt = dir.join("ca.crt");
        let key = dir.join("ca.key");
        write_pair(
            dir,
            (&crt, self.cert_pem.as_bytes()),
            (&key, self.key_pem().as_bytes()),
            force,
        )?;
        Ok(vec![crt, key])
    }
}

impl IssuedCert {
    /// Write `DIR/<name>.crt` (0644) and `DIR/<name>.key` (0600).
    pub fn write(&self, dir: &Path, force: bool) -> Result<(PathBuf, PathBuf), PkiError> {
        let crt = dir.join(format!("{}.crt", self.name));
        let key = dir.join(format!("{}.key", self.name));
        write_pair(
            dir,
            (&crt, self.cert_pem.as_bytes()),
            (&key, self.key_pem.as_bytes()),
            force,
        )?;
        Ok((crt, key))
    }
}

/// Both files or neither: targets are checked before either is written.
fn write_pair(
    dir: &Path,
    crt: (&Path, &[u8]),
    key: (&Path, &[u8]),
    force: bool,
) -> Result<(), PkiError> {
    std::fs::create_dir_all(dir).map_err(|e| PkiError::Write {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    if !force {
        for p in [crt.0, key.0] {
            if p.exists() {
                return Err(PkiError::Exists {
                    path: p.display().to_string(),
                });
            }
        }
    }
    write_file(key.0, key.1, 0o600, force)?;
    write_file(crt.0, crt.1, 0o644, force)
}

/// Write a file created with `mode` from the start; an existing file only with `force` (its mode
/// is set again).
pub fn write_file(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<(), PkiError> {
    let err = |e: std::io::Error| PkiError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(mode);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            PkiError::Exists {
                path: path.display().to_string(),
            }
        } else {
            err(e)
        }
    })?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    f.write_all(contents).map_err(err)?;
    f.sync_all().map_err(err)
}

// --- PKCS#1 / SEC1 to PKCS#8: rcgen on ring signs only with PKCS#8 keys. ---

/// Whether `key` is the private key of `cert`'s public key; `None` when either cannot be read
/// (a key type rcgen does not load).
pub fn key_matches_cert(cert: &CertificateDer<'_>, key: &PrivateKeyDer<'_>) -> Option<bool> {
    let (_, x509) = x509_parser::parse_x509_certificate(cert).ok()?;
    let pkcs8 = to_pkcs8(key)?;
    let pair = KeyPair::try_from(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8))).ok()?;
    Some(x509.public_key().subject_public_key.data.as_ref() == pair.der_bytes())
}

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

fn to_pkcs8(key: &PrivateKeyDer<'_>) -> Option<Vec<u8>> {
    match key {
        PrivateKeyDer::Pkcs8(k) => Some(k.secret_pkcs8_der().to_vec()),
        PrivateKeyDer::Pkcs1(k) => {
            let alg = der(
                0x30,
                &[der(0x06, OID_RSA_ENCRYPTION), der(0x05, &[])].concat(),
            );
            Some(pkcs8(&alg, k.secret_pkcs1_der()))
        }
        PrivateKeyDer::Sec1(k) => {
            let sec1 = k.secret_sec1_der();
            let curve = sec1_curve(sec1)?;
            let alg = der(
                0x30,
                &[der(0x06, OID_EC_PUBLIC_KEY), der(0x06, curve)].concat(),
            );
            Some(pkcs8(&alg, sec1))
        }
        _ => None,
    }
}

fn pkcs8(algorithm: &[u8], private_key: &[u8]) -> Vec<u8> {
    der(
        0x30,
        &[der(0x02, &[0]), algorithm.to_vec(), der(0x04, private_key)].concat(),
    )
}

/// A DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Read one TLV: (tag, content, rest).
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The named curve of a SEC1 `ECPrivateKey`: its `[0] parameters`, else by the key length.
fn sec1_curve(sec1: &[u8]) -> Option<&'static [u8]> {
    let (_, body, _) = read_tlv(sec1)?;
    let (_, _version, rest) = read_tlv(body)?;
    let (_, private, mut rest) = read_tlv(rest)?;
    while let Some((tag, content, next)) = read_tlv(rest) {
        if tag == 0xa0 {
            let (_, oid, _) = read_tlv(content)?;
            return [OID_P256, OID_P384].into_iter().find(|c| *c == oid);
        }
        rest = next;
    }
    match private.len() {
        32 => Some(OID_P256),
        48 => Some(OID_P384),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_use_the_long_form_past_127_bytes() {
        assert_eq!(der(0x04, &[7; 3]), vec![0x04, 3, 7, 7, 7]);
        let long = der(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tag, content, rest) = read_tlv(&long).unwrap();
        assert_eq!((tag, content.len(), rest.len()), (0x04, 300, 0));
    }

    #[test]
    fn created_ca_loads_back_and_a_foreign_key_is_refused() {
        let ca = Ca::create("pigsty-ca").unwrap();
        let again = Ca::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(again.cert_pem(), ca.cert_pem());
        let other = Ca::create("other").unwrap();
        let err = Ca::from_pem(ca.cert_pem(), &other.key_pem()).unwrap_err();
        assert!(err.to_string().contains("does not belong"), "{err}");
        let member = ca
            .issue_member("etcd-1", "10.10.10.10".parse().unwrap())
            .unwrap();
        let err = Ca::from_pem(&member.cert_pem, &member.key_pem).unwrap_err();
        assert!(matches!(err, PkiError::NotCa { .. }), "{err}");
    }

    #[test]
    fn member_subject_is_pigstys_o_ou_cn() {
        let ca = Ca::create("pigsty-ca").unwrap();
        let member = ca
            .issue_member("etcd-4", "10.10.10.13".parse().unwrap())
            .unwrap();
        let der = CertificateDer::from_pem_slice(member.cert_pem.as_bytes()).unwrap();
        let (_, x509) = x509_parser::parse_x509_certificate(&der).unwrap();
        let subject = x509.subject();
        let one = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue>| {
            let v: Vec<String> = it.map(|a| a.as_str().unwrap().to_string()).collect();
            v
        };
        assert_eq!(one(&mut subject.iter_common_name()), ["etcd-4"]);
        assert_eq!(one(&mut subject.iter_organization()), ["pigsty"]);
        assert_eq!(one(&mut subject.iter_organizational_unit()), ["etcd"]);
        assert_eq!(subject.to_string(), "O=pigsty, OU=etcd, CN=etcd-4");
    }
}
