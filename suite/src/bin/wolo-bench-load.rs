//! `wolo-bench-load`: a small HTTP load generator for `make bench` (bench/qr.sh,
//! bench/footprint.sh) and local experiments.
//!
//! Two models:
//!
//! - **constant rate** (`--rate R`, open model): request `i` is scheduled at `t0 + i / R`
//!   whatever the answers take, and its latency is measured from that scheduled time, not from
//!   when it was sent: a slow answer that delays the requests behind it (the concurrency cap)
//!   shows in their latency too, so the figures are free of coordinated omission;
//! - **fixed concurrency** (`--concurrency C`, closed model): C workers each send a request,
//!   wait for its answer, send the next; latency from sending to the end of the body.
//!
//! The requests come from `--requests FILE`, one JSON object a line, taken in order (and round
//! again when the run needs more): `{"method": "POST", "path": "/qr/redeem", "headers":
//! {"x-a": "b"}, "body": {...}}` (`method` defaults to GET; a `body` that is a string is sent as
//! it is, anything else as JSON with `content-type: application/json`); or from `--url URL`,
//! one GET repeated. `--base URL` is put before each `path`; `-H 'name: value'` is added to
//! every request.
//!
//! Prints a summary on stdout, one `key value` a line (requests, seconds, rate achieved,
//! p50/p90/p99/max in ms, one `status CODE COUNT` line per status, `status 0` being a transport
//! error or a timeout); `--out FILE` writes one line per request: `index line status
//! latency_us sent_late_us` (tab-separated; `line` is the request's line in the file, from 0;
//! `sent_late_us` how long after its scheduled time it was sent).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;

const USAGE: &str = "usage: wolo-bench-load (--rate R | --concurrency C) --duration SECONDS
                       (--requests FILE | --url URL) [--base URL] [-H 'name: value']...
                       [--max-in-flight N] [--timeout SECONDS] [--out FILE]
  --rate R          open model: R requests per second, latency from each request's scheduled time
  --concurrency C   closed model: C workers, each sending its next request once answered
  --requests FILE   one JSON a line: {\"method\", \"path\", \"headers\", \"body\"}, taken in order
  --max-in-flight N with --rate: at most N requests outstanding (default 256)
  --out FILE        one line per request: index, line, status, latency_us, sent_late_us";

struct Args {
    rate: Option<f64>,
    concurrency: Option<usize>,
    duration: f64,
    requests: Option<String>,
    url: Option<String>,
    base: String,
    headers: Vec<(String, String)>,
    max_in_flight: usize,
    timeout: f64,
    out: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        rate: None,
        concurrency: None,
        duration: 0.0,
        requests: None,
        url: None,
        base: String::new(),
        headers: Vec::new(),
        max_in_flight: 256,
        timeout: 10.0,
        out: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |v: String| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .ok_or_else(|| format!("{flag}: not a positive number: {v:?}"))
        };
        match flag.as_str() {
            "--rate" => a.rate = Some(number(value()?)?),
            "--concurrency" => a.concurrency = Some(number(value()?)? as usize),
            "--duration" => a.duration = number(value()?)?,
            "--requests" => a.requests = Some(value()?),
            "--url" => a.url = Some(value()?),
            "--base" => a.base = value()?.trim_end_matches('/').to_string(),
            "-H" | "--header" => {
                let h = value()?;
                let (name, val) = h
                    .split_once(':')
                    .ok_or_else(|| format!("-H: not 'name: value': {h:?}"))?;
                a.headers
                    .push((name.trim().to_string(), val.trim().to_string()));
            }
            "--max-in-flight" => a.max_in_flight = number(value()?)? as usize,
            "--timeout" => a.timeout = number(value()?)?,
            "--out" => a.out = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.rate.is_some() == a.concurrency.is_some() {
        return Err("give one of --rate and --concurrency".into());
    }
    if a.requests.is_some() == a.url.is_some() {
        return Err("give one of --requests and --url".into());
    }
    if a.duration <= 0.0 {
        return Err("--duration is required".into());
    }
    Ok(a)
}

/// One request as sent.
struct Request {
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn read_requests(a: &Args) -> Result<Vec<Request>, String> {
    if let Some(url) = &a.url {
        return Ok(vec![Request {
            method: reqwest::Method::GET,
            url: url.clone(),
            headers: Vec::new(),
            body: None,
        }]);
    }
    let file = a.requests.as_deref().unwrap_or_default();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |why: &str| format!("{file}:{}: {why}", n + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
        let method = v
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .parse::<reqwest::Method>()
            .map_err(|_| bad("bad method"))?;
        let path = v
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no path"))?;
        let mut headers: Vec<(String, String)> = v
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let body = match v.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone().into_bytes()),
            Some(other) => {
                headers.push(("content-type".into(), "application/json".into()));
                Some(other.to_string().into_bytes())
            }
        };
        out.push(Request {
            method,
            url: format!("{}{path}", a.base),
            headers,
            body,
        });
    }
    if out.is_empty() {
        return Err(format!("{file}: no requests"));
    }
    Ok(out)
}

/// What happened to one request.
struct Outcome {
    index: usize,
    line: usize,
    /// 0: no answer (transport error or timeout).
    status: u16,
    latency: Duration,
    sent_late: Duration,
}

async fn send(client: &reqwest::Client, common: &[(String, String)], r: &Request) -> u16 {
    let mut req = client.request(r.method.clone(), &r.url);
    for (k, v) in common.iter().chain(&r.headers) {
        req = req.header(k, v);
    }
    if let Some(b) = &r.body {
        req = req.body(b.clone());
    }
    match req.send().await {
        // The whole body is read: the latency is the full answer's.
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    }
}

