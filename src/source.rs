//! Directory objects as expression sources: which attributes a mapping may read from a user or a
//! group (with their types), and how each is read. Names follow Entra's source attribute names, with
//! its aliases (`objectId`, `physicalDeliveryOfficeName`, `mobile`, `telephoneNumber`) accepted too.

use crate::expr::{Source, SourceSchema, Type, Value};
use crate::model::{Group, User};

/// The attributes of a directory user that expressions may read.
pub const USER_ATTRIBUTES: &[(&str, Type)] = &[
    ("objectId", Type::String),
    ("userPrincipalName", Type::String),
    ("displayName", Type::String),
    ("givenName", Type::String),
    ("surname", Type::String),
    ("mail", Type::String),
    ("otherMails", Type::Multi),
    ("proxyAddresses", Type::Multi),
    ("mailNickname", Type::String),
    ("department", Type::String),
    ("jobTitle", Type::String),
    ("companyName", Type::String),
    ("employeeId", Type::String),
    ("employeeType", Type::String),
    ("officeLocation", Type::String),
    ("physicalDeliveryOfficeName", Type::String),
    ("city", Type::String),
    ("country", Type::String),
    ("usageLocation", Type::String),
    ("preferredLanguage", Type::String),
    ("mobilePhone", Type::String),
    ("mobile", Type::String),
    ("businessPhones", Type::Multi),
    ("telephoneNumber", Type::String),
    ("accountEnabled", Type::Boolean),
    ("IsSoftDeleted", Type::Boolean),
    ("manager", Type::Reference),
    ("createdDateTime", Type::DateTime),
    ("appRoleAssignments", Type::Objects),
];

/// The attributes of a directory group that expressions may read.
pub const GROUP_ATTRIBUTES: &[(&str, Type)] = &[
    ("objectId", Type::String),
    ("displayName", Type::String),
    ("description", Type::String),
    ("mailNickname", Type::String),
    ("securityEnabled", Type::Boolean),
    ("members", Type::Multi),
    ("IsSoftDeleted", Type::Boolean),
];

/// What `[name]` may refer to in a user mapping (extension attributes as `[extension_<name>]`).
pub fn user_schema() -> SourceSchema {
    SourceSchema::new(USER_ATTRIBUTES.iter().copied()).with_extensions()
}

/// What `[name]` may refer to in a group mapping.
pub fn group_schema() -> SourceSchema {
    SourceSchema::new(GROUP_ATTRIBUTES.iter().copied())
}

fn multi(v: &[String]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Multi(v.to_vec())
    }
}

impl Source for User {
    fn get(&self, name: &str) -> Value {
        match name {
            "objectId" => Value::Str(self.id.to_string()),
            "userPrincipalName" => Value::Str(self.user_principal_name.clone()),
            "displayName" => Value::Str(self.display_name.clone()),
            "givenName" => Value::opt(self.given_name.as_deref()),
            "surname" => Value::opt(self.surname.as_deref()),
            "mail" => Value::opt(self.mail.as_deref()),
            "otherMails" => multi(&self.other_mails),
            "proxyAddresses" => {
                let mut v: Vec<String> = self.mail.iter().map(|m| format!("SMTP:{m}")).collect();
                v.extend(self.other_mails.iter().map(|m| format!("smtp:{m}")));
                multi(&v)
            }
            "mailNickname" => Value::opt(self.mail_nickname.as_deref()),
            "department" => Value::opt(self.department.as_deref()),
            "jobTitle" => Value::opt(self.job_title.as_deref()),
            "companyName" => Value::opt(self.company_name.as_deref()),
            "employeeId" => Value::opt(self.employee_id.as_deref()),
            "employeeType" => Value::opt(self.employee_type.as_deref()),
            "officeLocation" | "physicalDeliveryOfficeName" => Value::opt(self.office_location.as_deref()),
            "city" => Value::opt(self.city.as_deref()),
            "country" => Value::opt(self.country.as_deref()),
            "usageLocation" => Value::opt(self.usage_location.as_deref()),
            "preferredLanguage" => Value::opt(self.preferred_language.as_deref()),
            "mobilePhone" | "mobile" => Value::opt(self.mobile_phone.as_deref()),
            "businessPhones" => multi(&self.business_phones),
            "telephoneNumber" => Value::opt(self.business_phones.first().map(String::as_str)),
            "accountEnabled" => Value::Bool(self.account_enabled),
            // The source side of Entra's IsSoftDeleted: deleted (in the recycle bin) or disabled. The
            // sync engine also treats out-of-scope and unassigned users as soft-deleted.
            "IsSoftDeleted" => Value::Bool(self.deleted_date_time.is_some() || !self.account_enabled),
            "manager" => self.manager.as_ref().map_or(Value::Null, |m| Value::Ref(m.id.clone())),
            "createdDateTime" => Value::Date(self.created_date_time),
            _ => match name.strip_prefix("extension_") {
                Some(ext) => Value::opt(self.extension_attributes.get(ext).map(String::as_str)),
                None => Value::Null,
            },
        }
    }
}

