//! `docker-compose.yml`: the app and its development services are reachable from this machine
//! only (their credentials are development defaults).

/// The published port mappings of the compose file (the items under each `ports:` key).
fn port_mappings(compose: &str) -> Vec<String> {
    let mut mappings = Vec::new();
    let mut in_ports = false;
    for line in compose.lines() {
        let item = line.trim();
        if item == "ports:" {
            in_ports = true;
        } else if in_ports && item.starts_with("- ") {
            mappings.push(item.trim_start_matches("- ").trim_matches('"').to_owned());
        } else if !item.starts_with('#') {
            in_ports = false;
        }
    }
    mappings
}

#[test]
fn compose_publishes_every_port_on_the_loopback_interface_only() {
    let compose =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
            .expect("docker-compose.yml");
    let mappings = port_mappings(&compose);
    assert!(!mappings.is_empty(), "no published ports found");
    for mapping in mappings {
        assert!(
            mapping.starts_with("127.0.0.1:"),
            "{mapping} publishes on every interface"
        );
    }
}
