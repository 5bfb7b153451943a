//! Beyond one machine (issue #19), on loopback, with the engines operators run: a primary
//! with a synchronous streaming standby (made by `pg_basebackup`) and PgBouncer in
//! transaction pooling mode. `scripts/cluster-test.sh` (`make cluster-test`) starts them and
//! runs these tests with `--ignored` (a plain `cargo test` has no cluster to run them on),
//! one at a time in name order: the failover test promotes the standby, so it comes last.

#[allow(dead_code)]
#[path = "../outbox/storm_kit.rs"]
mod storm_kit;
#[path = "../walk/runner.rs"]
mod walk;

use std::{
    collections::HashSet,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::TestDb;
use tokio::{
    io::copy_bidirectional,
    net::{TcpListener, TcpStream},
};
use uuid::Uuid;

use storm_kit::{check_applied_once, deliver, free_port, prepare, storm, wait_ready, SECRET};

const WOLO: &str = env!("CARGO_BIN_EXE_wolo");
const JWT_SECRET: &str = testkit::TEST_JWT_SECRET;
const MOUSSA: &str = "00000000-0000-4000-a000-010100000002";
const MOUSSAS_POT: &str = "00000000-0000-4000-a000-040100000002";

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is unset: run scripts/cluster-test.sh (make cluster-test)")
    })
}

