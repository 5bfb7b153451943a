//! The PostgREST-style HTTP layer, implemented once and mounted by every service over its
//! own schema.
//!
//! ```ignore
//! let api = rest::Api::new("pots", database_url, pool, jwt, vec![]);
//! let router: axum::Router = rest::router(api);
//! // GET /pots?select=title,pot_invitations(invitation_method)&status=eq.open&order=created_at.desc
//! ```
//!
//! A table request goes through four stages, one module each (docs/rest.md, "The pipeline"):
//!
//! 1. **parse** — [`query`] turns the query string into a typed request (filters, logic trees,
//!    select trees, order, paging; nothing there touches SQL or the schema), [`prefer`] the
//!    `Prefer` header, [`paging`] `Range` and the window, [`respond::negotiate`] `Accept`;
//! 2. **plan** — [`plan`] checks the request against the schema cache ([`cache`], types in
//!    [`catalog`]): the table, the columns, embeds and their relationships, a write's body,
//!    what a write must hand back;
//! 3. **SQL** — [`sql`] writes every statement (the read and its count, insert, upsert,
//!    update, delete) with bound values; identifiers are quoted in one place, [`ident`];
//! 4. **execute and respond** — [`execute`] runs it in one transaction under the caller's
//!    role ([`begin`]), [`respond`] makes the answer: status, `Content-Range`, `Location`,
//!    `Preference-Applied`, the media type ([`rows`] reshapes rows without parsing them).
//!
//! Around them: [`api`] holds [`Api`] (a service's surface, which owns its schema cache) and
//! the thin axum handlers; [`error`] is the `{code, message, details, hint}` envelope and the
//! status table; [`openapi`] describes the live schema at `GET /`; [`sessions`] refuses tokens
//! whose session has ended, on every route of every service; [`extract`] and [`input`] are
//! for custom endpoints (caller extractors, JSON bodies).

pub mod api;
pub mod cache;
pub mod catalog;
pub mod error;
pub mod execute;
pub mod extract;
pub mod ident;
pub mod input;
pub mod openapi;
pub mod paging;
pub mod plan;
pub mod prefer;
pub mod query;
pub mod respond;
pub mod rows;
pub mod sessions;
pub mod sql;

pub use api::{authenticate, require_admin, require_partner, require_user, router, Api, Endpoint};
pub use error::{ApiError, ApiResult};
pub use execute::{begin, begin_as_service};
