//! etcd errors in an operator's words: what happened, where, and what to do next.

use std::time::Duration;

/// What the caller knows about the connection, to name files and users in messages.
#[derive(Debug, Clone, Default)]
pub struct ErrorContext {
    /// How the CA was given, e.g. `ETCDCTL_CACERT=/etc/pki/ca.crt`.
    pub cacert: Option<String>,
    /// How the client certificate was given.
    pub cert: Option<String>,
    /// The user name, when auth is on.
    pub user: Option<String>,
    /// The timeout in force.
    pub timeout: Duration,
}

/// An error on the way to etcd or back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    #[error("cannot read {what} {file}: {reason}")]
    FileUnreadable {
        what: &'static str,
        file: String,
        reason: String,
    },
    #[error("{file}: not a usable {what}: {reason}")]
    FileMalformed {
        what: &'static str,
        file: String,
        reason: String,
    },
    #[error(
        "{endpoint}: TLS: the server certificate is not signed by the CA in {cacert}; point \
         --cacert/ETCDCTL_CACERT at the CA that issued the etcd certificates (Pigsty: \
         files/pki/ca/ca.crt on the admin node, /etc/pki/ca.crt on the nodes)"
    )]
    UnknownCa { endpoint: String, cacert: String },
    #[error(
        "{endpoint}: TLS: {host} is not a name or IP address in the server certificate; connect \
         with an address the certificate lists (Pigsty certificates hold the node IP, 127.0.0.1 \
         and localhost) or reissue the member certificate"
    )]
    NameMismatch { endpoint: String, host: String },
    #[error(
        "{endpoint}: TLS: the server refused our client certificate {cert}; etcd runs with \
         client-cert-auth, so use a certificate signed by the cluster's CA (ETCDCTL_CERT/ETCDCTL_KEY)"
    )]
    ClientCertRejected { endpoint: String, cert: String },
    #[error("{endpoint}: the server closed the connection before answering")]
    Closed { endpoint: String },
    #[error(
        "{endpoint}: the server closed the connection right after the TLS handshake: most likely \
         it refused our client certificate {cert}; etcd runs with client-cert-auth, so use a \
         certificate signed by the cluster's CA (ETCDCTL_CERT/ETCDCTL_KEY)"
    )]
    ClosedAfterHandshake { endpoint: String, cert: String },
    #[error(
        "{endpoint}: TLS handshake failed: {detail}; is this an https endpoint of etcd, and are \
         --cacert/--cert/--key right?"
    )]
    Tls { endpoint: String, detail: String },
    #[error(
        "{endpoint}: connection refused: nothing listens there; is etcd running on that member?"
    )]
    Refused { endpoint: String },
    #[error(
        "{endpoint}: no answer within {ms} ms: the member is down, frozen or unreachable \
         (raise --timeout if the network is slow)"
    )]
    Timeout { endpoint: String, ms: u128 },
    #[error("{endpoint}: authentication failed for user {user}: check --user or ETCDCTL_USER (USER:PASSWORD)")]
    AuthFailed { endpoint: String, user: String },
    #[error(
        "{endpoint}: permission denied{as_user}: this needs etcd's root role (Pigsty 4.x: \
         ETCDCTL_USER=root:<etcd_root_password>)"
    )]
    PermissionDenied { endpoint: String, as_user: String },
    #[error("{endpoint}: etcd has auth enabled: pass --user USER:PASSWORD or set ETCDCTL_USER")]
    AuthRequired { endpoint: String },
    #[error(
        "{endpoint}: this member is a learner and does not serve that call; ask a voting member"
    )]
    Learner { endpoint: String },
    #[error("{endpoint}: {message}")]
    Other { endpoint: String, message: String },
    #[error("no endpoint answered:\n  {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    NoneAnswered(Vec<EtcdError>),
}

impl EtcdError {
    /// A timeout on `endpoint`.
    pub fn timeout(endpoint: &str, after: Duration) -> Self {
        EtcdError::Timeout {
            endpoint: endpoint.to_string(),
            ms: after.as_millis(),
        }
    }

