//! The SCIM 2.0 connector (filled in by the SCIM client work).
