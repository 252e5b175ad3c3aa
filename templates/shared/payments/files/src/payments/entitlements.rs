//! Entitlements: the named features the caller's active subscriptions and purchases grant.

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::subscriptions::{self, Subscription};
use crate::auth::AuthUser;
use crate::{AppError, AppState};

/// The signed-in caller with the features their plans grant (`PAYMENTS_PLANS`).
///
/// Take it in a handler and call [`Entitlements::require`] to gate it: a caller without
/// the feature gets 403, a caller without a token 401.
#[derive(Clone, Debug)]
pub struct Entitlements {
    /// The caller.
    pub user: AuthUser,
    /// The caller's subscriptions and purchases, whatever their status.
    pub subscriptions: Vec<Subscription>,
    /// Features granted by the active ones.
    pub features: BTreeSet<String>,
}

impl Entitlements {
    /// Ok when the caller has `feature`, 403 otherwise.
    pub fn require(&self, feature: &str) -> Result<(), AppError> {
        if self.features.contains(feature) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl FromRequestParts<AppState> for Entitlements {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let subscriptions = subscriptions::list_subscriptions_by_user(&state.db, user.id).await?;
        let plans = subscriptions
            .iter()
            .filter(|s| s.status.grants_access())
            .flat_map(|s| [s.price_id.as_deref(), s.product_id.as_deref()])
            .flatten();
        let features = state.config.payments.features(plans);
        Ok(Self {
            user,
            subscriptions,
            features,
        })
    }
}