/// Open model: request `i` at `t0 + i / rate`, latency from that instant. The schedule is kept
/// on this thread with the operating system's sleep (tokio's timer rounds up to the next
/// millisecond, which would count against every request); the requests run on `rt`.
fn constant_rate(
    rt: &tokio::runtime::Runtime,
    a: &Args,
    rate: f64,
    client: reqwest::Client,
    reqs: Arc<Vec<Request>>,
) -> Vec<Outcome> {
    let total = (rate * a.duration).round() as usize;
    let headers = Arc::new(a.headers.clone());
    let limit = Arc::new(Semaphore::new(a.max_in_flight.max(1)));
    let t0 = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let at = t0 + Duration::from_secs_f64(i as f64 / rate);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let (client, reqs, headers, limit) =
            (client.clone(), reqs.clone(), headers.clone(), limit.clone());
        tasks.push(rt.spawn(async move {
            // FIFO: a request waiting for a slot keeps its place, and its wait counts.
            let _permit = limit.acquire_owned().await;
            let sent = Instant::now();
            let line = i % reqs.len();
            let status = send(&client, &headers, &reqs[line]).await;
            Outcome {
                index: i,
                line,
                status,
                latency: at.elapsed(),
                sent_late: sent.saturating_duration_since(at),
            }
        }));
    }
    rt.block_on(async {
        let mut out = Vec::with_capacity(total);
        for t in tasks {
            if let Ok(o) = t.await {
                out.push(o);
            }
        }
        out
    })
}

/// Closed model: `c` workers, each sending its next request once answered, for the duration.
async fn fixed_concurrency(
    a: &Args,
    c: usize,
    client: reqwest::Client,
    reqs: Arc<Vec<Request>>,
) -> Vec<Outcome> {
    let headers = Arc::new(a.headers.clone());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let end = Instant::now() + Duration::from_secs_f64(a.duration);
    let mut workers = Vec::new();
    for _ in 0..c.max(1) {
        let (client, reqs, headers, next) =
            (client.clone(), reqs.clone(), headers.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while Instant::now() < end {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let line = i % reqs.len();
                let sent = Instant::now();
                let status = send(&client, &headers, &reqs[line]).await;
                mine.push(Outcome {
                    index: i,
                    line,
                    status,
                    latency: sent.elapsed(),
                    sent_late: Duration::ZERO,
                });
            }
            mine
        }));
    }
    let mut out = Vec::new();
    for w in workers {
        if let Ok(mine) = w.await {
            out.extend(mine);
        }
    }
    out.sort_by_key(|o| o.index);
    out
}

/// The nearest-rank percentile `p` (0-100) of sorted values, in ms.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse_args(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("wolo-bench-load: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let reqs = match read_requests(&a) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("wolo-bench-load: {e}");
            return ExitCode::from(2);
        }
    };
    // One worker thread (plus this one keeping the schedule): the generator stays small beside
    // the server and PostgreSQL on a shared machine; a few hundred requests a second is far
    // below what one thread sends.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wolo-bench-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = {
        let _guard = rt.enter();
        reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(a.timeout))
            .pool_max_idle_per_host(a.max_in_flight.max(a.concurrency.unwrap_or(0)))
            .build()
    };
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wolo-bench-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let outcomes = match (a.rate, a.concurrency) {
        (Some(rate), _) => constant_rate(&rt, &a, rate, client, reqs),
        (_, Some(c)) => rt.block_on(fixed_concurrency(&a, c, client, reqs)),
        _ => Vec::new(),
    };
    let elapsed = started.elapsed().as_secs_f64();

    if let Some(path) = &a.out {
        let mut text = String::with_capacity(outcomes.len() * 32);
        for o in &outcomes {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                o.index,
                o.line,
                o.status,
                o.latency.as_micros(),
                o.sent_late.as_micros()
            ));
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("wolo-bench-load: {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let mut lat: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    lat.sort();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for o in &outcomes {
        *statuses.entry(o.status).or_default() += 1;
    }
    let late = outcomes
        .iter()
        .filter(|o| o.sent_late > Duration::from_millis(1))
        .count();
    println!("requests {}", outcomes.len());
    println!("seconds {elapsed:.2}");
    println!("rate {:.1}", outcomes.len() as f64 / a.duration);
    for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
        println!("{name}_ms {:.2}", percentile(&lat, p));
    }
    println!("sent_late_over_1ms {late}");
    for (s, n) in statuses {
        println!("status {s} {n}");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse_args(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50.0), 50.0);
        assert_eq!(percentile(&ms, 99.0), 99.0);
        assert_eq!(percentile(&ms, 100.0), 100.0);
        assert_eq!(percentile(&ms[..1], 99.0), 1.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn one_model_and_one_source() {
        let a = args("--rate 200 --duration 15 --url http://x/ -H a:b").unwrap();
        assert_eq!(a.rate, Some(200.0));
        assert_eq!(a.headers, vec![("a".to_string(), "b".to_string())]);
        assert!(args("--rate 200 --concurrency 4 --duration 1 --url u").is_err());
        assert!(args("--duration 1 --url u").is_err());
        assert!(args("--rate 200 --duration 1").is_err());
        assert!(args("--rate 200 --url u").is_err());
        assert!(args("--rate -1 --duration 1 --url u").is_err());
    }
}
