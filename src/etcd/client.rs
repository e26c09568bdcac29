//! Clients: one per member for per-member calls (Status, Defrag, ...), and a load-balanced one
//! over the voters for cluster-wide calls. Every call has a timeout; a dead endpoint never hangs.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::{Certificate, Client, ConnectOptions, Identity, MemberListResponse, TlsOptions};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::task::JoinSet;
use tokio::time::timeout;

use super::error::{
    classify, classify_transport, closed_after_handshake, is_closed, ErrorContext, EtcdError,
};
use crate::connect::{FileSetting, Settings};

/// How long [`Cluster::identify`] waits for the other endpoints after the first answer.
pub const IDENTIFY_GRACE: Duration = Duration::from_millis(500);

/// HTTP/2 keep-alive so a dead connection is noticed even when idle.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The way to the cluster: settings, loaded TLS material and a cache of per-member clients.
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    tls: Option<TlsOptions>,
    ctx: ErrorContext,
    members: Mutex<HashMap<String, Client>>,
}

impl Cluster {
    /// Load the TLS files now, so a bad file is reported before any network call.
    pub fn new(settings: Settings) -> Result<Self, EtcdError> {
        let tls = load_tls(&settings)?;
        let ctx = ErrorContext {
            cacert: settings.cacert.as_ref().map(|f| f.to_string()),
            cert: settings.cert.as_ref().map(|f| f.to_string()),
            key: settings.key.as_ref().map(|f| f.to_string()),
            user: settings.user.as_ref().map(|(u, _)| u.clone()),
            timeout: settings.timeout,
        };
        Ok(Cluster {
            inner: Arc::new(Inner {
                settings,
                tls,
                ctx,
                members: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings this cluster was opened with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The timeout applied to every call.
    pub fn timeout(&self) -> Duration {
        self.inner.settings.timeout
    }

    /// Context for turning client errors into operator messages.
    pub fn error_context(&self) -> &ErrorContext {
        &self.inner.ctx
    }

    /// A client bound to the one member at `url`, connected eagerly so that a refused or untrusted
    /// endpoint says why. Cached; a failed call drops it from the cache.
    pub async fn member(&self, url: &str) -> Result<Client, EtcdError> {
        if let Some(c) = self.cached(url) {
            return Ok(c);
        }
        // Each step is bounded inside; the margin leaves room to say why one got no answer.
        let t = self.timeout();
        let client = timeout(t + Duration::from_secs(1), self.connect_member(url))
            .await
            .map_err(|_| EtcdError::timeout(url, t))??;
        if let Ok(mut map) = self.inner.members.lock() {
            map.insert(url.to_string(), client.clone());
        }
        Ok(client)
    }

    fn cached(&self, url: &str) -> Option<Client> {
        self.inner
            .members
            .lock()
            .ok()
            .and_then(|m| m.get(url).cloned())
    }

    fn forget(&self, url: &str) {
        if let Ok(mut map) = self.inner.members.lock() {
            map.remove(url);
        }
    }

    async fn connect_member(&self, url: &str) -> Result<Client, EtcdError> {
        let ctx = &self.inner.ctx;
        let t = self.timeout();
        let begun = Instant::now();
        let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|e| EtcdError::Other {
                endpoint: url.into(),
                message: e.to_string(),
            })?
            .connect_timeout(t)
            .timeout(t)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEP_ALIVE)
            .keep_alive_timeout(t)
            .keep_alive_while_idle(true);
        if url.starts_with("https://") {
            let tls = self.inner.tls.clone().unwrap_or_default();
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| classify_transport(url, ctx, &e))?;
        }
        let channel = match timeout(t, endpoint.connect()).await {
            Err(_) => return Err(EtcdError::timeout(url, t)),
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                return Err(self
                    .closed_means(url, classify_transport(url, ctx, &e))
                    .await)
            }
        };
        let Some((user, password)) = &self.inner.settings.user else {
            return match Client::from_channel(etcd_client::Channel::Tonic(channel), None).await {
                Ok(c) => Ok(c),
                Err(e) => Err(self.closed_means(url, classify(url, ctx, &e)).await),
            };
        };
        // A token is refused by a member that restarted since it was issued (etcd keeps simple
        // tokens in memory): the client logs in again and retries once.
        let options = ConnectOptions::new()
            .with_user(user.clone(), password.clone())
            .with_auto_token_refresh(true);
        // With a user, the first call (the login) is made here: a server that refuses our
        // client certificate closes the connection under it, as under a first call in `call`.
        // The login goes through raft: without a leader it gets no answer.
        let left = t.saturating_sub(begun.elapsed());
        let login =
            Client::from_channel(etcd_client::Channel::Tonic(channel.clone()), Some(options));
        let timed_out = match timeout(left, login).await {
            Ok(Ok(c)) => return Ok(c),
            Ok(Err(e)) => match classify(url, ctx, &e) {
                err @ EtcdError::Timeout { .. } => err,
                // A learner refuses the login ("rpc not supported for learner"); what it
                // serves (Status, serializable reads) needs none: ask it without a user.
                EtcdError::Learner { .. } => {
                    return Client::from_channel(etcd_client::Channel::Tonic(channel), None)
                        .await
                        .map_err(|e| classify(url, ctx, &e));
                }
                err => return Err(self.closed_means(url, err).await),
            },
            Err(_) => EtcdError::timeout(url, t),
        };
        match Client::from_channel(etcd_client::Channel::Tonic(channel), None).await {
            Ok(anonymous) => Err(self.why_no_answer(url, anonymous, t).await),
            Err(_) => Err(timed_out),
        }
    }

    /// A TLS connection closed under the first call with no reason given. A fresh connection
    /// tells more: a server that does not agree to HTTP/2, or that keeps a connection with our
    /// certificate open (etcd's peer port, 2380, closes it only at the first gRPC call), is not
    /// etcd's client API; else most likely the server refused our client certificate.
    async fn closed_means(&self, url: &str, err: EtcdError) -> EtcdError {
        if !(is_closed(&err) && url.starts_with("https://")) {
            return err;
        }
        let t = self.timeout();
        let wait = (t / 4).clamp(Duration::from_millis(100), Duration::from_millis(500));
        match timeout(t, look_into(&self.inner.settings, url, wait)).await {
            Ok(Some(Look::NoH2)) => EtcdError::NotEtcd {
                endpoint: url.to_string(),
                detail: "it does not offer HTTP/2, which etcd's gRPC API needs".into(),
            },
            Ok(Some(Look::Keeps)) => EtcdError::NotEtcd {
                endpoint: url.to_string(),
                detail: "it takes our certificate, then closes the connection at the first \
                         gRPC call, as etcd's peer port does"
                    .into(),
            },
            _ => closed_after_handshake(url, &self.inner.ctx),
        }
    }

    /// Run `f` against the member at `url` within the timeout (connect included). Returns the
    /// answer and how long the call itself took.
    pub async fn call<T, F, Fut>(&self, url: &str, f: F) -> Result<(T, Duration), EtcdError>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        self.call_for(url, self.timeout(), f).await
    }

