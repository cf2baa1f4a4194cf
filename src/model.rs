//! The directory model: users, groups, admins, roles, pages and validation.
//!
//! Pure data and rules: no I/O, builds for `wasm32-unknown-unknown` so the portal can validate in the
//! browser with the same code the server uses. JSON field names follow Microsoft Graph (camelCase).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Parses an id from its hyphenated text form.
            pub fn parse(s: &str) -> Result<Self, uuid::Error> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

typed_id!(
    /// The id of a directory user.
    UserId
);
typed_id!(
    /// The id of a directory group.
    GroupId
);
typed_id!(
    /// The id of a portal administrator account.
    AdminId
);
typed_id!(
    /// The id of an API token.
    TokenId
);

/// A reference to another object by id, as Graph writes `manager`: `{"id": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// The referenced object's id.
    pub id: String,
    /// The referenced object's display name, when known (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The referenced user's principal name, when known (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
}

/// A person in the directory: the source that apps are provisioned from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Sign-in name, unique across the directory (case-insensitive).
    pub user_principal_name: String,
    /// Name shown in lists.
    pub display_name: String,
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub surname: Option<String>,
    /// Primary email address.
    pub mail: Option<String>,
    /// Further email addresses.
    pub other_mails: Vec<String>,
    /// Mail alias.
    pub mail_nickname: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// Employee id (HR number).
    pub employee_id: Option<String>,
    /// Employee type (Employee, Contractor, …).
    pub employee_type: Option<String>,
    /// Office location.
    pub office_location: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Country or region.
    pub country: Option<String>,
    /// Two-letter usage location (ISO 3166-1 alpha-2).
    pub usage_location: Option<String>,
    /// Preferred language (BCP 47, e.g. `en-US`).
    pub preferred_language: Option<String>,
    /// Mobile phone number.
    pub mobile_phone: Option<String>,
    /// Business phone numbers.
    pub business_phones: Vec<String>,
    /// Whether the account is enabled.
    pub account_enabled: bool,
    /// The user's manager.
    pub manager: Option<ObjectRef>,
    /// Admin-defined extension attributes (name to string value).
    pub extension_attributes: BTreeMap<String, String>,
    /// When the user was created.
    pub created_date_time: DateTime<Utc>,
    /// When the user was last changed.
    pub updated_date_time: DateTime<Utc>,
    /// When the user was soft-deleted (in the recycle bin), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_date_time: Option<DateTime<Utc>>,
}

/// Deserializes a field that may be absent (outer `None`), null (`Some(None)`) or set.
fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The attributes of a user that an admin writes: all optional, so the same type serves create
/// (absent = empty) and patch (absent = unchanged, `null` = cleared).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInput {
    /// See [`User::user_principal_name`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<Option<String>>,
    /// See [`User::display_name`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Option<String>>,
    /// See [`User::given_name`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub given_name: Option<Option<String>>,
    /// See [`User::surname`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub surname: Option<Option<String>>,
    /// See [`User::mail`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub mail: Option<Option<String>>,
    /// See [`User::other_mails`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub other_mails: Option<Option<Vec<String>>>,
    /// See [`User::mail_nickname`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub mail_nickname: Option<Option<String>>,
    /// See [`User::department`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub department: Option<Option<String>>,
    /// See [`User::job_title`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub job_title: Option<Option<String>>,
    /// See [`User::company_name`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub company_name: Option<Option<String>>,
    /// See [`User::employee_id`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<Option<String>>,
    /// See [`User::employee_type`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub employee_type: Option<Option<String>>,
    /// See [`User::office_location`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub office_location: Option<Option<String>>,
    /// See [`User::city`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub city: Option<Option<String>>,
    /// See [`User::country`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub country: Option<Option<String>>,
    /// See [`User::usage_location`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub usage_location: Option<Option<String>>,
    /// See [`User::preferred_language`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<Option<String>>,
    /// See [`User::mobile_phone`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<Option<String>>,
    /// See [`User::business_phones`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub business_phones: Option<Option<Vec<String>>>,
    /// See [`User::account_enabled`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub account_enabled: Option<Option<bool>>,
    /// See [`User::manager`]: `{"id": "…"}`, or null to clear.
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub manager: Option<Option<ObjectRef>>,
    /// Extension attributes to set (a null value removes one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_attributes: Option<BTreeMap<String, Option<String>>>,
}

