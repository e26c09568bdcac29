use super::*;

fn ok(text: &str) -> Inventory {
    parse(text, "pigsty.yml", &[]).unwrap_or_else(|d| panic!("{}", render(&d)))
}

fn ok_with(text: &str, extra: &[(&str, &str)]) -> Inventory {
    parse(text, "pigsty.yml", &ev(extra)).unwrap_or_else(|d| panic!("{}", render(&d)))
}

fn errs(text: &str) -> Vec<Diagnostic> {
    errs_with(text, &[])
}

fn errs_with(text: &str, extra: &[(&str, &str)]) -> Vec<Diagnostic> {
    match parse(text, "pigsty.yml", &ev(extra)) {
        Ok(inv) => panic!("should not parse; got {} host(s)", inv.hosts.len()),
        Err(d) => d,
    }
}

fn ev(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn render(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one finding whose message contains `needle`.
fn find<'a>(d: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = d.iter().filter(|d| d.message.contains(needle)).collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!(
            "expected exactly one {needle:?}, found {}:\n{}",
            found.len(),
            render(d)
        ),
    }
}

fn errors(d: &[Diagnostic]) -> usize {
    d.iter().filter(|d| d.severity == Severity::Error).count()
}

/// 1-based line and column of the `nth` (0-based) occurrence of `needle` in `text`: the
/// position an editor shows, computed from the text under test.
fn at(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let mut seen = 0;
    for (i, line) in text.lines().enumerate() {
        for (j, _) in line.match_indices(needle) {
            if seen == nth {
                return (i + 1, line[..j].chars().count() + 1);
            }
            seen += 1;
        }
    }
    panic!("{needle:?} #{nth} not in the text")
}

fn pos(d: &Diagnostic) -> (usize, usize) {
    (d.line, d.column)
}

const THREE: &str = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }
    10.10.10.11: { etcd_seq: 2 }
    10.10.10.12: { etcd_seq: 3 }
  vars: { etcd_cluster: etcd }
";

// ---- the example and the two shapes ----

#[test]
fn the_example_has_three_members_and_nothing_to_warn() {
    let inv = ok(EXAMPLE);
    assert!(inv.diagnostics.is_empty(), "{}", render(&inv.diagnostics));
    let names: Vec<String> = inv.hosts.iter().map(Host::name).collect();
    assert_eq!(names, ["etcd-1", "etcd-2", "etcd-3"]);
    assert_eq!(inv.cluster(), "etcd");
    assert_eq!(
        inv.client_urls(),
        [
            "https://10.10.10.10:2379",
            "https://10.10.10.11:2379",
            "https://10.10.10.12:2379"
        ]
    );
    let h = &inv.hosts[1];
    assert_eq!(h.peer_url(), "https://10.10.10.11:2380");
    // The sandbox starts this file: Pigsty's defaults, written out in etcd.vars.
    assert_eq!(h.params, Params::default());
    assert_eq!(h.origins["etcd_election_timeout"], Origin::Group);
    assert_eq!(h.origins["etcd_heartbeat_interval"], Origin::Group);
    assert_eq!(h.origins["etcd_learner"], Origin::Default);
    assert_eq!(h.origins["etcd_root_password"], Origin::Default);
    assert_eq!(h.origins["etcd_seq"], Origin::Host);
}

#[test]
fn the_example_comments_every_parameter() {
    for key in PARAMS {
        let line = EXAMPLE
            .lines()
            .find(|l| l.trim_start().trim_start_matches('#').starts_with(key))
            .or_else(|| EXAMPLE.lines().find(|l| l.contains(&format!("{key}:"))))
            .unwrap_or_else(|| panic!("{key} is not in the example"));
        assert!(
            line.trim_start().trim_start_matches('#').contains(" # "),
            "{key} has no comment: {line}"
        );
    }
    for (key, version) in [("etcd_learner", "3.6"), ("etcd_root_password", "4.0")] {
        let line = EXAMPLE.lines().find(|l| l.contains(key)).unwrap();
        assert!(line.trim_start().starts_with('#'), "{key} is commented out");
        assert!(line.contains(version), "{key} names Pigsty {version}");
    }
}

#[test]
fn the_one_line_single_member_group_from_the_docs() {
    let inv =
        ok("etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }\n");
    assert_eq!(inv.hosts.len(), 1);
    assert_eq!(inv.hosts[0].name(), "etcd-1");
    assert_eq!(inv.hosts[0].line, 1);
    assert!(inv.diagnostics.is_empty(), "{}", render(&inv.diagnostics));
}

#[test]
fn the_full_pigsty_shape_and_precedence_host_group_all_default() {
    let text = "\
all:
  vars:
    etcd_data: /srv/etcd
    etcd_port: 2479
    node_tune: oltp
    pg_version: 17
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
    assert!(inv.diagnostics.is_empty(), "{}", render(&inv.diagnostics));
    let h1 = &inv.hosts[0];
    assert_eq!(h1.name(), "etcd-prod-1");
    assert_eq!(inv.cluster(), "etcd-prod");
    assert_eq!(h1.line, 11);
    assert_eq!(
        (h1.params.etcd_data.as_str(), h1.origins["etcd_data"]),
        ("/srv/etcd", Origin::All)
    );
    // The group beats all.vars.
    assert_eq!(
        (h1.params.etcd_port, h1.origins["etcd_port"]),
        (2579, Origin::Group)
    );
    // The host beats the group, for that host only.
    assert_eq!(
        (h1.params.etcd_peer_port, h1.origins["etcd_peer_port"]),
        (2480, Origin::Host)
    );
    assert_eq!(
        (
            inv.hosts[1].params.etcd_peer_port,
            inv.hosts[1].origins["etcd_peer_port"]
        ),
        (2380, Origin::Default)
    );
    assert_eq!(h1.client_url(), "https://10.10.10.10:2579");
    assert_eq!(h1.peer_url(), "https://10.10.10.10:2480");
    assert_eq!(
        (
            h1.params.etcd_heartbeat_interval,
            h1.origins["etcd_heartbeat_interval"]
        ),
        (100, Origin::Default)
    );
}

