//! "Did you mean …?": the closest known name to a misspelt one.

/// Edit distance (insertions, deletions, substitutions) between `a` and `b`, by characters,
/// ignoring ASCII case.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The known name closest to `wanted`: one that differs only in case, else one within a third of
/// its length in edits (at least 1, at most 3).
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        if k.eq_ignore_ascii_case(wanted) {
            return Some(k);
        }
        let d = distance(wanted, k);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names() {
        let names = ["department", "displayName", "mail"];
        assert_eq!(closest("departmnt", names), Some("department"));
        assert_eq!(closest("DisplayName", names), Some("displayName"));
        assert_eq!(closest("zzz", names), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
