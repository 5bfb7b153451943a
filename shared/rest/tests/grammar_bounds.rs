//! Property tests of the bounds of the REST grammar: nesting of any depth and shape, and numbers
//! of any size in `limit`, `offset`, `Range` and `Prefer: max-affected`. Whatever the input, the
//! parser answers a value or a 4xx in PostgREST's shape: never a stack overflow (which would
//! abort the process), never a panic, never a wrapped number.
//!
//! Run in release mode too, where integer overflow wraps silently instead of panicking and
//! stack frames are smaller (CI does; it takes a few seconds once built):
//!
//! ```sh
//! cargo test --release -p rest --test grammar_bounds
//! ```

use proptest::prelude::*;
use rest::{
    paging::{parse_range, window},
    prefer::Preferences,
    query::{limits, normalise, parse_query},
};

/// Parses on a thread with a 128 KiB stack: recursion proportional to the input would overflow
/// here long before it could on a server's 2 MiB worker thread.
fn parse_on_small_stack(raw: String) -> Result<(), (u16, String)> {
    std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            parse_query(&raw)
                .map(normalise)
                .map(|_| ())
                .map_err(|e| (e.status.as_u16(), e.code))
        })
        .unwrap()
        .join()
        .expect("the parser panicked")
}

/// One level of nesting, as each recursive rule spells it.
fn opener() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop_oneof![
        Just(("a(", ")")),
        Just(("a!inner(", ")")),
        Just(("al:a!fk(", ")")),
        Just(("\"a\"(", ")")),
        Just(("or(", ")")),
        Just(("and(", ")")),
        Just(("not.or(", ")")),
        Just(("(", ")")),
        Just(("\"(", "\")")),
        Just(("{", "}")),
    ]
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just(i64::MAX.to_string()),
        Just(i64::MIN.to_string()),
        Just(format!("{}0", i64::MAX)),
        "[0-9]{1,40}",
        "-[0-9]{1,40}",
        (0i64..1000).prop_map(|n| n.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Deep nesting of every shape, in `select`, in logic trees, in filters and in keys: a
    /// value (when within the limit) or a 400 PGRST100, on a small stack.
    #[test]
    fn deep_nesting_is_refused_before_any_recursion(
        levels in proptest::collection::vec(opener(), 0..4000),
        leaf in prop_oneof![Just("x"), Just("a.eq.1"), Just("a.in.(1,2)"), Just("data->a->>b"), Just("")],
        param in prop_oneof![Just("select="), Just("or=("), Just("and=("), Just("not.or=("), Just("a.b.or=("), Just("x=eq."), Just("order=")],
        balanced in any::<bool>(),
    ) {
        let mut raw = String::from(param);
        for (open, _) in &levels {
            raw.push_str(open);
        }
        raw.push_str(leaf);
        if balanced {
            for (_, close) in levels.iter().rev() {
                raw.push_str(close);
            }
        }
        if param.ends_with('(') {
            raw.push(')');
        }
        let raw: String = form_urlencoded::byte_serialize(raw.as_bytes())
            .collect::<String>()
            .replacen("%3D", "=", 1);
        let result = parse_on_small_stack(raw.clone());
        if let Err((status, code)) = &result {
            // `a.b.or` names an embed this select does not have: PGRST108 once it parses.
            let parsed = param.starts_with("a.b.") && code == "PGRST108";
            prop_assert!(*status == 400 && (code == "PGRST100" || parsed), "{} -> {} {}", raw, status, code);
        }
    }

    /// Plain nesting of embeds or groups: accepted up to the limit, a 400 beyond, at any depth.
    #[test]
    fn nesting_is_accepted_up_to_the_limit_only(depth in prop_oneof![0usize..12, 0usize..50_000], logic in any::<bool>()) {
        let raw = if logic {
            // The parameter's own group is the first level.
            format!("or=({}a.eq.1{})", "and(".repeat(depth), ")".repeat(depth + 1))
        } else {
            format!("select={}x{}", "a(".repeat(depth), ")".repeat(depth))
        };
        let levels = if logic { depth + 1 } else { depth };
        let result = parse_on_small_stack(raw);
        if levels <= limits::NESTING {
            prop_assert!(result.is_ok(), "{levels} levels: {result:?}");
        } else {
            prop_assert_eq!(result, Err((400, "PGRST100".to_string())));
        }
    }

    /// `limit`, `offset` and `Range` of any size: the window is what the intersection means,
    /// computed without overflow, or a 416.
    #[test]
    fn paging_numbers_never_overflow(
        limit in proptest::option::of(number_text()),
        offset in proptest::option::of(number_text()),
        first in number_text(),
        last in proptest::option::of(number_text()),
        with_range in any::<bool>(),
    ) {
        let mut q = vec![];
        if let Some(l) = &limit { q.push(format!("limit={l}")); }
        if let Some(o) = &offset { q.push(format!("offset={o}")); }
        let params = match parse_query(&q.join("&")) {
            Ok(p) => p,
            Err(e) => {
                // Only a number beyond 64 bits fails to parse.
                prop_assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "PGRST100"));
                return Ok(());
            }
        };
        let top = params.at(&[]);
        let header = format!("items={first}-{}", last.clone().unwrap_or_default());
        let range = match parse_range(with_range.then_some(header.as_str())) {
            Ok(r) => r,
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 416);
                return Ok(());
            }
        };
        match window(top.limit, top.offset, range) {
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 416);
                prop_assert!(top.limit.unwrap() < 0);
            }
            Ok((off, lim)) => {
                // The same intersection in 128 bits, clamped to what an i64 can say.
                let q_off = i128::from(top.offset.unwrap_or(0).max(0));
                let mut start = q_off;
                let mut end: Option<i128> = top.limit.map(|l| q_off + i128::from(l));
                if let Some((a, e)) = range {
                    start = start.max(i128::from(a));
                    if let Some(e) = e {
                        end = Some(end.map_or(i128::from(e), |x| x.min(i128::from(e))));
                    }
                }
                prop_assert!(off >= 0);
                prop_assert_eq!(i128::from(off), start);
                match (lim, end) {
                    (None, None) => {}
                    (Some(l), Some(e)) => {
                        prop_assert!(l >= 0);
                        let want = (e.min(i128::from(i64::MAX)) - start).max(0);
                        prop_assert_eq!(i128::from(l), want);
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }
    }

    /// `Prefer: max-affected=<n>`: a count from 0 to i64::MAX, or not a preference (refused
    /// under handling=strict).
    #[test]
    fn max_affected_is_a_non_negative_count(n in number_text(), strict in any::<bool>()) {
        let header = format!("max-affected={n}{}", if strict { ", handling=strict" } else { "" });
        match Preferences::parse([header.as_str()].into_iter()) {
            Ok(p) => {
                let want = n.parse::<i64>().ok().filter(|v| *v >= 0);
                prop_assert_eq!(p.max_affected, want);
                prop_assert!(!strict || want.is_some());
            }
            Err(e) => {
                prop_assert!(strict);
                prop_assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "PGRST122"));
            }
        }
    }
}
