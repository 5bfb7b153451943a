//! Names a client may spell that are not tables or columns: the types of `select=col::type`
//! (from `pg_type`) and the text search configurations of `fts(config)` (from `pg_ts_config`).
//! A client's spelling is only ever a key into these maps; what reaches SQL is the catalog's
//! own name, quoted (types) or bound (configurations).

use std::collections::HashMap;

use sqlx::{PgPool, Row};

use crate::ident::qualified;

/// A type as a cast writes it: `"pg_catalog"."int4"`, and its array type when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypeName {
    base: String,
    array: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Accepted spelling (lower case, single spaces) -> the type.
    types: HashMap<String, TypeName>,
    /// `french`, `pg_catalog.french` -> `"pg_catalog"."french"`.
    ts_configs: HashMap<String, String>,
}

/// SQL spellings PostgreSQL's grammar knows that are neither a `typname` nor what
/// `format_type` prints.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("int", "int4"),
    ("decimal", "numeric"),
    ("dec", "numeric"),
    ("float", "float8"),
    ("double", "float8"),
    ("char", "bpchar"),
    ("character", "bpchar"),
];

/// `  Character   Varying[ ] ` -> ("character varying", 1).
fn normalise_type(text: &str) -> (String, usize) {
    let mut t = text.trim().to_lowercase();
    let mut dims = 0;
    while let Some(rest) = t.strip_suffix(']') {
        let Some(rest) = rest.trim_end().strip_suffix('[') else {
            break;
        };
        t = rest.trim_end().to_string();
        dims += 1;
    }
    (t.split_whitespace().collect::<Vec<_>>().join(" "), dims)
}

impl Names {
    /// Loads the types (base, domain, enum, range and multirange; not pseudo-types, composite
    /// row types or arrays, which are spelled `type[]`) of `pg_catalog` and the user schemas,
    /// and every text search configuration.
    pub async fn load(pool: &PgPool) -> Result<Names, sqlx::Error> {
        let rows = sqlx::query(
            "select n.nspname::text, t.typname::text, format_type(t.oid, null), a.typname::text
               from pg_type t
               join pg_namespace n on n.oid = t.typnamespace
               left join pg_type a on a.oid = t.typarray
              where t.typisdefined and t.typtype in ('b','d','e','r','m') and t.typcategory <> 'A'
                and (n.nspname = 'pg_catalog'
                     or (n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'))
              order by n.nspname <> 'pg_catalog', n.nspname, t.typname",
        )
        .fetch_all(pool)
        .await?;
        let mut names = Names::default();
        let mut by_typname: HashMap<String, TypeName> = HashMap::new();
        for r in rows {
            let schema: String = r.get(0);
            let typname: String = r.get(1);
            let formatted: String = r.get(2);
            let array: Option<String> = r.get(3);
            let ty = TypeName {
                base: qualified(&schema, &typname),
                array: array.map(|a| qualified(&schema, &a)),
            };
            let mut spellings = vec![format!("{schema}.{typname}").to_lowercase()];
            if schema == "pg_catalog" {
                spellings.push(formatted.to_lowercase());
            }
            // pg_catalog's come first: a user type never shadows a built-in one.
            spellings.push(typname.to_lowercase());
            for s in spellings {
                names.types.entry(s).or_insert_with(|| ty.clone());
            }
            if schema == "pg_catalog" {
                by_typname.insert(typname, ty);
            }
        }
        for (alias, typname) in TYPE_ALIASES {
            if let Some(ty) = by_typname.get(*typname) {
                names.types.insert(alias.to_string(), ty.clone());
            }
        }
        let configs = sqlx::query(
            "select n.nspname::text, c.cfgname::text
               from pg_ts_config c join pg_namespace n on n.oid = c.cfgnamespace
              order by n.nspname <> 'pg_catalog', n.nspname, c.cfgname",
        )
        .fetch_all(pool)
        .await?;
        for r in configs {
            let schema: String = r.get(0);
            let name: String = r.get(1);
            let full = qualified(&schema, &name);
            for s in [format!("{schema}.{name}"), name] {
                names.ts_configs.entry(s).or_insert_with(|| full.clone());
            }
        }
        Ok(names)
    }

    /// The SQL a cast to `text` (`int`, `character varying`, `pots.pot_status`, `text[]`)
    /// writes after `::`, or `None` when the catalog has no such type.
    pub fn cast_type(&self, text: &str) -> Option<String> {
        let (name, dims) = normalise_type(text);
        let ty = self.types.get(&name)?;
        if dims == 0 {
            Some(ty.base.clone())
        } else {
            ty.array.clone()
        }
    }

    /// The qualified, quoted name of the text search configuration `name`, to be bound as a
    /// `regconfig`, or `None` when there is none.
    pub fn ts_config(&self, name: &str) -> Option<&str> {
        self.ts_configs.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_spellings_are_normalised() {
        assert_eq!(normalise_type(" Integer "), ("integer".into(), 0));
        assert_eq!(
            normalise_type("character   varying [ ] []"),
            ("character varying".into(), 2)
        );
        assert_eq!(normalise_type("text; drop"), ("text; drop".into(), 0));
        assert_eq!(normalise_type("int]"), ("int]".into(), 0));
    }

    #[test]
    fn only_known_types_come_back_and_quoted() {
        let mut n = Names::default();
        n.types.insert(
            "int4".into(),
            TypeName {
                base: "\"pg_catalog\".\"int4\"".into(),
                array: Some("\"pg_catalog\".\"_int4\"".into()),
            },
        );
        assert_eq!(
            n.cast_type("INT4").as_deref(),
            Some("\"pg_catalog\".\"int4\"")
        );
        assert_eq!(
            n.cast_type("int4[]").as_deref(),
            Some("\"pg_catalog\".\"_int4\"")
        );
        assert_eq!(n.cast_type("int4 union select 1"), None);
        assert_eq!(n.cast_type("int4--"), None);
    }
}
