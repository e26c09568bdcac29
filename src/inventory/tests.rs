use super::*;

fn ok(text: &str) -> Inventory {
    parse(text, "pigsty.yml", &[]).unwrap_or_else(|d| panic!("{}", render(&d)))
}

fn errs(text: &str) -> Vec<Diagnostic> {
    parse(text, "pigsty.yml", &[]).expect_err("should not parse")
}

fn render(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one error whose message contains `needle`, with its line and column.
fn find<'a>(d: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    d.iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", render(d)))
}

#[test]
fn the_example_has_three_members_and_nothing_to_warn() {
    let inv = ok(EXAMPLE);
    assert_eq!(inv.hosts.len(), 3);
    assert!(inv.diagnostics.is_empty(), "{}", render(&inv.diagnostics));
    let h = &inv.hosts[1];
    assert_eq!(h.name(), "etcd-2");
    assert_eq!(h.client_url(), "https://10.10.10.11:2379");
    assert_eq!(h.peer_url(), "https://10.10.10.11:2380");
    assert_eq!(h.params.etcd_init, EtcdInit::New);
    assert_eq!(h.origins["etcd_cluster"], Origin::Group);
    assert_eq!(inv.cluster(), "etcd");
    assert_eq!(inv.client_urls().len(), 3);
}

#[test]
fn the_full_pigsty_shape_and_precedence_host_group_all_default_extra() {
    let text = "\
all:
  vars:
    etcd_data: /srv/etcd
    etcd_port: 2479
    node_tune: oltp
  children:
    infra: { hosts: { 10.10.10.10: { infra_seq: 1 } } }
    etcd:
      hosts:
        10.10.10.10: { etcd_seq: 1, etcd_peer_port: 2480 }
        10.10.10.11: { etcd_seq: 2 }
        10.10.10.12: { etcd_seq: 3 }
      vars:
        etcd_cluster: etcd-prod
        etcd_port: 2579
";
    let inv = ok(text);
    let h1 = &inv.hosts[0];
    assert_eq!(h1.name(), "etcd-prod-1");
    assert_eq!(
        (h1.params.etcd_data.as_str(), h1.origins["etcd_data"]),
        ("/srv/etcd", Origin::All)
    );
    assert_eq!(
        (h1.params.etcd_port, h1.origins["etcd_port"]),
        (2579, Origin::Group)
    );
    assert_eq!(
        (h1.params.etcd_peer_port, h1.origins["etcd_peer_port"]),
        (2480, Origin::Host)
    );
    assert_eq!(inv.hosts[1].params.etcd_peer_port, 2380);
    assert_eq!(h1.origins["etcd_heartbeat_interval"], Origin::Default);

    let extra = vec![
        ("etcd_port".to_string(), "2679".to_string()),
        ("etcd_init".to_string(), "existing".to_string()),
    ];
    let inv = parse(text, "pigsty.yml", &extra).unwrap();
    for h in &inv.hosts {
        assert_eq!(
            (h.params.etcd_port, h.origins["etcd_port"]),
            (2679, Origin::Extra)
        );
        assert_eq!(h.params.etcd_init, EtcdInit::Existing);
    }
}

#[test]
fn yaml_syntax_error_has_its_position() {
    let d = errs("etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1\n  vars: {}\n");
    assert_eq!(d.len(), 1);
    assert!(d[0].message.starts_with("YAML syntax"), "{}", d[0]);
    assert_eq!(d[0].line, 4, "{}", d[0]);
    assert!(d[0].to_string().starts_with("pigsty.yml:4:"));
}

#[test]
fn no_etcd_group_says_what_was_expected() {
    let d = errs("all:\n  children:\n    pg-meta: { hosts: {} }\n");
    assert_eq!((d[0].line, d[0].column), (1, 1));
    assert!(d[0].message.contains("no `etcd` group"));
    let d = errs("etcd:\n  vars: { etcd_cluster: etcd }\n");
    assert!(find(&d, "no hosts").line == 1 || find(&d, "no hosts").line == 2);
}

#[test]
fn every_host_error_is_reported_at_once_with_its_line_and_column() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }
    10.10.10.11: { }
    10.10.10.12: { etcd_seq: two }
    10.10.10.13: { etcd_seq: -1 }
    node-5: { etcd_seq: 5 }
    10.10.10.16: { etcd_seq: 1 }
  vars: { etcd_cluster: etcd }
";
    let d = errs(text);
    let missing = find(&d, "has no etcd_seq");
    assert_eq!((missing.line, missing.column), (4, 5));
    let not_int = find(&d, "etcd_seq of 10.10.10.12 must be an integer");
    assert_eq!((not_int.line, not_int.column), (5, 30));
    assert!(not_int.message.contains("\"two\""));
    let negative = find(&d, "etcd_seq of 10.10.10.13");
    assert_eq!(negative.line, 6);
    let not_ip = find(&d, "`node-5` is not an IP address");
    assert_eq!((not_ip.line, not_ip.column), (7, 5));
    let dup = find(&d, "duplicate etcd_seq 1");
    assert_eq!((dup.line, dup.column), (8, 30));
    assert!(dup.message.contains("10.10.10.10 on line 3"), "{dup}");
    assert!(dup.hint.as_deref().unwrap().contains("never reused"));
    assert_eq!(
        d.iter().filter(|d| d.severity == Severity::Error).count(),
        5,
        "{}",
        render(&d)
    );
    // Sorted by position, each printed as FILE:LINE:COLUMN.
    assert!(d
        .windows(2)
        .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)));
    assert!(render(&d)
        .contains("pigsty.yml:7:5: error: host key `node-5` is not an IP address\n  hint: "));
}

