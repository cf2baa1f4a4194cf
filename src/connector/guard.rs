//! The outbound guard: which URLs and addresses the connectors may reach (filled in by the SCIM client work).
