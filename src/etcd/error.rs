//! etcd errors in an operator's words: what happened, where, and what to do next.

use std::time::Duration;

/// What the caller knows about the connection, to name files and users in messages.
#[derive(Debug, Clone, Default)]
pub struct ErrorContext {
    /// How the CA was given, e.g. `ETCDCTL_CACERT=/etc/pki/ca.crt`.
    pub cacert: Option<String>,
    /// How the client certificate was given.
    pub cert: Option<String>,
    /// How the client key was given.
    pub key: Option<String>,
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
        "{file}: the {what} expired on {when}: renew it (signed by the cluster's CA) and point \
         etcdeck at the new one"
    )]
    CertExpired {
        what: &'static str,
        file: String,
        when: String,
    },
    #[error("{file}: the {what} is not valid before {when}: is this machine's clock right?")]
    CertNotYetValid {
        what: &'static str,
        file: String,
        when: String,
    },
    #[error(
        "{key} does not belong to {cert}: the key's public key is not the certificate's; give \
         the key that was made with this certificate"
    )]
    KeyMismatch { key: String, cert: String },
    #[error(
        "{endpoint}: TLS: the server certificate expired{when}; renew the member's certificate \
         (signed by the cluster's CA) and restart etcd on it"
    )]
    ServerCertExpired { endpoint: String, when: String },
    #[error(
        "{endpoint}: TLS: the server certificate is not valid yet{when}; check the clocks of this \
         machine and of the member"
    )]
    ServerCertNotYetValid { endpoint: String, when: String },
    #[error(
        "{endpoint}: TLS works, but the server there does not speak etcd's client API ({detail}); \
         is this etcd's client port (2379), not its peer port (2380) or another service?"
    )]
    NotEtcd { endpoint: String, detail: String },
    #[error(
        "{endpoint}: the member answers but has no leader: a read or write needs one and got no \
         answer within {ms} ms; quorum is most likely lost (see etcdeck status)"
    )]
    NoLeader { endpoint: String, ms: u128 },
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
        "{endpoint}: auth is off on this cluster, but etcdeck was given user {user} (from --user or \
         ETCDCTL_USER): unset ETCDCTL_USER or drop --user"
    )]
    AuthNotEnabled { endpoint: String, user: String },
    /// etcd understood the request and refused it, for a reason it names.
    #[error("{endpoint}: {message}")]
    Refusal {
        endpoint: String,
        refusal: Refusal,
        message: String,
    },
    #[error(
        "{endpoint}: this member is a learner and does not serve that call; ask a voting member"
    )]
    Learner { endpoint: String },
    #[error("{endpoint}: {message}")]
    Other { endpoint: String, message: String },
    /// The endpoints given belong to more than one cluster (Pigsty signs every cluster with the
    /// same CA, so a stale address is enough): nothing is read or changed.
    #[error("{}", mixed_words(.0))]
    MixedClusters(Vec<(u64, Vec<String>)>),
    /// Read-only mode refused a change before it was sent.
    #[error(
        "read-only mode: refused to {change} (start without --read-only to change the cluster)"
    )]
    ReadOnly { change: String },
    /// Every endpoint failed: one line, each endpoint's own words (an endpoint that answered
    /// with a refusal is not said to be silent).
    #[error("{}", none_answered(.0))]
    NoneAnswered(Vec<EtcdError>),
}

/// The words for [`EtcdError::NoneAnswered`]: on one line, so that the console shows it as
/// the command line does.
fn none_answered(all: &[EtcdError]) -> String {
    match all {
        [] => "no endpoint to ask".into(),
        [one] => one.to_string(),
        _ => {
            let head = if all.iter().any(EtcdError::answered) {
                "no endpoint served the call"
            } else {
                "no endpoint answered"
            };
            let each: Vec<String> = all.iter().map(EtcdError::to_string).collect();
            format!("{head}: {}", each.join("; "))
        }
    }
}

/// An I/O error in a few plain words: `no such file`, `permission denied`, ...
pub fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "no such file".into(),
        K::PermissionDenied => "permission denied".into(),
        K::IsADirectory => "it is a directory".into(),
        K::NotADirectory => "a part of the path is not a directory".into(),
        k => match e.raw_os_error() {
            Some(libc::ELOOP) => "too many levels of symbolic links".into(),
            _ => k.to_string(),
        },
    }
}

