//! Auth on, as Pigsty 4.x turns it on (`etcd_root_password`: user `root` with role `root`): the
//! cluster refuses a client without a user on every member, etcdeck with the printed environment
//! works, a wrong password is named, and a restart on data where auth is already on still works.
//! These clusters have auth on in every run, whatever `ETCDECK_TEST_AUTH` says.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::{clear_etcd_env, stderr, stdout, TestCluster, ROOT_PASSWORD};

/// `etcdeck ARGS` with the sandbox's environment less `ETCDCTL_USER`, plus `extra` variables.
fn etcdeck_without_user(tc: &TestCluster, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdeck"));
    clear_etcd_env(&mut cmd);
    for (k, v) in tc.sandbox.etcdctl_env().vars() {
        if k != "ETCDCTL_USER" {
            cmd.env(k, v);
        }
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("etcdeck runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_on_refuses_clients_without_root_and_the_printed_environment_works() {
    let mut tc = TestCluster::start_auth(3, true).await;

    // What the demo prints and Pigsty writes to /etc/profile.d/etcdctl.sh.
    let vars = tc.sandbox.etcdctl_env().vars();
    let user = vars.iter().find(|(k, _)| *k == "ETCDCTL_USER");
    assert_eq!(
        user.map(|(_, v)| v.as_str()),
        Some(format!("root:{ROOT_PASSWORD}").as_str()),
        "{vars:?}"
    );

    // Every member enforces it: reading keys without a user is refused with etcdeck's advice.
    for url in tc.sandbox.client_urls() {
        let out = etcdeck_without_user(&tc, &[], &["--endpoints", &url, "keys", "/"]);
        assert!(!out.status.success(), "{url}: read without a user worked");
        assert!(
            stderr(&out).contains("etcd has auth enabled: pass --user"),
            "{url}: {}",
            stderr(&out)
        );
    }
    let out = tc.etcdctl(&["put", "/auth-test/k", "v"]);
    assert!(out.status.success(), "etcdctl as root: {}", stderr(&out));
    let out = etcdeck_without_user(&tc, &[], &["keys", "/auth-test/"]);
    assert!(!out.status.success());
    assert!(!stdout(&out).contains("/auth-test/k"), "{}", stdout(&out));

    // A wrong password is named as such.
    let out = etcdeck_without_user(&tc, &[("ETCDCTL_USER", "root:wrong")], &["keys", "/"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("authentication failed for user root"),
        "{}",
        stderr(&out)
    );

    // With the environment: status names every member, keys reads what root wrote.
    let out = tc.etcdeck(&["status"]);
    assert!(out.status.success(), "status as root: {}", stderr(&out));
    for m in tc.sandbox.members() {
        assert!(stdout(&out).contains(&m.name()), "{}", stdout(&out));
    }
    let out = tc.etcdeck(&["keys", "/auth-test/"]);
    assert!(out.status.success(), "keys as root: {}", stderr(&out));
    assert!(stdout(&out).contains("/auth-test/k"), "{}", stdout(&out));

    // etcd itself says root has the root role.
    let out = tc.etcdctl(&["user", "get", "root"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Roles: root"), "{}", stdout(&out));

    // Restarted on its data, where auth is already on: healthy again, root still gets in,
    // and a client without a user is still refused.
    tc.sandbox.stop();
    tc.sandbox.start().expect("members restart");
    tc.sandbox
        .wait_healthy(Duration::from_secs(20))
        .await
        .expect("healthy again with auth on");
    let out = tc.etcdeck(&["keys", "/auth-test/"]);
    assert!(out.status.success(), "after restart: {}", stderr(&out));
    assert!(stdout(&out).contains("/auth-test/k"), "{}", stdout(&out));
    let out = etcdeck_without_user(&tc, &[], &["keys", "/"]);
    assert!(
        stderr(&out).contains("etcd has auth enabled: pass --user"),
        "after restart: {}",
        stderr(&out)
    );
}
