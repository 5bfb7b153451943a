//! The service's own binary (`wolo-pots`, `platform::run(&pots::SERVICE)`) starts the
//! service's jobs as `wolo serve` does: a pot whose J-30 has passed opens under it alone.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use chrono::Utc;
use uuid::Uuid;

/// Kills the server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn wolo_pots_runs_the_lifecycle_job() {
    let db = testkit::TestDb::new().await;
    let owner: Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+221770009911') returning id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // Birthday in ten days (Dakar): its J-30 was twenty days ago, so the pot is due to open.
    let birthday = (Utc::now() + chrono::Duration::days(10)).date_naive();
    let pot: Uuid = sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date,
                                scheduled_open_at, status)
         values ($1, 'Anniversaire de Binta', 50000, $2, now() - interval '20 days', 'scheduled')
         returning id",
    )
    .bind(owner)
    .bind(birthday)
    .fetch_one(&db.pool)
    .await
    .unwrap();

    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let _server = Child(
        Command::new(env!("CARGO_BIN_EXE_wolo-pots"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &db.url)
            .env("WOLO_HTTP_ADDR", &addr)
            .env("WOLO_JWT_SECRET", testkit::TEST_JWT_SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status: String = sqlx::query_scalar("select status from pots.pots where id = $1")
            .bind(pot)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if status == "open" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "wolo-pots left the pot {status}: its lifecycle job did not run"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the job published what the other services wait for.
    let events: i64 = sqlx::query_scalar(
        "select count(*) from wolo.outbox where topic = 'pot.opened' and payload->>'pot_id' = $1::text",
    )
    .bind(pot)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(events, 1);
}