/// A UTC time from seconds since the epoch, with how long ago or ahead it is:
/// `2024-05-01 12:00 UTC (3 days ago)`.
pub fn date(unix: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return format!("{unix} s after the epoch");
    };
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    );
    let gap = (now - t).whole_seconds();
    let span = |s: i64| {
        let s = s.unsigned_abs();
        if s >= 2 * 86400 {
            format!("{} days", s / 86400)
        } else {
            crate::units::duration(Duration::from_secs(s))
        }
    };
    if gap >= 0 {
        format!("{date} ({} ago)", span(gap))
    } else {
        format!("{date} (in {})", span(gap))
    }
}

impl EtcdError {
    /// The server answered (with a refusal), as opposed to not answering at all.
    pub fn answered(&self) -> bool {
        match self {
            EtcdError::NoneAnswered(all) => all.iter().any(EtcdError::answered),
            EtcdError::NoLeader { .. } | EtcdError::NotEtcd { .. } => true,
            e => matches!(
                e.kind(),
                ErrorKind::Auth
                    | ErrorKind::Permission
                    | ErrorKind::Learner
                    | ErrorKind::Refusal(_)
                    | ErrorKind::Other
            ),
        }
    }

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
            EtcdError::CertExpired { .. } => "cert expired",
            EtcdError::CertNotYetValid { .. } => "cert not yet valid",
            EtcdError::KeyMismatch { .. } => "key mismatch",
            EtcdError::ServerCertExpired { .. } => "tls: cert expired",
            EtcdError::ServerCertNotYetValid { .. } => "tls: cert not yet valid",
            EtcdError::NotEtcd { .. } => "not etcd",
            EtcdError::NoLeader { .. } => "no leader",
            EtcdError::UnknownCa { .. } => "tls: unknown CA",
            EtcdError::NameMismatch { .. } => "tls: name mismatch",
            EtcdError::ClientCertRejected { .. } => "tls: cert refused",
            EtcdError::ClosedAfterHandshake { .. } => "tls: closed",
            EtcdError::Closed { .. } => "closed",
            EtcdError::Tls { .. } => "tls error",
            EtcdError::Refused { .. } => "refused",
            EtcdError::Timeout { .. } => "timeout",
            EtcdError::AuthFailed { .. } | EtcdError::AuthRequired { .. } => "auth failed",
            EtcdError::AuthNotEnabled { .. } => "auth is off",
            EtcdError::Refusal { refusal, .. } => refusal.short(),
            EtcdError::PermissionDenied { .. } => "permission denied",
            EtcdError::Learner { .. } => "learner",
            // The word every endpoint failed with, when they agree.
            // Else what one that answered said (auth failed, ...), rather than silence.
            EtcdError::NoneAnswered(all) => match all.first().map(EtcdError::short) {
                Some(first) if all.iter().all(|e| e.short() == first) => first,
                _ => all
                    .iter()
                    .find(|e| e.answered())
                    .map_or("no endpoint answers", EtcdError::short),
            },
            EtcdError::Other { .. } => "error",
            EtcdError::ReadOnly { .. } => "read-only",
            EtcdError::MixedClusters(_) => "mixed clusters",
        }
    }

    /// What kind of error this is, for code that decides what to do next: retry, stop, or tell
    /// the operator to fix their own settings.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EtcdError::FileUnreadable { .. }
            | EtcdError::FileMalformed { .. }
            | EtcdError::CertExpired { .. }
            | EtcdError::CertNotYetValid { .. }
            | EtcdError::KeyMismatch { .. } => ErrorKind::Files,
            EtcdError::NotEtcd { .. } => ErrorKind::Other,
            EtcdError::NoLeader { .. } => ErrorKind::Refusal(Refusal::NoLeader),
            EtcdError::ServerCertExpired { .. }
            | EtcdError::ServerCertNotYetValid { .. }
            | EtcdError::UnknownCa { .. }
            | EtcdError::NameMismatch { .. }
            | EtcdError::ClientCertRejected { .. }
            | EtcdError::ClosedAfterHandshake { .. }
            | EtcdError::Tls { .. } => ErrorKind::Tls,
            EtcdError::Refused { .. } => ErrorKind::Refused,
            EtcdError::Closed { .. } => ErrorKind::Closed,
            EtcdError::Timeout { .. } => ErrorKind::Timeout,
            EtcdError::AuthFailed { .. }
            | EtcdError::AuthRequired { .. }
            | EtcdError::AuthNotEnabled { .. } => ErrorKind::Auth,
            EtcdError::PermissionDenied { .. } => ErrorKind::Permission,
            EtcdError::Learner { .. } => ErrorKind::Learner,
            EtcdError::Refusal { refusal, .. } => ErrorKind::Refusal(*refusal),
            EtcdError::Other { .. } => ErrorKind::Other,
            EtcdError::ReadOnly { .. } => ErrorKind::ReadOnly,
            EtcdError::MixedClusters(_) => ErrorKind::MixedClusters,
            EtcdError::NoneAnswered(all) => match all.first().map(EtcdError::kind) {
                Some(first) if all.iter().all(|e| e.kind() == first) => first,
                _ => ErrorKind::Other,
            },
        }
    }

    /// The fault is in etcdeck's own settings (files, TLS identity, credentials), not in the
    /// cluster: a verdict on the cluster cannot be given. For a list of endpoints: any of them.
    pub fn is_own_settings(&self) -> bool {
        match self {
            EtcdError::NoneAnswered(all) => all.iter().any(EtcdError::is_own_settings),
            EtcdError::Tls { .. } => false, // may be a member that is not etcd at all
            // The member's certificate, not ours.
            EtcdError::ServerCertExpired { .. } | EtcdError::ServerCertNotYetValid { .. } => false,
            e => matches!(
                e.kind(),
                ErrorKind::Files
                    | ErrorKind::Tls
                    | ErrorKind::Auth
                    | ErrorKind::Permission
                    | ErrorKind::MixedClusters
            ),
        }
    }

    /// Worth asking again unchanged: the member may answer (timeout, closed), or etcd said "not
    /// yet" (a learner not in sync, an election under way).
    pub fn is_retryable(&self) -> bool {
        match self.kind() {
            ErrorKind::Timeout | ErrorKind::Closed | ErrorKind::Refused => true,
            ErrorKind::Refusal(r) => r.is_retryable(),
            _ => false,
        }
    }
}