#[test]
fn all_vars_apply_to_a_top_level_etcd_group_too() {
    let text = "\
all:
  vars: { etcd_safeguard: true, etcd_port: 2479 }
etcd:
  hosts: { 10.10.10.10: { etcd_seq: 1 } }
  vars: { etcd_port: 2579 }
";
    let h = &ok(text).hosts[0];
    assert_eq!(
        (h.params.etcd_safeguard, h.origins["etcd_safeguard"]),
        (true, Origin::All)
    );
    assert_eq!(
        (h.params.etcd_port, h.origins["etcd_port"]),
        (2579, Origin::Group)
    );
}

#[test]
fn hosts_come_out_sorted_by_etcd_seq_with_their_line() {
    let text = "\
etcd:
  hosts:
    10.10.10.12: { etcd_seq: 3 }
    10.10.10.10: { etcd_seq: 1 }
    10.10.10.11:
      etcd_seq: 2
";
    let inv = ok(text);
    let got: Vec<(u32, String, usize)> = inv
        .hosts
        .iter()
        .map(|h| (h.seq, h.ip.to_string(), h.line))
        .collect();
    assert_eq!(
        got,
        [
            (1, "10.10.10.10".to_string(), 4),
            (2, "10.10.10.11".to_string(), 5),
            (3, "10.10.10.12".to_string(), 3)
        ]
    );
}

#[test]
fn ipv6_members_get_bracketed_urls() {
    let inv =
        ok("etcd:\n  hosts:\n    \"fd00::10\": { etcd_seq: 0 }\n  vars: { etcd_cluster: meta }\n");
    let h = &inv.hosts[0];
    assert_eq!(h.name(), "meta-0");
    assert_eq!(h.client_url(), "https://[fd00::10]:2379");
    assert_eq!(h.peer_url(), "https://[fd00::10]:2380");
}

#[test]
fn yaml_merge_keys_are_applied() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { <<: *member, etcd_seq: 1 }
  vars:
    <<: &member { etcd_port: 2479 }
";
    // An alias before its anchor is a YAML error; written the right way round it merges.
    assert!(errs(text)[0].message.contains("YAML syntax"));
    let text = "\
x-member: &member { etcd_port: 2479 }
etcd:
  hosts:
    10.10.10.10: { <<: *member, etcd_seq: 1 }
";
    let h = &ok(text).hosts[0];
    assert_eq!(
        (h.params.etcd_port, h.origins["etcd_port"]),
        (2479, Origin::Host)
    );
}

// ---- YAML itself ----

#[test]
fn yaml_syntax_error_has_its_position_and_keeps_where_the_brace_opened() {
    let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1\n  vars: {}\n";
    let d = errs(text);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(pos(&d[0]), (4, 7));
    assert_eq!(
        d[0].message,
        "YAML syntax: did not find expected ',' or '}', while parsing a flow mapping at line 3 column 18"
    );
    assert!(d[0]
        .to_string()
        .starts_with("pigsty.yml:4:7: error: YAML syntax"));
}

#[test]
fn a_tab_in_the_indentation_gets_its_own_hint() {
    let d = errs("etcd:\n\thosts: {}\n");
    assert_eq!(pos(&d[0]), (2, 1));
    assert_eq!(
        d[0].hint.as_deref(),
        Some("YAML indents with spaces only: replace the tab")
    );
}

#[test]
fn a_host_written_twice_is_reported_at_the_second_naming_the_first() {
    let text =
        "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n    10.10.10.10: { etcd_seq: 2 }\n";
    let d = errs(text);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(pos(&d[0]), (4, 5));
    assert_eq!(
        d[0].message,
        "`10.10.10.10` is written twice in etcd.hosts (first on line 3)"
    );
}

#[test]
fn two_yaml_documents_are_refused() {
    let d = errs("etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } } }\n---\nfoo: 1\n");
    assert!(d[0].message.contains("more than one document"), "{}", d[0]);
    assert!(d[0]
        .hint
        .as_deref()
        .unwrap_or("")
        .contains("one YAML document"));
}

// ---- the group ----

#[test]
fn no_etcd_group_says_what_was_expected() {
    let d = errs("all:\n  children:\n    pg-meta: { hosts: {} }\n");
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(pos(&d[0]), (1, 1));
    assert!(d[0].message.starts_with("no `etcd` group found: expected a top-level `etcd:` group or a Pigsty file with `all: children: etcd:`"), "{}", d[0]);

    let d = errs("");
    assert_eq!(pos(&d[0]), (1, 1));
    assert!(
        d[0].message.starts_with("the inventory is empty"),
        "{}",
        d[0]
    );
    let d = errs("# nothing but a comment\n");
    assert!(
        d[0].message.starts_with("the inventory is empty"),
        "{}",
        d[0]
    );
}

#[test]
fn an_empty_or_missing_hosts_is_an_error_at_the_hosts_key() {
    let text = "etcd:\n  hosts: {}\n  vars: { etcd_cluster: etcd }\n";
    let d = errs(text);
    assert_eq!(pos(find(&d, "the etcd group has no hosts")), (2, 3));

    let text = "all:\n  children:\n    etcd:\n      vars: { etcd_cluster: etcd }\n";
    let d = errs(text);
    // No `hosts` key: the group's own key.
    assert_eq!(pos(find(&d, "the etcd group has no hosts")), (3, 5));

    let d = errs("etcd:\n");
    assert_eq!(pos(find(&d, "the etcd group has no hosts")), (1, 1));

    let text = "etcd:\n  hosts: [10.10.10.10, 10.10.10.11]\n";
    let d = errs(text);
    let e = find(&d, "etcd.hosts must map each member's IP address");
    assert_eq!(pos(e), at(text, "[", 0));
}

