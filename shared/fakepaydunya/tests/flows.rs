//! The fake PayDunya over HTTP: checkout, SOFTPAY, IPN, payouts, failures.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
use fakepaydunya::{
    ipn_hash, spawn, Failure, FakePayDunya, FakePayDunyaConfig, Target, DEV_MASTER_KEY,
    DEV_PRIVATE_KEY, DEV_TOKEN,
};
use serde_json::{json, Value};

/// IPNs received: (content type, fields).
type Received = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

/// A tiny IPN receiver on loopback; answers `status` to every POST.
async fn receiver(status: u16) -> (String, Received) {
    let got: Received = Arc::default();
    async fn hook(
        State((got, status)): State<(Received, u16)>,
        h: HeaderMap,
        body: Bytes,
    ) -> axum::http::StatusCode {
        let ct = h
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let fields = form_urlencoded::parse(&body).into_owned().collect();
        got.lock().unwrap().push((ct, fields));
        axum::http::StatusCode::from_u16(status).unwrap()
    }
    let app = Router::new()
        .route("/ipn", post(hook))
        .with_state((got.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/ipn"), got)
}

async fn wait_for(got: &Received, n: usize) {
    let start = Instant::now();
    while got.lock().unwrap().len() < n {
        assert!(start.elapsed() < Duration::from_secs(5), "no IPN received");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn keyed(rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rb.header("PAYDUNYA-MASTER-KEY", DEV_MASTER_KEY)
        .header("PAYDUNYA-PRIVATE-KEY", DEV_PRIVATE_KEY)
        .header("PAYDUNYA-TOKEN", DEV_TOKEN)
}

async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let r = keyed(client().post(url)).json(body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get_json(url: &str) -> (u16, Value) {
    let r = keyed(client().get(url)).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn create(fake: &FakePayDunya, amount: Value, callback: Option<&str>) -> String {
    let (s, b) = post_json(
        &format!("{}/checkout-invoice/create", fake.api_url()),
        &json!({
            "invoice": {"total_amount": amount, "description": "Cagnotte d'anniversaire d'Awa"},
            "store": {"name": "WOLO Sénégal"},
            "custom_data": {"donation_id": "d-42", "pot": {"id": 7}},
            "actions": {
                "callback_url": callback,
                "return_url": "https://wolo.test/merci",
                "cancel_url": "https://wolo.test/annule",
            },
        }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["response_code"], "00");
    assert_eq!(b["description"], "Checkout Invoice Created");
    let token = b["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("test_"));
    assert_eq!(
        b["response_text"],
        format!("{}/sandbox-checkout/invoice/{token}", fake.url)
    );
    token
}

#[tokio::test]
async fn create_confirm_softpay_complete_confirm() {
    let (ipn_url, got) = receiver(200).await;
    let fake = spawn(FakePayDunyaConfig::default()).await.unwrap();
    let token = create(&fake, json!("5000"), Some(&ipn_url)).await;
    assert_eq!(fake.invoices_created(), 1);

    // Pending, custom data echoed; the sandbox prefix serves the same invoice.
    let (s, c) = get_json(&format!(
        "{}/sandbox-api/v1/checkout-invoice/confirm/{token}",
        fake.url
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(c["response_code"], "00");
    assert_eq!(c["status"], "pending");
    assert_eq!(c["invoice"]["total_amount"], 5000);
    assert_eq!(c["invoice"]["token"], token);
    assert_eq!(c["custom_data"]["donation_id"], "d-42");
    assert_eq!(c["actions"]["callback_url"], ipn_url);
    assert_eq!(c["mode"], "test");
    assert_eq!(c, fake.invoice(&token).unwrap());
    assert_eq!(fake.confirm_calls(&token), 1);

    // Free Money push: accepted, not paid.
    let (s, b) = post_json(
        &format!("{}/softpay/free-money-senegal", fake.api_url()),
        &json!({
            "customer_name": "Awa Diop",
            "customer_email": "awa@example.sn",
            "phone_number": "761234567",
            "payment_token": token,
        }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["success"], true);
    assert!(b["message"].as_str().unwrap().contains("#150#"));
    assert_eq!(b["data"]["status"], "PENDING");
    let calls = fake.softpay_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["endpoint"], "free-money-senegal");
    assert_eq!(calls[0]["phone_number"], "761234567");
    assert_eq!(fake.invoice(&token).unwrap()["status"], "pending");
    assert!(got.lock().unwrap().is_empty());

    // The payer validates (#150#): the hook completes and sends the IPN.
    let r = client()
        .post(format!(
            "{}/_fake/invoices/{token}/complete?method=free_money_senegal",
            fake.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let hook: Value = r.json().await.unwrap();
    assert_eq!(hook["ipn_status"], 200);
    wait_for(&got, 1).await;

    let (s, c) = get_json(&format!(
        "{}/checkout-invoice/confirm/{token}",
        fake.api_url()
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(c["status"], "completed");
    assert_eq!(c["customer"]["payment_method"], "free_money_senegal");
    assert_eq!(c["customer"]["phone"], "761234567");
    assert_eq!(c["customer"]["name"], "Awa Diop");
    assert!(c["receipt_url"].as_str().unwrap().contains(&token));
    assert_eq!(fake.confirm_calls(&token), 2);

    let (ct, ipn) = got.lock().unwrap()[0].clone();
    assert_eq!(ct, "application/x-www-form-urlencoded");
    assert_eq!(ipn["data[status]"], "completed");
    assert_eq!(ipn["data[invoice][token]"], token);
    assert_eq!(ipn["data[customer][phone]"], "761234567");

    // Settled stays settled: a later cancel changes nothing.
    let form = fake.cancel(&token).unwrap();
    assert!(form.contains(&("data[status]".to_string(), "completed".to_string())));
}

#[tokio::test]
async fn bad_keys_and_unknown_tokens_are_refused() {
    let fake = spawn(FakePayDunyaConfig::default()).await.unwrap();
    let url = format!("{}/checkout-invoice/create", fake.api_url());
    let body = json!({"invoice": {"total_amount": 1000}, "store": {"name": "WOLO"}});

    let r = client()
        .post(&url)
        .header("PAYDUNYA-MASTER-KEY", "wrong")
        .header("PAYDUNYA-PRIVATE-KEY", DEV_PRIVATE_KEY)
        .header("PAYDUNYA-TOKEN", DEV_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["response_code"], "1001");
    assert_eq!(b["response_text"], "Invalid Masterkey Specified");

    let r = client().post(&url).json(&body).send().await.unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["response_code"], "1001");

    // Header names are case-insensitive; the private key is checked too.
    let r = client()
        .post(&url)
        .header("paydunya-master-key", DEV_MASTER_KEY)
        .header("paydunya-private-key", "test_private_other")
        .header("paydunya-token", DEV_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["response_code"], "1002");
    assert_eq!(fake.invoices_created(), 0);

    // Validation.
    let (s, b) = post_json(&url, &json!({"invoice": {"total_amount": 1000}})).await;
    assert_eq!((s, b["response_code"].as_str()), (422, Some("4000")));
    let (s, _) = post_json(
        &url,
        &json!({"invoice": {"total_amount": 0}, "store": {"name": "W"}}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post_json(
        &url,
        &json!({"invoice": {"total_amount": "12.5"}, "store": {"name": "W"}}),
    )
    .await;
    assert_eq!(s, 422);

    // Unknown token.
    let (s, b) = get_json(&format!(
        "{}/checkout-invoice/confirm/test_nope",
        fake.api_url()
    ))
    .await;
    assert_eq!(s, 404);
    assert_eq!(b["response_code"], "4004");
    assert!(fake.invoice("test_nope").is_none());

    // SOFTPAY with a wrong key: refused, recorded.
    let r = client()
        .post(format!("{}/softpay/free-money-senegal", fake.api_url()))
        .json(&json!({"phone_number": "761234567"}))
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["success"], false);
    assert_eq!(b["response_code"], "1001");
    assert_eq!(fake.softpay_calls().len(), 1);
}

#[tokio::test]
async fn orange_money_codes_and_phones() {
    let fake = spawn(FakePayDunyaConfig::default()).await.unwrap();
    let token = create(&fake, json!(2500), None).await;
    let url = format!("{}/softpay/orange-money-senegal", fake.api_url());
    let body = |phone: &str, code: &str| {
        json!({
            "customer_name": "Moussa Ndiaye",
            "customer_email": "moussa@example.sn",
            "phone_number": phone,
            "authorization_code": code,
            "invoice_token": token,
        })
    };
    for code in ["000000", "00001234", "123", "123456789", "12a45", ""] {
        let (s, b) = post_json(&url, &body("771234567", code)).await;
        assert_eq!(s, 422, "code {code:?}");
        assert_eq!(b["success"], false);
        assert_eq!(b["message"], "Invalid or expired OTP code!");
    }
    for phone in ["221771234567", "+221771234567", "77123456", "77 123 45 67"] {
        let (s, b) = post_json(&url, &body(phone, "123456")).await;
        assert_eq!(s, 422, "phone {phone:?}");
        assert_eq!(b["success"], false);
    }
    let (s, b) = post_json(&url, &json!({"phone_number": "771234567", "authorization_code": "123456", "invoice_token": "test_unknown", "customer_name": "X", "customer_email": "x@y.sn"})).await;
    assert_eq!((s, &b["success"]), (422, &json!(false)));

    // Form bodies are accepted too.
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("customer_name", "Moussa Ndiaye")
        .append_pair("customer_email", "moussa@example.sn")
        .append_pair("phone_number", "771234567")
        .append_pair("authorization_code", "482913")
        .append_pair("invoice_token", &token)
        .finish();
    let r = keyed(client().post(&url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["success"], true);
    assert_eq!(b["currency"], "XOF");
    assert!(b["fees"].is_u64());
    assert_eq!(fake.invoice(&token).unwrap()["status"], "pending");
    assert_eq!(fake.softpay_calls().len(), 12);

    // QR flow and Wave answer URLs.
    let (s, b) = post_json(
        &format!("{}/softpay/new-orange-money-senegal", fake.api_url()),
        &json!({"customer_name": "M", "customer_email": "m@example.sn", "phone_number": "771234567", "invoice_token": token}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["url"].is_string());
    assert!(b["other_url"]["om_url"].is_string() && b["other_url"]["maxit_url"].is_string());
    let (s, b) = post_json(
        &format!("{}/softpay/wave-senegal", fake.api_url()),
        &json!({"wave_senegal_fullName": "M", "wave_senegal_email": "m@example.sn", "wave_senegal_phone": "781234567", "wave_senegal_payment_token": token}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["url"].is_string());

    // A settled invoice refuses pushes.
    fake.fail(&token).unwrap();
    let (s, _) = post_json(&url, &body("771234567", "123456")).await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn ipn_is_delivered_with_the_master_key_hash() {
    assert_eq!(
        ipn_hash("wQzk9ZwR-Qq9m-0hD0-zpud-je5coGC3FHKW"),
        "e3662754c63cb8f248468591fab6b52e0553f7b1c07358e8b584cdd537bbd8d78f2bf368892297fb818153adb3384e0a01d22e5c4b83a35a44aba9872461a700"
    );
    let (ipn_url, got) = receiver(200).await;
    let fake = spawn(FakePayDunyaConfig {
        master_key: "wQzk9ZwR-Qq9m-0hD0-zpud-je5coGC3FHKW".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = {
        let r = client()
            .post(format!("{}/checkout-invoice/create", fake.api_url()))
            .header(
                "PAYDUNYA-MASTER-KEY",
                "wQzk9ZwR-Qq9m-0hD0-zpud-je5coGC3FHKW",
            )
            .header("PAYDUNYA-PRIVATE-KEY", DEV_PRIVATE_KEY)
            .header("PAYDUNYA-TOKEN", DEV_TOKEN)
            .json(&json!({
                "invoice": {
                    "total_amount": 10000,
                    "description": "Don",
                    // Nested actions and custom_data are accepted too.
                    "custom_data": {"donation_id": "d-9", "n": 3},
                    "actions": {"callback_url": ipn_url},
                },
                "store": {"name": "WOLO"},
            }))
            .send()
            .await
            .unwrap();
        let b: Value = r.json().await.unwrap();
        b["token"].as_str().unwrap().to_string()
    };
    let form = fake.complete(&token, "orange_money_senegal").unwrap();
    assert_eq!(fake.send_ipn(&token, &form).await, Some(200));
    let forged = FakePayDunya::forge(&form);
    assert_eq!(fake.send_ipn(&token, &forged).await, Some(200));
    wait_for(&got, 2).await;
    let got = got.lock().unwrap().clone();
    let ipn = &got[0].1;
    assert_eq!(
        ipn["data[hash]"],
        "e3662754c63cb8f248468591fab6b52e0553f7b1c07358e8b584cdd537bbd8d78f2bf368892297fb818153adb3384e0a01d22e5c4b83a35a44aba9872461a700"
    );
    assert_eq!(ipn["data[response_code]"], "00");
    assert_eq!(ipn["data[response_text]"], "Transaction Found");
    assert_eq!(ipn["data[status]"], "completed");
    assert_eq!(ipn["data[mode]"], "test");
    assert_eq!(ipn["data[invoice][token]"], token);
    assert_eq!(ipn["data[invoice][total_amount]"], "10000");
    assert_eq!(ipn["data[invoice][description]"], "Don");
    assert_eq!(ipn["data[custom_data][donation_id]"], "d-9");
    assert_eq!(ipn["data[custom_data][n]"], "3");
    assert_eq!(
        ipn["data[customer][payment_method]"],
        "orange_money_senegal"
    );
    assert_eq!(ipn["data[customer][phone]"].len(), 9);
    assert!(ipn["data[receipt_url]"].contains(&token));
    assert_ne!(got[1].1["data[hash]"], ipn["data[hash]"]);
    assert_eq!(got[1].1["data[status]"], "completed");

    // No callback URL: nothing sent.
    let fake2 = spawn(FakePayDunyaConfig::default()).await.unwrap();
    let t2 = create(&fake2, json!(300), None).await;
    let f2 = fake2.cancel(&t2).unwrap();
    assert!(f2.contains(&("data[status]".to_string(), "cancelled".to_string())));
    assert_eq!(fake2.send_ipn(&t2, &f2).await, None);
    let f3 = fake2.ipn_form(&t2).unwrap();
    assert_eq!(f2, f3);
}

#[tokio::test]
async fn auto_approve_completes_and_sends_the_ipn() {
    let (ipn_url, got) = receiver(200).await;
    let fake = spawn(FakePayDunyaConfig {
        auto_approve: Some(Duration::from_millis(50)),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = create(&fake, json!(1500), Some(&ipn_url)).await;
    let (s, _) = post_json(
        &format!("{}/softpay/orange-money-senegal", fake.api_url()),
        &json!({
            "customer_name": "Fatou Sall",
            "customer_email": "fatou@example.sn",
            "phone_number": "701234567",
            "authorization_code": "1234",
            "invoice_token": token,
        }),
    )
    .await;
    assert_eq!(s, 200);
    wait_for(&got, 1).await;
    let ipn = got.lock().unwrap()[0].1.clone();
    assert_eq!(ipn["data[status]"], "completed");
    assert_eq!(
        ipn["data[customer][payment_method]"],
        "orange_money_senegal"
    );
    assert_eq!(ipn["data[customer][phone]"], "701234567");
    assert_eq!(fake.invoice(&token).unwrap()["status"], "completed");
}

#[tokio::test]
async fn pay_page_buttons_settle_and_redirect() {
    let (ipn_url, got) = receiver(200).await;
    let fake = spawn(FakePayDunyaConfig::default()).await.unwrap();
    let token = create(&fake, json!(7000), Some(&ipn_url)).await;
    let page = client()
        .get(format!("{}/sandbox-checkout/invoice/{token}", fake.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("7000 FCFA"));
    assert!(page.contains("Payer avec Orange Money"));
    assert!(page.contains("Payer avec Free Money"));
    assert!(page.contains("Payer par carte"));
    assert!(page.contains("Annuler"));

    let r = client()
        .post(format!(
            "{}/_fake/invoices/{token}/cancel?redirect=1",
            fake.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("https://wolo.test/annule?token={token}").as_str()
    );
    wait_for(&got, 1).await;
    assert_eq!(got.lock().unwrap()[0].1["data[status]"], "cancelled");
    assert_eq!(fake.invoice(&token).unwrap()["status"], "cancelled");

    let t2 = create(&fake, json!(100), Some(&ipn_url)).await;
    let r = client()
        .post(format!(
            "{}/_fake/invoices/{t2}/complete?method=card&redirect=1",
            fake.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("https://wolo.test/merci?token={t2}").as_str()
    );
    assert_eq!(
        fake.invoice(&t2).unwrap()["customer"]["payment_method"],
        "card"
    );

    // Resend as a forged duplicate.
    let r = client()
        .post(format!(
            "{}/_fake/invoices/{t2}/ipn?forged=1&times=2",
            fake.url
        ))
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["ipn_status"], json!([200, 200]));
    wait_for(&got, 4).await;
    assert_ne!(
        got.lock().unwrap()[3].1["data[hash]"],
        ipn_hash(DEV_MASTER_KEY)
    );
    assert_eq!(
        got.lock().unwrap()[1].1["data[hash]"],
        ipn_hash(DEV_MASTER_KEY)
    );
}

#[tokio::test]
async fn payouts_submit_twice_is_one_payout() {
    let fake = spawn(FakePayDunyaConfig::default()).await.unwrap();
    let v2 = format!("{}/api/v2/disburse", fake.url);
    let (s, b) = post_json(
        &format!("{v2}/get-invoice"),
        &json!({"account_alias": "771234567", "amount": 150, "withdraw_mode": "wave-senegal", "callback_url": "https://wolo.test/cb"}),
    )
    .await;
    assert_eq!((s, b["response_code"].as_str()), (422, Some("4000")));
    let (s, _) = post_json(
        &format!("{v2}/get-invoice"),
        &json!({"account_alias": "221771234567", "amount": 5000, "withdraw_mode": "wave-senegal", "callback_url": "https://wolo.test/cb"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, b) = post_json(
        &format!("{v2}/get-invoice"),
        &json!({"account_alias": "771234567", "amount": "5000", "withdraw_mode": "orange-money-senegal", "callback_url": "https://wolo.test/cb"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["response_code"], "00");
    let dt = b["disburse_token"].as_str().unwrap().to_string();
    assert_eq!(fake.payouts()[0]["status"], "created");

    // A lost answer: the payout went through; the retry answers the same one.
    fake.fail_next(Target::Disburse, Failure::LostResponse);
    let (s, _) = post_json(
        &format!("{v2}/submit-invoice"),
        &json!({"disburse_invoice": dt, "disburse_id": "p-1"}),
    )
    .await;
    assert_eq!(s, 500);
    let (s, b1) = post_json(
        &format!("{v2}/submit-invoice"),
        &json!({"disburse_invoice": dt, "disburse_id": "p-1"}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, b2) = post_json(
        &format!("{v2}/submit-invoice"),
        &json!({"disburse_invoice": dt}),
    )
    .await;
    assert_eq!(b1["response_code"], "00");
    assert_eq!(b1["status"], "pending");
    assert_eq!(b1["transaction_id"], b2["transaction_id"]);
    let payouts = fake.payouts();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0]["submit_calls"], 3);
    assert_eq!(payouts[0]["disburse_id"], "p-1");

    let (_, c) = post_json(
        &format!("{v2}/check-status"),
        &json!({"disburse_invoice": dt}),
    )
    .await;
    assert_eq!(c["status"], "pending");
    fake.settle_payouts("success");
    let (_, c) = post_json(
        &format!("{v2}/check-status"),
        &json!({"disburse_invoice": dt}),
    )
    .await;
    assert_eq!(c["status"], "success");
    assert_eq!(c["amount"], 5000);
    let (_, b3) = post_json(
        &format!("{v2}/submit-invoice"),
        &json!({"disburse_invoice": dt}),
    )
    .await;
    assert_eq!(b3["status"], "success");

    let (s, b) = post_json(
        &format!("{v2}/check-status"),
        &json!({"disburse_invoice": "nope"}),
    )
    .await;
    assert_eq!((s, b["response_code"].as_str()), (404, Some("4004")));
}

#[tokio::test]
async fn failures_and_delay() {
    let fake = spawn(FakePayDunyaConfig::default()).await.unwrap();
    let url = format!("{}/checkout-invoice/create", fake.api_url());
    let body = json!({"invoice": {"total_amount": 1000}, "store": {"name": "WOLO"}});

    fake.fail_next(Target::Create, Failure::LostResponse);
    let (s, _) = post_json(&url, &body).await;
    assert_eq!(s, 500);
    assert_eq!(fake.invoices_created(), 1);

    let r = client()
        .post(format!("{}/_fake/failures", fake.url))
        .json(&json!({"target": "create", "mode": "500"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (s, _) = post_json(&url, &body).await;
    assert_eq!(s, 500);
    assert_eq!(fake.invoices_created(), 1);
    let (s, _) = post_json(&url, &body).await;
    assert_eq!(s, 200);

    let token = create(&fake, json!(1000), None).await;
    fake.fail_next(Target::Confirm, Failure::Status500);
    let confirm = format!("{}/checkout-invoice/confirm/{token}", fake.api_url());
    assert_eq!(get_json(&confirm).await.0, 500);
    assert_eq!(get_json(&confirm).await.0, 200);

    fake.fail_next(Target::Softpay, Failure::Hang);
    let r = keyed(client().post(format!("{}/softpay/free-money-senegal", fake.api_url())))
        .timeout(Duration::from_millis(200))
        .json(&json!({}))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(fake.softpay_calls().len(), 1);

    fake.set_delay(Duration::from_millis(200));
    let start = Instant::now();
    assert_eq!(get_json(&confirm).await.0, 200);
    assert!(start.elapsed() >= Duration::from_millis(200));
}
