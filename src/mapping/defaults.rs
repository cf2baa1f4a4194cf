//! What a new SCIM 2.0 app starts with: the attribute lists of the SCIM core User (RFC 7643 §4.1,
//! with the enterprise extension of §4.3) and Group (§4.2), and the default user and group mappings
//! Entra ships for a generic (non-gallery) SCIM app (E:use-scim-to-provision-users-and-groups).
//!
//! The default user mapping is Entra's, less the source attributes the directory doesn't have
//! (streetAddress, state, postalCode and facsimileTelephoneNumber, which Entra maps to
//! `addresses[type eq "work"].streetAddress`, `.region`, `.postalCode` and `phoneNumbers[type eq "fax"].value`).

use super::target_schema::{TargetAttribute, TargetSchema, TargetType, CORE_GROUP, CORE_USER, ENTERPRISE_USER};
use super::{AttributeMapping, ObjectMapping, ObjectType, TargetActions};

/// Entra's expression for `active`: a soft-deleted (or disabled, out of scope, unassigned) user is
/// inactive.
pub const ACTIVE_EXPRESSION: &str = r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;

fn enterprise(attr: &str) -> String {
    format!("{ENTERPRISE_USER}:{attr}")
}

/// The built-in SCIM User attribute list: the core attributes usually provisioned and the enterprise
/// extension.
pub fn scim_user_schema() -> TargetSchema {
    let s = TargetAttribute::string;
    let mut attributes = vec![
        s("id").primary_key().exact_case(),
        s("userName").required(),
        TargetAttribute::new("active", TargetType::Boolean),
        s("displayName"),
        s("title"),
        s(r#"emails[type eq "work"].value"#),
        s(r#"emails[type eq "home"].value"#),
        s(r#"emails[type eq "other"].value"#),
        s("preferredLanguage"),
        s("locale"),
        s("timezone"),
        s("userType"),
        s("nickName"),
        s("profileUrl"),
        s("name.givenName"),
        s("name.familyName"),
        s("name.formatted"),
        s("name.middleName"),
        s("name.honorificPrefix"),
        s("name.honorificSuffix"),
        s(r#"addresses[type eq "work"].formatted"#),
        s(r#"addresses[type eq "work"].streetAddress"#),
        s(r#"addresses[type eq "work"].locality"#),
        s(r#"addresses[type eq "work"].region"#),
        s(r#"addresses[type eq "work"].postalCode"#),
        s(r#"addresses[type eq "work"].country"#),
        s(r#"addresses[type eq "other"].formatted"#),
        s(r#"phoneNumbers[type eq "work"].value"#),
        s(r#"phoneNumbers[type eq "mobile"].value"#),
        s(r#"phoneNumbers[type eq "fax"].value"#),
        s("externalId").exact_case(),
        s("roles").multi(),
        s(r#"roles[primary eq "True"].value"#),
        s(r#"roles[primary eq "True"].display"#),
        s(r#"roles[primary eq "True"].type"#),
    ];
    for attr in ["employeeNumber", "costCenter", "organization", "division", "department"] {
        attributes.push(s(&enterprise(attr)));
    }
    attributes.push(TargetAttribute::reference(&enterprise("manager"), "User"));
    TargetSchema { object: ObjectType::User, attributes }
}

/// The built-in SCIM Group attribute list.
pub fn scim_group_schema() -> TargetSchema {
    let s = TargetAttribute::string;
    TargetSchema {
        object: ObjectType::Group,
        attributes: vec![
            s("id").primary_key().exact_case(),
            s("displayName").required(),
            s("externalId").exact_case(),
            TargetAttribute::reference("members", "User").multi(),
        ],
    }
}

/// Entra's default user mapping for a SCIM app ("Provision Microsoft Entra ID Users"), matching on
/// `userName` from `userPrincipalName`.
pub fn default_user_mapping() -> ObjectMapping {
    let d = AttributeMapping::direct;
    ObjectMapping {
        name: "Provision users".to_string(),
        enabled: true,
        source_object: ObjectType::User,
        target_object: CORE_USER.to_string(),
        actions: TargetActions::default(),
        scope: Vec::new(),
        attributes: vec![
            d("userPrincipalName", "userName").match_with(1).required(),
            AttributeMapping::expression(ACTIVE_EXPRESSION, "active"),
            d("displayName", "displayName"),
            d("jobTitle", "title"),
            d("mail", r#"emails[type eq "work"].value"#),
            d("preferredLanguage", "preferredLanguage"),
            d("givenName", "name.givenName"),
            d("surname", "name.familyName"),
            AttributeMapping::expression(r#"Join(" ", [givenName], [surname])"#, "name.formatted"),
            d("physicalDeliveryOfficeName", r#"addresses[type eq "work"].formatted"#),
            d("city", r#"addresses[type eq "work"].locality"#),
            d("country", r#"addresses[type eq "work"].country"#),
            d("telephoneNumber", r#"phoneNumbers[type eq "work"].value"#),
            d("mobile", r#"phoneNumbers[type eq "mobile"].value"#),
            d("mailNickname", "externalId"),
            d("employeeId", &enterprise("employeeNumber")),
            d("department", &enterprise("department")),
            d("manager", &enterprise("manager")),
        ],
    }
}

/// Entra's default group mapping for a SCIM app ("Provision Microsoft Entra ID Groups"), matching on
/// `displayName`.
pub fn default_group_mapping() -> ObjectMapping {
    let d = AttributeMapping::direct;
    ObjectMapping {
        name: "Provision groups".to_string(),
        enabled: true,
        source_object: ObjectType::Group,
        target_object: CORE_GROUP.to_string(),
        actions: TargetActions::default(),
        scope: Vec::new(),
        attributes: vec![d("displayName", "displayName").match_with(1).required(), d("objectId", "externalId"), d("members", "members")],
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::env;
    use super::super::*;
    use super::*;
    use crate::expr::Value;
    use crate::source::tests::sample_user;
    use serde_json::json;

    #[test]
    fn defaults_validate_against_the_built_in_schemas() {
        assert_eq!(scim_user_schema().validate(), []);
        assert_eq!(scim_group_schema().validate(), []);
        assert_eq!(validate(&default_user_mapping(), &scim_user_schema()), []);
        assert_eq!(validate(&default_group_mapping(), &scim_group_schema()), []);
        assert_eq!(default_user_mapping().attributes.len(), 18);
    }

    #[test]
    fn the_sample_user_becomes_entras_post_body() {
        let m = CompiledMapping::compile(&default_user_mapping(), &scim_user_schema()).unwrap();
        let r = resolve(&sample_user(), &m, Phase::Create, &mut env());
        assert_eq!(
            r.to_scim_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "userName": "John.Doe@contoso.com",
                "active": true,
                "displayName": "John Doe",
                "title": "Engineer",
                "emails": [{"type": "work", "primary": true, "value": "john.doe@contoso.com"}],
                "name": {"givenName": "John", "familyName": "Doe", "formatted": "John Doe"},
                "addresses": [{"type": "work", "primary": true, "formatted": "B1", "country": "US"}],
                "phoneNumbers": [{"type": "work", "primary": true, "value": "+1 555 0100"}],
                "externalId": "jdoe",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "E100",
                    "department": "Engineering",
                    "manager": {"value": "m-1"}
                }
            })
        );
        let skipped: Vec<&str> =
            r.explanation.iter().filter(|o| o.status == OutcomeStatus::SkippedNull).map(|o| o.target.as_str()).collect();
        assert_eq!(skipped, ["preferredLanguage", r#"addresses[type eq "work"].locality"#, r#"phoneNumbers[type eq "mobile"].value"#]);
        assert_eq!(r.matching_values(), [("userName".to_string(), Value::str("John.Doe@contoso.com"))]);
        let active = r.explanation.iter().find(|o| o.target == "active").unwrap();
        assert_eq!(
            active.explain(),
            r#"active: sent True from Switch([IsSoftDeleted], , "False", "True", "True", "False") (IsSoftDeleted is False)"#
        );
    }

    #[test]
    fn a_disabled_user_is_sent_inactive() {
        let mut u = sample_user();
        u.account_enabled = false;
        let m = CompiledMapping::compile(&default_user_mapping(), &scim_user_schema()).unwrap();
        let r = resolve(&u, &m, Phase::Update, &mut env());
        assert_eq!(r.get("active"), Some(&Value::Bool(false)));
        assert_eq!(r.to_scim_json()["active"], json!(false));
    }

    #[test]
    fn defaults_round_trip_as_json() {
        for m in [default_user_mapping(), default_group_mapping()] {
            let back: ObjectMapping = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            assert_eq!(back, m);
        }
    }
}
