//! Amounts as people read them: CFA francs are whole numbers, their digits grouped by three.

/// `12345` → `"12 345"` with `sep` between the groups (a plain space for SMS and USSD, which
/// must stay within the GSM 7-bit alphabet; a narrow no-break space on web pages); negative
/// numbers keep their sign.
pub fn group_thousands(n: i64, sep: char) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(group_thousands(15000, ' '), "15 000");
        assert_eq!(group_thousands(1234567, ' '), "1 234 567");
        assert_eq!(group_thousands(999, ' '), "999");
        assert_eq!(group_thousands(-25000, ','), "-25,000");
        assert_eq!(group_thousands(0, ' '), "0");
    }
}