/// The kinds of [`EtcdError`], without the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A TLS or credentials file cannot be read or used.
    Files,
    Tls,
    Refused,
    Closed,
    Timeout,
    Auth,
    Permission,
    Learner,
    Refusal(Refusal),
    /// Refused by etcdeck's read-only mode, never sent.
    ReadOnly,
    /// The endpoints given answer for different clusters.
    MixedClusters,
    Other,
}

/// etcd's own refusals, from its error strings (the server's words are the truth; see
/// `etcdserver/api/v3rpc/rpctypes/error.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// "too many learner members in cluster": at most one learner at a time.
    TooManyLearners,
    /// "can only promote a learner member which is in sync with leader": retry later.
    LearnerNotInSync,
    /// "can only promote a learner member": the member is a voter already.
    NotALearner,
    /// "member not found": already removed, or a wrong id.
    MemberNotFound,
    /// "re-configuration failed due to not enough started members".
    NotEnoughStarted,
    /// "unhealthy cluster": a member is down (older servers refuse an add then).
    UnhealthyCluster,
    /// "Peer URLs already exists": an earlier add of the same member.
    PeerUrlExists,
    /// "member ID already exist".
    MemberIdExists,
    /// "mvcc: database space exceeded": the NOSPACE alarm is raised.
    NoSpace,
    /// "mvcc: required revision has been compacted".
    Compacted,
    /// "mvcc: required revision is a future revision".
    FutureRevision,
    /// "not leader": the call must reach the leader.
    NotLeader,
    /// "no leader": an election is under way.
    NoLeader,
    /// "bad leader transferee": a learner or unknown member as the new leader.
    BadLeaderTransferee,
    /// "request timed out, leader transfer took too long".
    LeaderTransferTimeout,
    /// "request timed out" (the server's own timeout for a proposal).
    RequestTimeout,
    /// "corrupt cluster".
    Corrupt,
}