/// One problem with one field of an input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field at fault, in the API's spelling (`userPrincipalName`), or `row 3, column mail` for CSV.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl FieldError {
    /// Makes a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The longest value any single-valued string attribute may hold.
pub const MAX_ATTRIBUTE_LEN: usize = 256;

/// A normalized, validated user: what the store writes. Built from [`UserInput`] by [`UserDraft::apply`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDraft {
    /// See [`User::user_principal_name`].
    pub user_principal_name: String,
    /// See [`User::display_name`].
    pub display_name: String,
    /// See [`User::given_name`].
    pub given_name: Option<String>,
    /// See [`User::surname`].
    pub surname: Option<String>,
    /// See [`User::mail`].
    pub mail: Option<String>,
    /// See [`User::other_mails`].
    pub other_mails: Vec<String>,
    /// See [`User::mail_nickname`].
    pub mail_nickname: Option<String>,
    /// See [`User::department`].
    pub department: Option<String>,
    /// See [`User::job_title`].
    pub job_title: Option<String>,
    /// See [`User::company_name`].
    pub company_name: Option<String>,
    /// See [`User::employee_id`].
    pub employee_id: Option<String>,
    /// See [`User::employee_type`].
    pub employee_type: Option<String>,
    /// See [`User::office_location`].
    pub office_location: Option<String>,
    /// See [`User::city`].
    pub city: Option<String>,
    /// See [`User::country`].
    pub country: Option<String>,
    /// See [`User::usage_location`].
    pub usage_location: Option<String>,
    /// See [`User::preferred_language`].
    pub preferred_language: Option<String>,
    /// See [`User::mobile_phone`].
    pub mobile_phone: Option<String>,
    /// See [`User::business_phones`].
    pub business_phones: Vec<String>,
    /// See [`User::account_enabled`].
    pub account_enabled: bool,
    /// The manager's id.
    pub manager_id: Option<UserId>,
    /// See [`User::extension_attributes`].
    pub extension_attributes: BTreeMap<String, String>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn clean_list(v: Vec<String>) -> Vec<String> {
    v.into_iter().filter_map(|s| clean(Some(s))).collect()
}

/// True when `s` looks like `local@domain.tld` with no spaces.
pub fn is_email_like(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
        && !domain.contains('@')
}

impl UserDraft {
    /// The draft of an existing user, to apply a patch to.
    pub fn from_user(u: &User) -> Self {
        Self {
            user_principal_name: u.user_principal_name.clone(),
            display_name: u.display_name.clone(),
            given_name: u.given_name.clone(),
            surname: u.surname.clone(),
            mail: u.mail.clone(),
            other_mails: u.other_mails.clone(),
            mail_nickname: u.mail_nickname.clone(),
            department: u.department.clone(),
            job_title: u.job_title.clone(),
            company_name: u.company_name.clone(),
            employee_id: u.employee_id.clone(),
            employee_type: u.employee_type.clone(),
            office_location: u.office_location.clone(),
            city: u.city.clone(),
            country: u.country.clone(),
            usage_location: u.usage_location.clone(),
            preferred_language: u.preferred_language.clone(),
            mobile_phone: u.mobile_phone.clone(),
            business_phones: u.business_phones.clone(),
            account_enabled: u.account_enabled,
            manager_id: u.manager.as_ref().and_then(|m| UserId::parse(&m.id).ok()),
            extension_attributes: u.extension_attributes.clone(),
        }
    }

