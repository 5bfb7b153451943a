//! The pages people open from a link (`web`), through the whole suite and a fake Wave on
//! loopback, as a phone would: the pot page in each state and language, a private pot, the
//! « Participer » form to Wave and back to the thank-you page (pending, then a receipt once
//! the webhook landed), the error page, the gift page with its counter code; and every link
//! the suite writes pointing at these pages when `WOLO_PUBLIC_WEB_URL` is unset.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::{redirect::Policy, Method};
use serde_json::Value;
use sqlx::PgPool;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

pub struct Suite {
    pub db: TestDb,
    pub app: TestApp,
    pub wave: fakewave::FakeWave,
    pub links: platform::links::Links,
}

/// The suite with its pages, its donations service pointed at a fake Wave whose webhooks
/// come back to it, its links pointing at its own address.
pub async fn suite() -> Suite {
    served(false).await
}

/// [`suite`], with every job and consumer running as in production when `running`.
pub async fn served(running: bool) -> Suite {
    let db = TestDb::new().await;
    let wave = fakewave::spawn(fakewave::FakeWaveConfig::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut ctx = db.context();
    std::sync::Arc::make_mut(&mut ctx.config).public_web_url =
        format!("http://{}", listener.local_addr().unwrap());
    let env = platform::config::Env::process()
        .with("WOLO_WAVE_API_URL", &wave.url)
        .with("WOLO_WAVE_API_KEY", fakewave::DEV_API_KEY)
        .with("WOLO_WAVE_WEBHOOK_SECRET", fakewave::DEV_WEBHOOK_SECRET);
    let contexts = suite::service_contexts(&ctx, &env).unwrap();
    let links = platform::links::Links::from_config(&ctx.config);
    let app = testkit::spawn_on(listener, suite::suite_router_of(&contexts)).await;
    wave.set_webhook_url(Some(app.url("/donations/webhooks/wave")));
    if running {
        suite::start_jobs_of(&contexts);
    }
    app.wait_ready("/pots/pots?limit=0").await;
    Suite {
        db,
        app,
        wave,
        links,
    }
}

pub fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// A user with a profile named `name`.
pub async fn user(pool: &PgPool, name: &str) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+22177' || lpad((floor(random() * 10000000))::int::text, 7, '0'))
         returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, $2, '1995-01-01')",
    )
    .bind(id)
    .bind(name)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// A partner (CinéTeranga, two venues with hours), its cinema pack.
pub async fn pack(pool: &PgPool) -> (Uuid, Uuid) {
    let partner: Uuid = sqlx::query_scalar(
        "insert into packs.partners (name, type, revenue_split_percentage, venues, status)
         values ('CinéTeranga', 'cinema', 80,
                 '[{\"id\": \"plateau\", \"name\": \"CinéTeranga Plateau\", \"address\": \"Avenue Georges Pompidou\",
                    \"city\": \"Dakar\", \"hours\": \"tous les jours, 14 h – 23 h\"}]', 'active')
         returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let pack: Uuid = sqlx::query_scalar(
        "insert into packs.packs (name, description, category, base_price_cfa, partner_id, validity_days,
                                  redemption_instructions)
         values ('Soirée cinéma pour deux', 'Deux places et du pop-corn', 'cinema', 15000, $1, 30,
                 'Présentez le QR code à la caisse')
         returning id",
    )
    .bind(partner)
    .fetch_one(pool)
    .await
    .unwrap();
    (partner, pack)
}

/// An open pot of `owner` (birthday in 12 days), target 20 000 FCFA, with `visibility`.
pub async fn open_pot(pool: &PgPool, owner: Uuid, pack: Option<Uuid>, visibility: &str) -> Uuid {
    let birthday = (Utc::now() + chrono::Duration::days(12)).date_naive();
    sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at,
                                actual_opened_at, status, visibility, preferred_pack_id)
         values ($1, 'Les 30 ans d''Awa', 20000, $2, now() - interval '1 day', now() - interval '1 day',
                 'open', $3, $4)
         returning id",
    )
    .bind(owner)
    .bind(birthday)
    .bind(visibility)
    .bind(pack)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A succeeded donation, with the pot's total raised by it.
#[allow(clippy::too_many_arguments)]
pub async fn given(
    pool: &PgPool,
    pot: Uuid,
    name: &str,
    amount: i32,
    anonymous: bool,
    show_amount: bool,
    message: &str,
) {
    sqlx::query(
        "insert into donations.donations
             (pot_id, donor_name, donor_phone, amount_cfa, status, is_anonymous, show_amount,
              donation_message, confirmed_at)
         values ($1, $2, '+221770009999', $3, 'succeeded', $4, $5, $6, now())",
    )
    .bind(pot)
    .bind(name)
    .bind(amount)
    .bind(anonymous)
    .bind(show_amount)
    .bind(message)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "update pots.pots set raised_amount_cfa = raised_amount_cfa + $2, donor_count = donor_count + 1
         where id = $1",
    )
    .bind(pot)
    .bind(amount)
    .execute(pool)
    .await
    .unwrap();
}