impl Refusal {
    /// The refusal named by etcd's message, if it is one etcdeck knows.
    pub fn from_message(message: &str) -> Option<Refusal> {
        // Longer messages first where one contains another.
        const TABLE: [(&str, Refusal); 17] = [
            (
                "too many learner members in cluster",
                Refusal::TooManyLearners,
            ),
            (
                "can only promote a learner member which is in sync with leader",
                Refusal::LearnerNotInSync,
            ),
            ("can only promote a learner member", Refusal::NotALearner),
            ("member not found", Refusal::MemberNotFound),
            (
                "re-configuration failed due to not enough started members",
                Refusal::NotEnoughStarted,
            ),
            ("unhealthy cluster", Refusal::UnhealthyCluster),
            ("Peer URLs already exists", Refusal::PeerUrlExists),
            ("member ID already exist", Refusal::MemberIdExists),
            ("database space exceeded", Refusal::NoSpace),
            ("required revision has been compacted", Refusal::Compacted),
            (
                "required revision is a future revision",
                Refusal::FutureRevision,
            ),
            (
                "leader transfer took too long",
                Refusal::LeaderTransferTimeout,
            ),
            ("bad leader transferee", Refusal::BadLeaderTransferee),
            ("etcdserver: not leader", Refusal::NotLeader),
            ("etcdserver: no leader", Refusal::NoLeader),
            ("etcdserver: request timed out", Refusal::RequestTimeout),
            ("corrupt cluster", Refusal::Corrupt),
        ];
        TABLE
            .iter()
            .find(|(needle, _)| message.contains(needle))
            .map(|(_, r)| *r)
    }

    /// Short words for a table cell.
    pub fn short(self) -> &'static str {
        match self {
            Refusal::TooManyLearners => "a learner exists",
            Refusal::LearnerNotInSync => "learner not in sync",
            Refusal::NotALearner => "not a learner",
            Refusal::MemberNotFound => "member not found",
            Refusal::NotEnoughStarted => "too few started",
            Refusal::UnhealthyCluster => "unhealthy cluster",
            Refusal::PeerUrlExists => "peer URL exists",
            Refusal::MemberIdExists => "member id exists",
            Refusal::NoSpace => "NOSPACE",
            Refusal::Compacted => "compacted",
            Refusal::FutureRevision => "future revision",
            Refusal::NotLeader => "not leader",
            Refusal::NoLeader => "no leader",
            Refusal::BadLeaderTransferee => "bad transferee",
            Refusal::LeaderTransferTimeout => "transfer too long",
            Refusal::RequestTimeout => "timeout",
            Refusal::Corrupt => "CORRUPT",
        }
    }

    /// etcd says "not now": the same request may succeed later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Refusal::LearnerNotInSync
                | Refusal::NoLeader
                | Refusal::RequestTimeout
                | Refusal::LeaderTransferTimeout
                | Refusal::UnhealthyCluster
        )
    }
}

/// Why a call failed, as producers report it: the typed error, and where it was met when that
/// adds to the error's own words (`watch on https://...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: EtcdError,
    pub context: Option<String>,
}

impl Failure {
    /// A failure with what was being done when it happened.
    pub fn during(context: impl Into<String>, error: EtcdError) -> Failure {
        Failure {
            error,
            context: Some(context.into()),
        }
    }