/// `server` (a URL of the cluster) with database `db`.
fn on(server: &str, db: &str) -> String {
    testkit::with_database(server, db)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `wolo serve` on a free port with `envs` on top of the test settings; its base URL.
async fn serve(envs: &[(&str, String)]) -> (Server, String) {
    let port = free_port();
    let child = Command::new(WOLO)
        .arg("serve")
        .env_remove("RUST_LOG_FORMAT")
        // WOLO_CLUSTER_LOG=info shows the standby watcher's and the gate's decisions.
        .env(
            "RUST_LOG",
            std::env::var("WOLO_CLUSTER_LOG").unwrap_or_else(|_| "error".into()),
        )
        .env("WOLO_JWT_SECRET", JWT_SECRET)
        .env("WOLO_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("WOLO_FAKE_WAVE_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("WOLO_WAVE_WEBHOOK_SECRET", SECRET)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_ready(&reqwest::Client::new(), &format!("127.0.0.1:{port}")).await;
    (server, format!("http://127.0.0.1:{port}"))
}

fn seed(db_url: &str) {
    let out = Command::new(WOLO)
        .arg("seed")
        .env("DATABASE_URL", db_url)
        .env("WOLO_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn reads_go_to(http: &reqwest::Client, base: &str) -> Option<String> {
    let body: Value = http
        .get(format!("{base}/pots/ready"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["reads"].as_str().map(str::to_owned)
}

async fn wait_reads_on(http: &reqwest::Client, base: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while reads_go_to(http, base).await.as_deref() != Some(want) {
        assert!(Instant::now() < deadline, "reads never went to the {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The pots service's sessions in database `db` of the server at `url`.
async fn pots_sessions(url: &str, db: &str) -> i64 {
    let pool = PgPool::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where usename = 'wolo_svc_pots' and datname = $1",
    )
    .bind(db)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n
}

async fn pot_title(http: &reqwest::Client, base: &str, token: &str) -> String {
    let res = http
        .get(format!("{base}/pots/pots?id=eq.{MOUSSAS_POT}&select=title"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rows: Value = res.json().await.unwrap();
    rows[0]["title"].as_str().unwrap().to_string()
}

/// Item 2: read-only requests go to the standby while it is caught up; a caller who just
/// wrote reads the primary (read-your-writes); a standby that falls behind serves nothing.
#[tokio::test]
#[ignore = "needs the cluster of scripts/cluster-test.sh"]
async fn a_reads_go_to_the_standby_and_a_writer_reads_what_they_wrote() {
    let db = TestDb::new().await;
    seed(&db.url);
    let standby = on(&setting("WOLO_CLUSTER_STANDBY_URL"), &db.name);
    let (_server, base) = serve(&[
        ("DATABASE_URL", db.url.clone()),
        ("WOLO_DATABASE_READ_URL", standby.clone()),
    ])
    .await;
    let http = reqwest::Client::new();
    wait_reads_on(&http, &base, "standby").await;

    // Reads of Moussa's pot: the pots service's read pool (opened on first use) logs in on
    // the standby to serve them.
    let token = testkit::token(auth::Role::User, Uuid::parse_str(MOUSSA).unwrap());
    assert_eq!(pots_sessions(&standby, &db.name).await, 0);
    for _ in 0..50 {
        assert_eq!(
            pot_title(&http, &base, &token).await,
            "L'anniversaire de Moussa"
        );
    }
    assert!(
        pots_sessions(&standby, &db.name).await > 0,
        "no read reached the standby"
    );

    // Replay paused: the standby keeps the old title. Moussa renames his pot and reads it
    // back at once, before the watcher can notice the standby is behind: he reads the
    // primary, so he sees his own write.
    let standby_pool = PgPool::connect(&standby).await.unwrap();
    sqlx::query("select pg_wal_replay_pause()")
        .execute(&standby_pool)
        .await
        .unwrap();
    let res = http
        .patch(format!("{base}/pots/pots?id=eq.{MOUSSAS_POT}"))
        .bearer_auth(&token)
        .json(&json!({"title": "L'anniversaire de Moussa, la fête"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    assert_eq!(
        pot_title(&http, &base, &token).await,
        "L'anniversaire de Moussa, la fête"
    );
    let on_standby: String = sqlx::query_scalar("select title from pots.pots where id = $1::uuid")
        .bind(MOUSSAS_POT)
        .fetch_one(&standby_pool)
        .await
        .unwrap();
    assert_eq!(
        on_standby, "L'anniversaire de Moussa",
        "the standby's replay was paused"
    );

    // The watcher sees the standby behind: every caller reads the primary, /ready says so.
    wait_reads_on(&http, &base, "primary").await;
    let admin = testkit::token(auth::Role::Admin, Uuid::new_v4());
    assert_eq!(
        pot_title(&http, &base, &admin).await,
        "L'anniversaire de Moussa, la fête"
    );

    // Replay resumed: the standby catches up and serves again, with the new title.
    sqlx::query("select pg_wal_replay_resume()")
        .execute(&standby_pool)
        .await
        .unwrap();
    wait_reads_on(&http, &base, "standby").await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // past Moussa's window
    assert_eq!(
        pot_title(&http, &base, &token).await,
        "L'anniversaire de Moussa, la fête"
    );
    standby_pool.close().await;
}

/// Item 3: the whole README walk (sign-in by SMS code, a pot, a Wave payment and its
/// webhook, the consumers, the QR code and its redemption) through PgBouncer in transaction
/// pooling mode; and the per-request role and settings end with their transaction.
#[tokio::test]
#[ignore = "needs the cluster of scripts/cluster-test.sh"]
async fn b_the_suite_works_through_pgbouncer_in_transaction_mode() {
    let db = TestDb::new().await;
    seed(&db.url);
    let pooled = on(&setting("WOLO_CLUSTER_POOLER_URL"), &db.name);
    let (_server, base) = serve(&[
        ("DATABASE_URL", pooled.clone()),
        ("WOLO_DB_POOLER", "transaction".into()),
    ])
    .await;
    walk::run(&base, &db.url).await;

    // Through the same pooler, as the pots service: a server connection the requests used
    // carries no caller's role or claims.
    let as_pots = platform::db::with_user(&pooled, "wolo_svc_pots", None).unwrap();
    let pool = PgPool::connect(&as_pots).await.unwrap();
    for _ in 0..20 {
        // The simple protocol: outside a transaction, PgBouncer may change servers between
        // a prepared statement's two exchanges.
        let row = sqlx::Executor::fetch_one(
            &pool,
            "select current_user::text, current_setting('role'),
                    nullif(current_setting('request.jwt.claims', true), '')",
        )
        .await
        .unwrap();
        let seen: (String, String, Option<String>) = sqlx::FromRow::from_row(&row).unwrap();
        assert_eq!(
            (seen.0.as_str(), seen.1.as_str(), seen.2),
            ("wolo_svc_pots", "none", None)
        );
    }
    pool.close().await;
}

/// A TCP proxy on loopback standing for the database's address (a DNS name or a virtual IP
/// in production): its target can be switched, as an operator points the address at a
/// promoted standby.
async fn proxy(target: Arc<Mutex<String>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let to = target.lock().unwrap().clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&to).await {
                    let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

fn pg_ctl(args: &[&str]) {
    let bin = setting("WOLO_CLUSTER_PG_BIN");
    let run_as = std::env::var("WOLO_CLUSTER_RUN_AS").unwrap_or_default();
    let mut words: Vec<String> = run_as.split_whitespace().map(str::to_owned).collect();
    words.push(format!("{bin}/pg_ctl"));
    words.extend(args.iter().map(|a| a.to_string()));
    let out = Command::new(&words[0]).args(&words[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "pg_ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Item 4: the primary dies in the middle of a storm of Wave webhooks. Requests get a 503
/// at once (not after the pool's 5 s wait), `/ready` says so, Wave's deliveries are answered
/// 5xx (so Wave retries them). The standby (synchronous, `synchronous_commit = on`) is
/// promoted and the database's address pointed at it: the suite recovers without a restart,
/// and every delivery acknowledged before the crash is there, applied once.
#[tokio::test]
#[ignore = "needs the cluster of scripts/cluster-test.sh"]
async fn c_a_failover_loses_no_acknowledged_webhook() {
    let db = TestDb::new().await;
    let events = Arc::new(prepare(&db.pool).await);
    let primary_addr = url::Url::parse(&setting("WOLO_CLUSTER_PRIMARY_URL")).unwrap();
    let standby_addr = url::Url::parse(&setting("WOLO_CLUSTER_STANDBY_URL")).unwrap();
    let hostport = |u: &url::Url| format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let target = Arc::new(Mutex::new(hostport(&primary_addr)));
    let through = proxy(target.clone()).await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_port(Some(through.port())).unwrap();
    let (_server, base) = serve(&[
        ("DATABASE_URL", url.to_string()),
        ("WOLO_WAVE_API_URL", "http://127.0.0.1:9".into()),
        ("WOLO_WAVE_API_KEY", "wave_sn_failover_unused".into()),
    ])
    .await;
    let addr = base.trim_start_matches("http://").to_string();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // The storm; once a third is acknowledged, the primary dies (immediate stop: no
    // checkpoint, as in a crash).
    let addrs = Arc::new(vec![addr.clone()]);
    let (senders, acked) = storm(&events, &http, &addrs);
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < events.len() / 3 {
        assert!(Instant::now() < deadline, "the storm never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pg_ctl(&[
        "-D",
        &setting("WOLO_CLUSTER_PRIMARY_PGDATA"),
        "-m",
        "immediate",
        "stop",
    ]);
    for s in senders {
        s.await.unwrap();
    }
    let acked_before: HashSet<usize> = acked.lock().unwrap().clone();

    // While it is away: answers come fast, 503, and /ready says so.
    tokio::time::sleep(Duration::from_secs(2)).await; // the gate's two failed probes
    let started = Instant::now();
    let status = deliver(&http, &addr, &events[0]).await;
    assert_eq!(status, Some(503));
    let ready = http
        .get(format!("{base}/donations/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // The standby is promoted and the address points at it: no restart of wolo serve.
    pg_ctl(&[
        "-D",
        &setting("WOLO_CLUSTER_STANDBY_PGDATA"),
        "-w",
        "promote",
    ]);
    // It inherited `synchronous_standby_names` from the primary (pg_basebackup copies the
    // configuration): with no standby of its own, every commit would wait for one forever.
    // The operator's step after a promotion, until a new standby is attached.
    let promoted_server = PgPool::connect(&setting("WOLO_CLUSTER_STANDBY_URL"))
        .await
        .unwrap();
    for sql in [
        "alter system set synchronous_standby_names = ''",
        "select pg_reload_conf()",
    ] {
        sqlx::raw_sql(sql).execute(&promoted_server).await.unwrap();
    }
    promoted_server.close().await;
    *target.lock().unwrap() = hostport(&standby_addr);
    // Ready again, without a restart.
    wait_ready(&http, &addr).await;

    // Every delivery acknowledged before the crash is on the promoted standby.
    let promoted = PgPool::connect(&on(&setting("WOLO_CLUSTER_STANDBY_URL"), &db.name))
        .await
        .unwrap();
    let stored: Vec<String> = sqlx::query_scalar(
        "select wave_event_id from donations.wave_webhook_events where wave_event_id like 'AE_storm_%'",
    )
    .fetch_all(&promoted)
    .await
    .unwrap();
    let stored: HashSet<String> = stored.into_iter().collect();
    let lost: Vec<usize> = acked_before
        .iter()
        .copied()
        .filter(|i| !stored.contains(&format!("AE_storm_{i}")))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost in the failover: {lost:?}"
    );

    // Wave retries everything: each applied once, totals right.
    for (i, event) in events.iter().enumerate() {
        assert_eq!(
            deliver(&http, &addr, event).await,
            Some(200),
            "retry of {i}"
        );
    }
    storm_kit::caught_up(&promoted).await;
    check_applied_once(&promoted).await;
    promoted.close().await;
    // Its server is gone; the whole cluster is thrown away after this test.
    std::mem::forget(db);
}