#[test]
fn parameter_values_are_checked_where_they_are_written() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1, etcd_port: 70000 }
    10.10.10.11: { etcd_seq: 2, etcd_peer_port: http }
    10.10.10.12: { etcd_seq: 3 }
  vars:
    etcd_init: fresh
    etcd_safeguard: maybe
    etcd_data: data/etcd
";
    let d = errs(text);
    assert_eq!(find(&d, "etcd_port must be a port").line, 3);
    assert_eq!(find(&d, "etcd_port must be a port").column, 44);
    assert_eq!(find(&d, "etcd_peer_port must be a port").line, 4);
    let init = find(&d, "etcd_init must be `new` or `existing`");
    assert_eq!((init.line, init.column), (7, 16));
    assert!(init.message.contains("\"fresh\""));
    assert_eq!(find(&d, "etcd_safeguard must be true or false").line, 8);
    assert_eq!(find(&d, "etcd_data must be an absolute path").line, 9);
    // A group-level error is reported once, not once per host.
    assert_eq!(
        d.iter().filter(|x| x.message.contains("etcd_init")).count(),
        1
    );
}

#[test]
fn ports_clash_and_election_timeout_too_short_are_errors() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1, etcd_peer_port: 2379 }
  vars:
    etcd_election_timeout: 300
    etcd_heartbeat_interval: 100
";
    let d = errs(text);
    assert_eq!(
        find(&d, "etcd_port and etcd_peer_port are both 2379").line,
        3
    );
    let el = find(&d, "less than 5 x etcd_heartbeat_interval");
    assert_eq!((el.line, el.column), (5, 28));
}

#[test]
fn different_cluster_names_in_one_group_are_an_error() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }
    10.10.10.11: { etcd_seq: 2, etcd_cluster: other }
    10.10.10.12: { etcd_seq: 3 }
";
    let d = errs(text);
    let e = find(&d, "is in etcd_cluster `other`");
    assert_eq!((e.line, e.column), (4, 47));
}

#[test]
fn even_member_counts_and_unknown_keys_are_warnings() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1, etcd_lerner: true }
    10.10.10.11: { etcd_seq: 2 }
  vars:
    etcd_cluster: etcd
    etcd_learner: true
    etcd_root_password: Etcd.Root
    etcd_api: v3
";
    let inv = ok(text);
    let w: Vec<&Diagnostic> = inv.warnings().collect();
    let typo = w
        .iter()
        .find(|d| d.message.contains("etcd_lerner"))
        .expect("typo warned");
    assert_eq!((typo.line, typo.column), (3, 33));
    assert_eq!(typo.hint.as_deref(), Some("did you mean etcd_learner?"));
    assert!(w
        .iter()
        .any(|d| d.message.contains("etcd_api") && d.line == 9));
    let even = w
        .iter()
        .find(|d| d.message.contains("2 members tolerate"))
        .expect("even count warned");
    assert_eq!(even.line, 2);
    assert!(inv.hosts[0].params.etcd_learner);
    assert_eq!(
        inv.hosts[0].params.etcd_root_password.as_deref(),
        Some("Etcd.Root")
    );
    let json = serde_json::to_string(&inv).unwrap();
    assert!(
        !json.contains("Etcd.Root") && json.contains("\"***\""),
        "password masked: {json}"
    );
}

#[test]
fn bad_extra_vars_are_errors_named_by_the_flag() {
    let extra = vec![("etcd_port".to_string(), "abc".to_string())];
    let d = parse(EXAMPLE, "pigsty.yml", &extra).unwrap_err();
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(
        d[0].to_string().lines().next().unwrap(),
        "-e etcd_port=\"abc\": error: etcd_port must be a port number from 1 to 65535, got \"abc\""
    );
    assert_eq!(
        parse_extra_var("etcd_init=existing"),
        Ok(("etcd_init".into(), "existing".into()))
    );
    assert!(parse_extra_var("etcd_init").is_err());
}

#[test]
fn ansible_booleans_and_a_host_without_vars() {
    let d = errs("etcd:\n  hosts:\n    10.10.10.10:\n  vars: { etcd_safeguard: yes }\n");
    assert_eq!(find(&d, "has no etcd_seq").line, 3);
    let inv = ok("etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 0 }\n  vars: { etcd_safeguard: yes, etcd_clean: off }\n");
    assert!(inv.hosts[0].params.etcd_safeguard);
    assert!(!inv.hosts[0].params.etcd_clean);
    assert_eq!(inv.hosts[0].name(), "etcd-0");
}

#[test]
fn show_text_lists_members_values_and_origins() {
    let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.11: { etcd_seq: 2, etcd_port: 2479 }\n    10.10.10.12: { etcd_seq: 3 }\n  vars: { etcd_cluster: etcd }\n";
    let shown = show_text(&ok(text));
    assert!(
        shown.contains("1    10.10.10.10      etcd-1       https://10.10.10.10:2379"),
        "{shown}"
    );
    assert!(
        shown.contains("etcd_port                2379                 default"),
        "{shown}"
    );
    assert!(
        shown.contains("  on etcd-2              2479                 host"),
        "{shown}"
    );
    assert!(
        shown.contains("etcd_cluster             etcd                 etcd.vars"),
        "{shown}"
    );
}
