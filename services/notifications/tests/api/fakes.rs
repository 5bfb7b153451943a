//! Loopback fakes: an HTTP provider (SMS / WhatsApp) that records requests and can fail N
//! times, and a tiny SMTP sink.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

/// Each request's Authorization header and JSON body.
pub type Recorded = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone, Default)]
pub struct FakeHttp {
    pub url: String,
    pub requests: Recorded,
    /// Fail this many requests (with `fail_status`) before succeeding.
    pub fail_next: Arc<AtomicUsize>,
    pub fail_status: Arc<AtomicUsize>,
    counter: Arc<AtomicUsize>,
}

impl FakeHttp {
    pub async fn start() -> FakeHttp {
        let fake = FakeHttp {
            fail_status: Arc::new(AtomicUsize::new(503)),
            ..Default::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/send", post(handle))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeHttp {
            url: format!("http://{addr}/send"),
            ..fake
        }
    }

    pub fn fail(&self, n: usize, status: u16) {
        self.fail_status.store(status as usize, Ordering::SeqCst);
        self.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }
}

async fn handle(
    State(f): State<FakeHttp>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    f.requests.lock().unwrap().push((auth, body));
    let failing = f
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        let status = f.fail_status.load(Ordering::SeqCst) as u16;
        return (
            StatusCode::from_u16(status).unwrap(),
            Json(json!({"error": {"message": format!("fake provider says no ({status})")}})),
        );
    }
    let n = f.counter.fetch_add(1, Ordering::SeqCst) + 1;
    (
        StatusCode::OK,
        Json(json!({"messages": [{"id": format!("fake-{n}")}]})),
    )
}

/// Accepts SMTP sessions and records each message's envelope and DATA.
#[derive(Clone, Default)]
pub struct SmtpSink {
    pub url: String,
    pub messages: Arc<Mutex<Vec<SinkMessage>>>,
}

#[derive(Clone, Debug, Default)]
pub struct SinkMessage {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = SmtpSink {
            url: format!("smtp://{addr}"),
            messages: Default::default(),
        };
        let messages = sink.messages.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let messages = messages.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"220 sink.test ESMTP\r\n").await;
                    let mut cur = SinkMessage::default();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_string();
                        let upper = cmd.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-sink.test\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            cur = SinkMessage {
                                from: cmd[10..].trim().to_string(),
                                ..Default::default()
                            };
                            b"250 OK\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            cur.to.push(cmd[8..].trim().to_string());
                            b"250 OK\r\n"
                        } else if upper == "DATA" {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" || line == ".\n" {
                                    break;
                                }
                                data.push_str(&line);
                            }
                            cur.data = data;
                            messages.lock().unwrap().push(std::mem::take(&mut cur));
                            b"250 OK queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        sink
    }
}
