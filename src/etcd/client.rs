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
        let t = self.timeout();
        let client = timeout(t, self.connect_member(url))
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
        let channel =
            endpoint
                .connect()
                .await
                .map_err(|e| match classify_transport(url, ctx, &e) {
                    err if is_closed(&err) && url.starts_with("https://") => {
                        closed_after_handshake(url, ctx)
                    }
                    err => err,
                })?;
        let mut options = ConnectOptions::new();
        if let Some((user, password)) = &self.inner.settings.user {
            options = options.with_user(user.clone(), password.clone());
        }
        // With a user, the first call (the login) is made here: a server that refuses our
        // client certificate closes the connection under it, as under a first call in `call`.
        Client::from_channel(etcd_client::Channel::Tonic(channel), Some(options))
            .await
            .map_err(|e| match classify(url, ctx, &e) {
                err if is_closed(&err) && url.starts_with("https://") => {
                    closed_after_handshake(url, ctx)
                }
                err => err,
            })
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
        let result = timeout(t, async {
            let fresh = self.cached(url).is_none();
            let client = self.member(url).await?;
            let start = Instant::now();
            let answer = f(client).await.map_err(|e| {
                let err = classify(url, &self.inner.ctx, &e);
                // With TLS 1.3 a server that refuses our client certificate may just close the
                // connection after the handshake: the first call on it fails with no reason.
                if fresh && url.starts_with("https://") && is_closed(&err) {
                    closed_after_handshake(url, &self.inner.ctx)
                } else {
                    err
                }
            })?;
            Ok((answer, start.elapsed()))
        })
        .await
        .unwrap_or_else(|_| Err(EtcdError::timeout(url, t)));
        if result.is_err() {
            self.forget(url);
        }
        result
    }

    /// The member list from whichever configured endpoint answers first; the others are asked at
    /// the same time, so a dead endpoint costs nothing while one is alive.
    pub async fn member_list(&self) -> Result<(MemberListResponse, String), EtcdError> {
        self.first_answer(&self.inner.settings.endpoints, |mut c| async move {
            c.member_list().await
        })
        .await
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
            options = options.with_user(user.clone(), password.clone());
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
        tls = tls.ca_certificate(Certificate::from_pem(pem));
    }
    if let (Some(cert), Some(key)) = (&settings.cert, &settings.key) {
        let cert_pem = read_file(cert, "client certificate")?;
        check_certs(cert, &cert_pem, "client certificate")?;
        let (key_pem, _) = read_key(key)?;
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
