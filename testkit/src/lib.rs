//! Test targets for Provisio's SCIM 2.0 provisioning engine tests and benchmarks.
//!
//! - [`ScimTarget`]: a fast in-memory SCIM 2.0 service provider (RFC 7643/7644, the requests
//!   Microsoft Entra's SCIM client sends) with fault injection ([`FaultRule`]) and a request log
//!   ([`TargetState::requests`]). Served over real HTTP/1.1 on loopback.
//! - The `provisio-scim-target` binary serves the same target as a separate process, with admin
//!   endpoints (see [`ScimTarget::start_with_admin`]).
//! - [`Scim2Server`]: starts the Python reference server `scim2-server` for conformance tests.
//! - [`SmtpSink`]: starts Python's `aiosmtpd`, a real SMTP server, for the alert email tests.
//!
//! # SCIM behaviour of [`ScimTarget`]
//! - Base path `/scim/v2`; bearer authentication when [`TargetConfig::token`] is set (401 with a
//!   SCIM error otherwise, discovery endpoints included).
//! - `GET /ServiceProviderConfig`, `/ResourceTypes[/{id}]`, `/Schemas[/{id}]`.
//! - `/Users` and `/Groups`: `POST` (201; 409 `uniqueness` on a taken userName / group
//!   displayName, compared case-insensitively; 400 `invalidValue` when it is missing; 400
//!   `invalidSyntax` when `schemas` lacks the core schema), `GET` by id (404 when missing), `GET`
//!   list with `filter` (`attr eq value` joined by `and`, terms joined by `or` unless
//!   [`TargetConfig::refuse_or`] is set; `userName`, group `displayName`, `id`
//!   and `externalId` use indexes; strings compare case-insensitively except `id` and
//!   `externalId`, which are case-exact as RFC 7643 says; anything else is 400 `invalidFilter`),
//!   `startIndex`, `count` (at most 200), `attributes`, `excludedAttributes`; `POST /.search`;
//!   `PUT` (replace, keeps id and meta.created); `PATCH` (PatchOp; `add`/`replace`/`remove` in
//!   any case; simple, sub-attribute, value-filter and extension-URN paths; no-path values whose
//!   keys may be paths; `active` as boolean or "True"/"False"; `manager` as id or `{"value": id}`;
//!   200 + resource for users, 204 for groups; replace through a value filter matching nothing is
//!   400 `noTarget`); `DELETE` (204, 404 when missing; a deleted resource leaves every group).
//! - Group members must be users or groups of the target (400 `invalidValue` otherwise).
//! - `POST /Bulk` when [`TargetConfig::bulk`] is set (501 otherwise): `bulkId` references,
//!   `failOnErrors`, at most 1000 operations and 1 MiB; fault rules also see each operation (by its
//!   method and path), and a `Status` fault answers just that operation.

#![warn(missing_docs)]

mod fault;
mod scim;
mod scim2_server;
mod server;
mod smtp_sink;
mod state;

pub use fault::{FaultKind, FaultRule};
pub use scim2_server::Scim2Server;
pub use server::{ScimTarget, TargetConfig};
pub use smtp_sink::SmtpSink;
pub use state::{RecordedRequest, TargetState};
