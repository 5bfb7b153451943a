use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::stack;

#[tokio::test]
async fn purge_deletes_only_old_rows() {
    let st = stack().await;
    let pool = &st.db.pool;
    let user: Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+221771234567') returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    // (name, created days ago, expires in days, revoked days ago)
    let sessions: [(&str, i32, i32, Option<i32>); 5] = [
        ("live", 1, 29, None),
        ("expired_recent", 40, -10, None),
        ("expired_old", 100, -70, None),
        ("revoked_recent", 85, -55, Some(80)),
        ("revoked_old", 120, -90, Some(95)),
    ];
    for (name, created, expires, revoked) in sessions {
        sqlx::query(
            "insert into identity.user_sessions
                 (user_id, token_hash, expires_at, created_at, is_revoked, revoked_at)
             values ($1, $2, now() + make_interval(days => $4), now() - make_interval(days => $3),
                     $5 is not null, now() - make_interval(days => $5))",
        )
        .bind(user)
        .bind(name)
        .bind(created)
        .bind(expires)
        .bind(revoked)
        .execute(pool)
        .await
        .unwrap();
    }
    // (name, expires in minutes, used)
    for (name, expires, used) in [
        ("fresh", 30, false),
        ("used", 30, true),
        ("expired", -5, false),
    ] {
        sqlx::query(
            "insert into identity.password_reset_tokens (user_id, token_hash, expires_at, used_at)
             values ($1, $2, now() + make_interval(mins => $3), case when $4 then now() end)",
        )
        .bind(user)
        .bind(name)
        .bind(expires)
        .bind(used)
        .execute(pool)
        .await
        .unwrap();
    }
    for (name, hours) in [("recent", 2), ("old", 25)] {
        sqlx::query(
            "insert into identity.otp_codes (phone, code_hash, expires_at, created_at)
             values ('+221771234567', $1, now(), now() - make_interval(hours => $2))",
        )
        .bind(name)
        .bind(hours)
        .execute(pool)
        .await
        .unwrap();
    }

    for (account, hours) in [("recent", 23), ("old", 25)] {
        sqlx::query(
            "insert into identity.auth_attempts (action, account, ip, outcome, created_at)
             values ('password', $1, '41.82.1.2', 'failed', now() - make_interval(hours => $2))",
        )
        .bind(account)
        .bind(hours)
        .execute(pool)
        .await
        .unwrap();
    }

    let counts = identity::purge_expired(pool, Utc::now()).await.unwrap();
    assert_eq!(
        counts,
        identity::PurgeCounts {
            sessions: 2,
            reset_tokens: 2,
            otp_codes: 1,
            auth_attempts: 1,
        }
    );
    let names = |sql: &'static str| async move {
        let mut v: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
        v.sort();
        v
    };
    assert_eq!(
        names("select token_hash from identity.user_sessions").await,
        ["expired_recent", "live", "revoked_recent"]
    );
    assert_eq!(
        names("select token_hash from identity.password_reset_tokens").await,
        ["fresh"]
    );
    assert_eq!(
        names("select code_hash from identity.otp_codes").await,
        ["recent"]
    );
    assert_eq!(
        names("select account from identity.auth_attempts").await,
        ["recent"]
    );

    // `now` is a parameter: 100 days on, everything but the user is gone.
    let later = identity::purge_expired(pool, Utc::now() + Duration::days(100))
        .await
        .unwrap();
    assert_eq!(later.sessions, 3);
    assert_eq!(later.otp_codes, 1);
    assert_eq!(later.reset_tokens, 1);
    assert_eq!(later.auth_attempts, 1);
}
