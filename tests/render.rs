//! `etcdeck render env|conf` against a real cluster: the rendered etcdctl.sh reaches every
//! voter, leaves a learner out, and works on its own; the rendered etcd.conf carries the live
//! member list.
//!
//! The sandbox runs inventory hosts 10.B.C.x on 127.B.C.x: the live URLs are the 127 ones.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{auth_on, stderr, stdout, TestCluster, ROOT_PASSWORD};

fn value<'a>(text: &'a str, var: &str) -> &'a str {
    let prefix = format!("export {var}='");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no {var} in\n{text}"))
}

#[tokio::test]
async fn render_env_lists_the_live_voters_and_its_etcdctl_works() {
    let tc = TestCluster::start(3).await;
    let out = tc.etcdeck(&["render", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let live = tc.sandbox.client_urls();
    assert!(
        live.iter().all(|u| u.starts_with("https://127.")),
        "{live:?}"
    );
    assert_eq!(value(&text, "ETCDCTL_ENDPOINTS"), live.join(","));
    assert_eq!(value(&text, "ETCDCTL_CACERT"), "/etc/pki/ca.crt");
    assert_eq!(value(&text, "ETCDCTL_CERT"), "/etc/pki/infra.crt");
    assert_eq!(value(&text, "ETCDCTL_KEY"), "/etc/pki/infra.key");
    assert_eq!(text.contains("/etc/etcd/etcd.pass"), auth_on(), "{text}");

    // The file as the admin node would hold it, with this machine's TLS files where Pigsty's are.
    let env = tc.sandbox.etcdctl_env();
    let pass = tc.dir.path().join("etcd.pass");
    std::fs::write(&pass, ROOT_PASSWORD).unwrap();
    let file = tc.dir.path().join("etcdctl.sh");
    let o = tc.etcdeck(&["render", "env", "--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("3 endpoint(s)"), "{}", stdout(&o));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    let local = text
        .replace("/etc/pki/ca.crt", &env.cacert)
        .replace("/etc/pki/infra.crt", &env.cert)
        .replace("/etc/pki/infra.key", &env.key)
        .replace("/etc/etcd/etcd.pass", pass.to_str().unwrap());
    let script = tc.dir.path().join("etcdctl-local.sh");
    std::fs::write(&script, local).unwrap();
    let health = Command::new("bash")
        .args(["-c", ". \"$1\" && etcdctl endpoint health", "bash"])
        .arg(&script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("bash and etcdctl run");
    let said = format!("{}{}", stdout(&health), stderr(&health));
    assert!(health.status.success(), "{said}");
    for u in &live {
        assert!(said.contains(&format!("{u} is healthy")), "{u}: {said}");
    }

    // A learner added (not started yet) is left out, and said to be.
    let b_c = live[0]
        .trim_start_matches("https://127.")
        .rsplit_once('.')
        .unwrap()
        .0
        .to_string();
    let peer = format!("https://127.{b_c}.4:2380");
    // etcd 3.4 refuses member changes until every voter has been seen for 5 s.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let add = tc.etcdctl(&["member", "add", "etcd-4", "--learner", "--peer-urls", &peer]);
        if add.status.success() {
            break;
        }
        let why = stderr(&add);
        assert!(why.contains("unhealthy cluster"), "{why}");
        assert!(Instant::now() < deadline, "member add kept failing: {why}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let out = tc.etcdeck(&["render", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(value(&text, "ETCDCTL_ENDPOINTS"), live.join(","));
    assert!(text.contains("# left out: unstarted member "), "{text}");
}

#[tokio::test]
async fn render_conf_carries_the_live_member_list() {
    let tc = TestCluster::start(3).await;
    let inv = tc.dir.path().join("pigsty.yml");
    std::fs::write(&inv, &tc.inventory_text).unwrap();
    let inv = inv.to_str().unwrap();
    let members = tc.sandbox.members();
    let live: Vec<String> = members
        .iter()
        .map(|m| format!("{}={}", m.name(), m.host.peer_url()))
        .collect();

    let out = tc.etcdeck(&["-i", inv, "render", "conf", "--member", "etcd-2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conf: serde_yaml::Value = serde_yaml::from_str(&stdout(&out)).unwrap();
    assert_eq!(conf["name"], "etcd-2");
    assert_eq!(conf["initial-cluster-state"], "existing");
    assert_eq!(conf["initial-cluster"], live.join(","));
    // The member's own addresses are the inventory's.
    let own = members[1].inventory_ip.to_string();
    assert_eq!(conf["listen-peer-urls"], format!("https://{own}:2380"));

    // A host of the inventory that is not a member yet: the live members, then itself.
    let ip4 = own.rsplit_once('.').unwrap().0.to_string() + ".4";
    let text4 = tc
        .inventory_text
        .replace("  vars:", &format!("    {ip4}: {{ etcd_seq: 4 }}\n  vars:"));
    let inv4 = tc.dir.path().join("pigsty4.yml");
    std::fs::write(&inv4, text4).unwrap();
    let out = tc.etcdeck(&[
        "-i",
        inv4.to_str().unwrap(),
        "render",
        "conf",
        "--member",
        "etcd-4",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conf: serde_yaml::Value = serde_yaml::from_str(&stdout(&out)).unwrap();
    let mut want = live.clone();
    want.push(format!("etcd-4=https://{ip4}:2380"));
    assert_eq!(conf["initial-cluster"], want.join(","));

    // Unknown names are refused with the names there are; no inventory, no conf.
    let out = tc.etcdeck(&["-i", inv, "render", "conf", "--member", "etcd-9"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no member or inventory host is named etcd-9"),
        "{err}"
    );
    assert!(err.contains("etcd-1, etcd-2, etcd-3"), "{err}");
    let missing = tc.dir.path().join("nowhere.yml");
    let out = tc.etcdeck(&[
        "-i",
        missing.to_str().unwrap(),
        "render",
        "conf",
        "--member",
        "etcd-2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read the inventory"),
        "{}",
        stderr(&out)
    );
}
