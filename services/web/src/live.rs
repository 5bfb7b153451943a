//! Live progress on the pot page: `GET /p/{pot}/live`, server-sent events fed by the outbox.
//!
//! One reader per process ([`Live::start`]) follows the outbox (woken by the process's
//! `platform::outbox::Watcher`, as the consumers are) for `pot.progressed` (the pots consumer
//! publishes it in the statement that moves a total) and the pot status topics, and fans each
//! event out to the pages open on that pot through a broadcast channel: the database is read
//! once per event, never per viewer. An event is `event: progress` with `{raised_amount_cfa,
//! donor_count, target_amount_cfa, progress_percent, status}`, or `event: status` with
//! `{status}` (the page reloads).
//!
//! Bounded: at most [`MAX_VIEWERS`] streams per process (then 503; the page still works without
//! them), each ending after [`MAX_STREAM`] (the browser reconnects by itself) or when the
//! process begins to shut down (`platform::serve::shutting_down`).

use std::{collections::BTreeSet, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::{broadcast, Semaphore};
use uuid::Uuid;

use crate::{pot, Sources, Visit};

/// Streams one process serves at once.
pub const MAX_VIEWERS: usize = 10_000;
/// A stream's longest life; `EventSource` reconnects after it.
pub const MAX_STREAM: Duration = Duration::from_secs(30 * 60);
/// Outbox ids looked back over on each read: an event whose id was taken before a later one's
/// may commit after it (ids are drawn, then committed); those within this window are seen.
const LOOK_BACK: i64 = 512;
/// Status topics: the page reloads on them.
const STATUS_TOPICS: [(&str, &str); 4] = [
    ("pot.opened", "open"),
    ("pot.funded", "funded"),
    ("pot.closed", "closed"),
    ("pot.expired", "expired"),
];

/// One pot's news, for the pages open on it.
#[derive(Clone, Debug)]
pub struct News {
    pub pot_id: Uuid,
    pub kind: &'static str,
    pub data: Value,
}

/// The process's reader of the outbox for live pages.
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Arc<News>>,
    viewers: Arc<Semaphore>,
}

