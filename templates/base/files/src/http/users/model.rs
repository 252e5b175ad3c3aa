//! User DTOs and row mapping.

use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Role;
use crate::db::{DbRow, decode_enum};
use crate::error::FieldError;
use crate::http::extract::{Checks, Validate};

/// A user as returned by the API (never with credentials).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// Email address, unique regardless of case.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl<'r> FromRow<'r, DbRow> for User {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            role: decode_enum(row, "role")?,
            is_active: row.try_get("is_active")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// Body of `PATCH /api/v1/admin/users/{id}`: absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminUpdateUser {
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate the account.
    pub is_active: Option<bool>,
}

impl Validate for AdminUpdateUser {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .check(
                self.role.is_some() || self.is_active.is_some(),
                &["body"],
                "give at least one of role, is_active",
                "missing",
            )
            .finish()
    }
}
