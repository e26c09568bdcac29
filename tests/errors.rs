//! Errors in an operator's words, against what rustls and a real etcd do: an expired server
//! certificate, a TLS server that is not etcd, a key that is not the certificate's, dates of our
//! own certificate, a missing file, and a member that answers but has no leader.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{stderr, TestCluster};
use etcdeck::connect::{FileSetting, Origin, Settings};
use etcdeck::etcd::{Cluster, EtcdError};
use etcdeck::pki::Ca;
use rcgen::{CertificateParams, DnType, Issuer, KeyPair, SanType};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio_rustls::rustls;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A certificate for 127.0.0.1 from `ca`, valid between the two dates, and its key (PEM).
fn issue(ca: &Ca, from: OffsetDateTime, until: OffsetDateTime) -> (String, String) {
    let ca_key = KeyPair::from_pem(&ca.key_pem()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(ca.cert_pem(), &ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "etcd-1");
    params.subject_alt_names.push(SanType::IpAddress(LOCAL));
    params.not_before = from;
    params.not_after = until;
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn env(path: &Path, var: &'static str) -> Option<FileSetting> {
    Some(FileSetting {
        path: path.to_path_buf(),
        origin: Origin::Env(var),
    })
}

fn settings(endpoint: &str, ca: &Path) -> Settings {
    Settings {
        endpoints: vec![endpoint.to_string()],
        endpoints_origin: Origin::Flag("--endpoints"),
        cacert: env(ca, "ETCDCTL_CACERT"),
        cert: None,
        key: None,
        user: None,
        timeout: Duration::from_secs(2),
    }
}

/// A TLS server on loopback with `cert`/`key` that writes `reply` after the handshake, to every
/// connection; its address.
async fn tls_server(cert: &str, key: &str, reply: &'static [u8]) -> SocketAddr {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind((LOCAL, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tls.write_all(reply).await;
                    let _ = tls.flush().await;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            });
        }
    });
    addr
}

async fn first_error(s: Settings) -> EtcdError {
    let cluster = Cluster::new(s).expect("settings load");
    match cluster.member_list().await {
        Err(EtcdError::NoneAnswered(mut all)) if all.len() == 1 => all.remove(0),
        Err(e) => e,
        Ok(_) => panic!("an answer"),
    }
}

/// A TLS server on loopback whose certificate, from a fresh CA written to `dir`, expired 30
/// days ago: the CA, its file and the server's URL.
async fn expired_server(dir: &Path) -> (Ca, PathBuf, String) {
    let ca = Ca::create("pigsty-ca").unwrap();
    let ca_file = write(dir, "ca.crt", ca.cert_pem());
    let now = OffsetDateTime::now_utc();
    let (cert, key) = issue(
        &ca,
        now - time::Duration::days(400),
        now - time::Duration::days(30),
    );
    let addr = tls_server(&cert, &key, b"").await;
    (ca, ca_file, format!("https://{addr}"))
}

#[tokio::test]
async fn an_expired_server_certificate_is_said_with_its_date() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_file, url) = expired_server(dir.path()).await;
    let e = first_error(settings(&url, &ca_file)).await;
    let msg = e.to_string();
    assert!(
        matches!(e, EtcdError::ServerCertExpired { .. }),
        "{e:?}: {msg}"
    );
    let now = OffsetDateTime::now_utc();
    let day = (now - time::Duration::days(30)).date();
    assert!(msg.contains(&format!("expired on {day}")), "{msg}");
    assert!(msg.contains("ago"), "{msg}");
    assert!(!msg.contains("tonic"), "{msg}");
    assert!(!e.is_own_settings(), "the member's certificate, not ours");

    // Not valid yet.
    let (cert, key) = issue(
        &ca,
        now + time::Duration::days(2),
        now + time::Duration::days(400),
    );
    let addr = tls_server(&cert, &key, b"").await;
    let e = first_error(settings(&format!("https://{addr}"), &ca_file)).await;
    assert!(
        matches!(e, EtcdError::ServerCertNotYetValid { .. }),
        "{e:?}: {e}"
    );
    assert!(e.to_string().contains("valid from 20"), "{e}");
}

#[tokio::test]
async fn a_tls_server_that_is_not_etcd_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::create("pigsty-ca").unwrap();
    let ca_file = write(dir.path(), "ca.crt", ca.cert_pem());
    let now = OffsetDateTime::now_utc();
    let (cert, key) = issue(
        &ca,
        now - time::Duration::days(1),
        now + time::Duration::days(400),
    );
    let addr = tls_server(
        &cert,
        &key,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    let e = first_error(settings(&format!("https://{addr}"), &ca_file)).await;
    let msg = e.to_string();
    assert!(matches!(e, EtcdError::NotEtcd { .. }), "{e:?}: {msg}");
    assert!(!msg.contains("tonic::transport"), "{msg}");
}

#[tokio::test]
async fn etcds_peer_port_is_not_its_client_port() {
    let tc = TestCluster::start(1).await;
    let mut s = tc.sandbox.settings(Duration::from_secs(2));
    let peer = tc.sandbox.members()[0].host.peer_url();
    s.endpoints = vec![peer.clone()];
    let e = first_error(s).await;
    let msg = e.to_string();
    assert!(matches!(e, EtcdError::NotEtcd { .. }), "{e:?}: {msg}");
    assert!(msg.starts_with(&peer), "{msg}");
    assert!(msg.contains("peer port (2380)"), "{msg}");
}