pub async fn html(app: &TestApp, path: &str, lang: Option<&str>) -> (u16, String) {
    let mut req = app.request(Method::GET, path);
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn the_pot_page_shows_what_donors_and_the_owner_allowed() {
    let s = suite().await;
    let pool = &s.db.pool;
    let owner = user(pool, "Awa Ndiaye").await;
    let (_, pack) = pack(pool).await;
    let pot = open_pot(pool, owner, Some(pack), "public").await;
    given(
        pool,
        pot,
        "Moussa Diop",
        5000,
        false,
        true,
        "Joyeux anniversaire !",
    )
    .await;
    given(pool, pot, "Secret Fatou", 7000, true, true, "Bisous").await;
    given(pool, pot, "Ibou Sarr", 3000, false, false, "").await;

    let (status, page) = html(&s.app, &format!("/p/{pot}"), Some("fr-SN,fr;q=0.9")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"fr\">"), "{page}");
    // maud escapes & < > " only: the apostrophes stand as typed.
    assert!(page.contains("<h1>Les 30 ans d'Awa</h1>"), "{page}");
    assert!(page.contains("L'anniversaire de Awa"), "{page}");
    assert!(!page.contains("Ndiaye"), "only the owner's first name");
    assert!(
        page.contains("15\u{202f}000\u{a0}FCFA collectés sur 20\u{202f}000\u{a0}FCFA"),
        "{page}"
    );
    assert!(page.contains("Plus que 12 jours"), "{page}");
    assert!(page.contains("Soirée cinéma pour deux"));
    // The wall: a name with its amount and words; an anonymous donor; a hidden amount.
    assert!(
        page.contains("Moussa Diop</strong> — 5\u{202f}000\u{a0}FCFA"),
        "{page}"
    );
    assert!(page.contains("Joyeux anniversaire !"));
    assert!(!page.contains("Secret Fatou"), "an anonymous donor's name");
    assert!(
        page.contains("Anonyme</strong> — 7\u{202f}000\u{a0}FCFA"),
        "{page}"
    );
    assert!(page.contains("Ibou Sarr</strong>"));
    assert!(!page.contains("3\u{202f}000\u{a0}FCFA"), "a hidden amount");
    assert!(!page.contains("+221770009999"), "no donor's phone");
    // The form, and the preview's tags.
    assert!(
        page.contains("<form class=\"card\" method=\"post\""),
        "{page}"
    );
    assert!(page.contains(">Participer</button>"));
    assert!(
        page.contains("property=\"og:title\" content=\"Les 30 ans d"),
        "{page}"
    );
    assert!(page.contains(&format!("/p/{pot}/apercu.jpg\"")), "{page}");
    assert!(page.contains("name=\"viewport\""));

    // Wolof by the switch, English by the browser.
    let (_, wo) = html(&s.app, &format!("/p/{pot}?lang=wo"), Some("en")).await;
    assert!(
        wo.contains("<html lang=\"wo\">") && wo.contains("Bokk ci"),
        "{wo}"
    );
    let (_, en) = html(&s.app, &format!("/p/{pot}"), Some("en-GB,en;q=0.8")).await;
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("12 days left"),
        "{en}"
    );
    assert!(
        en.contains("15,000\u{a0}FCFA raised of 20,000\u{a0}FCFA"),
        "{en}"
    );

    // The states: funded, closed, expired, scheduled (no form).
    for (state, words) in [
        ("funded", "Objectif atteint"),
        ("closed", "La cagnotte est clôturée"),
        ("expired", "La cagnotte est terminée"),
        ("scheduled", "La cagnotte ouvre le"),
    ] {
        let pot = if state == "scheduled" {
            sqlx::query_scalar(
                "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date,
                                        scheduled_open_at, visibility)
                 values ($1, 'Bientôt', 20000, current_date + 40, now() + interval '2 days', 'public')
                 returning id",
            )
            .bind(owner)
            .fetch_one(pool)
            .await
            .unwrap()
        } else {
            let pot = open_pot(pool, owner, Some(pack), "public").await;
            sqlx::query("update pots.pots set status = $2 where id = $1")
                .bind(pot)
                .bind(state)
                .execute(pool)
                .await
                .unwrap();
            pot
        };
        let (status, page) = html(&s.app, &format!("/p/{pot}"), None).await;
        assert_eq!(status, 200);
        assert!(page.contains(words), "{state}: {page}");
        assert!(!page.contains("method=\"post\""), "{state}: no form");
    }

    // Unknown pots and bad ids: a friendly 404 in French.
    for path in [format!("/p/{}", Uuid::new_v4()), "/p/pas-un-id".to_string()] {
        let (status, page) = html(&s.app, &path, None).await;
        assert_eq!(status, 404);
        assert!(page.contains("Page introuvable"), "{page}");
    }
}