    /// The user this draft describes, as it would read once stored with `id` at time `at` (for
    /// previews and benchmarks that evaluate mappings without a store).
    pub fn to_user(&self, id: UserId, at: DateTime<Utc>) -> User {
        User {
            id,
            user_principal_name: self.user_principal_name.clone(),
            display_name: self.display_name.clone(),
            given_name: self.given_name.clone(),
            surname: self.surname.clone(),
            mail: self.mail.clone(),
            other_mails: self.other_mails.clone(),
            mail_nickname: self.mail_nickname.clone(),
            department: self.department.clone(),
            job_title: self.job_title.clone(),
            company_name: self.company_name.clone(),
            employee_id: self.employee_id.clone(),
            employee_type: self.employee_type.clone(),
            office_location: self.office_location.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            usage_location: self.usage_location.clone(),
            preferred_language: self.preferred_language.clone(),
            mobile_phone: self.mobile_phone.clone(),
            business_phones: self.business_phones.clone(),
            account_enabled: self.account_enabled,
            manager: self.manager_id.map(|m| ObjectRef { id: m.to_string(), display_name: None, user_principal_name: None }),
            extension_attributes: self.extension_attributes.clone(),
            created_date_time: at,
            updated_date_time: at,
            deleted_date_time: None,
        }
    }

    /// A draft for a new user: enabled, everything else empty.
    pub fn new_user() -> Self {
        Self { account_enabled: true, ..Self::default() }
    }

