//! A demo directory: realistic, varied, deterministic people, departments, managers and groups.
//! `make run` seeds it on first start; the benchmarks use it to fill 100,000 users.

use crate::model::{ChangeOp, GroupDraft, GroupId, MemberKind, UserDraft, UserId};
use crate::service::{Actor, Result};
use crate::store::{audit, changes, groups, new_uuid, users, Store};
use std::collections::BTreeMap;

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Amara",
    "Aiko",
    "Björn",
    "Carmen",
    "Chen",
    "Chloé",
    "Dmitri",
    "Elena",
    "Emeka",
    "Fatima",
    "Gustavo",
    "Hana",
    "Ingrid",
    "Isabel",
    "Jamal",
    "Jonas",
    "Kavya",
    "Kenji",
    "Lars",
    "Leila",
    "Lucía",
    "Mateo",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Rosa",
    "Sven",
    "Sofia",
    "Tariq",
    "Thandiwe",
    "Tomás",
    "Ulla",
    "Valentina",
    "Wei",
    "Xavier",
    "Yasmin",
    "Yusuf",
    "Zanele",
    "Zoë",
    "Émile",
    "Ngozi",
    "Siobhán",
    "Jürgen",
];
const LAST: &[&str] = &[
    "Abara",
    "Andersson",
    "Bauer",
    "Castillo",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fernández",
    "García",
    "Haddad",
    "Hansen",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lindqvist",
    "Martínez",
    "Müller",
    "Nakamura",
    "Nguyen",
    "Novak",
    "O'Brien",
    "Okafor",
    "Patel",
    "Pereira",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Tanaka",
    "Van der Berg",
    "Wang",
    "Williams",
    "Yilmaz",
    "Zhang",
    "Ødegaard",
    "Núñez",
];
const DEPARTMENTS: &[(&str, &[&str])] = &[
    ("Engineering", &["Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager", "SRE"]),
    ("Sales", &["Account Executive", "Sales Development Rep", "Sales Manager", "Solutions Engineer"]),
    ("Marketing", &["Marketing Specialist", "Content Strategist", "Product Marketing Manager"]),
    ("Finance", &["Accountant", "Financial Analyst", "Controller"]),
    ("Human Resources", &["HR Business Partner", "Recruiter", "People Operations Specialist"]),
    ("Support", &["Support Engineer", "Customer Success Manager", "Support Lead"]),
    ("Legal", &["Counsel", "Paralegal"]),
    ("Operations", &["Operations Analyst", "Facilities Coordinator", "IT Administrator"]),
    ("Product", &["Product Manager", "Product Designer", "UX Researcher"]),
];
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("Seattle", "United States", "US", "en-US"),
    ("New York", "United States", "US", "en-US"),
    ("London", "United Kingdom", "GB", "en-GB"),
    ("Dublin", "Ireland", "IE", "en-IE"),
    ("Berlin", "Germany", "DE", "de-DE"),
    ("Paris", "France", "FR", "fr-FR"),
    ("Madrid", "Spain", "ES", "es-ES"),
    ("Oslo", "Norway", "NO", "nb-NO"),
    ("Stockholm", "Sweden", "SE", "sv-SE"),
    ("Tokyo", "Japan", "JP", "ja-JP"),
    ("Bengaluru", "India", "IN", "en-IN"),
    ("São Paulo", "Brazil", "BR", "pt-BR"),
    ("Lagos", "Nigeria", "NG", "en-NG"),
    ("Sydney", "Australia", "AU", "en-AU"),
];
const GROUPS: &[(&str, &str)] = &[
    ("All Staff", "Everyone in the company"),
    ("Engineering", "Engineering department"),
    ("Sales", "Sales department"),
    ("Marketing", "Marketing department"),
    ("Finance", "Finance department"),
    ("Human Resources", "HR department"),
    ("Support", "Customer support"),
    ("Legal", "Legal department"),
    ("Operations", "Operations and IT"),
    ("Product", "Product management and design"),
    ("Managers", "People managers"),
    ("Contractors", "External contractors"),
    ("EMEA", "People based in Europe, the Middle East and Africa"),
    ("Americas", "People based in the Americas"),
    ("APAC", "People based in Asia-Pacific"),
    ("Slack Users", "Licensed for Slack"),
    ("GitHub Users", "Licensed for GitHub Enterprise"),
    ("Zoom Users", "Licensed for Zoom"),
    ("Security Champions", "Security reviewers across teams"),
    ("On-call", "Production on-call rotation"),
];