#[test]
fn our_own_files_are_checked_first_key_dates_and_presence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::create("pigsty-ca").unwrap();
    let ca_file = write(d, "ca.crt", ca.cert_pem());
    let a = ca.issue_member("etcd-1", LOCAL).unwrap();
    let b = ca.issue_member("etcd-2", LOCAL).unwrap();
    let cert_a = write(d, "a.crt", &a.cert_pem);
    let key_b = write(d, "b.key", &b.key_pem);
    let load = |cert: &Path, key: &Path| {
        let mut s = settings("https://127.0.0.1:2379", &ca_file);
        s.cert = env(cert, "ETCDCTL_CERT");
        s.key = env(key, "ETCDCTL_KEY");
        Cluster::new(s).err().expect("refused")
    };

    // A key that is not the certificate's: both files named.
    let e = load(&cert_a, &key_b);
    let msg = e.to_string();
    assert!(matches!(e, EtcdError::KeyMismatch { .. }), "{e:?}");
    assert!(
        msg.contains(&format!("ETCDCTL_KEY={}", key_b.display()))
            && msg.contains(&format!("ETCDCTL_CERT={}", cert_a.display())),
        "{msg}"
    );
    assert!(e.is_own_settings());

    // An expired client certificate: when, before any connection.
    let now = OffsetDateTime::now_utc();
    let (old, old_key) = issue(
        &ca,
        now - time::Duration::days(400),
        now - time::Duration::days(3),
    );
    let e = load(&write(d, "old.crt", &old), &write(d, "old.key", &old_key));
    let msg = e.to_string();
    assert!(matches!(e, EtcdError::CertExpired { .. }), "{e:?}");
    let day = (now - time::Duration::days(3)).date();
    assert!(
        msg.contains(&format!("client certificate expired on {day}")),
        "{msg}"
    );
    assert!(!msg.contains("most likely"), "{msg}");
    assert!(e.is_own_settings());
    let (new, new_key) = issue(
        &ca,
        now + time::Duration::days(1),
        now + time::Duration::days(400),
    );
    let e = load(&write(d, "new.crt", &new), &write(d, "new.key", &new_key));
    assert!(matches!(e, EtcdError::CertNotYetValid { .. }), "{e:?}");
    assert!(e.to_string().contains("not valid before 20"), "{e}");

    // A missing file: "no such file", not "entity not found".
    let e = Cluster::new(settings(
        "https://127.0.0.1:2379",
        &d.join("missing-ca.crt"),
    ))
    .err()
    .expect("refused");
    let msg = e.to_string();
    assert!(msg.ends_with(": no such file"), "{msg}");
    assert!(!msg.contains("entity not found"), "{msg}");
}

#[tokio::test]
async fn with_quorum_lost_keys_says_the_member_answers_but_has_no_leader() {
    let mut tc = TestCluster::start(3).await;
    let names: Vec<String> = tc.sandbox.members().iter().map(|m| m.name()).collect();
    tc.sandbox.kill(&names[1]).unwrap();
    tc.sandbox.kill(&names[2]).unwrap();
    // The survivor loses its leader after an election timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let up = tc.sandbox.members()[0].client_url();
    let out = tc.etcdeck(&["keys", "--endpoints", &up, "--timeout", "1s"]);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("{up}: the member answers but has no leader")),
        "{err}"
    );
    assert!(!err.contains("down, frozen or unreachable"), "{err}");
}

#[tokio::test]
async fn metrics_scrapes_say_an_expired_server_certificate_too() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ca_file, url) = expired_server(dir.path()).await;
    let scraper = etcdeck::etcd::metrics::Scraper::new(&settings(&url, &ca_file)).unwrap();
    let e = etcdeck::etcd::metrics::scrape(&scraper, &url)
        .await
        .unwrap_err();
    assert!(
        matches!(e, EtcdError::ServerCertExpired { .. }),
        "{e:?}: {e}"
    );
    let day = (OffsetDateTime::now_utc() - time::Duration::days(30)).date();
    assert!(e.to_string().contains(&format!("expired on {day}")), "{e}");
}

/// `etcdeck health` with our own certificate out of its dates or a key that is not its
/// certificate's: exit 3 (unknown), said before any connection.
#[test]
fn health_says_unknown_for_our_own_expired_certificate_or_a_foreign_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::create("pigsty-ca").unwrap();
    let ca_file = write(d, "ca.crt", ca.cert_pem());
    let now = OffsetDateTime::now_utc();
    let (old, old_key) = issue(
        &ca,
        now - time::Duration::days(400),
        now - time::Duration::days(3),
    );
    let other = ca.issue_member("etcd-2", LOCAL).unwrap();
    let run = |cert: &Path, key: &Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_etcdeck"));
        common::clear_etcd_env(&mut cmd);
        cmd.args(["health", "--endpoints", "https://127.0.0.1:9"])
            .arg("--cacert")
            .arg(&ca_file)
            .arg("--cert")
            .arg(cert)
            .arg("--key")
            .arg(key)
            .output()
            .unwrap()
    };
    let old_crt = write(d, "old.crt", &old);
    let out = run(&old_crt, &write(d, "old.key", &old_key));
    let text = format!("{}{}", common::stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("client certificate expired on"), "{text}");
    let out = run(&old_crt, &write(d, "other.key", &other.key_pem));
    let text = format!("{}{}", common::stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("does not belong to --cert="), "{text}");
}
