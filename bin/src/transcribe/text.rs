//! Joining segment texts in order.

/// True for characters of scripts written without spaces between words: CJK ideographs and
/// punctuation, kana, Hangul syllables are not included (Korean uses spaces).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF // hiragana, katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0xFF00..=0xFFEF // full-width forms
        | 0x20000..=0x3134F)
}

/// Join texts in order: a space between segments, none where both sides of the join are CJK.
/// Empty texts (silent segments) add nothing.
pub fn join<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for text in texts {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let (Some(last), Some(first)) = (out.chars().last(), text.chars().next()) {
            if !(is_cjk(last) && is_cjk(first)) {
                out.push(' ');
            }
        }
        out.push_str(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn spaces_except_between_cjk() {
        assert_eq!(
            join(["Hello there.", "", " How are you? "]),
            "Hello there. How are you?"
        );
        assert_eq!(join(["你好，", "世界。", "Next"]), "你好，世界。 Next");
        assert_eq!(join(["今日は", "いい天気"]), "今日はいい天気");
        assert_eq!(join(["", ""]), "");
    }
}