/// A small deterministic generator (SplitMix64), so the demo directory is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

/// Lower-case ASCII for mail addresses: strips accents and anything that is not a letter.
fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'à' | 'ä' | 'â' | 'ã' => 'a',
                'é' | 'è' | 'ë' | 'ê' | 'É' => 'e',
                'í' | 'ì' | 'ï' => 'i',
                'ó' | 'ò' | 'ö' | 'ô' | 'ø' | 'Ø' => 'o',
                'ú' | 'ù' | 'ü' => 'u',
                'ñ' => 'n',
                'ç' => 'c',
                c => c,
            };
            c.is_ascii_alphabetic().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

/// `n` demo users. Index 0 of each department is its head; the first 9 report to nobody.
/// Managers are given as indexes into the returned list.
pub fn users(n: usize, domain: &str) -> Vec<(UserDraft, Option<usize>)> {
    let mut rng = Rng(0x005E_ED0F_D1EC_7011);
    let mut out = Vec::with_capacity(n);
    let mut heads: Vec<Option<usize>> = vec![None; DEPARTMENTS.len()];
    let mut leads: Vec<Vec<usize>> = vec![Vec::new(); DEPARTMENTS.len()];
    let mut taken = std::collections::HashSet::new();
    for i in 0..n {
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let dept_i = i % DEPARTMENTS.len();
        let (dept, titles) = DEPARTMENTS[dept_i];
        let (city, country, cc, lang) = *rng.pick(PLACES);
        let mut nick = format!("{}.{}", ascii_slug(first), ascii_slug(last));
        if !taken.insert(nick.clone()) {
            nick = format!("{nick}{i}");
            taken.insert(nick.clone());
        }
        let upn = format!("{nick}@{domain}");
        let contractor = rng.chance(8);
        let manager = match heads[dept_i] {
            None => None,
            Some(h) => {
                let ls = &leads[dept_i];
                if ls.is_empty() || rng.chance(25) {
                    Some(h)
                } else {
                    Some(*rng.pick(ls))
                }
            }
        };
        let title = if heads[dept_i].is_none() {
            format!("Head of {dept}")
        } else if leads[dept_i].len() < 3 + n / 200 && rng.chance(15) {
            leads[dept_i].push(i);
            format!("{dept} Lead")
        } else {
            rng.pick(titles).to_string()
        };
        if heads[dept_i].is_none() {
            heads[dept_i] = Some(i);
        }
        let mut ext = BTreeMap::new();
        ext.insert("costCenter".to_string(), format!("CC-{}", 1000 + dept_i * 10 + (rng.next() % 5) as usize));
        if rng.chance(30) {
            ext.insert("badgeNumber".to_string(), format!("B{:06}", rng.next() % 1_000_000));
        }
        let d = UserDraft {
            user_principal_name: upn.clone(),
            display_name: format!("{first} {last}"),
            given_name: Some(first.to_string()),
            surname: Some(last.to_string()),
            mail: Some(upn.clone()),
            other_mails: if rng.chance(20) { vec![format!("{}@personal.example.net", ascii_slug(first))] } else { vec![] },
            mail_nickname: Some(nick),
            department: Some(dept.to_string()),
            job_title: Some(title),
            company_name: Some(if contractor { "Northwind Staffing" } else { "Contoso Ltd" }.to_string()),
            employee_id: Some(format!("E{:05}", 10000 + i)),
            employee_type: Some(if contractor { "Contractor" } else { "Employee" }.to_string()),
            office_location: Some(format!("{city} {}", (rng.next() % 9) + 1)),
            city: Some(city.to_string()),
            country: Some(country.to_string()),
            usage_location: Some(cc.to_string()),
            preferred_language: Some(lang.to_string()),
            mobile_phone: rng.chance(70).then(|| format!("+1 555 {:03} {:04}", rng.next() % 1000, rng.next() % 10000)),
            business_phones: if rng.chance(50) { vec![format!("+1 555 010 {:04}", rng.next() % 10000)] } else { vec![] },
            account_enabled: !rng.chance(6),
            manager_id: None,
            extension_attributes: ext,
        };
        out.push((d, manager));
    }
    out
}

