//! `wolo-bench-token <role> <user-uuid> [ttl-seconds]`: prints an access token signed with
//! `WOLO_JWT_SECRET` (and carrying `WOLO_JWT_AUDIENCE` when set), exactly as the services
//! issue them. For `make bench` and local experiments only; it never talks to the database.

use std::process::ExitCode;

use auth::{Jwt, Role};
use uuid::Uuid;

const USAGE: &str = "usage: wolo-bench-token <wolo_user|wolo_partner|wolo_admin|wolo_anon> <user-uuid> [ttl-seconds]
signs with WOLO_JWT_SECRET (and WOLO_JWT_AUDIENCE when set); prints the token on stdout";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (role, user, ttl) = match args.as_slice() {
        [role, user] => (role, user, "3600"),
        [role, user, ttl] => (role, user, ttl.as_str()),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(role) = Role::parse(role) else {
        eprintln!("wolo-bench-token: unknown role {role:?}\n{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(user) = Uuid::parse_str(user) else {
        eprintln!("wolo-bench-token: not a uuid: {user:?}");
        return ExitCode::from(2);
    };
    let Ok(ttl) = ttl.parse::<i64>() else {
        eprintln!("wolo-bench-token: not a number of seconds: {ttl:?}");
        return ExitCode::from(2);
    };
    let secret = match std::env::var("WOLO_JWT_SECRET") {
        Ok(s) if !s.is_empty() => s,
        _ => {
            eprintln!("wolo-bench-token: missing setting WOLO_JWT_SECRET");
            return ExitCode::FAILURE;
        }
    };
    let audience = std::env::var("WOLO_JWT_AUDIENCE")
        .ok()
        .filter(|a| !a.is_empty());
    println!(
        "{}",
        Jwt::new(secret.as_bytes(), audience).issue(user, role, ttl, None)
    );
    ExitCode::SUCCESS
}
