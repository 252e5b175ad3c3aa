//! `limit`/`offset` query parameters and the `{data, count}` list shape.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Checks, Validate};
use crate::error::FieldError;

/// The largest page a client may ask for.
pub const MAX_LIMIT: i64 = 100;

/// Which page of a list to return.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// Items per page (1 to 100).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: i64,
    /// Items to skip.
    #[serde(default)]
    #[param(minimum = 0, default = 0)]
    pub offset: i64,
}

fn default_limit() -> i64 {
    20
}

impl Validate for Pagination {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Checks::default()
            .check(
                (1..=MAX_LIMIT).contains(&self.limit),
                &["query", "limit"],
                "must be between 1 and 100",
                "out_of_range",
            )
            .check(
                self.offset >= 0,
                &["query", "offset"],
                "must not be negative",
                "out_of_range",
            )
            .finish()
    }
}

/// One page of a list and the total number of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// How many items exist in total (for the same filter).
    pub count: i64,
}
