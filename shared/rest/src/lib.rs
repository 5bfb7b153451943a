//! The PostgREST-style HTTP layer, implemented once and mounted by every service over its
//! own schema.
//!
//! ```ignore
//! let api = rest::Api::new("pots", database_url, pool, jwt, vec![]);
//! let router: axum::Router = rest::router(api);
//! // GET /pots?select=title,pot_invitations(invitation_method)&status=eq.open&order=created_at.desc
//! ```
//!
//! - [`query`] parses the URL grammar (filters, logic trees, select trees, order, paging);
//! - [`cache`] knows the tables, columns, keys and foreign keys (identifiers come only from it);
//! - [`sql`] turns a parsed request into SQL with bound values;
//! - [`api`] handles HTTP: transactions under the caller's role, Prefer, Range, Accept;
//! - [`error`] is the `{code, message, details, hint}` envelope and the status table;
//! - [`openapi`] describes the live schema at `GET /`;
//! - [`sessions`] refuses tokens whose session has ended, on every route of every service.

pub mod api;
pub mod cache;
pub mod catalog;
pub mod error;
pub mod extract;
pub mod input;
pub mod openapi;
pub mod paging;
pub mod prefer;
pub mod query;
pub mod rows;
pub mod sessions;
pub mod sql;

pub use api::{
    authenticate, begin, begin_as_service, require_admin, require_partner, require_user, router,
    Api, Endpoint,
};
pub use error::{ApiError, ApiResult};
