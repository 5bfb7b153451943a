use crate::stack;

#[tokio::test]
async fn probes_record_healthy_and_unreachable_services() {
    let s = stack().await;
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let targets = vec![
        ("admin".to_string(), s.app.url("/ready")),
        (
            "pots".to_string(),
            format!("http://127.0.0.1:{dead_port}/pots/ready"),
        ),
        ("missing".to_string(), s.app.url("/nothing-here/ready")),
    ];
    let probes = admin::health::health_once(
        &s.db.service_pool("admin"),
        &reqwest::Client::new(),
        &targets,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(probes.len(), 3);
    let rows: Vec<(String, String, Option<i32>, Option<String>, serde_json::Value)> = sqlx::query_as(
        "select service_name, status, response_time_ms, error_message, check_data from admin.system_health_checks order by service_name",
    )
    .fetch_all(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(rows[0].0, "admin");
    assert!(matches!(rows[0].1.as_str(), "healthy" | "degraded"));
    assert!(rows[0].2.unwrap() >= 0);
    assert_eq!(rows[0].4["http_status"], 200);
    assert_eq!(rows[1].0, "missing");
    assert_eq!(rows[1].1, "unhealthy");
    assert_eq!(rows[1].4["http_status"], 404);
    assert_eq!(rows[2].0, "pots");
    assert_eq!(rows[2].1, "unhealthy");
    assert!(rows[2].3.is_some());

    // The default layout: every service under one base.
    let t = admin::health::targets("http://127.0.0.1:8080");
    assert_eq!(t.len(), 10);
    assert!(t.contains(&(
        "qr".to_string(),
        "http://127.0.0.1:8080/qr/ready".to_string()
    )));
    let t = admin::health::targets("http://{service}:8080");
    assert!(t.contains(&("qr".to_string(), "http://qr:8080/ready".to_string())));
}
