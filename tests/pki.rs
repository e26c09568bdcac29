//! Certificates as an operator checks them: with openssl, file modes, and refusals.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use etcdeck::pki::{Ca, PkiError};

mod common;
use common::{openssl, openssl_ca};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn created_ca_is_like_pigstys_and_member_certs_verify() {
    let dir = tempfile::TempDir::new().unwrap();
    let ca = Ca::create("pigsty-ca").unwrap();
    let written = ca.write(dir.path(), false).unwrap();
    assert_eq!(
        written,
        vec![dir.path().join("ca.crt"), dir.path().join("ca.key")]
    );
    let text = openssl(dir.path(), &["x509", "-noout", "-text", "-in", "ca.crt"]);
    assert!(text.contains("CA:TRUE, pathlen:1"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(
        text.contains("CN = pigsty-ca") || text.contains("CN=pigsty-ca"),
        "{text}"
    );
    assert_eq!(mode(&dir.path().join("ca.key")), 0o600);

    let (crt, key) = ca
        .issue_member("etcd-4", "10.10.10.14".parse().unwrap())
        .unwrap()
        .write(dir.path(), false)
        .unwrap();
    assert_eq!(crt, dir.path().join("etcd-4.crt"));
    assert_eq!(mode(&key), 0o600);
    let verify = openssl(dir.path(), &["verify", "-CAfile", "ca.crt", "etcd-4.crt"]);
    assert_eq!(verify.trim(), "etcd-4.crt: OK");
    let text = openssl(
        dir.path(),
        &["x509", "-noout", "-text", "-in", "etcd-4.crt"],
    );
    for want in [
        "IP Address:10.10.10.14",
        "IP Address:127.0.0.1",
        "DNS:localhost",
        "DNS:etcd-4",
        "TLS Web Server Authentication, TLS Web Client Authentication",
        "CA:FALSE",
    ] {
        assert!(text.contains(want), "missing {want}: {text}");
    }
    assert!(
        text.contains("Subject: O = pigsty, OU = etcd, CN = etcd-4")
            || text.contains("Subject: O=pigsty, OU=etcd, CN=etcd-4"),
        "{text}"
    );
}

#[test]
fn cas_made_by_openssl_load_whatever_the_key_form() {
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "pkcs1-rsa",
            &["genrsa", "-traditional", "-out", "ca.key", "2048"],
            "-----BEGIN RSA PRIVATE KEY-----",
        ),
        (
            "sec1-ec",
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                "ca.key",
            ],
            "-----BEGIN EC PRIVATE KEY-----",
        ),
        (
            "pkcs8-ec",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "ca.key",
            ],
            "-----BEGIN PRIVATE KEY-----",
        ),
    ];
    for (label, gen, header) in cases {
        let dir = tempfile::TempDir::new().unwrap();
        openssl_ca(dir.path(), gen);
        let key_text = std::fs::read_to_string(dir.path().join("ca.key")).unwrap();
        assert!(key_text.starts_with(header), "{label}: {key_text}");
        let ca = Ca::load(&dir.path().join("ca.crt"), &dir.path().join("ca.key"))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        ca.issue_member("etcd-2", "10.10.10.11".parse().unwrap())
            .unwrap()
            .write(dir.path(), false)
            .unwrap();
        let verify = openssl(dir.path(), &["verify", "-CAfile", "ca.crt", "etcd-2.crt"]);
        assert_eq!(verify.trim(), "etcd-2.crt: OK", "{label}");
    }
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let dir = tempfile::TempDir::new().unwrap();
    let ca = Ca::create("pigsty-ca").unwrap();
    let first = ca
        .issue_member("etcd-1", "10.10.10.10".parse().unwrap())
        .unwrap();
    let (crt, key) = first.write(dir.path(), false).unwrap();
    let before = std::fs::read(&key).unwrap();

    let second = ca
        .issue_member("etcd-1", "10.10.10.10".parse().unwrap())
        .unwrap();
    let err = second.write(dir.path(), false).unwrap_err();
    assert!(matches!(err, PkiError::Exists { .. }));
    assert!(
        err.to_string()
            .ends_with("exists; pass --force to overwrite it"),
        "{err}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), before, "key untouched");
    assert_eq!(
        std::fs::read_to_string(&crt).unwrap(),
        first.cert_pem,
        "cert untouched"
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    second.write(dir.path(), true).unwrap();
    assert_eq!(std::fs::read_to_string(&crt).unwrap(), second.cert_pem);
    assert_eq!(mode(&key), 0o600, "forced rewrite restores 0600");
}

#[test]
fn bad_inputs_are_named() {
    let dir = tempfile::TempDir::new().unwrap();
    let missing = dir.path().join("nope.crt");
    let err = Ca::load(&missing, &dir.path().join("nope.key")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read CA certificate {}", missing.display())),
        "{err}"
    );

    let ca = Ca::create("pigsty-ca").unwrap();
    ca.write(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("garbage.key"), "not a key\n").unwrap();
    let err = Ca::load(&dir.path().join("ca.crt"), &dir.path().join("garbage.key")).unwrap_err();
    assert!(
        err.to_string()
            .contains("garbage.key: no private key found"),
        "{err}"
    );

    let other = Ca::create("other-ca").unwrap();
    other.write(&dir.path().join("other"), false).unwrap();
    let err = Ca::load(&dir.path().join("ca.crt"), &dir.path().join("other/ca.key")).unwrap_err();
    assert!(
        err.to_string().contains("other/ca.key does not belong to"),
        "{err}"
    );
}