impl Source for Group {
    fn get(&self, name: &str) -> Value {
        match name {
            "objectId" => Value::Str(self.id.to_string()),
            "displayName" => Value::Str(self.display_name.clone()),
            "description" => Value::opt(self.description.as_deref()),
            "mailNickname" => Value::opt(self.mail_nickname.as_deref()),
            "securityEnabled" => Value::Bool(self.security_enabled),
            "IsSoftDeleted" => Value::Bool(false),
            _ => Value::Null,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::expr::{compile, FixedEnv};
    use crate::model::{ObjectRef, UserId};
    use chrono::{TimeZone, Utc};

    /// A user with the usual attributes set, for tests across the engine.
    pub(crate) fn sample_user() -> User {
        let t = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        User {
            id: UserId(uuid::Uuid::nil()),
            user_principal_name: "John.Doe@contoso.com".into(),
            display_name: "John Doe".into(),
            given_name: Some("John".into()),
            surname: Some("Doe".into()),
            mail: Some("john.doe@contoso.com".into()),
            other_mails: vec!["jd@example.org".into()],
            mail_nickname: Some("jdoe".into()),
            department: Some("Engineering".into()),
            job_title: Some("Engineer".into()),
            company_name: None,
            employee_id: Some("E100".into()),
            employee_type: None,
            office_location: Some("B1".into()),
            city: None,
            country: Some("US".into()),
            usage_location: None,
            preferred_language: None,
            mobile_phone: None,
            business_phones: vec!["+1 555 0100".into()],
            account_enabled: true,
            manager: Some(ObjectRef { id: "m-1".into(), display_name: None, user_principal_name: None }),
            extension_attributes: [("costCenter".to_string(), "42".to_string())].into(),
            created_date_time: t,
            updated_date_time: t,
            deleted_date_time: None,
        }
    }

    #[test]
    fn users_read_as_entra_names_them() {
        let u = sample_user();
        let mut env = FixedEnv::at(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap());
        let ev = |t: &str, env: &mut FixedEnv| compile(t, &user_schema()).unwrap().evaluate(&u, env).unwrap().to_string();
        assert_eq!(ev(r#"Join(".", [givenName], [surname])"#, &mut env), "John.Doe");
        assert_eq!(ev("[physicalDeliveryOfficeName]", &mut env), "B1");
        assert_eq!(ev("[extension_costCenter]", &mut env), "42");
        assert_eq!(ev("[IsSoftDeleted]", &mut env), "False");
        assert_eq!(ev("[manager]", &mut env), "m-1");
        assert_eq!(ev("[city]", &mut env), "NULL");
        assert_eq!(ev("[telephoneNumber]", &mut env), "+1 555 0100");
        let e = compile("[departmnt]", &user_schema()).unwrap_err();
        assert_eq!(e.message, "unknown attribute [departmnt], did you mean [department]?");
        // Every listed attribute is readable without error.
        for (name, _) in USER_ATTRIBUTES {
            compile(&format!("[{name}]"), &user_schema()).unwrap().evaluate(&u, &mut env).unwrap();
        }
    }
}