    /// Applies an input on top of this draft and validates the result. Every problem is reported,
    /// each naming its field; on error the draft is left as it was.
    pub fn apply(&self, input: UserInput) -> Result<UserDraft, Vec<FieldError>> {
        let mut d = self.clone();
        let mut errs = Vec::new();
        macro_rules! set_str {
            ($field:ident) => {
                if let Some(v) = input.$field {
                    d.$field = clean(v);
                }
            };
        }
        if let Some(v) = input.user_principal_name {
            d.user_principal_name = clean(v).unwrap_or_default();
        }
        if let Some(v) = input.display_name {
            d.display_name = clean(v).unwrap_or_default();
        }
        set_str!(given_name);
        set_str!(surname);
        set_str!(mail);
        set_str!(mail_nickname);
        set_str!(department);
        set_str!(job_title);
        set_str!(company_name);
        set_str!(employee_id);
        set_str!(employee_type);
        set_str!(office_location);
        set_str!(city);
        set_str!(country);
        set_str!(usage_location);
        set_str!(preferred_language);
        set_str!(mobile_phone);
        if let Some(v) = input.other_mails {
            d.other_mails = clean_list(v.unwrap_or_default());
        }
        if let Some(v) = input.business_phones {
            d.business_phones = clean_list(v.unwrap_or_default());
        }
        if let Some(v) = input.account_enabled {
            match v {
                Some(b) => d.account_enabled = b,
                None => errs.push(FieldError::new("accountEnabled", "must be true or false, not null")),
            }
        }
        if let Some(m) = input.manager {
            d.manager_id = match m {
                None => None,
                Some(r) if r.id.trim().is_empty() => None,
                Some(r) => match UserId::parse(r.id.trim()) {
                    Ok(id) => Some(id),
                    Err(_) => {
                        errs.push(FieldError::new("manager", format!("'{}' is not a user id", r.id)));
                        d.manager_id
                    }
                },
            };
        }
        if let Some(ext) = input.extension_attributes {
            for (k, v) in ext {
                match clean(v) {
                    Some(v) => {
                        d.extension_attributes.insert(k, v);
                    }
                    None => {
                        d.extension_attributes.remove(&k);
                    }
                }
            }
        }
        if d.display_name.is_empty() {
            let joined = [d.given_name.as_deref(), d.surname.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
            d.display_name = joined;
        }
        errs.extend(d.validate());
        if errs.is_empty() {
            Ok(d)
        } else {
            Err(errs)
        }
    }

    /// Checks the rules every stored user obeys.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if self.user_principal_name.is_empty() {
            errs.push(FieldError::new("userPrincipalName", "is required"));
        } else if !is_email_like(&self.user_principal_name) {
            errs.push(FieldError::new("userPrincipalName", format!("'{}' is not of the form name@domain", self.user_principal_name)));
        }
        if self.display_name.is_empty() {
            errs.push(FieldError::new("displayName", "is required (or give givenName and surname)"));
        }
        if let Some(m) = &self.mail {
            if !is_email_like(m) {
                errs.push(FieldError::new("mail", format!("'{m}' is not an email address")));
            }
        }
        for m in &self.other_mails {
            if !is_email_like(m) {
                errs.push(FieldError::new("otherMails", format!("'{m}' is not an email address")));
            }
        }
        if let Some(u) = &self.usage_location {
            if u.len() != 2 || !u.chars().all(|c| c.is_ascii_alphabetic()) {
                errs.push(FieldError::new("usageLocation", format!("'{u}' is not a two-letter country code")));
            }
        }
        for (name, value) in self.string_fields() {
            if value.chars().count() > MAX_ATTRIBUTE_LEN {
                errs.push(FieldError::new(name, format!("is longer than {MAX_ATTRIBUTE_LEN} characters")));
            }
        }
        for k in self.extension_attributes.keys() {
            if let Some(msg) = extension_name_problem(k) {
                errs.push(FieldError::new(format!("extensionAttributes.{k}"), msg));
            }
        }
        errs
    }

    fn string_fields(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![("userPrincipalName", self.user_principal_name.as_str()), ("displayName", self.display_name.as_str())];
        let opts: [(&'static str, &Option<String>); 15] = [
            ("givenName", &self.given_name),
            ("surname", &self.surname),
            ("mail", &self.mail),
            ("mailNickname", &self.mail_nickname),
            ("department", &self.department),
            ("jobTitle", &self.job_title),
            ("companyName", &self.company_name),
            ("employeeId", &self.employee_id),
            ("employeeType", &self.employee_type),
            ("officeLocation", &self.office_location),
            ("city", &self.city),
            ("country", &self.country),
            ("usageLocation", &self.usage_location),
            ("preferredLanguage", &self.preferred_language),
            ("mobilePhone", &self.mobile_phone),
        ];
        v.extend(opts.iter().filter_map(|(n, o)| o.as_deref().map(|s| (*n, s))));
        v
    }
}

/// Why an extension attribute name is not acceptable, if it is not: names are 1–64 ASCII letters,
/// digits and `_`, starting with a letter.
pub fn extension_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 64 {
        return Some("extension attribute names are 1 to 64 characters".into());
    }
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some(format!("'{name}' must start with a letter and use only letters, digits and _"));
    }
    None
}

/// The columns a CSV import file may have, by API name (besides `extension_<name>`).
pub const IMPORT_COLUMNS: [&str; 22] = [
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "otherMails",
    "mailNickname",
    "department",
    "jobTitle",
    "companyName",
    "employeeId",
    "employeeType",
    "officeLocation",
    "city",
    "country",
    "usageLocation",
    "preferredLanguage",
    "mobilePhone",
    "businessPhones",
    "accountEnabled",
    "manager",
    "id",
];

/// A group of users (and groups).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Stable id.
    pub id: GroupId,
    /// Name shown in lists.
    pub display_name: String,
    /// Free text.
    pub description: Option<String>,
    /// Mail alias.
    pub mail_nickname: Option<String>,
    /// Whether the group is a security group.
    pub security_enabled: bool,
    /// How many direct members it has.
    pub member_count: i64,
    /// When the group was created.
    pub created_date_time: DateTime<Utc>,
    /// When the group was last changed.
    pub updated_date_time: DateTime<Utc>,
}