    /// Short words for a table cell: `timeout`, `refused`, `tls: unknown CA`, ...
    pub fn short(&self) -> &'static str {
        match self {
            EtcdError::FileUnreadable { .. } | EtcdError::FileMalformed { .. } => "bad file",
            EtcdError::UnknownCa { .. } => "tls: unknown CA",
            EtcdError::NameMismatch { .. } => "tls: name mismatch",
            EtcdError::ClientCertRejected { .. } => "tls: cert refused",
            EtcdError::ClosedAfterHandshake { .. } => "tls: closed",
            EtcdError::Closed { .. } => "closed",
            EtcdError::Tls { .. } => "tls error",
            EtcdError::Refused { .. } => "refused",
            EtcdError::Timeout { .. } => "timeout",
            EtcdError::AuthFailed { .. } | EtcdError::AuthRequired { .. } => "auth failed",
            EtcdError::PermissionDenied { .. } => "permission denied",
            EtcdError::Learner { .. } => "learner",
            // The word every endpoint failed with, when they agree.
            EtcdError::NoneAnswered(all) => match all.first().map(EtcdError::short) {
                Some(first) if all.iter().all(|e| e.short() == first) => first,
                _ => "no endpoint answers",
            },
            EtcdError::Other { .. } => "error",
        }
    }
}

/// The connection was closed under a call, with no reason given.
pub fn is_closed(err: &EtcdError) -> bool {
    matches!(err, EtcdError::Closed { .. })
}

/// What a connection closed by the server on its first call most likely means.
pub fn closed_after_handshake(endpoint: &str, ctx: &ErrorContext) -> EtcdError {
    EtcdError::ClosedAfterHandshake {
        endpoint: endpoint.to_string(),
        cert: ctx.cert.clone().unwrap_or_else(|| "(none given)".into()),
    }
}

/// Turn a client error into an [`EtcdError`] naming `endpoint`. The transport stack nests its
/// causes (tonic, hyper, rustls, io), so the whole chain is read through its debug form.
pub fn classify(endpoint: &str, ctx: &ErrorContext, err: &etcd_client::Error) -> EtcdError {
    let mut text = format!("{err} {err:?}");
    let inner: Option<&dyn std::error::Error> = match err {
        etcd_client::Error::GRpcStatus(s) => Some(s),
        etcd_client::Error::TransportError(t) => Some(t),
        _ => None,
    };
    push_sources(&mut text, inner);
    classify_text(endpoint, ctx, &text)
}

/// Append the whole `source()` chain: the cause that names the problem is often deep inside.
fn push_sources(text: &mut String, mut source: Option<&dyn std::error::Error>) {
    while let Some(s) = source {
        text.push_str(&format!(" | {s} {s:?}"));
        source = s.source();
    }
}

/// Same as [`classify`] for a tonic transport error (eager connect).
pub fn classify_transport(
    endpoint: &str,
    ctx: &ErrorContext,
    err: &tonic::transport::Error,
) -> EtcdError {
    let mut text = format!("{err} {err:?}");
    push_sources(&mut text, std::error::Error::source(err));
    classify_text(endpoint, ctx, &text)
}

fn classify_text(endpoint: &str, ctx: &ErrorContext, text: &str) -> EtcdError {
    let endpoint = endpoint.to_string();
    let has = |needle: &str| text.contains(needle);
    let cacert = || {
        ctx.cacert
            .clone()
            .unwrap_or_else(|| "the system trust store".into())
    };
    if has("UnknownIssuer")
        || has("unknown issuer")
        || has("UnknownCA") && !has("received fatal alert")
    {
        return EtcdError::UnknownCa {
            endpoint,
            cacert: cacert(),
        };
    }
    if has("NotValidForName") {
        let host = host_of(&endpoint);
        return EtcdError::NameMismatch { endpoint, host };
    }
    if has("received fatal alert") || has("CertificateRequired") || has("BadCertificate") {
        let cert = ctx.cert.clone().unwrap_or_else(|| "(none given)".into());
        return EtcdError::ClientCertRejected { endpoint, cert };
    }
    if has("ConnectionRefused") || has("Connection refused") {
        return EtcdError::Refused { endpoint };
    }
    if has("authentication failed") || has("invalid user ID or password") {
        let user = ctx.user.clone().unwrap_or_default();
        return EtcdError::AuthFailed { endpoint, user };
    }
    // Without a user, etcd with auth on refuses a read or write with "permission denied"
    // (3.4, 3.5): what is missing is the user, not a role.
    if has("user name is empty")
        || has("invalid auth token")
        || (ctx.user.is_none() && has("permission denied"))
    {
        return EtcdError::AuthRequired { endpoint };
    }
    if has("permission denied") {
        let as_user = ctx
            .user
            .as_ref()
            .map(|u| format!(" for user {u}"))
            .unwrap_or_default();
        return EtcdError::PermissionDenied { endpoint, as_user };
    }
    if has("rpc not supported for learner") {
        return EtcdError::Learner { endpoint };
    }
    if has("timed out") || has("Timeout expired") || has("Elapsed") || has("deadline") {
        return EtcdError::Timeout {
            endpoint,
            ms: ctx.timeout.as_millis(),
        };
    }
    if has("connection closed") || has("Canceled") || has("ConnectionReset") || has("BrokenPipe") {
        return EtcdError::Closed { endpoint };
    }
    if has("InvalidCertificate") || has("tls handshake") || has("TLS") && has("handshake") {
        return EtcdError::Tls {
            endpoint,
            detail: first_line(text),
        };
    }
    EtcdError::Other {
        endpoint,
        message: grpc_message(text).unwrap_or_else(|| first_line(text)),
    }
}

