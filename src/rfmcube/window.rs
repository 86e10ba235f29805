//! What a crawl reads: which entity, and the window of one of its timestamps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which timestamp the window applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DateField {
    #[default]
    UpdatedAt,
    CreatedAt,
}

impl DateField {
    pub fn column(self) -> &'static str {
        match self {
            DateField::UpdatedAt => "updated_at",
            DateField::CreatedAt => "created_at",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Entity {
    #[serde(rename = "c")]
    Customers,
    #[serde(rename = "o")]
    Orders,
}

impl Entity {
    /// The reference relation the entity is read from.
    pub fn relation(self) -> &'static str {
        match self {
            Entity::Customers => "customers",
            Entity::Orders => "orders",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Entity::Customers => "/rfmcube/customers",
            Entity::Orders => "/rfmcube/orders",
        }
    }
}

/// Rows with `from <= field < to`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub field: DateField,
}