/// The attributes of a group that an admin writes (absent = unchanged / empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupInput {
    /// See [`Group::display_name`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Option<String>>,
    /// See [`Group::description`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
    /// See [`Group::mail_nickname`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub mail_nickname: Option<Option<String>>,
    /// See [`Group::security_enabled`].
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    pub security_enabled: Option<Option<bool>>,
}

/// A validated group, as the store writes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDraft {
    /// See [`Group::display_name`].
    pub display_name: String,
    /// See [`Group::description`].
    pub description: Option<String>,
    /// See [`Group::mail_nickname`].
    pub mail_nickname: Option<String>,
    /// See [`Group::security_enabled`].
    pub security_enabled: bool,
}

impl GroupDraft {
    /// The draft of an existing group.
    pub fn from_group(g: &Group) -> Self {
        Self {
            display_name: g.display_name.clone(),
            description: g.description.clone(),
            mail_nickname: g.mail_nickname.clone(),
            security_enabled: g.security_enabled,
        }
    }

    /// Applies an input and validates the result.
    pub fn apply(&self, input: GroupInput) -> Result<GroupDraft, Vec<FieldError>> {
        let mut d = self.clone();
        let mut errs = Vec::new();
        if let Some(v) = input.display_name {
            d.display_name = clean(v).unwrap_or_default();
        }
        if let Some(v) = input.description {
            d.description = clean(v);
        }
        if let Some(v) = input.mail_nickname {
            d.mail_nickname = clean(v);
        }
        if let Some(v) = input.security_enabled {
            match v {
                Some(b) => d.security_enabled = b,
                None => errs.push(FieldError::new("securityEnabled", "must be true or false, not null")),
            }
        }
        if d.display_name.is_empty() {
            errs.push(FieldError::new("displayName", "is required"));
        } else if d.display_name.chars().count() > MAX_ATTRIBUTE_LEN {
            errs.push(FieldError::new("displayName", format!("is longer than {MAX_ATTRIBUTE_LEN} characters")));
        }
        if d.description.as_ref().is_some_and(|s| s.chars().count() > 1024) {
            errs.push(FieldError::new("description", "is longer than 1024 characters"));
        }
        if errs.is_empty() {
            Ok(d)
        } else {
            Err(errs)
        }
    }
}

/// What kind of object a group member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MemberKind {
    /// A user.
    User,
    /// A nested group.
    Group,
}

impl MemberKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Group => "group",
        }
    }
}

/// A direct member of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The member's id (a user or group id).
    pub id: String,
    /// User or group.
    pub kind: MemberKind,
    /// The member's display name.
    pub display_name: String,
    /// The user's principal name (users only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
}