#[test]
fn the_group_defined_twice_is_an_error() {
    let text = "\
etcd:
  hosts: { 10.10.10.10: { etcd_seq: 1 } }
all:
  children:
    etcd:
      hosts: { 10.10.10.11: { etcd_seq: 2 } }
";
    let d = errs(text);
    let e = find(&d, "the etcd group is defined twice");
    assert_eq!(pos(e), (5, 5));
    assert!(e.message.contains("line 1"), "{e}");
}

#[test]
fn keys_beside_hosts_and_vars_are_warned_where_ansible_ignores_them() {
    let text = "\
etcd:
  etcd_cluster: meta
  hosts: { 10.10.10.10: { etcd_seq: 1 } }
  children: { etcd-extra: { hosts: { 10.10.10.11: {} } } }
  comment: three members
";
    let inv = ok(text);
    let w: Vec<Diagnostic> = inv.warnings().cloned().collect();
    let misplaced = find(&w, "etcd_cluster is set directly on the etcd group");
    assert_eq!(pos(misplaced), (2, 3));
    assert!(misplaced.hint.as_deref().unwrap().contains("under `vars:`"));
    assert_eq!(
        pos(find(&w, "child groups of the etcd group are not read")),
        (4, 3)
    );
    assert_eq!(pos(find(&w, "unexpected key `comment`")), (5, 3));
    // And the misplaced value is not used.
    assert_eq!(inv.cluster(), "etcd");
}

#[test]
fn etcd_keys_in_other_groups_are_warned_and_not_used() {
    let text = "\
all:
  children:
    pg-meta:
      hosts: { 10.10.10.10: { pg_seq: 1, pg_role: primary } }
      vars: { pg_cluster: pg-meta, etcd_port: 2479 }
    etcd:
      hosts: { 10.10.10.10: { etcd_seq: 1 } }
";
    let inv = ok(text);
    let w: Vec<Diagnostic> = inv.warnings().cloned().collect();
    assert_eq!(w.len(), 1, "{}", render(&w));
    assert_eq!(pos(&w[0]), at(text, "etcd_port", 0));
    assert_eq!(
        w[0].message,
        "etcd_port under all.children.pg-meta.vars is not read: etcdeck takes etcd parameters from all.vars, all.children.etcd.vars and all.children.etcd.hosts"
    );
    assert_eq!(inv.hosts[0].params.etcd_port, 2379);
}

// ---- hosts and etcd_seq ----

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
    10.10.10.17:
      etcd_seq: 1.5
  vars: { etcd_cluster: etcd }
";
    let d = errs(text);
    let missing = find(&d, "host 10.10.10.11 has no etcd_seq");
    assert_eq!(pos(missing), (4, 5));
    let not_int = find(
        &d,
        "etcd_seq of 10.10.10.12 must be an integer >= 0, got \"two\"",
    );
    assert_eq!(pos(not_int), (5, 30));
    let negative = find(
        &d,
        "etcd_seq of 10.10.10.13 must be an integer >= 0, got -1",
    );
    assert_eq!(pos(negative), (6, 30));
    let fraction = find(
        &d,
        "etcd_seq of 10.10.10.17 must be an integer >= 0, got 1.5",
    );
    assert_eq!(pos(fraction), (10, 17));
    let not_ip = find(&d, "host key `node-5` is not an IP address");
    assert_eq!(pos(not_ip), (7, 5));
    assert!(not_ip
        .hint
        .as_deref()
        .unwrap()
        .contains("Pigsty keys hosts by IP address"));
    let dup = find(&d, "duplicate etcd_seq 1");
    assert_eq!(pos(dup), (8, 30));
    assert_eq!(
        dup.message,
        "duplicate etcd_seq 1: host 10.10.10.10 on line 3 has it too"
    );
    assert!(dup.hint.as_deref().unwrap().contains("never reused"));
    assert_eq!(errors(&d), 6, "{}", render(&d));
    // Sorted by position, each printed as FILE:LINE:COLUMN.
    assert!(d.windows(2).all(|w| pos(&w[0]) <= pos(&w[1])));
    assert!(render(&d)
        .contains("pigsty.yml:7:5: error: host key `node-5` is not an IP address\n  hint: "));
}

#[test]
fn a_missing_etcd_seq_on_a_block_host_and_its_likely_typo() {
    let text = "\
etcd:
  hosts:
    10.10.10.10:
      ectd_seq: 1
    10.10.10.11:
";
    let d = errs(text);
    let e = find(&d, "host 10.10.10.10 has no etcd_seq");
    assert_eq!(pos(e), (3, 5));
    assert_eq!(
        e.hint.as_deref(),
        Some("`ectd_seq` looks like a misspelt etcd_seq")
    );
    let typo = find(&d, "`ectd_seq` is not an etcd parameter");
    assert_eq!((typo.severity, pos(typo)), (Severity::Warning, (4, 7)));
    // A host with no variables at all.
    assert_eq!(pos(find(&d, "host 10.10.10.11 has no etcd_seq")), (5, 5));
}

#[test]
fn a_quoted_etcd_seq_says_to_drop_the_quotes() {
    let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: \"1\" }\n";
    let e = &errs(text)[0];
    assert_eq!(pos(e), (3, 30));
    assert_eq!(
        e.hint.as_deref(),
        Some("write the number without quotes: etcd_seq: 1")
    );
}

