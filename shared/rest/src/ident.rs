//! Identifier quoting, in one place: every table, column, alias and type name that reaches
//! SQL is written by [`quote_ident`] (or [`qualified`], for `schema.name`). Values never come
//! here: they are bound parameters (`rest::sql`).
//!
//! The names quoted are the catalog's (tables, columns, keys, types: `rest::cache`,
//! `rest::catalog`), the engine's own aliases (`t0`, `t1`, ...), and the output keys a client
//! picks (`alias:col`, the last step of a JSON path), which come back unchanged as JSON keys.

/// `"name"` with inner quotes doubled: an identifier PostgreSQL reads back as exactly `name`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_nothing_else_changes() {
        assert_eq!(quote_ident("pots"), "\"pots\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            quote_ident("x\"; drop table t; --"),
            "\"x\"\"; drop table t; --\""
        );
        assert_eq!(
            qualified("pots", "pot_invitations"),
            "\"pots\".\"pot_invitations\""
        );
    }
}