/// Seeds `n_users` users (with managers) and the 20 demo groups with members, in one transaction, as `actor`.
/// Returns the number of users written.
pub async fn seed(store: &Store, actor: &Actor, n_users: usize, domain: &str) -> Result<usize> {
    let people = users(n_users, domain);
    let ids: Vec<UserId> = (0..people.len()).map(|_| UserId(new_uuid())).collect();
    let mut tx = store.begin().await?;
    for (i, (d, mgr)) in people.iter().enumerate() {
        let mut d = d.clone();
        // Managers always come earlier in the list, so their rows exist already.
        d.manager_id = mgr.map(|m| ids[m]);
        users::insert(&mut tx, ids[i], &d).await?;
        changes::append(
            &mut tx,
            "user",
            &ids[i].to_string(),
            ChangeOp::Create,
            serde_json::json!({"userPrincipalName": d.user_principal_name}),
        )
        .await?;
    }
    let mut gids = Vec::new();
    for (name, desc) in GROUPS {
        let id = GroupId(new_uuid());
        let g = GroupDraft {
            display_name: name.to_string(),
            description: Some(desc.to_string()),
            mail_nickname: Some(ascii_slug(name)),
            security_enabled: true,
        };
        groups::insert(&mut tx, id, &g).await?;
        changes::append(&mut tx, "group", &id.to_string(), ChangeOp::Create, serde_json::json!({"displayName": name})).await?;
        gids.push((id, *name));
    }
    let group_of = |name: &str| gids.iter().find(|(_, n)| *n == name).map(|(id, _)| *id);
    let emea = ["GB", "IE", "DE", "FR", "ES", "NO", "SE", "NG"];
    let americas = ["US", "BR"];
    let mut rng = Rng(42);
    // Membership rows only for the first 2,000 users: enough for a realistic demo, cheap for big benches.
    for (i, (d, _)) in people.iter().enumerate().take(2000) {
        let uid = ids[i].to_string();
        let mut targets = vec![d.department.as_deref().and_then(group_of)];
        if d.employee_type.as_deref() == Some("Contractor") {
            targets.push(group_of("Contractors"));
        }
        if d.job_title.as_deref().is_some_and(|t| t.starts_with("Head of") || t.ends_with("Lead") || t.ends_with("Manager")) {
            targets.push(group_of("Managers"));
        }
        let region = match d.usage_location.as_deref() {
            Some(c) if emea.contains(&c) => "EMEA",
            Some(c) if americas.contains(&c) => "Americas",
            _ => "APAC",
        };
        targets.push(group_of(region));
        for (app, pct) in [("Slack Users", 80), ("Zoom Users", 60), ("GitHub Users", 0)] {
            let pct = if app == "GitHub Users" && d.department.as_deref() == Some("Engineering") { 90 } else { pct };
            if rng.chance(pct) {
                targets.push(group_of(app));
            }
        }
        if rng.chance(4) {
            targets.push(group_of("Security Champions"));
        }
        if d.department.as_deref() == Some("Engineering") && rng.chance(30) {
            targets.push(group_of("On-call"));
        }
        for g in targets.into_iter().flatten() {
            groups::add_member(&mut tx, g, &uid, MemberKind::User).await?;
        }
    }
    // "All Staff" nests the department groups rather than listing everyone.
    if let Some(all) = group_of("All Staff") {
        for (dept, _) in DEPARTMENTS {
            if let Some(g) = group_of(dept) {
                groups::add_member(&mut tx, all, &g.to_string(), MemberKind::Group).await?;
            }
        }
    }
    audit::append(
        &mut tx,
        &actor.audit("directory.seedDemo", "directory", None, None, serde_json::json!({"users": people.len(), "groups": GROUPS.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(people.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_users_are_valid_unique_and_managed() {
        let people = users(500, "contoso.example");
        let mut upns = std::collections::HashSet::new();
        for (i, (d, m)) in people.iter().enumerate() {
            assert!(d.validate().is_empty(), "{:?}: {:?}", d.user_principal_name, d.validate());
            assert!(upns.insert(d.user_principal_name.clone()), "duplicate {}", d.user_principal_name);
            if let Some(m) = m {
                assert!(*m < i, "manager must come first");
            }
        }
        let depts: std::collections::HashSet<_> = people.iter().filter_map(|(d, _)| d.department.clone()).collect();
        assert_eq!(depts.len(), DEPARTMENTS.len());
        assert!(people.iter().filter(|(_, m)| m.is_some()).count() > 400);
        assert!(people.iter().any(|(d, _)| !d.account_enabled));
    }
}