#[test]
fn etcd_seq_for_a_whole_group_is_an_error() {
    let text = "etcd:\n  hosts: { 10.10.10.10: { etcd_seq: 1 } }\n  vars:\n    etcd_seq: 1\n";
    let d = errs(text);
    let e = find(&d, "it belongs to each host");
    assert_eq!(pos(e), (4, 5));
}

#[test]
fn the_same_address_written_two_ways_is_one_host() {
    let text = "etcd:\n  hosts:\n    \"fd00::1\": { etcd_seq: 1 }\n    \"fd00:0::1\": { etcd_seq: 2 }\n    \"fd00::3\": { etcd_seq: 3 }\n";
    let d = errs(text);
    let e = find(&d, "is the same address as");
    assert_eq!(pos(e), (4, 5));
    assert_eq!(
        e.message,
        "host fd00:0::1 is the same address as fd00::1 on line 3"
    );
}

#[test]
fn a_host_whose_variables_are_not_a_mapping() {
    let text = "etcd:\n  hosts:\n    10.10.10.10: 1\n";
    let d = errs(text);
    let e = find(&d, "expected a mapping of variables");
    assert_eq!(pos(e), (3, 18));
    assert_eq!(
        e.message,
        "host 10.10.10.10: expected a mapping of variables, got 1"
    );
}

// ---- parameter values ----

#[test]
fn parameter_values_are_checked_where_they_are_written() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1, etcd_port: 70000 }
    10.10.10.11: { etcd_seq: 2, etcd_peer_port: http }
    10.10.10.12: { etcd_seq: 3, etcd_port: 0 }
  vars:
    etcd_init: fresh
    etcd_safeguard: maybe
    etcd_clean: 1
    etcd_data: data/etcd
    etcd_cluster: my etcd
    etcd_learner: [true]
";
    let d = errs(text);
    let p = find(
        &d,
        "etcd_port must be a port number from 1 to 65535, got 70000",
    );
    assert_eq!(pos(p), (3, 44));
    let p = find(
        &d,
        "etcd_peer_port must be a port number from 1 to 65535, got \"http\"",
    );
    assert_eq!(pos(p), (4, 49));
    let p = find(&d, "etcd_port must be a port number from 1 to 65535, got 0");
    assert_eq!(pos(p), (5, 44));
    let init = find(&d, "etcd_init must be `new` or `existing`, got \"fresh\"");
    assert_eq!(pos(init), (7, 16));
    assert!(init.hint.as_deref().unwrap().contains("existing joins"));
    assert_eq!(
        pos(find(
            &d,
            "etcd_safeguard must be true or false, got \"maybe\""
        )),
        (8, 21)
    );
    assert_eq!(
        pos(find(&d, "etcd_clean must be true or false, got 1")),
        (9, 17)
    );
    assert_eq!(
        pos(find(&d, "etcd_data must be an absolute path")),
        (10, 16)
    );
    assert_eq!(pos(find(&d, "etcd_cluster must be a name")), (11, 19));
    assert_eq!(
        pos(find(&d, "etcd_learner must be true or false, got a list")),
        (12, 19)
    );
    // Group-level errors are reported once, not once per host.
    assert_eq!(errors(&d), 9, "{}", render(&d));
}

#[test]
fn a_port_clash_set_for_the_group_is_reported_once_at_the_value() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }
    10.10.10.11: { etcd_seq: 2 }
    10.10.10.12: { etcd_seq: 3 }
  vars:
    etcd_port: 2380
";
    let d = errs(text);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(d[0].message, "etcd_port and etcd_peer_port are both 2380");
    assert_eq!(pos(&d[0]), (7, 16));
}

#[test]
fn a_port_clash_on_one_host_names_the_host() {
    let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1, etcd_peer_port: 2379 }\n";
    let d = errs(text);
    let e = find(&d, "etcd_port and etcd_peer_port are both 2379");
    assert_eq!(
        e.message,
        "host 10.10.10.10: etcd_port and etcd_peer_port are both 2379"
    );
    assert_eq!(pos(e), (3, 49));
}

#[test]
fn election_timeout_must_be_five_heartbeats_and_at_most_50s() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }
    10.10.10.11: { etcd_seq: 2 }
    10.10.10.12: { etcd_seq: 3 }
  vars:
    etcd_election_timeout: 300
    etcd_heartbeat_interval: 100
";
    let d = errs(text);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(
        d[0].message,
        "etcd_election_timeout 300 is less than 5 x etcd_heartbeat_interval 100; etcd refuses to start"
    );
    assert_eq!(pos(&d[0]), (7, 28));

    // Exactly 5 heartbeats is accepted.
    ok(&text.replace("300", "500"));

    // A host's own heartbeat makes it that host's problem, at its value.
    let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1, etcd_heartbeat_interval: 250 }\n";
    let e = &errs(text)[0];
    assert!(
        e.message
            .starts_with("host 10.10.10.10: etcd_election_timeout 1000"),
        "{e}"
    );
    assert_eq!(pos(e), (3, 58));

    let text = "\
etcd:
  hosts: { 10.10.10.10: { etcd_seq: 1 } }
  vars:
    etcd_election_timeout: 60000
    etcd_heartbeat_interval: 0
";
    let d = errs(text);
    assert_eq!(
        pos(find(
            &d,
            "etcd_election_timeout must be at most 50000 milliseconds"
        )),
        (4, 28)
    );
    assert_eq!(
        pos(find(
            &d,
            "etcd_heartbeat_interval must be a positive number of milliseconds, got 0"
        )),
        (5, 30)
    );
    // The two bad values are not compared with each other.
    assert_eq!(d.len(), 2, "{}", render(&d));

    let d = errs(
        "etcd:\n  hosts: { 10.10.10.10: { etcd_seq: 1 } }\n  vars: { etcd_election_timeout: 1s }\n",
    );
    assert!(d[0].message.contains("got \"1s\""), "{}", d[0]);
}

