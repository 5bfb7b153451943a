//! The public pot page: progress, donors as the pot's and each donor's choices allow,
//! messages, the preferred pack.

use serde_json::json;

use crate::*;

#[allow(clippy::too_many_arguments)]
async fn donation(
    pool: &PgPool,
    p: Uuid,
    name: &str,
    amount: i32,
    anonymous: bool,
    show_amount: bool,
    message: &str,
    status: &str,
) {
    sqlx::query(
        "insert into donations.donations
             (pot_id, donor_name, donor_phone, amount_cfa, status, is_anonymous, show_amount,
              donation_message, confirmed_at)
         values ($1, $2, '+221770009999', $3, $4, $5, $6, $7, now())",
    )
    .bind(p)
    .bind(name)
    .bind(amount)
    .bind(status)
    .bind(anonymous)
    .bind(show_amount)
    .bind(message)
    .execute(pool)
    .await
    .unwrap();
}

/// The page through the owner's share link (pots are private by default).
async fn page(s: &Stack, p: Uuid) -> Value {
    let k = web().share_key(p);
    expect(s.app.get(&format!("/pots/{p}/public?k={k}")).await, 200).await
}

#[tokio::test]
async fn the_page_respects_each_donors_anonymity() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let birthday = today() + chrono::Days::new(20);
    let p = pot(s.pool(), owner, birthday, Utc::now(), "open", 40_000).await;
    let pack: Uuid = sqlx::query_scalar(
        "insert into packs.packs (name, description, category, base_price_cfa, discounted_price_cfa, image_url)
         values ('Dîner au Lagon', 'Pour deux', 'restaurant', 45000, 40000, 'https://img.test/lagon.jpg')
         returning id",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    sqlx::query("update pots.pots set preferred_pack_id = $2, raised_amount_cfa = 15000, donor_count = 3 where id = $1")
        .bind(p)
        .bind(pack)
        .execute(s.pool())
        .await
        .unwrap();
    donation(
        s.pool(),
        p,
        "Awa Ndiaye",
        5_000,
        false,
        true,
        "Joyeux anniversaire !",
        "succeeded",
    )
    .await;
    donation(
        s.pool(),
        p,
        "Secret Moussa",
        7_000,
        true,
        true,
        "Bisous",
        "succeeded",
    )
    .await;
    donation(
        s.pool(),
        p,
        "Ibrahima Fall",
        3_000,
        false,
        false,
        "",
        "succeeded",
    )
    .await;
    donation(
        s.pool(),
        p,
        "Pending Person",
        9_000,
        false,
        true,
        "pas encore",
        "pending",
    )
    .await;

    let v = page(&s, p).await;
    assert_eq!(v["title"], "Anniversaire de test");
    assert_eq!(v["status"], "open");
    assert_eq!(v["accepts_donations"], true);
    assert_eq!(v["target_amount_cfa"], 40000);
    assert_eq!(v["raised_amount_cfa"], 15000);
    assert_eq!(v["progress_percent"], 37.5);
    assert_eq!(v["days_left"], 20);
    assert_eq!(v["birthday_date"], birthday.to_string());
    assert_eq!(
        v["preferred_pack"],
        json!({"id": pack, "name": "Dîner au Lagon", "description": "Pour deux",
               "category": "restaurant", "price_cfa": 45000, "discounted_price_cfa": 40000,
               "image_url": "https://img.test/lagon.jpg"})
    );
    let donors = v["donors"].as_array().unwrap();
    assert_eq!(donors.len(), 3, "pending donations are not shown: {v}");
    let text = v.to_string();
    assert!(
        !text.contains("Secret Moussa"),
        "an anonymous donor's name leaked: {text}"
    );
    assert!(!text.contains("Pending Person"));
    assert!(!text.contains("+22177"), "a phone number leaked");
    let awa = donors.iter().find(|d| d["name"] == "Awa Ndiaye").unwrap();
    assert_eq!(awa["amount_cfa"], 5000);
    assert_eq!(awa["message"], "Joyeux anniversaire !");
    let anon = donors.iter().find(|d| d["anonymous"] == true).unwrap();
    assert!(anon["name"].is_null());
    assert_eq!(anon["amount_cfa"], 7000);
    assert_eq!(anon["message"], "Bisous");
    let ibra = donors
        .iter()
        .find(|d| d["name"] == "Ibrahima Fall")
        .unwrap();
    assert!(
        ibra["amount_cfa"].is_null(),
        "show_amount false hides the amount"
    );
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);

    // The pot hides every name; messages off.
    sqlx::query(
        "update pots.pots set show_donor_names = false, enable_messages = false where id = $1",
    )
    .bind(p)
    .execute(s.pool())
    .await
    .unwrap();
    let v = page(&s, p).await;
    let text = v.to_string();
    assert!(
        !text.contains("Awa Ndiaye") && !text.contains("Ibrahima Fall"),
        "{text}"
    );
    assert!(
        !text.contains("Joyeux") && !text.contains("Bisous"),
        "{text}"
    );
    assert_eq!(v["messages"], json!([]));
    assert!(v["donors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["anonymous"] == true));
}

#[tokio::test]
async fn a_private_pot_opens_only_with_a_link_its_owner_gave() {
    let s = stack().await;
    let owner = user(s.pool(), Some("Awa Ndiaye")).await;
    // Private by default.
    let p = pot(
        s.pool(),
        owner,
        today() + chrono::Days::new(60),
        Utc::now() + chrono::Duration::days(25),
        "scheduled",
        1_000,
    )
    .await;
    // Its id alone (a donor's receipt carries it) opens nothing: 403, no data.
    let res = s.app.get(&format!("/pots/{p}/public")).await;
    let text = res.text().await.unwrap();
    assert!(text.contains("\"code\":\"pot_private\""), "{text}");
    assert!(!text.contains("Anniversaire de test"), "{text}");
    // A wrong key, another pot's key, an invitation to another pot: still 403.
    let other = pot(
        s.pool(),
        owner,
        today() + chrono::Days::new(60),
        Utc::now(),
        "open",
        1_000,
    )
    .await;
    for q in [
        "k=AAAAAAAAAAAAAAAA".to_string(),
        format!("k={}", web().share_key(other)),
        format!("i={}", Uuid::new_v4()),
        "i=not-a-uuid".to_string(),
    ] {
        expect(s.app.get(&format!("/pots/{p}/public?{q}")).await, 403).await;
    }
    // The owner's share link (the pot_opened message's), an invitation, the owner, an admin.
    let v = page(&s, p).await;
    assert_eq!(v["visibility"], "private");
    assert_eq!(v["owner_first_name"], "Awa");
    assert_eq!(v["status"], "scheduled");
    assert_eq!(v["accepts_donations"], false);
    assert_eq!(v["progress_percent"], 0.0);
    assert!(v["preferred_pack"].is_null());
    assert_eq!(v["donors"], json!([]));
    let invitation: Uuid = sqlx::query_scalar(
        "insert into pots.pot_invitations (pot_id, invited_by_user_id, invitation_method, recipient_identifier)
         values ($1, $2, 'sms', '+221770001122') returning id",
    )
    .bind(p)
    .bind(owner)
    .fetch_one(s.pool())
    .await
    .unwrap();
    expect(
        s.app.get(&format!("/pots/{p}/public?i={invitation}")).await,
        200,
    )
    .await;
    expect(
        s.app
            .get(&format!("/pots/{other}/public?i={invitation}"))
            .await,
        403,
    )
    .await;
    for token in [
        testkit::token(auth::Role::User, owner),
        testkit::token(auth::Role::Admin, Uuid::new_v4()),
    ] {
        let res = s
            .app
            .request(Method::GET, &format!("/pots/{p}/public"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        expect(res, 200).await;
    }
    // Someone else signed in is no one special.
    let res = s
        .app
        .request(Method::GET, &format!("/pots/{p}/public"))
        .bearer_auth(testkit::token(auth::Role::User, Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    expect(res, 403).await;
    // A public pot opens with its id alone.
    sqlx::query("update pots.pots set visibility = 'public' where id = $1")
        .bind(other)
        .execute(s.pool())
        .await
        .unwrap();
    expect(s.app.get(&format!("/pots/{other}/public")).await, 200).await;

    let err = expect(
        s.app.get(&format!("/pots/{}/public", Uuid::new_v4())).await,
        404,
    )
    .await;
    assert_eq!(err["code"], "pot_not_found");
    expect(s.app.get("/pots/not-a-uuid/public").await, 400).await;
}

#[tokio::test]
async fn a_minors_first_name_is_never_on_the_page() {
    let s = stack().await;
    let child = user(s.pool(), None).await;
    let mother = user(s.pool(), Some("Aminata Diallo")).await;
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth, guardian_user_id, relationship_type)
         values ($1, 'Fatou Diallo', (now() at time zone 'Africa/Dakar')::date - interval '12 years', $2, 'parent')",
    )
    .bind(child)
    .bind(mother)
    .execute(s.pool())
    .await
    .unwrap();
    let p = pot(
        s.pool(),
        child,
        today() + chrono::Days::new(40),
        Utc::now(),
        "open",
        1_000,
    )
    .await;
    let v = page(&s, p).await;
    assert!(v["owner_first_name"].is_null(), "{v}");
    assert!(!v.to_string().contains("Fatou"), "{v}");
}
