//! Cedar peer harness: 1,000 permit policies (one tool per namespace) plus one forbid, the same
//! requests as kars's BM_Peer_Decide. Prints the median of 5 repetitions in ns per decision.
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Instant;

fn uid(s: &str) -> EntityUid {
    EntityUid::from_str(s).expect("entity uid")
}

fn policies(n: usize) -> PolicySet {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "permit(principal, action == Action::\"call\", resource == Tool::\"tool-{}\") when {{ principal.namespace == \"ns-{}\" }};\n",
            i,
            i % 10
        ));
    }
    text.push_str("forbid(principal == Agent::\"mallory\", action, resource);\n");
    PolicySet::from_str(&text).expect("policies")
}

fn agent(name: &str, namespace: &str) -> Entity {
    let mut attrs = HashMap::new();
    attrs.insert(
        "namespace".to_string(),
        RestrictedExpression::new_string(namespace.to_string()),
    );
    Entity::new(uid(&format!("Agent::\"{}\"", name)), attrs, HashSet::new()).expect("entity")
}

/// CPU time of the whole process (all threads), in nanoseconds: on a shared machine wall time
/// also counts time spent descheduled, which says nothing about the engine.
fn cpu_ns() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    (ru.ru_utime.tv_sec as f64 + ru.ru_stime.tv_sec as f64) * 1e9
        + (ru.ru_utime.tv_usec as f64 + ru.ru_stime.tv_usec as f64) * 1e3
}

fn measure(label: &str, f: &dyn Fn() -> bool, expect: bool) {
    assert_eq!(f(), expect, "{} decided wrongly", label);
    // Enough iterations for each repetition to take at least 200 ms.
    let mut iterations: u64 = 1;
    loop {
        let start = Instant::now();
        for _ in 0..iterations {
            std::hint::black_box(f());
        }
        if start.elapsed().as_millis() >= 200 {
            break;
        }
        iterations *= 2;
    }
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let cpu_start = cpu_ns();
        for _ in 0..iterations {
            std::hint::black_box(f());
        }
        cpu.push((cpu_ns() - cpu_start) / iterations as f64);
        wall.push(start.elapsed().as_nanos() as f64 / iterations as f64);
    }
    wall.sort_by(|a, b| a.partial_cmp(b).unwrap());
    cpu.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "cedar {}: median cpu {:.0} ns/decision, wall {:.0} ns (5 repetitions of {} decisions)",
        label, cpu[2], wall[2], iterations
    );
}

fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(1000);
    let set = policies(n);
    let entities = Entities::from_entities(
        vec![agent("alice", "ns-7"), agent("bob", "ns-1")],
        None,
    )
    .expect("entities");
    let authorizer = Authorizer::new();
    let action = uid("Action::\"call\"");
    let allow = Request::new(
        uid("Agent::\"alice\""),
        action.clone(),
        uid("Tool::\"tool-517\""),
        Context::empty(),
        None,
    )
    .expect("request");
    let deny = Request::new(
        uid("Agent::\"bob\""),
        action,
        uid("Tool::\"tool-517\""),
        Context::empty(),
        None,
    )
    .expect("request");
    println!("cedar-policy: {} permit policies + 1 forbid", n);
    measure(
        "allow",
        &|| authorizer.is_authorized(&allow, &set, &entities).decision() == Decision::Allow,
        true,
    );
    measure(
        "deny",
        &|| authorizer.is_authorized(&deny, &set, &entities).decision() == Decision::Allow,
        false,
    );
}