impl Live {
    /// Starts the reader on `pool` (any service role reads `wolo.outbox`), woken by `watcher`.
    pub fn start(pool: PgPool, mut watcher: platform::outbox::Watcher) -> Live {
        let (tx, _) = broadcast::channel(1024);
        let live = Live {
            tx: tx.clone(),
            viewers: Arc::new(Semaphore::new(MAX_VIEWERS)),
        };
        tokio::spawn(async move {
            // From the outbox's end at start: a page opened later reads the totals itself.
            let mut after: i64 = loop {
                match sqlx::query_scalar::<_, i64>("select coalesce(max(id), 0) from wolo.outbox")
                    .fetch_one(&pool)
                    .await
                {
                    Ok(v) => break v,
                    Err(e) => {
                        tracing::warn!(error = %e, "live: outbox head");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            let mut seen: BTreeSet<i64> = BTreeSet::new();
            loop {
                // Woken when the outbox grows, and every second anyway (a late commit).
                let _ = tokio::time::timeout(Duration::from_secs(1), watcher.changed()).await;
                if tx.receiver_count() == 0 {
                    // Nobody watching: keep up with the outbox's end as the watcher read it,
                    // and read nothing (no query per wake while no page is open).
                    after = after.max(watcher.head());
                    seen.clear();
                    continue;
                }
                match read(&pool, after - LOOK_BACK).await {
                    Ok(rows) => {
                        for (id, topic, payload) in rows {
                            if !seen.insert(id) {
                                continue;
                            }
                            after = after.max(id);
                            if let Some(news) = news(&topic, &payload) {
                                let _ = tx.send(Arc::new(news));
                            }
                        }
                        let floor = after - LOOK_BACK;
                        seen = seen.split_off(&floor);
                    }
                    Err(e) => tracing::warn!(error = %e, "live: outbox read"),
                }
            }
        });
        live
    }
}

async fn read(pool: &PgPool, above: i64) -> Result<Vec<(i64, String, Value)>, sqlx::Error> {
    sqlx::query_as(
        "select id, topic, payload from wolo.outbox
         where id > $1 and topic = any($2)
         order by id limit 2000",
    )
    .bind(above)
    .bind(
        std::iter::once("pot.progressed")
            .chain(STATUS_TOPICS.iter().map(|t| t.0))
            .collect::<Vec<_>>(),
    )
    .fetch_all(pool)
    .await
}

fn news(topic: &str, payload: &Value) -> Option<News> {
    let pot_id = payload["pot_id"].as_str()?.parse().ok()?;
    if topic == "pot.progressed" {
        let raised = payload["raised_amount_cfa"].as_i64()?;
        let target = payload["target_amount_cfa"].as_i64()?;
        return Some(News {
            pot_id,
            kind: "progress",
            data: json!({
                "raised_amount_cfa": raised,
                "donor_count": payload["donor_count"],
                "target_amount_cfa": target,
                "progress_percent": percent(raised, target),
                "status": payload["status"],
            }),
        });
    }
    let status = STATUS_TOPICS.iter().find(|t| t.0 == topic)?.1;
    Some(News {
        pot_id,
        kind: "status",
        data: json!({ "status": status }),
    })
}

/// As `GET /pots/{id}/public` computes it: 0-100, one decimal, floored.
pub fn percent(raised: i64, target: i64) -> f64 {
    if target <= 0 {
        return 0.0;
    }
    let p = ((raised as f64) * 100.0 / (target as f64)).min(100.0);
    (p * 10.0).floor() / 10.0
}

/// `GET /p/{pot}/live`: the pot's news as server-sent events, to whoever may open the page.
pub async fn get_live(
    State(src): State<Sources>,
    Path(id): Path<String>,
    Visit { lang, here, query }: Visit,
) -> Response {
    let view = match pot::open(&src, &id, query.as_deref(), lang, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(pot_id) = Uuid::parse_str(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(permit) = src.live.viewers.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many live pages").into_response();
    };
    let mut rx = src.live.tx.subscribe();
    let first = Event::default().event("progress").data(
        json!({
            "raised_amount_cfa": view.json["raised_amount_cfa"],
            "donor_count": view.json["donor_count"],
            "target_amount_cfa": view.json["target_amount_cfa"],
            "progress_percent": view.json["progress_percent"],
            "status": view.json["status"],
        })
        .to_string(),
    );
    let stream = async_stream(move |yielder| async move {
        let _permit = permit;
        yielder.send(first).await;
        let end = tokio::time::sleep(MAX_STREAM);
        tokio::pin!(end);
        let down = platform::serve::shutting_down();
        tokio::pin!(down);
        loop {
            tokio::select! {
                _ = &mut end => break,
                _ = &mut down => break,
                got = rx.recv() => match got {
                    Ok(news) if news.pot_id == pot_id => {
                        let e = Event::default().event(news.kind).data(news.data.to_string());
                        if !yielder.send(e).await {
                            break;
                        }
                    }
                    Ok(_) => {}
                    // Fell behind: the page reloads to read the totals afresh.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let e = Event::default().event("status").data(json!({"status": "reload"}).to_string());
                        let _ = yielder.send(e).await;
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}

/// A stream of events produced by `body`, which sends them through the [`Yielder`] it gets
/// (a bounded channel: a slow reader holds the producer back; a gone reader stops it).
fn async_stream<F, Fut>(
    body: F,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> + Send + 'static
where
    F: FnOnce(Yielder) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    tokio::spawn(body(Yielder(tx)));
    tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok)
}

struct Yielder(tokio::sync::mpsc::Sender<Event>);

impl Yielder {
    /// `false` once the client is gone.
    async fn send(&self, e: Event) -> bool {
        self.0.send(e).await.is_ok()
    }
}
