//! Identifier quoting, in one place: every table, column, alias and type name that reaches
//! SQL is written by [`quote_ident`] (or [`qualified`], for `schema.name`). Values never come
//! here: they are bound parameters (`rest::sql`).
//!
//! The names quoted are the catalog's (tables, columns, keys, types: `rest::cache`,
//! `rest::catalog`), the engine's own aliases (`t0`, `t1`, ...), and the output keys a client
//! picks (`alias:col`, the last step of a JSON path), which come back unchanged as JSON keys.

/// `"name"` with inner quotes doubled: an identifier PostgreSQL reads back as exactly `name`.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_quoted(&mut out, name);
    out
}

/// [`quote_ident`] written at the end of `out` (no string of its own: the select list of a
/// wide table is written column after column into one buffer).
pub fn push_quoted(out: &mut String, name: &str) {
    out.push('"');
    for (i, part) in name.split('"').enumerate() {
        if i > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
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
