//! A JSON reader for the one answer a tick reads in full every minute: NodeMetrics, about
//! 1.4 MB on a 5,000-node cluster, of which the rule uses each node's name, CPU and scrape
//! time. It walks the text once, takes the fields asked for and steps over the rest without
//! building anything, so reading the list costs little more than scanning it does (a generic
//! deserialiser took nearly twice as long on the same list). Strings are borrowed from the answer's
//! buffer and decoded only when they hold an escape; each string taken is checked as UTF-8,
//! rather than the whole text (a scan of its own, the length of the list). What it steps over is
//! checked for balanced brackets and closed strings, not for every rule of JSON; a text that
//! breaks that structure, or ends early, is refused.

use std::borrow::Cow;
use std::fmt;

/// Where a text stopped being readable, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkimError {
    pub at: usize,
    pub expected: &'static str,
}

impl fmt::Display for SkimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.at)
    }
}

impl std::error::Error for SkimError {}

pub type Skimmed<T> = Result<T, SkimError>;

/// The small steps (`peek`, `eat`, `pass_string`, `key`, `string`) are always inlined: the
/// release build optimises for size and would call each of them, and on a list of 100,000
/// short strings those calls took more than half of the reading time.
pub struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

/// Eight copies of a byte, and the high bit of each: a word of eight bytes is searched for a
/// quote or backslash at once.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of the first zero byte of `word` (bits above it may be set too).
fn zero_byte(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a [u8]) -> Reader<'a> {
        Reader { text, at: 0 }
    }

    fn fail<T>(&self, expected: &'static str) -> Skimmed<T> {
        Err(SkimError {
            at: self.at,
            expected,
        })
    }

    /// The next byte after whitespace, not consumed.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.text.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8, expected: &'static str) -> Skimmed<()> {
        if self.peek() != Some(byte) {
            return self.fail(expected);
        }
        self.at += 1;
        Ok(())
    }

    /// Past the string starting at the current quote: the end of its text, and whether it
    /// holds an escape. Eight bytes at a time in plain integer arithmetic: the strings of a
    /// list are short (names, keys, quantities), and a vectorised search costs more to start
    /// than it saves on them.
    #[inline(always)]
    fn pass_string(&mut self) -> Skimmed<(usize, bool)> {
        self.eat(b'"', "a string")?;
        let mut escaped = false;
        loop {
            // Eight bytes at a time up to the first quote or backslash.
            while let Some(chunk) = self.text.get(self.at..self.at + 8) {
                let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
                let found = zero_byte(word ^ (ONES * u64::from(b'"')))
                    | zero_byte(word ^ (ONES * u64::from(b'\\')));
                if found != 0 {
                    self.at += found.trailing_zeros() as usize / 8;
                    break;
                }
                self.at += 8;
            }
            let Some(&b) = self.text.get(self.at) else {
                break;
            };
            match b {
                b'"' => {
                    self.at += 1;
                    return Ok((self.at - 1, escaped));
                }
                // A backslash and the character it escapes.
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                _ => self.at += 1,
            }
        }
        self.at = self.text.len();
        self.fail("the end of a string")
    }

    /// A key: its bytes as written, decoded only when it holds an escape (keys are compared,
    /// never shown, so they need no UTF-8 check).
    #[inline(always)]
    fn key(&mut self) -> Skimmed<Cow<'a, [u8]>> {
        self.peek();
        let start = self.at;
        let (end, escaped) = self.pass_string()?;
        if !escaped {
            return Ok(Cow::Borrowed(&self.text[start + 1..end]));
        }
        self.at = start;
        let key = self.string()?;
        Ok(Cow::Owned(key.into_owned().into_bytes()))
    }

    /// A string, borrowed unless it holds an escape.
    #[inline(always)]
    pub fn string(&mut self) -> Skimmed<Cow<'a, str>> {
        self.peek();
        let start = self.at;
        let (end, escaped) = self.pass_string()?;
        if escaped {
            return match serde_json::from_slice::<String>(&self.text[start..=end]) {
                Ok(text) => Ok(Cow::Owned(text)),
                Err(_) => {
                    self.at = start;
                    self.fail("a valid string")
                }
            };
        }
        match std::str::from_utf8(&self.text[start + 1..end]) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(e) => {
                self.at = start + 1 + e.valid_up_to();
                self.fail("UTF-8")
            }
        }
    }

    /// Past any one value.
    pub fn skip(&mut self) -> Skimmed<()> {
        match self.peek() {
            Some(b'"') => self.pass_string().map(|_| ()),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        Some(b'"') => {
                            self.pass_string()?;
                            continue;
                        }
                        Some(b'{' | b'[') => depth += 1,
                        Some(b'}' | b']') => depth -= 1,
                        Some(_) => {}
                        None => return self.fail("the end of an object or array"),
                    }
                    self.at += 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
            }
            Some(b'}' | b']' | b',' | b':') | None => self.fail("a value"),
            Some(_) => {
                // A number, true, false or null: up to what ends it.
                let start = self.at;
                while let Some(&b) = self.text.get(self.at) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    return self.fail("a value");
                }
                Ok(())
            }
        }
    }

    /// An object: `field` is called with each key and must read or skip its value.
    pub fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &[u8]) -> Skimmed<()>,
    ) -> Skimmed<()> {
        self.eat(b'{', "an object")?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            let key = self.key()?;
            self.eat(b':', "':'")?;
            field(self, &key)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.fail("',' or '}'"),
            }
        }
    }

    /// An array: `item` is called for each element and must read or skip it.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Skimmed<()>) -> Skimmed<()> {
        self.eat(b'[', "an array")?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.fail("',' or ']'"),
            }
        }
    }

    /// Nothing but whitespace is left.
    pub fn end(&mut self) -> Skimmed<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("the end of the text"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key and string of `text`, in order, as the reader sees them.
    fn walk(text: &str) -> Skimmed<Vec<String>> {
        fn value(r: &mut Reader, out: &mut Vec<String>) -> Skimmed<()> {
            match r.peek() {
                Some(b'{') => r.object(|r, key| {
                    out.push(format!("key {}", String::from_utf8_lossy(key)));
                    value(r, out)
                }),
                Some(b'[') => r.array(|r| value(r, out)),
                Some(b'"') => {
                    out.push(r.string()?.into_owned());
                    Ok(())
                }
                _ => r.skip(),
            }
        }
        let mut r = Reader::new(text.as_bytes());
        let mut out = Vec::new();
        value(&mut r, &mut out)?;
        r.end()?;
        Ok(out)
    }

    #[test]
    fn reads_keys_and_strings_borrowing_unless_escaped() {
        assert_eq!(
            walk(r#" { "a" : [1, -2.5e3, true, null, "x"], "b\u00e9": {"c": "d\"e\\f\n"}, "e": {} , "f": [] } "#)
                .unwrap(),
            ["key a", "x", "key bé", "key c", "d\"e\\f\n", "key e", "key f"]
        );
        let mut r = Reader::new(br#""plain, and longer than eight bytes""#);
        assert!(matches!(
            r.string(),
            Ok(Cow::Borrowed("plain, and longer than eight bytes"))
        ));
        let mut r = Reader::new(br#""tab\t""#);
        assert!(matches!(r.string(), Ok(Cow::Owned(ref s)) if s == "tab\t"));
    }

    proptest::proptest! {
        /// Any string, at any offset from the eight-byte words the search reads, comes back
        /// as written, and skipping it lands on what follows.
        #[test]
        fn strings_read_back_whatever_they_hold(
            text in "[a-zé\"\\\\\u{1}\n€ ]{0,40}",
            pad in 0usize..8,
        ) {
            let encoded = format!("{}{},1", " ".repeat(pad), serde_json::to_string(&text).unwrap());
            let mut r = Reader::new(encoded.as_bytes());
            proptest::prop_assert_eq!(r.string().unwrap(), text);
            let mut r = Reader::new(encoded.as_bytes());
            r.skip().unwrap();
            proptest::prop_assert_eq!(r.peek(), Some(b','));
        }
    }

    #[test]
    fn skips_nested_values_with_brackets_inside_strings() {
        let mut r = Reader::new(br#"{"a":[{"b":"]}{["},[[]],{}],"c":"\"}"} ,"#);
        r.skip().unwrap();
        assert_eq!(r.peek(), Some(b','));
    }

    #[test]
    fn refuses_broken_structure_and_says_where() {
        for (text, expected) in [
            (r#"{"a" 1}"#, "':'"),
            (r#"{"a":1 "b":2}"#, "',' or '}'"),
            (r#"[1 2]"#, "',' or ']'"),
            (r#"{"a":}"#, "a value"),
            (r#"{"a":"open}"#, "the end of a string"),
            (r#"{"a":{"b":[1,2}"#, "',' or ']'"),
            (r#"{} {}"#, "the end of the text"),
            (r#"{"a":"\u12"}"#, "a valid string"),
            (r#"{"a":"\"#, "the end of a string"),
            ("", "a value"),
        ] {
            let error = walk(text).unwrap_err();
            assert_eq!(error.expected, expected, "{text}");
        }
        assert_eq!(
            walk(r#"{"a" 1}"#).unwrap_err().to_string(),
            "expected ':' at byte 5"
        );
        assert_eq!(
            Reader::new(br#"{"a":[{"b":"]"}"#)
                .skip()
                .unwrap_err()
                .expected,
            "the end of an object or array"
        );
        // A string taken is checked as UTF-8; one stepped over need not be.
        let invalid = b"{\"a\":\"b\xff\"}";
        let mut r = Reader::new(&invalid[5..]);
        assert_eq!(
            r.string().err(),
            Some(SkimError {
                at: 2,
                expected: "UTF-8"
            })
        );
        let mut r = Reader::new(invalid);
        r.skip().unwrap();
        r.end().unwrap();
    }
}