#[test]
fn different_cluster_names_blame_the_odd_host_out() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1, etcd_cluster: other }
    10.10.10.11: { etcd_seq: 2 }
    10.10.10.12: { etcd_seq: 3 }
";
    let d = errs(text);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(
        d[0].message,
        "host 10.10.10.10 is in etcd_cluster `other` but 10.10.10.11 (line 4) is in `etcd`"
    );
    assert_eq!(pos(&d[0]), (3, 47));

    // The odd one out by default: blamed at its host key.
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1, etcd_cluster: meta }
    10.10.10.11: { etcd_seq: 2, etcd_cluster: meta }
    10.10.10.12: { etcd_seq: 3 }
";
    let d = errs(text);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert!(d[0]
        .message
        .starts_with("host 10.10.10.12 is in etcd_cluster `etcd`"));
    assert_eq!(pos(&d[0]), (5, 5));
}

#[test]
fn an_invalid_cluster_name_is_not_also_a_mismatch() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1, etcd_cluster: \"bad name\" }
    10.10.10.11: { etcd_seq: 2 }
    10.10.10.12: { etcd_seq: 3 }
  vars: { etcd_cluster: meta }
";
    let d = errs(text);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert!(d[0].message.starts_with("etcd_cluster must be a name"));
}

#[test]
fn ansible_booleans_and_pigsty_4_parameters() {
    let text = "\
etcd:
  hosts: { 10.10.10.10: { etcd_seq: 0 } }
  vars:
    etcd_safeguard: yes
    etcd_clean: off
    etcd_learner: true
    etcd_root_password: Etcd.Root
    etcd_init: existing
";
    let h = &ok(text).hosts[0];
    assert!(h.params.etcd_safeguard);
    assert!(!h.params.etcd_clean);
    assert!(h.params.etcd_learner);
    assert_eq!(h.params.etcd_root_password.as_deref(), Some("Etcd.Root"));
    assert_eq!(h.params.etcd_init, EtcdInit::Existing);
    assert_eq!(h.name(), "etcd-0");
}

#[test]
fn a_vault_encrypted_password_is_a_warning_and_counts_as_unset() {
    let text = "\
etcd:
  hosts: { 10.10.10.10: { etcd_seq: 1 } }
  vars:
    etcd_root_password: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      6162
";
    let inv = ok(text);
    let w: Vec<Diagnostic> = inv.warnings().cloned().collect();
    assert_eq!(pos(find(&w, "encrypted with Ansible Vault")), (4, 5));
    assert_eq!(inv.hosts[0].params.etcd_root_password, None);
}

// ---- unknown keys and member counts ----

#[test]
fn unknown_etcd_keys_are_warnings_with_the_likely_key() {
    let text = "\
all:
  vars:
    pg_version: 17
    node_tune: oltp
    etcd_api: v3
  children:
    etcd:
      hosts:
        10.10.10.10: { etcd_seq: 1, etcd_lerner: true }
      vars:
        etcd_peerport: 2381
";
    let inv = ok(text);
    let w: Vec<Diagnostic> = inv.warnings().cloned().collect();
    assert_eq!(w.len(), 3, "{}", render(&w));
    let typo = find(&w, "unknown parameter etcd_lerner is ignored");
    assert_eq!(pos(typo), (9, 37));
    assert_eq!(typo.hint.as_deref(), Some("did you mean etcd_learner?"));
    let typo = find(&w, "unknown parameter etcd_peerport is ignored");
    assert_eq!(pos(typo), (11, 9));
    assert_eq!(typo.hint.as_deref(), Some("did you mean etcd_peer_port?"));
    let far = find(&w, "unknown parameter etcd_api is ignored");
    assert_eq!((pos(far), far.hint.as_deref()), ((5, 5), None));
    // pg_* and node_* are other modules' business: nothing said.
    assert!(!render(&w).contains("pg_version") && !render(&w).contains("node_tune"));
    assert!(!inv.hosts[0].params.etcd_learner);
    assert_eq!(inv.hosts[0].params.etcd_peer_port, 2380);
}

#[test]
fn an_even_member_count_is_a_warning_at_hosts() {
    for n in 1..=5usize {
        let hosts: String = (1..=n)
            .map(|i| format!("    10.10.10.{i}: {{ etcd_seq: {i} }}\n"))
            .collect();
        let text = format!("etcd:\n  hosts:\n{hosts}");
        let inv = ok(&text);
        let w: Vec<&Diagnostic> = inv.warnings().collect();
        if n % 2 == 0 {
            assert_eq!(w.len(), 1, "{n} members");
            assert_eq!(
                w[0].message,
                format!(
                    "{n} members tolerate no more failures than {}; use an odd number",
                    n - 1
                )
            );
            assert_eq!(pos(w[0]), (2, 3));
        } else {
            assert!(w.is_empty(), "{n} members: {}", w[0]);
        }
    }
}

#[test]
fn err_carries_the_warnings_too() {
    let text =
        "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1, etcd_prot: 1 }\n    10.10.10.11: {}\n";
    let d = errs(text);
    assert_eq!(errors(&d), 1);
    assert_eq!(
        d.iter().filter(|d| d.severity == Severity::Warning).count(),
        2,
        "{}",
        render(&d)
    );
    assert!(render(&d).contains("pigsty.yml:2:3: warning: 2 members tolerate"));
}

// ---- -e extra vars ----