    /// Short words for tables: `timeout`, `refused`, `tls: unknown CA`.
    pub fn short(&self) -> &'static str {
        self.error.short()
    }

    /// The whole message for the operator.
    pub fn text(&self) -> String {
        match &self.context {
            Some(c) => format!("{c}: {}", self.error),
            None => self.error.to_string(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }
}

impl From<EtcdError> for Failure {
    fn from(error: EtcdError) -> Failure {
        Failure {
            error,
            context: None,
        }
    }
}

impl From<&EtcdError> for Failure {
    fn from(error: &EtcdError) -> Failure {
        Failure::from(error.clone())
    }
}

/// `the endpoints belong to 2 clusters: 6646fbcf5debc68f (https://a, https://b), 1c2d (https://c)`.
fn mixed_words(groups: &[(u64, Vec<String>)]) -> String {
    let list: Vec<String> = groups
        .iter()
        .map(|(id, urls)| format!("cluster {id:x} ({})", urls.join(", ")))
        .collect();
    format!(
        "the endpoints belong to {} different clusters: {}; etcdeck works on one cluster at a \
         time: fix --endpoints or ETCDCTL_ENDPOINTS (a stale address of another cluster?)",
        groups.len(),
        list.join("; ")
    )
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
    // rustls: `InvalidCertificate(ExpiredContext { time: UnixTime(..), not_after: UnixTime(..) })`.
    if !has("received fatal alert") && (has("ExpiredContext") || has("InvalidCertificate(Expired"))
    {
        let when = unix_after(text, "not_after: UnixTime(")
            .map_or(String::new(), |t| format!(" on {}", date(t)));
        return EtcdError::ServerCertExpired { endpoint, when };
    }
    if !has("received fatal alert")
        && (has("NotValidYetContext") || has("InvalidCertificate(NotValidYet"))
    {
        let when = unix_after(text, "not_before: UnixTime(")
            .map_or(String::new(), |t| format!(": valid from {}", date(t)));
        return EtcdError::ServerCertNotYetValid { endpoint, when };
    }
    if has("InconsistentKeys") || has("KeyMismatch") {
        return EtcdError::KeyMismatch {
            key: ctx.key.clone().unwrap_or_else(|| "the client key".into()),
            cert: ctx
                .cert
                .clone()
                .unwrap_or_else(|| "the client certificate".into()),
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
    if has("authentication is not enabled") {
        let user = ctx.user.clone().unwrap_or_default();
        return EtcdError::AuthNotEnabled { endpoint, user };
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
    // etcd's own refusals come before the transport's words: "request timed out" is etcd's.
    if let Some(message) = grpc_message(text) {
        if let Some(refusal) = Refusal::from_message(&message) {
            return EtcdError::Refusal {
                endpoint,
                refusal,
                message,
            };
        }
    }
    // A TLS server that answers, but not with etcd's gRPC: HTTP/1 bytes where HTTP/2 frames
    // were expected, an HTTP/2 server that is not gRPC, a gRPC server without etcd's services.
    let not_etcd = if has("FRAME_SIZE_ERROR") || has("frame with invalid size") {
        Some("it answered, but not in HTTP/2".to_string())
    } else if let Some(code) = text.split("mapped from HTTP status code ").nth(1).map(|t| {
        t.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    }) {
        Some(format!("it answered HTTP status {code}, not gRPC"))
    } else if has("unknown service etcdserverpb") {
        Some("a gRPC server without etcd's services".to_string())
    } else {
        None
    };
    if let Some(detail) = not_etcd {
        return EtcdError::NotEtcd { endpoint, detail };
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

/// The number in `...{marker}1234)...`, e.g. the seconds of a rustls `UnixTime`.
fn unix_after(text: &str, marker: &str) -> Option<i64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
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
            key: Some("--key=/tmp/c.key".into()),
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

    #[test]
    fn a_user_given_to_a_cluster_without_auth_is_our_mistake_in_words() {
        let raw =
            "status: FailedPrecondition, message: \"etcdserver: authentication is not enabled\"";
        let e = classify_text("https://10.10.10.10:2379", &ctx(), raw);
        assert!(
            matches!(&e, EtcdError::AuthNotEnabled { user, .. } if user == "root"),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("unset ETCDCTL_USER or drop --user"),
            "{e}"
        );
        assert!(e.is_own_settings());
        assert!(
            EtcdError::NoneAnswered(vec![e.clone(), EtcdError::timeout("x", ctx().timeout)])
                .is_own_settings()
        );
        assert!(
            !EtcdError::NoneAnswered(vec![EtcdError::timeout("x", ctx().timeout)])
                .is_own_settings()
        );
        assert!(!EtcdError::Refused {
            endpoint: "x".into()
        }
        .is_own_settings());
    }

    #[test]
    fn etcd_refusals_are_typed_and_say_whether_to_retry() {
        let cases = [
            (
                "etcdserver: too many learner members in cluster",
                Refusal::TooManyLearners,
                false,
            ),
            (
                "etcdserver: can only promote a learner member which is in sync with leader",
                Refusal::LearnerNotInSync,
                true,
            ),
            (
                "etcdserver: can only promote a learner member",
                Refusal::NotALearner,
                false,
            ),
            (
                "etcdserver: member not found",
                Refusal::MemberNotFound,
                false,
            ),
            (
                "etcdserver: re-configuration failed due to not enough started members",
                Refusal::NotEnoughStarted,
                false,
            ),
            (
                "etcdserver: unhealthy cluster",
                Refusal::UnhealthyCluster,
                true,
            ),
            (
                "etcdserver: Peer URLs already exists",
                Refusal::PeerUrlExists,
                false,
            ),
            ("mvcc: database space exceeded", Refusal::NoSpace, false),
            (
                "mvcc: required revision has been compacted",
                Refusal::Compacted,
                false,
            ),
            ("etcdserver: not leader", Refusal::NotLeader, false),
            (
                "etcdserver: bad leader transferee",
                Refusal::BadLeaderTransferee,
                false,
            ),
            (
                "etcdserver: request timed out, leader transfer took too long",
                Refusal::LeaderTransferTimeout,
                true,
            ),
        ];
        for (message, want, retry) in cases {
            let raw = format!("status: Unknown, message: \"{message}\", details: []");
            let e = classify_text("e", &ctx(), &raw);
            assert_eq!(e.kind(), ErrorKind::Refusal(want), "{message}: {e:?}");
            assert_eq!(e.is_retryable(), retry, "{message}");
            // etcd's own words stay in the message.
            assert_eq!(e.to_string(), format!("e: {message}"));
        }
        // A learner that refuses a call is not a refusal to retry.
        let learner = classify_text("e", &ctx(), "etcdserver: rpc not supported for learner");
        assert_eq!(learner.kind(), ErrorKind::Learner);
        assert!(EtcdError::timeout("e", ctx().timeout).is_retryable());
    }

    #[test]
    fn none_answered_is_one_line_and_an_auth_answer_is_not_silence() {
        let auth = EtcdError::AuthFailed {
            endpoint: "https://a:2379".into(),
            user: "root".into(),
        };
        let t = EtcdError::timeout("https://b:2379", ctx().timeout);
        // One endpoint: its own words, nothing about "no endpoint answered".
        let one = EtcdError::NoneAnswered(vec![auth.clone()]);
        assert_eq!(one.to_string(), auth.to_string());
        let mixed = EtcdError::NoneAnswered(vec![auth.clone(), t.clone()]);
        let msg = mixed.to_string();
        assert!(!msg.contains('\n'), "{msg:?}");
        assert!(
            msg.starts_with("no endpoint served the call: https://a:2379: authentication failed"),
            "{msg}"
        );
        assert!(msg.contains("; https://b:2379: no answer within"), "{msg}");
        assert_eq!(mixed.short(), "auth failed");
        let silent = EtcdError::NoneAnswered(vec![t.clone(), t]).to_string();
        assert!(silent.starts_with("no endpoint answered: "), "{silent}");
        assert!(!silent.contains('\n'), "{silent:?}");
    }

    #[test]
    fn io_errors_in_plain_words() {
        let missing = std::fs::read("/nonexistent/etcdeck/ca.crt").unwrap_err();
        assert_eq!(io_words(&missing), "no such file");
        let e = crate::etcd::client::read_file(
            &crate::connect::FileSetting {
                path: "/nonexistent/etcdeck/ca.crt".into(),
                origin: crate::connect::Origin::Flag("--cacert"),
            },
            "CA certificate",
        )
        .unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
        assert!(e.is_own_settings());
    }

    #[test]
    fn rustls_certificate_dates_are_read_from_the_transport_error() {
        let raw = "transport error | invalid peer certificate: ExpiredContext { time: \
                   UnixTime(1700000000), not_after: UnixTime(1690000000) }";
        let e = classify_text("https://10.0.0.1:2379", &ctx(), raw);
        assert!(matches!(e, EtcdError::ServerCertExpired { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("server certificate expired on 2023-07-22 04:26 UTC ("),
            "{e}"
        );
        assert_eq!(e.kind(), ErrorKind::Tls);
        assert!(!e.is_own_settings());
        let raw = "invalid peer certificate: NotValidYetContext { time: UnixTime(1), \
                   not_before: UnixTime(1690000000) }";
        let e = classify_text("e", &ctx(), raw);
        assert!(
            matches!(e, EtcdError::ServerCertNotYetValid { .. }),
            "{e:?}"
        );
        let e = classify_text("e", &ctx(), "InconsistentKeys(KeyMismatch)");
        assert_eq!(
            e.to_string(),
            "--key=/tmp/c.key does not belong to --cert=/tmp/c.crt: the key's public key is not \
             the certificate's; give the key that was made with this certificate"
        );
    }
}