    /// [`Cluster::call`] with a timeout of its own, for calls that take long by nature
    /// (defragmenting a large database, a snapshot).
    pub async fn call_for<T, F, Fut>(
        &self,
        url: &str,
        t: Duration,
        f: F,
    ) -> Result<(T, Duration), EtcdError>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let begun = Instant::now();
        // Connect and call within `t` together; a call that got no answer is looked into.
        let result = async {
            let fresh = self.cached(url).is_none();
            let client = self.member(url).await?;
            let start = Instant::now();
            let left = t.saturating_sub(begun.elapsed());
            let Ok(answer) = timeout(left, f(client.clone())).await else {
                return Err(self.why_no_answer(url, client, t).await);
            };
            match answer {
                Ok(answer) => Ok((answer, start.elapsed())),
                Err(e) => {
                    let err = classify(url, &self.inner.ctx, &e);
                    // The channel's own timeout may fire first.
                    if let EtcdError::Timeout { .. } = err {
                        return Err(self.why_no_answer(url, client, t).await);
                    }
                    // With TLS 1.3 a server that refuses our client certificate may just close
                    // the connection after the handshake: the first call on it fails with no
                    // reason.
                    Err(if fresh {
                        self.closed_means(url, err).await
                    } else {
                        err
                    })
                }
            }
        }
        .await;
        if result.is_err() {
            self.forget(url);
        }
        result
    }

    /// A call on a connected member got no answer in time: a member that answers Status (which
    /// needs no leader) but sees no leader is not "down", it cannot serve what needs a leader
    /// (a linearizable read waits for one until etcd's own, longer, timeout).
    async fn why_no_answer(&self, url: &str, mut client: Client, t: Duration) -> EtcdError {
        let ask = (t / 4).clamp(Duration::from_millis(100), Duration::from_millis(500));
        match timeout(ask, client.status()).await {
            Ok(Ok(s)) if s.leader() == 0 => EtcdError::NoLeader {
                endpoint: url.to_string(),
                ms: t.as_millis(),
            },
            _ => EtcdError::timeout(url, t),
        }
    }

    /// The member list from whichever configured endpoint answers first; the others are asked at
    /// the same time, so a dead endpoint costs nothing while one is alive.
    pub async fn member_list(&self) -> Result<(MemberListResponse, String), EtcdError> {
        self.first_answer(&self.inner.settings.endpoints, |mut c| async move {
            c.member_list().await
        })
        .await
    }

    /// Which cluster the configured endpoints belong to: every endpoint is asked for its Status at
    /// once, and the cluster id in each answer's header compared. Endpoints of two clusters are
    /// [`EtcdError::MixedClusters`], grouped by cluster; none answering is
    /// [`EtcdError::NoneAnswered`]. Endpoints still silent [`IDENTIFY_GRACE`] after the first
    /// answer are left out: a member that answers at all answers in milliseconds, and one that
    /// does not cannot hand over another cluster's data.
    pub async fn identify(&self) -> Result<u64, EtcdError> {
        let mut set = JoinSet::new();
        for url in &self.inner.settings.endpoints {
            let (this, url) = (self.clone(), url.clone());
            set.spawn(async move {
                let r = this
                    .call(&url, |mut c| async move { c.status().await })
                    .await
                    .map(|(s, _)| s.header().map_or(0, |h| h.cluster_id()));
                (url, r)
            });
        }
        let mut groups: Vec<(u64, Vec<String>)> = Vec::new();
        let mut errors = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let next = match deadline {
                None => set.join_next().await,
                Some(d) => match tokio::time::timeout_at(d, set.join_next()).await {
                    Ok(n) => n,
                    Err(_) => break,
                },
            };
            let Some(joined) = next else { break };
            if deadline.is_none() && matches!(joined, Ok((_, Ok(_)))) {
                deadline = Some(tokio::time::Instant::now() + IDENTIFY_GRACE);
            }
            match joined {
                Ok((url, Ok(id))) => match groups.iter_mut().find(|(g, _)| *g == id) {
                    Some((_, urls)) => urls.push(url),
                    None => groups.push((id, vec![url])),
                },
                Ok((_, Err(e))) => errors.push(e),
                Err(e) => errors.push(EtcdError::Other {
                    endpoint: "-".into(),
                    message: e.to_string(),
                }),
            }
        }
        for (_, urls) in &mut groups {
            urls.sort();
        }
        groups.sort();
        match groups.len() {
            0 => Err(EtcdError::NoneAnswered(errors)),
            1 => Ok(groups[0].0),
            _ => Err(EtcdError::MixedClusters(groups)),
        }
    }

    /// Ask every url in `urls` at once, return the first success (and who gave it), or every
    /// failure when none succeeds.
    pub async fn first_answer<T, F, Fut>(
        &self,
        urls: &[String],
        f: F,
    ) -> Result<(T, String), EtcdError>
    where
        T: Send + 'static,
        F: Fn(Client) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Result<T, etcd_client::Error>> + Send,
    {
        let mut set = JoinSet::new();
        for url in urls {
            let (this, url, f) = (self.clone(), url.clone(), f.clone());
            set.spawn(async move {
                let r = this.call(&url, f).await;
                (url, r)
            });
        }
        let mut errors = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((url, Ok((answer, _)))) => {
                    set.abort_all();
                    return Ok((answer, url));
                }
                Ok((_, Err(e))) => errors.push(e),
                Err(e) => errors.push(EtcdError::Other {
                    endpoint: "-".into(),
                    message: e.to_string(),
                }),
            }
        }
        Err(EtcdError::NoneAnswered(errors))
    }

    /// A load-balanced client over the voting members of the current member list: a learner
    /// refuses most calls, so it is never in the balanced list.
    pub async fn balanced_voters(&self) -> Result<Client, EtcdError> {
        let (list, _) = self.member_list().await?;
        let voters: Vec<String> = list
            .members()
            .iter()
            .filter(|m| !m.is_learner())
            .flat_map(|m| m.client_urls().iter().cloned())
            .collect();
        if voters.is_empty() {
            return Err(EtcdError::Other {
                endpoint: self.inner.settings.endpoints.join(","),
                message: "the member list has no started voting member".into(),
            });
        }
        self.balanced(&voters).await
    }

    /// A load-balanced client over `urls` (voters only: a learner refuses most calls). Callers
    /// still wrap each call in [`tokio::time::timeout`]: a dead endpoint stays in the balancer.
    pub async fn balanced(&self, urls: &[String]) -> Result<Client, EtcdError> {
        let t = self.timeout();
        let mut options = ConnectOptions::new()
            .with_timeout(t)
            .with_connect_timeout(t)
            .with_keep_alive(KEEP_ALIVE, t)
            .with_keep_alive_while_idle(true);
        if let Some(tls) = &self.inner.tls {
            options = options.with_tls(tls.clone());
        }
        if let Some((user, password)) = &self.inner.settings.user {
            options = options
                .with_user(user.clone(), password.clone())
                .with_auto_token_refresh(true);
        }
        let label = urls.join(",");
        timeout(t, Client::connect(urls, Some(options)))
            .await
            .map_err(|_| EtcdError::timeout(&label, t))?
            .map_err(|e| classify(&label, &self.inner.ctx, &e))
    }
}