#[test]
fn extra_vars_beat_everything_and_are_read_as_yaml_scalars() {
    let text = "\
all:
  vars: { etcd_port: 2479 }
  children:
    etcd:
      hosts:
        10.10.10.10: { etcd_seq: 1, etcd_port: 2579, etcd_init: new }
        10.10.10.11: { etcd_seq: 2 }
        10.10.10.12: { etcd_seq: 3 }
";
    let inv = ok_with(
        text,
        &[
            ("etcd_port", "2679"),
            ("etcd_init", "existing"),
            ("etcd_safeguard", "true"),
            ("etcd_root_password", "yes"),
            ("pg_cluster", "pg-meta"),
        ],
    );
    assert!(inv.diagnostics.is_empty(), "{}", render(&inv.diagnostics));
    for h in &inv.hosts {
        assert_eq!(
            (h.params.etcd_port, h.origins["etcd_port"]),
            (2679, Origin::Extra)
        );
        assert_eq!(
            (h.params.etcd_init, h.origins["etcd_init"]),
            (EtcdInit::Existing, Origin::Extra)
        );
        assert!(h.params.etcd_safeguard);
        // A text parameter keeps the text: this password is `yes`, not a boolean.
        assert_eq!(h.params.etcd_root_password.as_deref(), Some("yes"));
        assert_eq!(h.origins["etcd_peer_port"], Origin::Default);
    }
}

#[test]
fn bad_extra_vars_are_errors_shown_as_dash_e() {
    let d = errs_with(EXAMPLE, &[("etcd_port", "abc"), ("etcd_init", "")]);
    assert_eq!(d.len(), 2, "{}", render(&d));
    let e = find(&d, "etcd_port must be");
    assert_eq!((e.file.as_str(), e.line, e.column), ("-e", 0, 0));
    assert_eq!(
        e.to_string().lines().next().unwrap(),
        "-e: error: etcd_port must be a port number from 1 to 65535, got \"abc\" (from -e etcd_port=abc)"
    );
    assert!(find(&d, "etcd_init must be `new` or `existing`, got \"\"").file == "-e");
}

#[test]
fn an_extra_var_that_breaks_a_rule_is_blamed_on_dash_e() {
    let d = errs_with(EXAMPLE, &[("etcd_heartbeat_interval", "500")]);
    assert_eq!(d.len(), 1, "{}", render(&d));
    assert_eq!(d[0].file, "-e");
    assert_eq!(
        d[0].message,
        "etcd_election_timeout 1000 is less than 5 x etcd_heartbeat_interval 500; etcd refuses to start (after -e etcd_heartbeat_interval=500)"
    );
}

#[test]
fn unknown_and_per_host_extra_vars_are_warnings() {
    let inv = ok_with(
        EXAMPLE,
        &[
            ("etcd_sequence", "4"),
            ("etcd_seq", "4"),
            ("etcd_lerner", "true"),
        ],
    );
    let w: Vec<Diagnostic> = inv.warnings().cloned().collect();
    assert_eq!(w.len(), 3, "{}", render(&w));
    assert!(w.iter().all(|d| d.file == "-e" && d.line == 0));
    assert_eq!(
        find(&w, "etcd_lerner").hint.as_deref(),
        Some("did you mean etcd_learner?")
    );
    assert!(find(&w, "-e etcd_seq=4 is ignored")
        .message
        .contains("per host"));
    assert_eq!(inv.hosts[0].seq, 1);
}

#[test]
fn parse_extra_var_splits_at_the_first_equals_sign() {
    assert_eq!(
        parse_extra_var("etcd_init=existing"),
        Ok(("etcd_init".into(), "existing".into()))
    );
    assert_eq!(
        parse_extra_var("etcd_root_password=a=b"),
        Ok(("etcd_root_password".into(), "a=b".into()))
    );
    assert_eq!(
        parse_extra_var("etcd_data="),
        Ok(("etcd_data".into(), String::new()))
    );
    for bad in ["etcd_init", "=new", ""] {
        let e = parse_extra_var(bad).unwrap_err();
        assert!(e.contains("KEY=VALUE"), "{bad:?}: {e}");
    }
}

// ---- output ----

#[test]
fn diagnostics_print_as_file_line_column_with_the_hint_below() {
    let d = Diagnostic {
        severity: Severity::Warning,
        file: "pigsty.yml".into(),
        line: 3,
        column: 7,
        message: "something".into(),
        hint: Some("do this".into()),
    };
    assert_eq!(
        d.to_string(),
        "pigsty.yml:3:7: warning: something\n  hint: do this"
    );
    let d = Diagnostic {
        severity: Severity::Error,
        hint: None,
        ..d
    };
    assert_eq!(d.to_string(), "pigsty.yml:3:7: error: something");
    let names: Vec<String> = [
        Origin::Default,
        Origin::All,
        Origin::Group,
        Origin::Host,
        Origin::Extra,
    ]
    .iter()
    .map(Origin::to_string)
    .collect();
    assert_eq!(names, ["default", "all.vars", "etcd.vars", "host", "-e"]);
    assert_eq!(
        (EtcdInit::New.to_string(), EtcdInit::Existing.to_string()),
        ("new".into(), "existing".into())
    );
}

