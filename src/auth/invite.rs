//! Invite codes: what a visitor needs to register into a cohort.

/// A new invite code: 12 characters from an alphabet without look-alikes, grouped for reading aloud
/// (`ABCD-EFGH-JKMN`), about 60 bits.
pub fn new_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Normalises what a person typed: case and surrounding spaces do not matter.
pub fn normalise(typed: &str) -> String {
    typed.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_distinct() {
        let a = new_code();
        assert_eq!(a.len(), 14);
        assert_eq!(a.matches('-').count(), 2);
        assert_ne!(a, new_code());
        assert_eq!(normalise(&format!("  {} ", a.to_lowercase())), a);
    }
}