/// Read and check the CA, certificate and key files; build the TLS options.
fn load_tls(settings: &Settings) -> Result<Option<TlsOptions>, EtcdError> {
    let tls_wanted = settings.endpoints.iter().any(|e| e.starts_with("https://"));
    if !tls_wanted {
        return Ok(None);
    }
    let mut tls = TlsOptions::new();
    if let Some(ca) = &settings.cacert {
        let pem = read_file(ca, "CA certificate")?;
        check_certs(ca, &pem, "CA certificate")?;
        check_dates(ca, &pem, "CA certificate")?;
        tls = tls.ca_certificate(Certificate::from_pem(pem));
    }
    if let (Some(cert), Some(key)) = (&settings.cert, &settings.key) {
        let cert_pem = read_file(cert, "client certificate")?;
        check_certs(cert, &cert_pem, "client certificate")?;
        // The server would refuse these, but only say so by closing the connection.
        check_dates(cert, &cert_pem, "client certificate")?;
        let (key_pem, key_der) = read_key(key)?;
        check_key_matches(cert, &cert_pem, key, &key_der)?;
        tls = tls.identity(Identity::from_pem(cert_pem, key_pem));
    }
    Ok(Some(tls))
}

/// A client key file: its PEM text and the key it holds (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub(crate) fn read_key(key: &FileSetting) -> Result<(Vec<u8>, PrivateKeyDer<'static>), EtcdError> {
    let pem = read_file(key, "client key")?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| EtcdError::FileMalformed {
        what: "private key",
        file: key.to_string(),
        reason: format!("{e} (expected PEM 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY')"),
    })?;
    Ok((pem, der))
}