#[test]
fn json_uses_lowercase_words_and_never_the_password() {
    let text = "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1, etcd_root_password: S3cret.Root }\n    10.10.10.11: { etcd_seq: 2 }\n";
    let inv = ok(text);
    let json = serde_json::to_value(&inv).unwrap();
    assert!(!json.to_string().contains("S3cret"), "{json}");
    let h = &json["hosts"];
    assert_eq!(h[0]["params"]["etcd_root_password"], "***");
    assert_eq!(
        h[1]["params"]["etcd_root_password"],
        serde_json::Value::Null
    );
    assert_eq!(h[0]["origins"]["etcd_root_password"], "host");
    assert_eq!(h[0]["origins"]["etcd_port"], "default");
    assert_eq!(h[0]["params"]["etcd_init"], "new");
    assert_eq!(h[0]["name"], "etcd-1");
    assert_eq!(h[0]["client_url"], "https://10.10.10.10:2379");
    assert_eq!(json["diagnostics"][0]["severity"], "warning");
    assert_eq!(json["diagnostics"][0]["line"], 2);
}

#[test]
fn show_text_lists_members_values_and_origins() {
    let text = "\
etcd:
  hosts:
    10.10.10.10: { etcd_seq: 1 }
    10.10.10.11: { etcd_seq: 2, etcd_port: 2479, etcd_root_password: S3cret }
  vars: { etcd_cluster: etcd, etcd_root_password: Other }
";
    let shown = show_text(&ok(text));
    let rows: Vec<Vec<&str>> = shown
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let has = |row: &[&str]| rows.iter().any(|r| r == row);
    assert!(
        has(&[
            "1",
            "10.10.10.10",
            "etcd-1",
            "https://10.10.10.10:2379",
            "https://10.10.10.10:2380"
        ]),
        "{shown}"
    );
    assert!(
        has(&[
            "2",
            "10.10.10.11",
            "etcd-2",
            "https://10.10.10.11:2479",
            "https://10.10.10.11:2380"
        ]),
        "{shown}"
    );
    assert!(has(&["etcd_cluster", "etcd", "etcd.vars"]), "{shown}");
    assert!(has(&["etcd_port", "2379", "default"]), "{shown}");
    assert!(has(&["on", "etcd-2", "2479", "host"]), "{shown}");
    assert!(has(&["etcd_root_password", "***", "etcd.vars"]), "{shown}");
    assert!(has(&["on", "etcd-2", "***", "host"]), "{shown}");
    assert!(has(&["etcd_learner", "false", "default"]), "{shown}");
    assert!(
        !shown.contains("S3cret") && !shown.contains("Other"),
        "{shown}"
    );
    // The warning comes last.
    let last = shown
        .trim_end()
        .lines()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        last.contains("pigsty.yml:2:3: warning: 2 members tolerate"),
        "{shown}"
    );
    // Columns line up: every member row starts its NAME at the same place.
    let name_cols: Vec<usize> = shown
        .lines()
        .filter(|l| l.contains("https://"))
        .map(|l| l.find("etcd-").unwrap())
        .collect();
    assert!(name_cols.windows(2).all(|w| w[0] == w[1]), "{shown}");
}

// ---- finding the file ----

#[test]
fn resolve_path_order_flag_env_here_home() {
    let dir = tempfile::TempDir::new().unwrap();
    let here = dir.path().join("pigsty.yml");
    let home = dir.path().join("home");
    let in_home = home.join("pigsty").join("pigsty.yml");
    let flag = Path::new("/elsewhere/flag.yml");

    // Nothing anywhere: the error lists what was tried and how to name one.
    let e = resolve_from(None, None, &here, Some(&home)).unwrap_err();
    assert!(
        e.contains("-i (not given)") && e.contains("$ETCDECK_INVENTORY (not set)"),
        "{e}"
    );
    assert!(
        e.contains(&here.display().to_string()) && e.contains(&in_home.display().to_string()),
        "{e}"
    );
    assert!(
        e.contains("Pass one with -i FILE or set ETCDECK_INVENTORY=FILE"),
        "{e}"
    );

    std::fs::create_dir_all(in_home.parent().unwrap()).unwrap();
    std::fs::write(&in_home, EXAMPLE).unwrap();
    assert_eq!(
        resolve_from(None, None, &here, Some(&home)),
        Ok(in_home.clone())
    );
    std::fs::write(&here, EXAMPLE).unwrap();
    assert_eq!(
        resolve_from(None, None, &here, Some(&home)),
        Ok(here.clone())
    );
    // An empty variable counts as unset.
    assert_eq!(
        resolve_from(None, Some("".into()), &here, Some(&home)),
        Ok(here.clone())
    );
    assert_eq!(
        resolve_from(None, Some("/env/inv.yml".into()), &here, Some(&home)),
        Ok(PathBuf::from("/env/inv.yml"))
    );
    assert_eq!(
        resolve_from(Some(flag), Some("/env/inv.yml".into()), &here, Some(&home)),
        Ok(flag.to_path_buf())
    );
}

#[test]
fn load_reads_a_file_and_says_why_it_cannot() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("pigsty.yml");
    std::fs::write(&file, THREE).unwrap();
    let inv = load(&file, &[]).unwrap();
    assert_eq!(inv.hosts.len(), 3);
    assert_eq!(inv.file, file.display().to_string());

    let missing = dir.path().join("nope.yml");
    let d = load(&missing, &[]).unwrap_err();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].file.clone(), pos(&d[0])),
        (missing.display().to_string(), (1, 1))
    );
    assert!(
        d[0].message.starts_with("cannot read the inventory: "),
        "{}",
        d[0]
    );
    let d = load(dir.path(), &[]).unwrap_err();
    assert!(
        d[0].message.starts_with("cannot read the inventory: "),
        "{}",
        d[0]
    );
}