#[tokio::test]
async fn a_private_pot_shows_nothing_without_its_link() {
    let s = suite().await;
    let pool = &s.db.pool;
    let owner = user(pool, "Awa Ndiaye").await;
    let pot = open_pot(pool, owner, None, "private").await;
    let (status, page) = html(&s.app, &format!("/p/{pot}"), None).await;
    assert_eq!(status, 403);
    assert!(page.contains("Cagnotte privée"), "{page}");
    assert!(!page.contains("Awa"), "{page}");
    assert!(
        page.contains("property=\"og:title\" content=\"WOLO\""),
        "a neutral card: {page}"
    );
    let (status, _) = html(&s.app, &format!("/p/{pot}?k=AAAAAAAAAAAAAAAA"), None).await;
    assert_eq!(status, 403);
    // The owner's share link opens it, and the form keeps the key.
    let (status, page) = html(
        &s.app,
        &format!("/p/{pot}?k={}", s.links.share_key(pot)),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Awa"), "{page}");
    assert!(
        page.contains(&format!("action=\"/p/{pot}?k={}\"", s.links.share_key(pot))),
        "{page}"
    );
    // A form posted without the link is refused the same way.
    let res = no_redirect()
        .post(s.app.url(&format!("/p/{pot}")))
        .form(&[("amount", "1000"), ("key", "k1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let n: i64 = sqlx::query_scalar("select count(*) from donations.donations where pot_id = $1")
        .bind(pot)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// Polls `sql` (one bool, bound to `arg`) until true.
pub async fn until(pool: &PgPool, sql: &str, arg: Uuid) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done: bool = sqlx::query_scalar(sql)
            .bind(arg)
            .fetch_one(pool)
            .await
            .unwrap();
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "never: {sql}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn participer_goes_to_wave_and_comes_back_to_a_receipt() {
    let s = suite().await;
    let pool = &s.db.pool;
    let owner = user(pool, "Awa Ndiaye").await;
    let pot = open_pot(pool, owner, None, "public").await;
    let client = no_redirect();

    // A bad amount: the checkout's own words on the page, what was typed kept, nothing written.
    let res = client
        .post(s.app.url(&format!("/p/{pot}")))
        .form(&[
            ("amount", "douze"),
            ("donor_name", "Moussa"),
            ("message", "Bravo"),
            ("key", "page-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("class=\"error\""), "{page}");
    assert!(
        page.contains("Le montant doit être un nombre entier de FCFA"),
        "{page}"
    );
    assert!(
        page.contains("value=\"Moussa\"") && page.contains(">Bravo</textarea>"),
        "{page}"
    );

    // The form as a phone sends it; a double tap (same page key) is one checkout.
    let form = [
        ("amount", "5 000"),
        ("donor_name", "Moussa Diop"),
        ("donor_phone", "77 000 00 01"),
        ("message", "Bon anniversaire !"),
        ("show_amount", "on"),
        ("key", "page-2"),
    ];
    let mut to = Vec::new();
    for _ in 0..2 {
        let res = client
            .post(s.app.url(&format!("/p/{pot}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303);
        to.push(res.headers()["location"].to_str().unwrap().to_string());
    }
    assert_eq!(to[0], to[1]);
    assert!(to[0].starts_with(&s.wave.url), "{}", to[0]);
    let (donation, amount, message): (Uuid, i32, Option<String>) = sqlx::query_as(
        "select id, amount_cfa, donation_message from donations.donations where pot_id = $1",
    )
    .bind(pot)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        (amount, message.as_deref()),
        (5000, Some("Bon anniversaire !"))
    );
    // A tampered page key that cannot be a header: the checkout goes on without one.
    let res = client
        .post(s.app.url(&format!("/p/{pot}")))
        .form(&[("amount", "1000"), ("key", "clé\nX-Evil: 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let n: i64 = sqlx::query_scalar(
        "select count(*) from donations.donations where pot_id = $1 and amount_cfa = 1000 and idempotency_key is null",
    )
    .bind(pot)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(n, 1);

    // Before Wave's webhook: the thank-you page waits and reloads itself.
    let (status, page) = html(&s.app, &format!("/dons/{donation}/merci"), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("Paiement en cours"), "{page}");
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");

    // The donor pays: Wave's webhook lands, then Wave sends the browser to success_url,
    // which is the suite's own thank-you page (WOLO_PUBLIC_WEB_URL unset).
    let paid = client.post(format!("{}/pay", to[0])).send().await.unwrap();
    assert_eq!(paid.status().as_u16(), 303);
    let back = paid.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(back, s.links.donation_thanks(donation));
    until(
        pool,
        "select status = 'succeeded' from donations.donations where id = $1",
        donation,
    )
    .await;
    let (status, page) = html(&s.app, &format!("/dons/{donation}/merci"), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("Merci !"), "{page}");
    assert!(
        page.contains("Votre participation de 5\u{202f}000\u{a0}FCFA"),
        "{page}"
    );
    assert!(
        page.contains(&donation.to_string().to_uppercase()),
        "the receipt's reference"
    );
    assert!(!page.contains("http-equiv=\"refresh\""));
    assert!(!page.contains("+221770000001"), "no phone on the receipt");

    // The error page: nothing taken, back to the form; a paid donation goes to its receipt.
    let other: Uuid = sqlx::query_scalar(
        "insert into donations.donations (pot_id, amount_cfa, status) values ($1, 2000, 'failed') returning id",
    )
    .bind(pot)
    .fetch_one(pool)
    .await
    .unwrap();
    let (status, page) = html(&s.app, &format!("/dons/{other}/echec"), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("Le paiement n'a pas abouti"));
    assert!(
        page.contains(&format!("/p/{pot}?k=")) && page.contains("#participer"),
        "{page}"
    );
    let res = client
        .get(s.app.url(&format!("/dons/{donation}/echec")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (status, _) = html(&s.app, &format!("/dons/{}/merci", Uuid::new_v4()), None).await;
    assert_eq!(status, 404);
}

/// Issues the gift of a funded pot of `owner` whose birthday is today, with the qr consumer.
pub async fn gift(s: &Suite, owner: Uuid, pack: Uuid) -> (Uuid, Uuid) {
    let pool = &s.db.pool;
    let birthday = Utc::now()
        .with_timezone(&chrono_tz::Africa::Dakar)
        .date_naive();
    let pot: Uuid = sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, raised_amount_cfa, birthday_date,
                                scheduled_open_at, status, preferred_pack_id)
         values ($1, 'Les 30 ans d''Awa', 15000, 15000, $2, ($2::date - 30)::timestamptz, 'funded', $3)
         returning id",
    )
    .bind(owner)
    .bind(birthday)
    .bind(pack)
    .fetch_one(pool)
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    platform::outbox::publish(
        &mut tx,
        "pot.funded",
        &serde_json::json!({"pot_id": pot, "owner_user_id": owner, "raised_amount_cfa": 15000,
                            "target_amount_cfa": 15000, "preferred_pack_id": pack, "birthday_date": birthday}),
        "pots",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let secret = qr::code::QrSecret::new(qr::code::DEV_SECRET.as_bytes()).unwrap();
    let consumer = qr::issue::consumer(secret, s.links.clone());
    let service = s.db.service_pool("qr");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        consumer.run_once(&service).await.unwrap();
        let id: Option<Uuid> = sqlx::query_scalar("select id from qr.qr_codes where pot_id = $1")
            .bind(pot)
            .fetch_optional(pool)
            .await
            .unwrap();
        if let Some(id) = id {
            return (pot, id);
        }
        assert!(Instant::now() < deadline, "no code issued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_gift_page_shows_the_code_and_the_counter_code() {
    let s = suite().await;
    let pool = &s.db.pool;
    let owner = user(pool, "Awa Ndiaye").await;
    let (_, pack) = pack(pool).await;
    let (_, qr_id) = gift(&s, owner, pack).await;
    let short: String = sqlx::query_scalar("select short_code from qr.qr_codes where id = $1")
        .bind(qr_id)
        .fetch_one(pool)
        .await
        .unwrap();
    // The qr_ready message links to the suite's own gift page.
    let msg: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested'
         and payload->>'message' = 'qr_ready' and payload->>'user_id' = $1",
    )
    .bind(owner.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(msg["data"]["qr_url"], s.links.gift(qr_id));
    assert!(s.links.gift(qr_id).contains("/cadeau/"));

    let (status, page) = html(&s.app, &format!("/cadeau/{qr_id}"), None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Votre cadeau : Soirée cinéma pour deux"),
        "{page}"
    );
    assert!(page.contains("<svg"), "the QR code inline");
    assert!(page.contains(&qr::code::short_grouped(&short)), "{page}");
    assert!(page.contains("Montrez ce QR code au comptoir"), "{page}");
    assert!(
        page.contains("CinéTeranga Plateau") && page.contains("14 h – 23 h"),
        "{page}"
    );

    sqlx::query("update qr.qr_codes set status = 'redeemed', redeemed_at = now() where id = $1")
        .bind(qr_id)
        .execute(pool)
        .await
        .unwrap();
    let (_, page) = html(&s.app, &format!("/cadeau/{qr_id}"), Some("en")).await;
    assert!(page.contains("This gift has already been used"), "{page}");
    assert!(!page.contains("<svg"), "no code once used");
    let (status, _) = html(&s.app, &format!("/cadeau/{}", Uuid::new_v4()), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_link_points_at_the_suites_own_pages_out_of_the_box() {
    let s = suite().await;
    let pool = &s.db.pool;
    let owner = user(pool, "Awa Ndiaye").await;
    // The lifecycle opens a pot: the owner's message carries the share link, which opens it.
    let birthday = (Utc::now() + chrono::Duration::days(20)).date_naive();
    let pot: Uuid = sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at)
         values ($1, 'Les 30 ans d''Awa', 20000, $2, now() - interval '1 minute') returning id",
    )
    .bind(owner)
    .bind(birthday)
    .fetch_one(pool)
    .await
    .unwrap();
    pots::lifecycle::lifecycle_once(&s.db.service_pool("pots"), Utc::now(), &s.links)
        .await
        .unwrap();
    let msg: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested'
         and payload->>'message' = 'pot_opened' and payload->>'user_id' = $1",
    )
    .bind(owner.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    let url = msg["data"]["pot_url"].as_str().unwrap();
    assert_eq!(url, s.links.pot(pot));
    let path = url.strip_prefix(s.links.base()).unwrap();
    let (status, page) = html(&s.app, path, None).await;
    assert_eq!(status, 200, "a private pot opened by its owner's link");
    assert!(page.contains("Les 30 ans d"), "{page}");

    // An invitation's link opens it too.
    let res = s
        .app
        .request(Method::POST, &format!("/pots/pots/{pot}/invitations"))
        .bearer_auth(testkit::token(auth::Role::User, owner))
        .json(&serde_json::json!({"method": "sms", "recipient": "+221770001122"}))
        .send()
        .await
        .unwrap();
    let inv = testkit::expect(res, 201).await;
    let inv_id: Uuid = inv["id"].as_str().unwrap().parse().unwrap();
    let (status, _) = html(&s.app, &format!("/p/{pot}?i={inv_id}"), None).await;
    assert_eq!(status, 200);
}

/// The latest `notification.requested` of `message` whose recipient (phone or e-mail) or
/// user is `who`.
pub async fn requested(pool: &PgPool, message: &str, who: &str) -> Value {
    sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested'
         and payload->>'message' = $1
         and $2 in (payload->'recipient'->>'phone', payload->'recipient'->>'email', payload->>'user_id')
         order by id desc limit 1",
    )
    .bind(message)
    .bind(who)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The path of a link the suite wrote (it starts with the suite's own address).
fn own_path<'a>(s: &Suite, url: &'a str) -> &'a str {
    url.strip_prefix(s.links.base())
        .unwrap_or_else(|| panic!("{url} is not on {}", s.links.base()))
}

async fn post_form(s: &Suite, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = no_redirect()
        .post(s.app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_reset_and_confirmation_links_of_e_mails_are_pages() {
    let s = suite().await;
    let pool = &s.db.pool;
    let email = "awa.reset@example.sn";
    let signup = s
        .app
        .request(Method::POST, "/identity/signup")
        .json(&serde_json::json!({"email": email, "password": "premier-mot-de-passe"}))
        .send()
        .await
        .unwrap();
    assert!(
        signup.status().is_success(),
        "{}",
        signup.text().await.unwrap()
    );

    // The confirmation e-mail's link: a button first (a mail scanner's GET confirms nothing).
    let confirm = requested(pool, "email_confirmation", email).await;
    let path = own_path(&s, confirm["data"]["confirm_url"].as_str().unwrap()).to_string();
    assert!(path.starts_with("/auth/confirm?token_hash="), "{path}");
    let (status, page) = html(&s.app, &path, None).await;
    assert_eq!(status, 200);
    assert!(page.contains(">Confirmer</button>"), "{page}");
    let confirmed = "select email_confirmed_at is not null from identity.users where email = $1";
    let is_confirmed = || async {
        sqlx::query_scalar::<_, bool>(confirmed)
            .bind(email)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert!(!is_confirmed().await);
    let (status, page) = post_form(&s, &path, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Votre adresse e-mail est confirmée"),
        "{page}"
    );
    assert!(is_confirmed().await);
    // Twice: the link is used.
    let (status, page) = post_form(&s, &path, &[]).await;
    assert_eq!(status, 400);
    assert!(page.contains("plus valable"), "{page}");

    // The reset e-mail's link.
    let res = s
        .app
        .request(Method::POST, "/identity/recover")
        .json(&serde_json::json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let reset = requested(pool, "password_reset", email).await;
    let path = own_path(&s, reset["data"]["reset_url"].as_str().unwrap()).to_string();
    let token = path.strip_prefix("/reset?token=").unwrap().to_string();
    let (status, page) = html(&s.app, &path, None).await;
    assert_eq!(status, 200);
    assert!(page.contains("type=\"password\""), "{page}");
    // Two different passwords: asked again, the link untouched.
    let (status, page) = post_form(
        &s,
        "/reset",
        &[
            ("token", &token),
            ("password", "nouveau-mot-1"),
            ("password_again", "nouveau-mot-2"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("ne sont pas identiques"), "{page}");
    // Too short: the link is used, the session kept in the form, asked again.
    let (status, page) = post_form(
        &s,
        "/reset",
        &[
            ("token", &token),
            ("password", "abc"),
            ("password_again", "abc"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("name=\"session\""), "{page}");
    let session = page
        .split("name=\"session\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let (status, page) = post_form(
        &s,
        "/reset",
        &[
            ("session", &session),
            ("password", "un-bon-mot-de-passe"),
            ("password_again", "un-bon-mot-de-passe"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Votre mot de passe est changé"), "{page}");
    let res = s
        .app
        .request(Method::POST, "/identity/token?grant_type=password")
        .json(&serde_json::json!({"email": email, "password": "un-bon-mot-de-passe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // A tampered session field: refused like a used link, nothing changed.
    let (status, page) = post_form(
        &s,
        "/reset",
        &[
            ("session", "jeton\u{e9}"),
            ("password", "encore-un-autre"),
            ("password_again", "encore-un-autre"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("plus valable"), "{page}");
    // The link again: no longer valid.
    let (status, _) = post_form(
        &s,
        "/reset",
        &[
            ("token", &token),
            ("password", "encore-un-autre"),
            ("password_again", "encore-un-autre"),
        ],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_invitation_link_signs_the_invited_person_in_and_accepts() {
    let s = suite().await;
    let pool = &s.db.pool;
    let sponsor = user(pool, "Moussa Diop").await;
    sqlx::query(
        "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone, invited_name)
         values ($1, 'WOLOTEST42', '+221770004242', 'Khady')",
    )
    .bind(sponsor)
    .execute(pool)
    .await
    .unwrap();
    let (status, page) = html(&s.app, "/invitation/WOLOTEST42", None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Moussa vous invite à rejoindre WOLO"),
        "{page}"
    );
    let (status, _) = html(&s.app, "/invitation/NOPE", None).await;
    assert_eq!(status, 404);

    let (status, page) =
        post_form(&s, "/invitation/WOLOTEST42", &[("phone", "77 000 42 42")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"code\""), "{page}");
    let otp = requested(pool, "otp", "+221770004242").await;
    let code = otp["data"]["code"].as_str().unwrap();
    let (status, page) = post_form(
        &s,
        "/invitation/WOLOTEST42",
        &[("phone", "77 000 42 42"), ("code", "000000")],
    )
    .await;
    assert!(status >= 400, "a wrong code: {status} {page}");
    let (status, page) = post_form(
        &s,
        "/invitation/WOLOTEST42",
        &[("phone", "77 000 42 42"), ("code", code)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Bienvenue sur WOLO"), "{page}");
    let (status, sponsored): (String, Option<Uuid>) = sqlx::query_as(
        "select status, sponsored_user_id from referral.referrals where referral_code = 'WOLOTEST42'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(status, "accepted");
    let phone: String = sqlx::query_scalar("select phone from identity.users where id = $1")
        .bind(sponsored.unwrap())
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(phone, "+221770004242");
}

/// Reads server-sent events from `res` until `want` of them arrived: (event, data) pairs.
async fn events(res: &mut reqwest::Response, want: usize) -> Vec<(String, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, res.chunk())
            .await
            .expect("no event in time")
            .unwrap()
            .expect("the stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !event.is_empty() {
                out.push((event, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_pot_page_hears_a_donation_land_without_a_reload() {
    let s = suite().await;
    let pool = &s.db.pool;
    let owner = user(pool, "Awa Ndiaye").await;
    let pot = open_pot(pool, owner, None, "private").await;
    // The stream obeys the page's rule: a private pot needs its link.
    let res = s.app.get(&format!("/p/{pot}/live")).await;
    assert_eq!(res.status().as_u16(), 403);
    let mut res = s
        .app
        .get(&format!("/p/{pot}/live?k={}", s.links.share_key(pot)))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let first = events(&mut res, 1).await;
    assert_eq!(first[0].0, "progress");
    assert_eq!(first[0].1["raised_amount_cfa"], 0);

    // A donation succeeds (as the webhook leaves it), the pots consumer counts it.
    let donation: Uuid = sqlx::query_scalar(
        "insert into donations.donations (pot_id, amount_cfa, status, confirmed_at)
         values ($1, 5000, 'succeeded', now()) returning id",
    )
    .bind(pot)
    .fetch_one(pool)
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    platform::events::publish(
        &mut tx,
        &platform::events::DonationSucceeded {
            donation_id: donation,
            pot_id: pot,
            amount_cfa: 5000,
            donor_user_id: None,
            donor_phone: None,
            donor_name: None,
            is_anonymous: false,
            confirmed_at: Utc::now(),
        },
        "donations",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let consumer = pots::events::donations_consumer();
    let service = s.db.service_pool("pots");
    let deadline = Instant::now() + Duration::from_secs(20);
    while consumer.run_once(&service).await.unwrap().applied == 0 {
        assert!(Instant::now() < deadline, "the donation was never counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let next = events(&mut res, 1).await;
    assert_eq!(next[0].0, "progress");
    assert_eq!(next[0].1["raised_amount_cfa"], 5000);
    assert_eq!(next[0].1["donor_count"], 1);
    assert_eq!(next[0].1["progress_percent"], 25.0);
    assert_eq!(next[0].1["status"], "open");
}

/// Every page in headless Chromium at 360 px and 1280 px (`browser.mjs`), against the suite
/// serving its pages on the address its links point at, with its jobs and consumers running
/// as in production (the live total moves when the pots consumer counts the donation).
#[tokio::test]
async fn the_pages_in_chromium() {
    let chromium = std::env::var("WOLO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: apt-get install -y chromium"
    );
    assert!(
        here.join("../clients/node_modules/playwright-core")
            .exists(),
        "playwright-core is missing: npm ci --prefix clients"
    );
    let s = served(true).await;
    let base = s.links.base().to_string();
    let pool = &s.db.pool;

    let owner = user(pool, "Awa Ndiaye").await;
    let (_, pack) = pack(pool).await;
    let pot = open_pot(pool, owner, Some(pack), "private").await;
    given(
        pool,
        pot,
        "Moussa Diop",
        5000,
        false,
        true,
        "Joyeux anniversaire !",
    )
    .await;
    let (gift_pot, qr_id) = gift(&s, owner, pack).await;
    let short: String = sqlx::query_scalar("select short_code from qr.qr_codes where id = $1")
        .bind(qr_id)
        .fetch_one(pool)
        .await
        .unwrap();
    // A paid donation (to the gift's pot) for its receipt, a reset link, an invitation.
    let paid: Uuid = sqlx::query_scalar(
        "insert into donations.donations (pot_id, amount_cfa, status, confirmed_at)
         values ($1, 3000, 'succeeded', now()) returning id",
    )
    .bind(gift_pot)
    .fetch_one(pool)
    .await
    .unwrap();
    let reset_token = format!("walk-{}", Uuid::new_v4());
    sqlx::query(
        "insert into identity.password_reset_tokens (user_id, token_hash, expires_at)
         values ($1, $2, now() + interval '1 hour')",
    )
    .bind(owner)
    .bind(identity::crypto::sha256_hex(&reset_token))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into referral.referrals (sponsor_user_id, referral_code, invited_phone)
         values ($1, 'WOLOPAGES1', '+221770004243')",
    )
    .bind(owner)
    .execute(pool)
    .await
    .unwrap();
    let failed: Uuid = sqlx::query_scalar(
        "insert into donations.donations (pot_id, amount_cfa, status) values ($1, 2000, 'failed') returning id",
    )
    .bind(pot)
    .fetch_one(pool)
    .await
    .unwrap();
    let shots = std::env::temp_dir().join(format!("wolo-pages-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&shots).unwrap();

    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new("node")
            .arg(here.join("tests/pages/browser.mjs"))
            .env("WOLO_BASE", &base)
            .env("WOLO_POT_PATH", own_path(&s, &s.links.pot(pot)))
            .env("WOLO_POT_TITLE", "Les 30 ans d'Awa")
            .env("WOLO_WAVE", &s.wave.url)
            .env("WOLO_GIFT_PATH", format!("/cadeau/{qr_id}"))
            .env("WOLO_SHORT_CODE", qr::code::short_grouped(&short))
            .env("WOLO_FAILED_PATH", format!("/dons/{failed}/echec"))
            .env("WOLO_PAID_PATH", format!("/dons/{paid}/merci"))
            .env("WOLO_RESET_PATH", format!("/reset?token={reset_token}"))
            .env(
                "WOLO_CONFIRM_PATH",
                "/auth/confirm?token_hash=abc&type=signup",
            )
            .env("WOLO_INVITATION_PATH", "/invitation/WOLOPAGES1")
            .env("WOLO_SHOTS", &shots)
            .env("WOLO_CHROMIUM", &chromium)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser script timed out")
    .expect("node could not start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser.mjs failed\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("pages ok"), "{stdout}");
    // What the browser did is in the database: the donation it paid, counted once.
    let (n, raised): (i64, i32) = sqlx::query_as(
        "select (select count(*) from donations.donations where pot_id = $1 and status = 'succeeded'),
                (select raised_amount_cfa from pots.pots where id = $1)",
    )
    .bind(pot)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((n, raised), (2, 7500));
    // WOLO_KEEP_SHOTS=1 keeps the screenshots to look at (their directory is printed).
    if std::env::var("WOLO_KEEP_SHOTS").is_ok() {
        println!("screenshots in {}", shots.display());
    } else {
        let _ = std::fs::remove_dir_all(&shots);
    }
}

/// The preview image of `path`: its bytes, after checking it is a 1200×630 JPEG under 300 KB.
async fn preview(app: &TestApp, path: &str) -> Vec<u8> {
    let res = app.get(path).await;
    assert_eq!(res.status().as_u16(), 200, "{path}");
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let bytes = res.bytes().await.unwrap().to_vec();
    assert!(bytes.len() < 300 * 1024, "{path}: {} bytes", bytes.len());
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (1200, 630), "{path}");
    bytes
}

#[tokio::test]
async fn link_previews_show_the_pot_and_a_neutral_card_for_a_private_one() {
    let s = suite().await;
    let pool = &s.db.pool;
    let owner = user(pool, "Awa Ndiaye").await;
    let (_, pack) = pack(pool).await;
    let public = open_pot(pool, owner, Some(pack), "public").await;
    given(pool, public, "Moussa Diop", 15000, false, true, "").await;
    let private = open_pot(pool, owner, Some(pack), "private").await;

    let card = preview(&s.app, &format!("/p/{public}/apercu.jpg")).await;
    let neutral = preview(&s.app, &format!("/p/{}/apercu.jpg", Uuid::new_v4())).await;
    assert_ne!(card, neutral);
    // A private pot: the neutral card, even through its owner's link.
    let k = s.links.share_key(private);
    assert_eq!(
        preview(&s.app, &format!("/p/{private}/apercu.jpg")).await,
        neutral
    );
    assert_eq!(
        preview(&s.app, &format!("/p/{private}/apercu.jpg?k={k}")).await,
        neutral
    );
    let (_, page) = html(&s.app, &format!("/p/{private}?k={k}"), None).await;
    assert!(
        page.contains("property=\"og:title\" content=\"WOLO\""),
        "{page}"
    );
    assert!(!page.contains("og:url"), "{page}");

    // The card shows progress: orange along 75 % of the bar (15 000 of 20 000), the track
    // after it.
    let img = image::load_from_memory(&card).unwrap().to_rgb8();
    let at = |x: u32| img.get_pixel(x, 414).0;
    let orange = |p: [u8; 3]| p[0] > 200 && (120..200).contains(&p[1]) && p[2] < 80;
    assert!(orange(at(60 + 10)) && orange(at(60 + 700)), "{:?}", at(770));
    assert!(!orange(at(60 + 900)), "{:?}", at(960));
}

#[tokio::test]
async fn the_demo_data_has_a_gift_to_redeem_today_and_accounts_that_sign_in() {
    let s = suite().await;
    let seeded = suite::seed(&s.db.url).await.unwrap();
    let pool = &s.db.pool;
    // The password wolo seed printed signs the admin and CinéTeranga's Pape in.
    let sign_in = |email: &'static str| {
        let app = &s.app;
        let password = seeded.demo_password.clone();
        async move {
            let res = app
                .request(Method::POST, "/identity/token?grant_type=password")
                .json(&serde_json::json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap();
            testkit::expect(res, 200).await["access_token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    sign_in("abdoulaye.mbaye@example.org").await;
    sign_in("pape.seck@example.com").await;
    let rokhaya = sign_in("rokhaya.thiam@example.com").await;

    // Every seeded code is signed by this configuration; today's gift is redeemable now.
    let secret = match std::env::var("WOLO_QR_SECRET") {
        Ok(s) => qr::code::QrSecret::new(s.as_bytes()).unwrap(),
        Err(_) => qr::code::QrSecret::new(qr::code::DEV_SECRET.as_bytes()).unwrap(),
    };
    let codes: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select id, code, short_code from qr.qr_codes where id::text like '00000000-0000-4000-a000-0701%' order by id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(codes.len() >= 2);
    assert!(
        codes.iter().all(|(_, c, _)| secret.verify(c).is_ok()),
        "{codes:?}"
    );
    let (today, _, short) = codes
        .iter()
        .find(|(id, _, _)| id.to_string().ends_with("070100000001"))
        .unwrap();
    // Fatou's gift (her birthday is today): its page, then the counter, where Rokhaya types
    // the counter code.
    let (status, page) = html(&s.app, &format!("/cadeau/{today}"), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("Montrez ce QR code au comptoir"), "{page}");
    let res = s
        .app
        .request(Method::POST, "/qr/redeem")
        .bearer_auth(&rokhaya)
        .json(&serde_json::json!({"code": qr::code::short_grouped(short), "venue_id": "keur-bien-etre-fann"}))
        .send()
        .await
        .unwrap();
    let ok = testkit::expect(res, 200).await;
    assert_eq!(ok["qr_code_id"], serde_json::json!(today), "{ok}");

    // A second run changes nothing: same password, same codes.
    let again = suite::seed(&s.db.url).await.unwrap();
    assert_eq!(again.demo_password, seeded.demo_password);
    let after: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select id, code, short_code from qr.qr_codes where id::text like '00000000-0000-4000-a000-0701%' order by id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(after, codes);
}

/// With PayDunya offered, `/p/<short code>` opens the pot page, which shows the code for
/// relatives on feature phones and lets a donor choose Orange Money, Free Money or a card:
/// « Participer » then goes to PayDunya's page.
#[tokio::test]
async fn the_pot_page_by_short_code_offers_mobile_money() {
    let db = TestDb::new().await;
    let wave = fakewave::spawn(fakewave::FakeWaveConfig::default())
        .await
        .unwrap();
    let paydunya = fakepaydunya::spawn(fakepaydunya::FakePayDunyaConfig::default())
        .await
        .unwrap();
    let env = platform::config::Env::process()
        .with("WOLO_WAVE_API_URL", &wave.url)
        .with("WOLO_WAVE_API_KEY", fakewave::DEV_API_KEY)
        .with("WOLO_WAVE_WEBHOOK_SECRET", fakewave::DEV_WEBHOOK_SECRET)
        .with("WOLO_PAYDUNYA_MASTER_KEY", fakepaydunya::DEV_MASTER_KEY)
        .with("WOLO_PAYDUNYA_PRIVATE_KEY", fakepaydunya::DEV_PRIVATE_KEY)
        .with("WOLO_PAYDUNYA_TOKEN", fakepaydunya::DEV_TOKEN)
        .with("WOLO_PAYDUNYA_API_URL", &paydunya.api_url());
    let contexts = suite::service_contexts(&db.context(), &env).unwrap();
    let app = testkit::spawn(suite::suite_router_of(&contexts)).await;
    app.wait_ready("/pots/pots?limit=0").await;
    let owner = user(&db.pool, "Awa Ndiaye").await;
    let pot = open_pot(&db.pool, owner, None, "public").await;
    let code: String = sqlx::query_scalar("select short_code from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (status, page) = html(&app, &format!("/p/{code}"), None).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("avec le code {code}")), "{page}");
    assert!(page.contains("Orange Money, Free Money ou carte"), "{page}");
    assert!(page.contains(r#"value="paydunya""#), "{page}");
    // Unknown codes are not found.
    assert_eq!(html(&app, "/p/999999999", None).await.0, 404);
    // « Participer » with mobile money: PayDunya's page, for an invoice of this donation.
    let res = no_redirect()
        .post(app.url(&format!("/p/{code}")))
        .form(&[("amount", "2 500"), ("provider", "paydunya")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("{}/sandbox-checkout/invoice/", paydunya.url)),
        "{location}"
    );
    let (provider, amount): (String, i32) = sqlx::query_as(
        "select payment_provider, amount_cfa from donations.donations where pot_id = $1",
    )
    .bind(pot)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((provider.as_str(), amount), ("paydunya", 2500));
}
