//! Small request helpers shared by the endpoints.

pub(crate) use rest::input::{body, db, validation};