/// The role of a portal administrator or API token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Everything, including admin accounts and API tokens.
    Administrator,
    /// Apps and provisioning, directory read and write.
    ApplicationAdministrator,
    /// Read only.
    Reader,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 3] = [Role::Administrator, Role::ApplicationAdministrator, Role::Reader];

    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::ApplicationAdministrator => "ApplicationAdministrator",
            Role::Reader => "Reader",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::ApplicationAdministrator => "Application Administrator",
            Role::Reader => "Reader",
        }
    }

    /// Parses the stored spelling (also accepts the label and lower case).
    pub fn parse(s: &str) -> Option<Role> {
        let k: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        match k.as_str() {
            "administrator" | "admin" => Some(Role::Administrator),
            "applicationadministrator" | "appadmin" => Some(Role::ApplicationAdministrator),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }

    /// May change the directory (users, groups, imports).
    pub fn can_write_directory(self) -> bool {
        matches!(self, Role::Administrator | Role::ApplicationAdministrator)
    }

    /// May manage admin accounts and API tokens.
    pub fn can_manage_admins(self) -> bool {
        matches!(self, Role::Administrator)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A portal administrator account (never carries its password hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    /// Stable id.
    pub id: AdminId,
    /// Sign-in name (unique, case-insensitive).
    pub username: String,
    /// What the admin may do.
    pub role: Role,
    /// A disabled admin cannot sign in.
    pub disabled: bool,
    /// When the account was created.
    pub created_date_time: DateTime<Utc>,
    /// When the admin last signed in.
    pub last_sign_in_date_time: Option<DateTime<Utc>>,
}

/// An API token's public description (the secret is shown once, at creation, and never stored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    /// Stable id.
    pub id: TokenId,
    /// A name to recognise it by.
    pub name: String,
    /// What requests with it may do.
    pub role: Role,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_date_time: DateTime<Utc>,
    /// When it was last used.
    pub last_used_date_time: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_date_time: Option<DateTime<Utc>>,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Sequence number (newest is highest).
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it (admin user name, `token:<name>`, or `cli`).
    pub actor: String,
    /// What was done, e.g. `user.update`.
    pub action: String,
    /// The kind of object acted on.
    pub target_type: String,
    /// The object's id.
    pub target_id: Option<String>,
    /// A readable name of the object.
    pub target_name: Option<String>,
    /// The client address.
    pub ip: Option<String>,
    /// Before/after values and other details.
    pub details: serde_json::Value,
}

/// A page of a keyset-paginated list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Opaque cursor for the next page (`?after=`), absent on the last page.
    pub next_cursor: Option<String>,
}

/// The default and the largest page sizes.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page size a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Which users to list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserQuery {
    /// Prefix of displayName, userPrincipalName, mail, givenName or surname (case-insensitive).
    pub search: Option<String>,
    /// Exact department.
    pub department: Option<String>,
    /// Only enabled (true) or disabled (false) users.
    pub enabled: Option<bool>,
    /// List the recycle bin (soft-deleted users) instead.
    #[serde(default)]
    pub deleted: bool,
    /// Page size.
    pub top: Option<u32>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// Which groups to list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupQuery {
    /// Prefix of displayName (case-insensitive).
    pub search: Option<String>,
    /// Page size.
    pub top: Option<u32>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// Which audit entries to list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// Exact actor.
    pub actor: Option<String>,
    /// Action prefix, e.g. `user.` or `user.update`.
    pub action: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// Page size.
    pub top: Option<u32>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// A kind of change recorded in the directory's change log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeOp {
    /// An object was created.
    Create,
    /// Some attributes changed (listed in the entry).
    Update,
    /// A user was moved to the recycle bin.
    SoftDelete,
    /// A user came back from the recycle bin.
    Restore,
    /// An object was deleted for good.
    HardDelete,
    /// A member was added to a group.
    MemberAdd,
    /// A member was removed from a group.
    MemberRemove,
}

impl ChangeOp {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::SoftDelete => "softDelete",
            ChangeOp::Restore => "restore",
            ChangeOp::HardDelete => "hardDelete",
            ChangeOp::MemberAdd => "memberAdd",
            ChangeOp::MemberRemove => "memberRemove",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<ChangeOp> {
        Some(match s {
            "create" => ChangeOp::Create,
            "update" => ChangeOp::Update,
            "softDelete" => ChangeOp::SoftDelete,
            "restore" => ChangeOp::Restore,
            "hardDelete" => ChangeOp::HardDelete,
            "memberAdd" => ChangeOp::MemberAdd,
            "memberRemove" => ChangeOp::MemberRemove,
            _ => return None,
        })
    }
}

/// One entry of the directory change log, read by the sync engine for incremental cycles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Monotonic sequence number, in commit order.
    pub seq: i64,
    /// `user` or `group`.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// What happened.
    pub op: ChangeOp,
    /// The changed attributes (update) or the member (membership changes).
    pub detail: serde_json::Value,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// The changed attributes between two drafts, by API name, as `{"name": {"old": …, "new": …}}`.