fn host_of(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.rsplit_once(':')
        .map_or(rest, |(h, _)| h)
        .trim_matches(['[', ']'])
        .to_string()
}

fn first_line(text: &str) -> String {
    text.split(" | ")
        .next()
        .unwrap_or(text)
        .lines()
        .next()
        .unwrap_or(text)
        .chars()
        .take(300)
        .collect()
}

/// etcd's own words (`etcdserver: ...`, `mvcc: ...`) from a gRPC status, when present.
fn grpc_message(text: &str) -> Option<String> {
    let start = text.find("message: \"")? + "message: \"".len();
    let end = text[start..].find('"')? + start;
    let msg = &text[start..end];
    (!msg.is_empty()).then(|| msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext {
        ErrorContext {
            cacert: Some("ETCDCTL_CACERT=/etc/pki/ca.crt".into()),
            cert: Some("--cert=/tmp/c.crt".into()),
            user: Some("root".into()),
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn rustls_unknown_issuer_names_endpoint_and_ca_file() {
        let e = classify_text(
            "https://10.10.10.11:2379",
            &ctx(),
            "transport error | invalid peer certificate: UnknownIssuer",
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("https://10.10.10.11:2379: TLS: the server certificate is not signed")
        );
        assert!(msg.contains("ETCDCTL_CACERT=/etc/pki/ca.crt"), "{msg}");
    }

    #[test]
    fn name_mismatch_names_the_host() {
        let e = classify_text(
            "https://[::1]:2379",
            &ctx(),
            "invalid peer certificate: NotValidForNameContext { expected: .. }",
        );
        assert_eq!(
            e,
            EtcdError::NameMismatch {
                endpoint: "https://[::1]:2379".into(),
                host: "::1".into()
            }
        );
    }

    #[test]
    fn etcd_server_messages_map_to_operator_words() {
        let auth = "status: Unknown, message: \"etcdserver: authentication failed, invalid user ID or password\"";
        assert!(
            matches!(classify_text("e", &ctx(), auth), EtcdError::AuthFailed { user, .. } if user == "root")
        );
        let denied = "status: PermissionDenied, message: \"etcdserver: permission denied\"";
        assert!(classify_text("e", &ctx(), denied)
            .to_string()
            .contains("for user root"));
        let anonymous = ErrorContext {
            user: None,
            ..ctx()
        };
        assert!(matches!(
            classify_text("e", &anonymous, denied),
            EtcdError::AuthRequired { .. }
        ));
        let other =
            "status: Unknown, message: \"etcdserver: member ID already exist\", details: []";
        assert_eq!(
            classify_text("e", &ctx(), other).to_string(),
            "e: etcdserver: member ID already exist"
        );
        let elapsed = "status: Cancelled, message: \"Timeout expired\", details: []";
        assert_eq!(classify_text("e", &ctx(), elapsed).to_string(), "e: no answer within 2000 ms: the member is down, frozen or unreachable (raise --timeout if the network is slow)");
        let closed = "grpc request error: source: tonic::transport::Error(Transport, hyper::Error(Canceled, \"connection closed\"))";
        assert!(is_closed(&classify_text("e", &ctx(), closed)));
        assert!(closed_after_handshake("e", &ctx())
            .to_string()
            .contains("refused our client certificate --cert=/tmp/c.crt"));
        let refused = "tcp connect error: Connection refused (os error 111)";
        assert_eq!(classify_text("e", &ctx(), refused).short(), "refused");
    }
}
