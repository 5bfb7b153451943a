//! How messages address people: the first word of a profile's name.

use sqlx::PgConnection;
use uuid::Uuid;

/// The first word of `user`'s profile name; "" when there is no profile or no name.
pub async fn first_name(conn: &mut PgConnection, user: Uuid) -> Result<String, sqlx::Error> {
    let full: Option<String> =
        sqlx::query_scalar("select full_name from profiles.profiles where user_id = $1")
            .bind(user)
            .fetch_optional(conn)
            .await?;
    Ok(first_word(full.as_deref()))
}

/// The first word of `full_name` ("" for none).
pub fn first_word(full_name: Option<&str>) -> String {
    full_name
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_word_or_nothing() {
        assert_eq!(super::first_word(Some("  Awa Ndiaye ")), "Awa");
        assert_eq!(super::first_word(Some("")), "");
        assert_eq!(super::first_word(None), "");
    }
}