pub fn user_diff(before: &UserDraft, after: &UserDraft) -> serde_json::Map<String, serde_json::Value> {
    let b = serde_json::to_value(before).unwrap_or_default();
    let a = serde_json::to_value(after).unwrap_or_default();
    diff_objects(&b, &a)
}

/// The changed attributes between two JSON objects, as `{"name": {"old": …, "new": …}}`.
pub fn diff_objects(b: &serde_json::Value, a: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    let (Some(bo), Some(ao)) = (b.as_object(), a.as_object()) else {
        return out;
    };
    for (k, av) in ao {
        let bv = bo.get(k).cloned().unwrap_or(serde_json::Value::Null);
        if &bv != av {
            out.insert(k.clone(), serde_json::json!({"old": bv, "new": av}));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> UserInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn new_user_requires_upn_and_name() {
        let errs = UserDraft::new_user().apply(UserInput::default()).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["userPrincipalName", "displayName"]);
    }

    #[test]
    fn display_name_defaults_to_given_and_surname() {
        let d = UserDraft::new_user()
            .apply(input(serde_json::json!({"userPrincipalName": "a@b.io", "givenName": "Ada", "surname": "Lovelace"})))
            .unwrap();
        assert_eq!(d.display_name, "Ada Lovelace");
        assert!(d.account_enabled);
    }

    #[test]
    fn patch_null_clears_and_absent_keeps() {
        let d = UserDraft::new_user()
            .apply(input(serde_json::json!({"userPrincipalName": "a@b.io", "displayName": "A", "department": "Sales", "city": "Oslo"})))
            .unwrap();
        let d2 = d.apply(input(serde_json::json!({"department": null}))).unwrap();
        assert_eq!(d2.department, None);
        assert_eq!(d2.city.as_deref(), Some("Oslo"));
    }

    #[test]
    fn bad_values_name_their_field() {
        let errs = UserDraft::new_user()
            .apply(input(serde_json::json!({
                "userPrincipalName": "nope", "displayName": "A", "mail": "x@", "usageLocation": "NOR",
                "manager": {"id": "42"}, "accountEnabled": null
            })))
            .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in ["userPrincipalName", "mail", "usageLocation", "manager", "accountEnabled"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_value::<UserInput>(serde_json::json!({"departmnt": "x"})).unwrap_err();
        assert!(err.to_string().contains("departmnt"), "{err}");
    }

    #[test]
    fn extension_attribute_names_are_checked() {
        let errs = UserDraft::new_user()
            .apply(input(serde_json::json!({"userPrincipalName": "a@b.io", "displayName": "A",
                "extensionAttributes": {"costCenter": "42", "9bad": "x"}})))
            .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "extensionAttributes.9bad");
    }

    #[test]
    fn diff_lists_only_changed_attributes() {
        let a = UserDraft { user_principal_name: "a@b.io".into(), display_name: "A".into(), ..Default::default() };
        let mut b = a.clone();
        b.department = Some("Sales".into());
        let d = user_diff(&a, &b);
        assert_eq!(d.len(), 1);
        assert_eq!(d["department"]["new"], "Sales");
    }

    #[test]
    fn roles_parse_and_permit() {
        assert_eq!(Role::parse("Application Administrator"), Some(Role::ApplicationAdministrator));
        assert_eq!(Role::parse("reader"), Some(Role::Reader));
        assert!(Role::parse("root").is_none());
        assert!(!Role::Reader.can_write_directory());
        assert!(Role::ApplicationAdministrator.can_write_directory());
        assert!(!Role::ApplicationAdministrator.can_manage_admins());
    }

    #[test]
    fn email_shapes() {
        assert!(is_email_like("ada@example.com"));
        for bad in ["", "ada", "@x.io", "a@b", "a b@c.io", "a@.io", "a@b.io."] {
            assert!(!is_email_like(bad), "{bad}");
        }
    }
}