#[test]
fn devices_fifos_and_files_over_the_limit_are_refused_at_once_naming_the_limit() {
    let started = std::time::Instant::now();
    let d = load(Path::new("/dev/zero"), &[]).unwrap_err();
    assert!(
        d[0].message.contains("not a regular file (a device)"),
        "{}",
        d[0]
    );
    let dir = tempfile::TempDir::new().unwrap();
    let fifo = dir.path().join("fifo.yml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let d = load(&fifo, &[]).unwrap_err();
    assert!(d[0].message.contains("a FIFO"), "{}", d[0]);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));

    // A sparse file just over the limit: refused by its size, nothing read.
    let big = dir.path().join("big.yml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(crate::input::INVENTORY_LIMIT + 1).unwrap();
    let d = load(&big, &[]).unwrap_err();
    assert!(
        d[0].message
            .contains("larger than 64.0 MiB, the limit for an inventory"),
        "{}",
        d[0]
    );
}

#[test]
fn a_byte_that_is_not_utf8_and_a_nul_are_reported_where_they_are() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("latin1.yml");
    std::fs::write(
        &file,
        b"etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1, etcd_data: \"/d\xe9\" }\n",
    )
    .unwrap();
    let d = load(&file, &[]).unwrap_err();
    assert_eq!(pos(&d[0]), (3, 47), "{}", d[0]);
    assert!(d[0].message.contains("0xe9 is not UTF-8"), "{}", d[0]);

    let d = errs("etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1, etcd_data: \"/d\0\" }\n");
    assert_eq!(pos(&d[0]), (3, 47), "{}", d[0]);
    assert!(d[0].message.contains("U+0000"), "{}", d[0]);
    // A C1 control after multi-byte text: the column counts characters.
    let d = errs("etcd:\n  vars: { etcd_data: \"/é\u{85}\u{9b}\" }\n");
    assert_eq!(pos(&d[0]), (2, 26), "{}", d[0]);
}

#[test]
fn deep_nesting_is_refused_at_the_level_past_the_limit_in_linear_time() {
    let started = std::time::Instant::now();
    for text in [
        format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        format!("a: {}1{}\n", "{a: ".repeat(100_000), "}".repeat(100_000)),
        format!("a:\n{}x\n", "- ".repeat(100_000)),
    ] {
        let d = errs(&text);
        assert_eq!(d.len(), 1, "{}", render(&d));
        assert!(
            d[0].message.contains("nested deeper than 128 levels"),
            "{}",
            d[0]
        );
        assert_ne!(pos(&d[0]), (1, 1));
    }
    assert_eq!(
        pos(&errs(&format!("a: {}]\n", "[".repeat(200)))[0]),
        (1, 132)
    );
    // Brackets inside plain text, quotes and comments are not nesting.
    let text = format!(
        "# {}\netcd:\n  hosts:\n    10.10.10.10: {{ etcd_seq: 1, etcd_data: \"/{}\" }}\n  vars: {{ etcd_cluster: a{} }}\n",
        "[".repeat(300),
        "[".repeat(300),
        "[".repeat(300)
    );
    assert!(!errs(&text)[0].message.contains("nested"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn an_alias_bomb_says_what_it_is_at_the_first_alias() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10u8 {
        let (n, p) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        text.push_str(&format!(
            "{n}: &{n} [{}]\n",
            vec![format!("*{p}"); 9].join(", ")
        ));
    }
    let d = errs(&text);
    assert_eq!(pos(&d[0]), (2, 8), "{}", d[0]);
    assert!(d[0].message.contains("aliases"), "{}", d[0]);
    assert!(d[0].message.contains("past the limit"), "{}", d[0]);
    assert!(!d[0].hint.as_deref().unwrap().contains("indentation"));
}

#[test]
fn a_seq_with_leading_zeros_is_not_advised_to_be_written_the_same() {
    for seq in ["010", "\"010\""] {
        let d = errs(&format!(
            "etcd:\n  hosts:\n    10.10.10.10: {{ etcd_seq: {seq} }}\n"
        ));
        let hint = d[0].hint.as_deref().unwrap();
        assert!(hint.contains("etcd_seq: 10 "), "{hint}");
        assert!(!hint.contains("etcd_seq: 010"), "{hint}");
    }
}

#[test]
fn numbers_ansible_reads_otherwise_are_refused_with_both_readings() {
    // 0o7: etcd-7 for YAML 1.2, the text "0o7" for Ansible.
    let d = errs("etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 0o7 }\n");
    assert_eq!((d[0].line, d[0].column), (3, 30), "{d:?}");
    assert!(
        d[0].message
            .contains("read as the text \"0o7\" by Ansible (YAML 1.1) but as 7 by YAML 1.2"),
        "{}",
        d[0].message
    );
    assert!(d[0]
        .hint
        .as_deref()
        .unwrap()
        .contains("etcd_seq: 7 (as YAML 1.2 reads it)"));
    // 010: 8 for Ansible.
    let d = errs("etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 010 }\n");
    assert!(
        d[0].message.contains("read as 8 by Ansible"),
        "{}",
        d[0].message
    );
    let hint = d[0].hint.as_deref().unwrap();
    assert!(
        hint.contains("etcd_seq: 10 (as YAML 1.2") && hint.contains("etcd_seq: 8 (as Ansible"),
        "{hint}"
    );
    // Other parameters too: a port in base 60, a timeout with an underscore.
    let d = errs(
        "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n  vars:\n    etcd_port: 39:39\n    etcd_election_timeout: 1_000\n",
    );
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("etcd_port: 39:39 is read as 2379 by Ansible")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("etcd_election_timeout: 1_000 is read as 1000 by Ansible")),
        "{messages:?}"
    );
    // Quoted, it is text for both: no ambiguity (and the value's own check applies).
    let ok = crate::inventory::parse(
        "etcd:\n  hosts:\n    10.10.10.10: { etcd_seq: 1 }\n  vars: { etcd_cluster: '010' }\n",
        "t.yml",
        &[],
    );
    assert!(ok.is_ok(), "{ok:?}");
}
