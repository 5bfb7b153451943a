//! PayDunya (web checkout, notifications confirmed by WOLO, payouts as refunds), the USSD menu
//! and incoming SMS, against a fake PayDunya on loopback.

use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{expect, paydunya_stack, stack, Stack, GATEWAY_KEY};

impl Stack {
    fn fake(&self) -> &fakepaydunya::FakePayDunya {
        self.paydunya.as_ref().expect("a PayDunya stack")
    }

    async fn ipn(&self, form: &[(String, String)]) -> Response {
        self.app
            .request(Method::POST, "/webhooks/paydunya")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn hop(&self, session: &str, phone: &str, text: &str) -> String {
        let r = self
            .app
            .request(Method::POST, &format!("/ussd/{GATEWAY_KEY}"))
            .form(&[
                ("sessionId", session),
                ("phoneNumber", phone),
                ("networkCode", "60802"),
                ("serviceCode", "*123#"),
                ("text", text),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let screen = r.text().await.unwrap();
        assert!(
            screen.starts_with("CON ") || screen.starts_with("END "),
            "{screen}"
        );
        assert!(
            donations::ussd::is_gsm7(&screen) && screen.chars().count() <= 160,
            "{screen:?}"
        );
        screen
    }

    async fn sms(&self, id: &str, from: &str, text: &str) -> Value {
        expect(
            self.app
                .request(Method::POST, &format!("/sms/{GATEWAY_KEY}"))
                .form(&[("id", id), ("from", from), ("to", "21004"), ("text", text)])
                .send()
                .await
                .unwrap(),
            200,
        )
        .await
    }

    async fn short_code(&self, pot: Uuid) -> String {
        sqlx::query_scalar("select short_code from pots.pots where id = $1")
            .bind(pot)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    async fn token_of(&self, donation: Uuid) -> Option<String> {
        sqlx::query_scalar("select provider_token from donations.donations where id = $1")
            .bind(donation)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// The donation's invoice token once its payment was asked for in the background.
    async fn started(&self, donation: Uuid) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(t) = self.token_of(donation).await {
                // The SOFTPAY request follows the stored token.
                if self
                    .fake()
                    .softpay_calls()
                    .iter()
                    .any(|c| c.to_string().contains(&t))
                {
                    return t;
                }
            }
            assert!(Instant::now() < deadline, "payment never started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `n` messages `message` to `phone` are queued (the payment's start publishes
    /// its instructions after PayDunya has answered, in the background).
    async fn queued(&self, phone: &str, message: &str, n: i64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.receipts_to(phone, message).await;
            if got == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{message} to {phone}: {got}, expected {n}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn receipts_to(&self, phone: &str, message: &str) -> i64 {
        sqlx::query_scalar(
            "select count(*) from wolo.outbox where topic = 'notification.requested'
              and payload->'recipient'->>'phone' = $1 and payload->>'message' = $2",
        )
        .bind(phone)
        .bind(message)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn a_web_donor_pays_with_paydunya_and_the_notification_is_confirmed_once() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let b = expect(
        s.checkout(
            json!({"pot_id": pot, "amount_cfa": 7000, "donor_name": "Ibou", "provider": "paydunya"}),
            Some("pd-1"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(b["provider"], "paydunya");
    assert_eq!(b["wave_payment_url"], Value::Null);
    let url = b["payment_url"].as_str().unwrap();
    assert!(url.contains("/sandbox-checkout/invoice/"), "{url}");
    let id: Uuid = b["donation_id"].as_str().unwrap().parse().unwrap();
    let token = s.token_of(id).await.expect("token stored");
    assert_eq!(
        s.fake().invoice(&token).unwrap()["custom_data"]["donation_id"],
        id.to_string()
    );
    // A replay of the same request answers the same invoice.
    let again = expect(
        s.checkout(
            json!({"pot_id": pot, "amount_cfa": 7000, "donor_name": "Ibou", "provider": "paydunya"}),
            Some("pd-1"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["payment_url"], b["payment_url"]);
    assert_eq!(s.fake().invoices_created(), 1);

    // A notification before the payment (or a forged status): PayDunya still says pending.
    let mut early = s.fake().ipn_form(&token).unwrap();
    for (k, v) in early.iter_mut() {
        if k == "data[status]" {
            *v = "completed".into();
        }
    }
    let r = expect(s.ipn(&early).await, 200).await;
    assert_eq!(r["outcome"], "pending");
    assert_eq!(s.status(id).await, "pending");

    // Paid: the notification is confirmed with PayDunya and applied once.
    let form = s.fake().complete(&token, "orange_money_senegal").unwrap();
    let r = expect(s.ipn(&form).await, 200).await;
    assert_eq!(r["outcome"], "applied");
    assert_eq!(s.status(id).await, "succeeded");
    let method: String =
        sqlx::query_scalar("select payment_method from donations.donations where id = $1")
            .bind(id)
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    assert_eq!(method, "orange_money");
    // Twice, and late with a stale "cancelled": nothing more.
    let r = expect(s.ipn(&form).await, 200).await;
    assert_eq!(r["outcome"], "ignored");
    let mut stale = form.clone();
    for (k, v) in stale.iter_mut() {
        if k == "data[status]" {
            *v = "cancelled".into();
        }
    }
    let r = expect(s.ipn(&stale).await, 200).await;
    assert_eq!(r["outcome"], "ignored");
    assert_eq!(s.status(id).await, "succeeded");
    assert_eq!(s.outbox_count("donation.succeeded", id).await, 1);
    assert!(s.fake().confirm_calls(&token) >= 4);
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from donations.paydunya_notifications where donation_id = $1 and payload ? 'hash'",
    )
    .bind(id)
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 0, "the hash is never stored");

    // Refunded: PayDunya has no refund call, the amount is paid out to the donor's wallet.
    // (A web donor paid from the number PayDunya reports; this one gave none: refused.)
    let (_, admin) = s.admin().await;
    let r = s
        .app
        .request(Method::POST, &format!("/{id}/refund"))
        .bearer_auth(&admin)
        .json(&json!({"reason": "test"}))
        .send()
        .await
        .unwrap();
    let b = expect(r, 502).await;
    assert_eq!(b["code"], "paydunya_payout_failed");
    assert_eq!(s.status(id).await, "succeeded");
}

#[tokio::test]
async fn a_forged_or_unknown_notification_changes_nothing() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let b = expect(
        s.checkout(
            json!({"pot_id": pot, "amount_cfa": 3000, "provider": "paydunya"}),
            None,
        )
        .await,
        201,
    )
    .await;
    let id: Uuid = b["donation_id"].as_str().unwrap().parse().unwrap();
    let token = s.token_of(id).await.unwrap();
    let form = s.fake().complete(&token, "free_money_senegal").unwrap();
    let forged = fakepaydunya::FakePayDunya::forge(&form);
    let r = s.ipn(&forged).await;
    assert_eq!(r.status().as_u16(), 401);
    let without: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| k != "data[hash]")
        .cloned()
        .collect();
    assert_eq!(s.ipn(&without).await.status().as_u16(), 401);
    let stored: i64 = sqlx::query_scalar("select count(*) from donations.paydunya_notifications")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(s.status(id).await, "pending");
    // An empty probe is answered, and a valid hash on a token of no donation is recorded.
    assert_eq!(s.ipn(&[]).await.status().as_u16(), 200);
    let mut other = form.clone();
    for (k, v) in other.iter_mut() {
        if k == "data[invoice][token]" {
            *v = "test_unknown".into();
        }
    }
    let r = expect(s.ipn(&other).await, 200).await;
    assert_eq!(r["outcome"], "error");
    assert_eq!(s.status(id).await, "pending");
    // The reconciliation job confirms what no notification brought.
    let pool = s.db.service_pool("donations");
    let paydunya = donations::paydunya::PayDunya::new(donations::config::PayDunyaConfig::new(
        &s.fake().api_url(),
        &format!("{}/api/v2", s.fake().url),
        [
            fakepaydunya::DEV_MASTER_KEY,
            fakepaydunya::DEV_PRIVATE_KEY,
            fakepaydunya::DEV_TOKEN,
        ],
        "https://api.wolo.example.sn/donations/webhooks/paydunya",
    ));
    let n = donations::paydunya_ipn::reconcile_once(&pool, &paydunya, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(s.status(id).await, "succeeded");
    assert_eq!(s.outbox_count("donation.succeeded", id).await, 1);
}

#[tokio::test]
async fn paydunya_is_not_offered_when_it_is_not_configured() {
    let s = stack().await;
    let pot = s.pot("open").await;
    let r = s
        .checkout(
            json!({"pot_id": pot, "amount_cfa": 3000, "provider": "paydunya"}),
            None,
        )
        .await;
    let b = expect(r, 422).await;
    assert_eq!(b["code"], "provider_unavailable");
    // The USSD menu and incoming SMS do not exist without the gateway.
    let r = s
        .app
        .request(Method::POST, "/ussd/anything")
        .form(&[
            ("sessionId", "s"),
            ("phoneNumber", "+221770000001"),
            ("text", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn a_ussd_donor_gives_with_free_money_and_gets_a_receipt() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let owner: Uuid = sqlx::query_scalar("select owner_user_id from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, 'Aïssatou Diop', '1990-05-01')",
    )
    .bind(owner)
    .execute(&s.db.pool)
    .await
    .unwrap();
    let code = s.short_code(pot).await;
    let phone = "+221760000042";
    // A private pot: whoever has its code may give, but learns neither whose it is nor how
    // far it is (its page shows nothing without its owner's link either).
    let private = s.hop("ATUid_private", phone, &code).await;
    assert!(
        private.starts_with(&format!("CON Cagnotte {code}\n")),
        "{private}"
    );
    assert!(
        !private.contains("Aissatou") && !private.contains('%'),
        "{private}"
    );
    sqlx::query("update pots.pots set visibility = 'public' where id = $1")
        .bind(pot)
        .execute(&s.db.pool)
        .await
        .unwrap();
    let session = "ATUid_ussd_1";

    let first = s.hop(session, phone, "").await;
    assert!(
        first.starts_with("CON ") && first.contains("Code de la cagnotte"),
        "{first}"
    );
    let wrong = s.hop(session, phone, "1").await;
    assert!(wrong.contains("Saisie invalide"), "{wrong}");
    let shown = s.hop(session, phone, &code).await;
    assert!(
        shown.contains("Cagnotte de Aissatou : 0 % atteint"),
        "{shown}"
    );
    let low = s.hop(session, phone, &format!("{code}*50")).await;
    assert!(low.contains("Saisie invalide"), "{low}");
    let op = s.hop(session, phone, &format!("{code}*5000")).await;
    assert!(op.contains("1 Orange Money\n2 Free Money"), "{op}");
    let recap = s.hop(session, phone, &format!("{code}*5000*2")).await;
    assert!(
        recap.contains("Donner 5 000 FCFA à la cagnotte de Aissatou avec Free Money ?"),
        "{recap}"
    );
    let done = s.hop(session, phone, &format!("{code}*5000*2*1")).await;
    assert!(done.starts_with("END Merci"), "{done}");
    assert!(done.contains("#150#"), "{done}");
    // The gateway retries the last hop: the same screen, no second donation.
    let again = s.hop(session, phone, &format!("{code}*5000*2*1")).await;
    assert_eq!(again, done);
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from donations.donations where donor_phone = $1 and channel = 'ussd'
            and payment_provider = 'paydunya' and payment_method = 'free_money' and amount_cfa = 5000",
    )
    .bind(phone)
    .fetch_all(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(ids.len(), 1);
    let id = ids[0];

    // The payment was asked of PayDunya in the background, once, with the 9-digit number.
    let token = s.started(id).await;
    let calls = s.fake().softpay_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["phone_number"], "760000042");
    s.queued(phone, "donation_instructions", 1).await;

    // Approved on the handset: PayDunya notifies, WOLO confirms, the donation succeeds.
    let form = s.fake().complete(&token, "free_money_senegal").unwrap();
    let r = expect(s.ipn(&form).await, 200).await;
    assert_eq!(r["outcome"], "applied");
    assert_eq!(s.status(id).await, "succeeded");
    assert_eq!(s.outbox_count("donation.succeeded", id).await, 1);
    let receipt: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested'
          and payload->>'message' = 'donation_receipt' and payload->'recipient'->>'phone' = $1",
    )
    .bind(phone)
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(receipt["channels"], json!(["sms"]));
    assert_eq!(receipt["data"]["amount_cfa"], 5000);
    assert_eq!(receipt["data"]["pot_name"], "Aïssatou");
    // A duplicate notification: nothing more.
    expect(s.ipn(&form).await, 200).await;
    assert_eq!(s.receipts_to(phone, "donation_receipt").await, 1);
}

#[tokio::test]
async fn ussd_orange_money_takes_the_donors_code_and_limits_hold() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let code = s.short_code(pot).await;
    let phone = "+221770000043";
    // Wolof on choice, and the way to get an Orange Money code.
    let wo = s.hop("o-1", phone, "0").await;
    assert!(wo.contains("Bindal code cagnotte"), "{wo}");
    let how = s.hop("o-1", phone, &format!("0*{code}*2000*1*0")).await;
    assert!(
        how.starts_with("END ") && how.contains("#144#391#"),
        "{how}"
    );
    // With the code: the SOFTPAY request carries it, and it is not kept afterwards.
    let done = s.hop("o-2", phone, &format!("{code}*2000*1*4321*1")).await;
    assert!(done.starts_with("END Merci"), "{done}");
    let id: Uuid = sqlx::query_scalar(
        "select donation_id from donations.ussd_sessions where session_id = 'o-2'",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    s.started(id).await;
    let call = s.fake().softpay_calls().pop().unwrap();
    assert_eq!(call["authorization_code"], "4321");
    let kept: Option<String> = sqlx::query_scalar(
        "select authorization_code from donations.ussd_sessions where session_id = 'o-2'",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(kept, None);
    // A refused code fails the donation and tells the donor (code 0000 is refused by the fake).
    let refused = s.hop("o-3", phone, &format!("{code}*2000*1*0000*1")).await;
    assert!(refused.starts_with("END Merci"), "{refused}");
    let id3: Uuid = sqlx::query_scalar(
        "select donation_id from donations.ussd_sessions where session_id = 'o-3'",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.status(id3).await != "failed" {
        assert!(Instant::now() < deadline, "never failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.receipts_to(phone, "donation_payment_failed").await, 1);
    // Three unpaid donations this hour (pending or failed): a fourth is refused (slowed down).
    let third = s.hop("o-4", phone, &format!("{code}*2000*2*1")).await;
    assert!(third.starts_with("END Merci"), "{third}");
    let slow = s.hop("o-5", phone, &format!("{code}*2000*2*1")).await;
    assert!(slow.contains("en attente de paiement"), "{slow}");
    // Unknown codes are limited per phone too.
    let mut last = String::new();
    for i in 0..11 {
        last = s.hop(&format!("m-{i}"), "+221770000044", "999999").await;
    }
    assert!(last.contains("Trop de codes"), "{last}");
    // A hop without its session id, or with a text past 200 characters: 400, the gateway
    // ends the session.
    for form in [
        vec![("phoneNumber", phone.to_string()), ("text", String::new())],
        vec![
            ("sessionId", "long".to_string()),
            ("phoneNumber", phone.to_string()),
            ("text", "1*".repeat(101)),
        ],
    ] {
        let r = s
            .app
            .request(Method::POST, &format!("/ussd/{GATEWAY_KEY}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let body = r.text().await.unwrap();
        assert!(
            body.starts_with("END ") && donations::ussd::is_gsm7(&body),
            "{body}"
        );
    }
    // A caller outside Senegal, and a hop of another session's caller.
    let abroad = s.hop("x-1", "+33612345678", "").await;
    assert!(abroad.starts_with("END "), "{abroad}");
    let hijack = s.hop("o-2", "+221770000099", "").await;
    assert!(hijack.starts_with("END "), "{hijack}");
}

#[tokio::test]
async fn a_donor_texts_a_code_and_an_amount() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let code = s.short_code(pot).await;
    let phone = "+221770000045";
    let r = s.sms("sms-1", phone, "bonjour").await;
    assert_eq!(r["outcome"], "help");
    let r = s.sms("sms-2", phone, &format!("{code} 5000")).await;
    assert_eq!(r["outcome"], "needs_operator");
    let r = s.sms("sms-3", phone, &format!("{code} 5000 free")).await;
    assert_eq!(r["outcome"], "donation_created");
    // The gateway delivers it again: the first outcome, nothing more.
    let r = s.sms("sms-3", phone, &format!("{code} 5000 free")).await;
    assert_eq!(r["outcome"], "donation_created");
    let id: Uuid = sqlx::query_scalar(
        "select donation_id from donations.sms_messages where gateway_message_id = 'sms-3'",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    let n: i64 = sqlx::query_scalar(
        "select count(*) from donations.donations where donor_phone = $1 and channel = 'sms'",
    )
    .bind(phone)
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(n, 1);
    // A message whose handling died half-way (left `received`) is handled on the retry.
    sqlx::query(
        "insert into donations.sms_messages (gateway_message_id, from_phone, body, outcome, received_at)
         values ('sms-stuck', '+221770000046', $1, 'received', now() - interval '1 minute')",
    )
    .bind(format!("{code} 1500 free"))
    .execute(&s.db.pool)
    .await
    .unwrap();
    let r = s
        .sms("sms-stuck", "+221770000046", &format!("{code} 1500 free"))
        .await;
    assert_eq!(r["outcome"], "donation_created");
    let token = s.started(id).await;
    // The replies went out as SMS: help, the operator question, then the instructions.
    assert_eq!(s.receipts_to(phone, "sms_reply").await, 2);
    s.queued(phone, "donation_instructions", 1).await;
    let form = s.fake().complete(&token, "free_money_senegal").unwrap();
    expect(s.ipn(&form).await, 200).await;
    assert_eq!(s.status(id).await, "succeeded");
    assert_eq!(s.receipts_to(phone, "donation_receipt").await, 1);

    // A refund pays the donor back through PayDunya (a payout to the same wallet), once.
    let (_, admin) = s.admin().await;
    let refund = expect(
        s.app
            .request(Method::POST, &format!("/{id}/refund"))
            .bearer_auth(&admin)
            .json(&json!({"reason": "doublon"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(refund["wave_refund_status"], "processing");
    let payouts = s.fake().payouts();
    assert_eq!(payouts.len(), 1, "{payouts:?}");
    s.fake().settle_payouts("success");
    let paydunya = donations::paydunya::PayDunya::new(donations::config::PayDunyaConfig::new(
        &s.fake().api_url(),
        &format!("{}/api/v2", s.fake().url),
        [
            fakepaydunya::DEV_MASTER_KEY,
            fakepaydunya::DEV_PRIVATE_KEY,
            fakepaydunya::DEV_TOKEN,
        ],
        "https://api.wolo.example.sn/donations/webhooks/paydunya",
    ));
    let pool = s.db.service_pool("donations");
    assert_eq!(
        donations::refunds::payouts_once(&pool, &paydunya)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.status(id).await, "refunded");
    assert_eq!(s.outbox_count("donation.refunded", id).await, 1);
    assert_eq!(
        donations::refunds::payouts_once(&pool, &paydunya)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.fake().payouts().len(), 1);
}

impl Stack {
    fn client(&self) -> donations::paydunya::PayDunya {
        donations::paydunya::PayDunya::new(donations::config::PayDunyaConfig::new(
            &self.fake().api_url(),
            &format!("{}/api/v2", self.fake().url),
            [
                fakepaydunya::DEV_MASTER_KEY,
                fakepaydunya::DEV_PRIVATE_KEY,
                fakepaydunya::DEV_TOKEN,
            ],
            "https://api.wolo.example.sn/donations/webhooks/paydunya",
        ))
    }

    /// A succeeded Free Money donation by SMS from `phone`.
    async fn paid_by_sms(&self, pot: Uuid, phone: &str, id: &str) -> Uuid {
        let code = self.short_code(pot).await;
        let r = self.sms(id, phone, &format!("{code} 4000 FREE")).await;
        assert_eq!(r["outcome"], "donation_created");
        let d: Uuid = sqlx::query_scalar(
            "select donation_id from donations.sms_messages where gateway_message_id = $1",
        )
        .bind(id)
        .fetch_one(&self.db.pool)
        .await
        .unwrap();
        let token = self.started(d).await;
        let form = self.fake().complete(&token, "free_money_senegal").unwrap();
        expect(self.ipn(&form).await, 200).await;
        assert_eq!(self.status(d).await, "succeeded");
        d
    }
}

#[tokio::test]
async fn a_payout_whose_answer_is_lost_is_followed_never_paid_twice() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let id = s.paid_by_sms(pot, "+221770000051", "lost-1").await;
    let (_, admin) = s.admin().await;
    let refund = |reason: &str| {
        s.app
            .request(Method::POST, &format!("/{id}/refund"))
            .bearer_auth(&admin)
            .json(&json!({"reason": reason}))
            .send()
    };
    // PayDunya pays, and its answer is lost: the refund stays processing with its token.
    s.fake().fail_next(
        fakepaydunya::Target::Disburse,
        fakepaydunya::Failure::LostResponse,
    );
    let r = expect(refund("doublon").await.unwrap(), 200).await;
    assert_eq!(r["wave_refund_status"], "processing");
    assert!(r["wave_refund_id"].is_string(), "{r}");
    // An admin trying again is refused while it is followed.
    let again = refund("doublon").await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let pool = s.db.service_pool("donations");
    let paydunya = s.client();
    assert_eq!(
        donations::refunds::payouts_once(&pool, &paydunya)
            .await
            .unwrap(),
        0
    );
    s.fake().settle_payouts("success");
    assert_eq!(
        donations::refunds::payouts_once(&pool, &paydunya)
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.status(id).await, "refunded");
    assert_eq!(s.fake().payouts().len(), 1);
    assert_eq!(s.outbox_count("donation.refunded", id).await, 1);
}

#[tokio::test]
async fn an_unknown_softpay_outcome_is_neither_repeated_nor_failed() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let code = s.short_code(pot).await;
    let phone = "+221770000052";
    s.fake().fail_next(
        fakepaydunya::Target::Softpay,
        fakepaydunya::Failure::LostResponse,
    );
    let done = s.hop("u-1", phone, &format!("{code}*3000*2*1")).await;
    assert!(done.starts_with("END Merci"), "{done}");
    let id: Uuid = sqlx::query_scalar(
        "select donation_id from donations.ussd_sessions where session_id = 'u-1'",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    let token = s.started(id).await;
    // The claim is released once the start is over; the donation stays pending, untouched.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let claimed: bool = sqlx::query_scalar(
            "select wave_claim_id is not null from donations.donations where id = $1",
        )
        .bind(id)
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
        if !claimed {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.status(id).await, "pending");
    assert_eq!(s.receipts_to(phone, "donation_payment_failed").await, 0);
    // The job never asks the payer again (the invoice is there).
    let pool = s.db.service_pool("donations");
    let links = platform::links::Links::local();
    assert_eq!(
        donations::ussd::start_phone_payments_once(&pool, &s.client(), &links)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.fake().softpay_calls().len(), 1);
    // The payer approved after all: the notification makes it count.
    let form = s.fake().complete(&token, "free_money_senegal").unwrap();
    let r = expect(s.ipn(&form).await, 200).await;
    assert_eq!(r["outcome"], "applied");
}

#[tokio::test]
async fn a_phone_donation_that_never_got_an_invoice_expires_with_an_sms() {
    let s = paydunya_stack().await;
    let pot = s.pot("open").await;
    let code = s.short_code(pot).await;
    let phone = "+221770000053";
    s.fake().fail_next(
        fakepaydunya::Target::Create,
        fakepaydunya::Failure::Status500,
    );
    s.hop("e-1", phone, &format!("{code}*3000*2*1")).await;
    let id: Uuid = sqlx::query_scalar(
        "select donation_id from donations.ussd_sessions where session_id = 'e-1'",
    )
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    // The background start failed (no invoice, nothing asked of the payer).
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.fake().invoices_created() == 0 {
        let claimed: bool = sqlx::query_scalar(
            "select wave_claim_id is not null from donations.donations where id = $1",
        )
        .bind(id)
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
        if claimed {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.token_of(id).await, None);
    let pool = s.db.service_pool("donations");
    let n = donations::expire_pending_once(&pool, chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(s.status(id).await, "failed");
    assert_eq!(s.outbox_count("donation.failed", id).await, 1);
    assert_eq!(s.receipts_to(phone, "donation_payment_failed").await, 1);
}
