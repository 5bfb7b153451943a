//! When the database goes away, requests are answered 503 at once, not after the pool's
//! 5 s wait, and when it is back they go through again without a restart
//! (`platform::gate`). The database is reached through a TCP proxy on loopback that the test
//! cuts and restores: the primary going away and coming back at the same address.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{extract::State, routing::get, Router};
use sqlx::PgPool;
use testkit::TestDb;
use tokio::{net::TcpListener, task::JoinHandle};

/// A TCP proxy to PostgreSQL that can be cut (listener closed, connections dropped).
struct Proxy {
    addr: SocketAddr,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = Proxy {
            addr: listener.local_addr().unwrap(),
            upstream: upstream.to_string(),
            tasks: Arc::default(),
        };
        p.serve(listener);
        p
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// The database goes away: no new connection, every open one dropped.
    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// It is back at the same address.
    async fn restore(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => return self.serve(l),
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot listen again: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn status(client: &reqwest::Client, url: &str) -> (u16, Option<String>) {
    let res = client.get(url).send().await.unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (res.status().as_u16(), retry)
}

#[tokio::test]
async fn requests_fail_fast_while_the_database_is_away_and_recover_after() {
    let db = TestDb::new().await;
    let url = url::Url::parse(&db.url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(&upstream).await;
    let mut through = url.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(proxy.addr.port())).unwrap();
    let options = platform::db::connect_options(through.as_str(), Duration::from_secs(5)).unwrap();
    // A request pool as the services have: 5 s acquire timeout.
    let pool: PgPool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.clone());
    let gate = platform::gate::Gate::watch(options);
    let app = Router::new()
        .route(
            "/x",
            get(|State(pool): State<PgPool>| async move {
                match sqlx::query_scalar::<_, i32>("select 1")
                    .fetch_one(&pool)
                    .await
                {
                    Ok(_) => (axum::http::StatusCode::OK, "ok"),
                    Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "pool error"),
                }
            }),
        )
        .route("/x/ready", get(|| async { "probe" }))
        .with_state(pool)
        .layer(axum::middleware::from_fn_with_state(
            gate.clone(),
            platform::gate::Gate::layer,
        ));
    let app = testkit::spawn(app).await;
    let client = reqwest::Client::new();
    assert_eq!(status(&client, &app.url("/x")).await.0, 200);

    // The database goes away: within a couple of probes, the gate closes.
    proxy.cut();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gate.is_closed() {
        assert!(Instant::now() < deadline, "the gate never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Answered by the gate, not by the handler after the pool's 5 s wait (its 503 is the
    // text "pool error", without Retry-After).
    let (code, retry) = status(&client, &app.url("/x")).await;
    assert_eq!(code, 503);
    assert_eq!(retry.as_deref(), Some("1"));
    let body: serde_json::Value = client
        .get(app.url("/x"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["code"], "PGRST001");
    // The probes still reach their handler (they say themselves what they see).
    assert_eq!(status(&client, &app.url("/x/ready")).await.0, 200);

    // Back at the same address: requests go through again, no restart.
    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if !gate.is_closed() && status(&client, &app.url("/x")).await.0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
