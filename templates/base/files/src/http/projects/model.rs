//! Project DTOs, their validation and row mapping.

use serde::{Deserialize, Deserializer, Serialize};
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::DbRow;
use crate::error::FieldError;
use crate::http::extract::{Checks, Validate};

const NAME_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;

/// A project as returned by the API.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Project {
    /// Project id.
    pub id: Uuid,
    /// Owning user.
    pub owner_id: Uuid,
    /// Display name.
    pub name: String,
    /// Optional free text.
    pub description: Option<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl<'r> FromRow<'r, DbRow> for Project {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// Body of `POST /projects`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProject {
    /// 1 to 200 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"\S",
        example = "Website relaunch"
    )]
    pub name: String,
    /// Up to 2000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

impl Validate for CreateProject {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut checks = Checks::default();
        checks.length(self.name.trim(), &["body", "name"], 1, NAME_MAX);
        if let Some(description) = &self.description {
            checks.length(description, &["body", "description"], 0, DESCRIPTION_MAX);
        }
        checks.finish()
    }
}

/// Body of `PATCH /projects/{id}`: absent fields stay as they are, `description: null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProject {
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// Up to 2000 characters; `null` removes the description.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
}

impl Validate for UpdateProject {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut checks = Checks::default();
        if let Some(name) = &self.name {
            checks.length(name.trim(), &["body", "name"], 1, NAME_MAX);
        }
        if let Some(Some(description)) = &self.description {
            checks.length(description, &["body", "description"], 0, DESCRIPTION_MAX);
        }
        checks.finish()
    }
}

/// Tells "field absent" (`None`) from "field is null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Name filter of `GET /projects` (next to the `limit`/`offset` page).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectSearch {
    /// Only projects whose name contains this text, ignoring case.
    #[param(max_length = 200)]
    pub search: Option<String>,
}

impl Validate for ProjectSearch {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut checks = Checks::default();
        if let Some(search) = &self.search {
            checks.length(search, &["query", "search"], 0, NAME_MAX);
        }
        checks.finish()
    }
}