/// Read a file named by a setting (a regular file of at most [`crate::input::PEM_LIMIT`]); an
/// error names the setting.
pub(crate) fn read_file(file: &FileSetting, what: &'static str) -> Result<Vec<u8>, EtcdError> {
    crate::input::read(&file.path, crate::input::PEM_LIMIT, "a PEM file").map_err(|e| {
        EtcdError::FileUnreadable {
            what,
            file: file.to_string(),
            reason: e.to_string(),
        }
    })
}

fn check_certs(file: &FileSetting, pem: &[u8], what: &'static str) -> Result<(), EtcdError> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| EtcdError::FileMalformed {
            what,
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(EtcdError::FileMalformed {
            what,
            file: file.to_string(),
            reason: "no PEM 'CERTIFICATE' block in it".into(),
        });
    }
    Ok(())
}

/// The first certificate of a PEM file must be valid now: an expired client certificate is
/// refused by etcd with no reason given, so its dates are checked here and said.
fn check_dates(file: &FileSetting, pem: &[u8], what: &'static str) -> Result<(), EtcdError> {
    let Some(Ok(der)) = CertificateDer::pem_slice_iter(pem).next() else {
        return Ok(());
    };
    let Ok((_, x509)) = x509_parser::parse_x509_certificate(&der) else {
        return Ok(()); // rustls says what is wrong with it
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let validity = x509.validity();
    let (from, until) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    if now > until {
        return Err(EtcdError::CertExpired {
            what,
            file: file.to_string(),
            when: super::error::date(until),
        });
    }
    if now < from {
        return Err(EtcdError::CertNotYetValid {
            what,
            file: file.to_string(),
            when: super::error::date(from),
        });
    }
    Ok(())
}

/// The client key must be the one of the client certificate (rustls would only say "key
/// mismatch" deep inside a transport error, or not at all until the handshake).
fn check_key_matches(
    cert: &FileSetting,
    cert_pem: &[u8],
    key: &FileSetting,
    key_der: &PrivateKeyDer<'static>,
) -> Result<(), EtcdError> {
    let Some(Ok(der)) = CertificateDer::pem_slice_iter(cert_pem).next() else {
        return Ok(());
    };
    match crate::pki::key_matches_cert(&der, key_der) {
        Some(false) => Err(EtcdError::KeyMismatch {
            key: key.to_string(),
            cert: cert.to_string(),
        }),
        _ => Ok(()),
    }
}

/// What a fresh TLS connection to a server that closed one under our first call shows.
#[derive(Debug, PartialEq)]
enum Look {
    /// It does not agree to HTTP/2 (ALPN `h2`), which gRPC needs.
    NoH2,
    /// It sent an alert or closed at once: it refuses our certificate (or cannot be told).
    Refuses,
    /// It agreed to HTTP/2 and kept the connection open with our certificate: no refusal.
    Keeps,
}

/// Connect to the TLS server at `url` again with our TLS settings, agree on HTTP/2, and wait
/// `wait` for it to refuse us; `None` when that cannot be told (no connection, no handshake).
async fn look_into(settings: &Settings, url: &str, wait: Duration) -> Option<Look> {
    use tokio::io::AsyncReadExt;
    use tokio_rustls::rustls::pki_types::ServerName;
    let mut config = super::metrics::tls_config(settings).ok()?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    let hostport = url.strip_prefix("https://")?.trim_end_matches('/');
    let (host, port) = hostport.rsplit_once(':')?;
    let host = host.trim_matches(['[', ']']);
    let port: u16 = port.parse().ok()?;
    let name = ServerName::try_from(host.to_string()).ok()?;
    let tcp = tokio::net::TcpStream::connect((host, port)).await.ok()?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector.connect(name, tcp).await.ok()?;
    if tls.get_ref().1.alpn_protocol() != Some(b"h2".as_slice()) {
        return Some(Look::NoH2);
    }
    // With TLS 1.3 a refusal of our certificate comes after the handshake, as an alert.
    let mut byte = [0u8; 1];
    match timeout(wait, tls.read(&mut byte)).await {
        Err(_) => Some(Look::Keeps),
        Ok(_) => Some(Look::Refuses),
    }
}
