//! Each service logs in as its own role (issue #13, item 9; V102): `wolo serve` connects
//! service S as `wolo_svc_<S>`, production refuses a superuser or table-owner login with one
//! line naming the service and exit status 2, and `wolo migrate` sets the roles' passwords
//! from `WOLO_DB_PASSWORD_<S>`. The built binary runs as a subprocess.

use std::{collections::BTreeSet, process::Stdio};

use testkit::TestDb;

use crate::production::{free_addr, valid, wait_for, wolo};

#[tokio::test]
async fn production_refuses_a_superuser_login_naming_the_service_with_status_2() {
    let db = TestDb::new().await;
    // The harness's login (a superuser), kept for every service, or given to one.
    let cases: [(&[&str], (&str, String), &str); 3] = [
        (
            &["serve", "pots"],
            ("WOLO_DB_SERVICE_ROLES", "off".into()),
            "pots",
        ),
        (
            &["serve"],
            ("WOLO_DB_SERVICE_ROLES", "off".into()),
            "identity",
        ),
        (&["serve"], ("WOLO_QR_DATABASE_URL", db.url.clone()), "qr"),
    ];
    for (args, (key, value), service) in cases {
        let mut env = valid();
        env.insert("DATABASE_URL", db.url.clone());
        env.insert("WOLO_HTTP_ADDR", free_addr());
        env.insert(key, value);
        let out = wolo(args, &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(out.status.code(), Some(2), "{args:?} {key}: {stderr}");
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(
            lines[0].starts_with(&format!(
                "wolo: the {service} service's database login \"postgres\" is a superuser"
            )),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains(&format!("wolo_svc_{service}")),
            "{}",
            lines[0]
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).trim().is_empty(),
            "nothing started"
        );
    }
}

#[tokio::test]
async fn wolo_serve_connects_every_service_as_its_own_role() {
    let db = TestDb::new().await;
    let addr = free_addr();
    // A production configuration: the service roles pass the login check.
    let mut env = valid();
    env.insert("DATABASE_URL", db.url.clone());
    env.insert("WOLO_HTTP_ADDR", addr.clone());
    let mut child = wolo(&["serve"], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let res = wait_for(&mut child, &format!("http://{addr}/pots/health")).await;
    let res = res.unwrap_or_else(|stderr| panic!("wolo serve stopped: {stderr}"));
    assert_eq!(res.status(), 200);
    let services = [
        "identity",
        "profiles",
        "referral",
        "pots",
        "donations",
        "packs",
        "qr",
        "notifications",
        "analytics",
        "admin",
    ];
    for s in services {
        // /ready reads the database through the service's pool.
        let res = reqwest::get(format!("http://{addr}/{s}/ready"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{s}");
    }
    let logins: Vec<String> = sqlx::query_scalar(
        "select distinct usename::text from pg_stat_activity
          where datname = $1 and application_name = 'wolo'",
    )
    .bind(&db.name)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let logins: BTreeSet<String> = logins.into_iter().collect();
    let expected: BTreeSet<String> = services.iter().map(|s| format!("wolo_svc_{s}")).collect();
    assert!(expected.is_subset(&logins), "{logins:?}");
    assert!(
        logins.iter().all(|l| l.starts_with("wolo_svc_")),
        "every connection of the server is a service role: {logins:?}"
    );
}

#[tokio::test]
async fn wolo_migrate_sets_the_passwords_given_as_scram_verifiers() {
    let db = TestDb::new().await;
    let mut env = std::collections::BTreeMap::new();
    env.insert("DATABASE_URL", db.url.clone());
    env.insert(
        "WOLO_DB_PASSWORD_ANALYTICS",
        "un-mot-de-passe-de-test".to_string(),
    );
    let out = wolo(&["migrate"], &env).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("password of wolo_svc_analytics set"),
        "{stdout}"
    );
    assert!(!stdout.contains("un-mot-de-passe"), "{stdout}");
    let stored: Option<String> = sqlx::query_scalar(
        "select rolpassword from pg_authid where rolname = 'wolo_svc_analytics'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // Roles are cluster-wide: leave none behind (the test server lets the roles in by trust).
    sqlx::query("alter role wolo_svc_analytics password null")
        .execute(&db.pool)
        .await
        .unwrap();
    let stored = stored.expect("a password");
    assert!(stored.starts_with("SCRAM-SHA-256$"), "{stored}");
}
