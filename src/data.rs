//! Word list → vocabulary → context windows → the notebook's 80/10/10 split.

use crate::config::MAX_BLOCK;
use crate::pyrandom::PyRandom;
use crate::{Error, Result};

/// The start/end token. It is always index 0 and may not appear inside a word.
pub const DOT: char = '.';

/// Largest word list accepted, in bytes (names.txt is 0.2 MB). Bigger files are
/// refused before parsing, so a wrong file cannot exhaust a browser tab's memory.
pub const MAX_TEXT_BYTES: usize = 16 << 20;

/// Most token ids the three splits may hold together, examples × (block_size + 1):
/// 512 MiB of u32, whatever the block size.
pub const MAX_DATASET_IDS: usize = 1 << 27;

/// The bundled word list (see data/README.md): the CLI's default when no `--data`
/// is given. The page fetches the same file from `data/names.txt` instead.
pub const BUNDLED_NAMES: &[u8] = include_bytes!("../data/names.txt");

/// Characters of the data set, sorted, with [`DOT`] at index 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    chars: Vec<char>,
}

/// The distinct characters of `chars`, sorted: each inserted in order (the
/// vocabulary is small), without a sort's code in the wasm.
pub fn distinct_sorted(chars: impl Iterator<Item = char>) -> Vec<char> {
    let mut out = Vec::new();
    for c in chars {
        if let Err(i) = out.binary_search(&c) {
            out.insert(i, c);
        }
    }
    out
}

impl Vocab {
    pub fn from_words<S: AsRef<str>>(words: &[S]) -> Self {
        let mut chars = distinct_sorted(words.iter().flat_map(|w| w.as_ref().chars()));
        chars.insert(0, DOT);
        Vocab { chars }
    }

    /// Rebuilds a vocabulary from [`Vocab::as_string`] (as stored in weights files).
    pub fn from_string(s: &str) -> Result<Self> {
        let chars: Vec<char> = s.chars().collect();
        let sorted = chars.windows(2).skip(1).all(|w| w[0] < w[1]);
        if chars.first() != Some(&DOT) || !sorted || chars[1..].contains(&DOT) {
            return Err(Error::Weights(format!(
                "the stored vocabulary {s:?} is not '.' followed by sorted, distinct characters"
            )));
        }
        Ok(Vocab { chars })
    }

    /// All characters in index order, starting with '.'.
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn encode(&self, c: char) -> Option<u32> {
        if c == DOT {
            return Some(0);
        }
        self.chars[1..].binary_search(&c).ok().map(|i| i as u32 + 1)
    }

    pub fn decode(&self, i: u32) -> char {
        self.chars[i as usize]
    }

    /// Token ids of a word, or an error naming the first character the model has never seen.
    pub fn encode_word(&self, word: &str) -> Result<Vec<u32>> {
        word.chars()
            .map(|c| {
                self.encode(c).ok_or_else(|| {
                    Error::Data(format!(
                        "{word:?} contains {c:?}, which is not in the vocabulary {:?}",
                        self.as_string()
                    ))
                })
            })
            .collect()
    }
}

/// Splits UTF-8 text into words: one per line, trimmed, CRLF accepted, blank lines skipped.
pub fn parse_words(bytes: &[u8]) -> Result<Vec<String>> {
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(Error::Data(format!(
            "the file is {:.1} MiB, more than the {} MiB allowed; use a smaller word list",
            bytes.len() as f64 / (1 << 20) as f64,
            MAX_TEXT_BYTES >> 20
        )));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::Data("the file is UTF-16 text; save it as UTF-8 with one word per line".into()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::Data(format!(
            "the file is not UTF-8 text (invalid byte at offset {}); \
             use a plain text file with one word per line",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut words = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let word = line.trim();
        if word.is_empty() {
            continue;
        }
        if let Some(c) = word.chars().find(|c| c.is_control()) {
            return Err(Error::Data(format!(
                "line {} contains the control character U+{:04X}; this looks like a binary file, \
                 not a word list",
                n + 1,
                c as u32
            )));
        }
        if word.contains(DOT) {
            return Err(Error::Data(format!(
                "line {} ({word:?}) contains '.', which is reserved as the start/end token",
                n + 1
            )));
        }
        words.push(word.to_string());
    }
    if words.is_empty() {
        return Err(Error::Data("the file contains no words (one word per line expected)".into()));
    }
    Ok(words)
}

/// Context windows and their next-character targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    /// (N, T) token ids of the context.
    pub x: Vec<u32>,
    /// (N) token id that follows each context.
    pub y: Vec<u32>,
}

impl Split {
    /// The notebook's `build_dataset`: start from `[0]*block_size`, then append and crop.
    pub fn build<S: AsRef<str>>(words: &[S], vocab: &Vocab, block_size: usize) -> Result<Self> {
        let mut split = Split::default();
        let mut context = vec![0u32; block_size];
        for w in words {
            context.iter_mut().for_each(|t| *t = 0);
            let ids = vocab.encode_word(w.as_ref())?;
            for ix in ids.into_iter().chain(std::iter::once(0)) {
                split.x.extend_from_slice(&context);
                split.y.push(ix);
                if block_size > 0 {
                    context.rotate_left(1);
                    context[block_size - 1] = ix;
                }
            }
        }
        Ok(split)
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// Which part of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitName {
    Train,
    Dev,
    Test,
}

impl std::str::FromStr for SplitName {
    type Err = Error;
    /// `train`, `dev` or `test`: the serde names, so JS and Rust spell them once.
    fn from_str(s: &str) -> Result<Self> {
        crate::config::parse_enum("split", s)
    }
}

/// A word list made ready for training: the vocabulary, the words in shuffled
/// order, and the three splits of context windows.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub vocab: Vocab,
    pub block_size: usize,
    /// Words after `random.seed(seed); random.shuffle(words)`.
    pub words: Vec<String>,
    /// `words[..n1]` are training words, `words[n1..n2]` dev, the rest test.
    pub n1: usize,
    pub n2: usize,
    pub train: Split,
    pub dev: Split,
    pub test: Split,
}

impl Dataset {
    /// Parses `text`, builds the vocabulary from it and splits the words exactly as
    /// `random.seed(seed); random.shuffle(words); n1 = int(0.8*len(words)); n2 = int(0.9*len(words))`.
    pub fn new(text: &[u8], block_size: usize, seed: u64) -> Result<Self> {
        if !(1..=MAX_BLOCK).contains(&block_size) {
            return Err(Error::config("block_size", format!("{block_size} is out of range; use 1..={MAX_BLOCK}")));
        }
        let mut words = parse_words(text)?;
        let examples: usize = words.iter().map(|w| w.chars().count() + 1).sum();
        if examples * (block_size + 1) > MAX_DATASET_IDS {
            return Err(Error::Data(format!(
                "{examples} examples with block_size {block_size} need more memory than allowed; \
                 use a smaller block_size or fewer words"
            )));
        }
        let vocab = Vocab::from_words(&words);
        PyRandom::new(seed).shuffle(&mut words);
        let n = words.len() as f64;
        let (n1, n2) = ((0.8 * n) as usize, (0.9 * n) as usize);
        // Up to 5 words leave the dev split empty (a NaN dev loss), 1 word the train split too.
        if n2 == n1 {
            return Err(Error::Data(format!(
                "{} word(s) are too few to split 80/10/10 into train, dev and test; use at least 6 words",
                words.len()
            )));
        }
        let build = |ws: &[String]| Split::build(ws, &vocab, block_size);
        let (train, dev, test) = (build(&words[..n1])?, build(&words[n1..n2])?, build(&words[n2..])?);
        Ok(Dataset { vocab, block_size, words, n1, n2, train, dev, test })
    }

    pub fn split(&self, name: SplitName) -> &Split {
        match name {
            SplitName::Train => &self.train,
            SplitName::Dev => &self.dev,
            SplitName::Test => &self.test,
        }
    }

    pub fn train_words(&self) -> &[String] {
        &self.words[..self.n1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_trims_crlf_and_skips_blank_lines() {
        let words = parse_words(b"\xEF\xBB\xBFemma\r\n\r\n  olivia \nava").unwrap();
        assert_eq!(words, ["emma", "olivia", "ava"]);
    }

    #[test]
    fn parse_rejects_bad_input_with_a_message() {
        let msg = |b: &[u8]| parse_words(b).unwrap_err().to_string();
        assert!(msg(b"").contains("no words"));
        assert!(msg(b"\n \n").contains("no words"));
        assert!(msg(b"emma\nann.a\n").contains("line 2"));
        assert!(msg(b"ab\xFF\xFEcd").contains("not UTF-8"));
        assert!(msg(b"\xFF\xFEe\0m\0").contains("UTF-16"));
        assert!(msg(b"\x7FELF\x02\x01\x01\0\0\0").contains("binary"));
    }

    #[test]
    fn vocab_is_sorted_with_dot_first() {
        let v = Vocab::from_words(&["emma", "ñoño", "ava-lee"]);
        assert_eq!(v.as_string(), ".-aelmovñ");
        assert_eq!(v.encode('-'), Some(1));
        assert_eq!(v.encode('.'), Some(0));
        assert_eq!(v.encode('a'), Some(2));
        assert_eq!(v.encode('z'), None);
        assert_eq!(v.decode(8), 'ñ');
        assert_eq!(Vocab::from_string(&v.as_string()).unwrap(), v);
        assert!(Vocab::from_string("ab.").is_err());
        assert!(v.encode_word("emz").unwrap_err().to_string().contains("'z'"));
    }

    #[test]
    fn windows_match_the_notebook() {
        let v = Vocab::from_words(&["emma"]);
        let s = Split::build(&["emma"], &v, 3).unwrap();
        // ... ---> e, ..e ---> m, .em ---> m, emm ---> a, mma ---> .
        let (e, m, a) = (2, 3, 1);
        assert_eq!(s.x, [0, 0, 0, 0, 0, e, 0, e, m, e, m, m, m, m, a]);
        assert_eq!(s.y, [e, m, m, a, 0]);
    }

    #[test]
    fn split_matches_python() {
        // random.seed(42); w = [f"w{i}" ...]: with 10 words n1 = 8, n2 = 9 and the order
        // is the shuffle of range(10) checked in pyrandom.
        let text: String = (0..10).map(|i| format!("{}\n", "abcdefghij".chars().nth(i).unwrap())).collect();
        let d = Dataset::new(text.as_bytes(), 2, 42).unwrap();
        let order: String = d.words.concat();
        assert_eq!(order, "hdcifgjeab");
        assert_eq!((d.n1, d.n2), (8, 9));
        assert_eq!((d.train.len(), d.dev.len(), d.test.len()), (16, 2, 2));
    }

    #[test]
    fn too_few_words_is_an_error() {
        assert!(Dataset::new(b"emma\n", 3, 42).unwrap_err().to_string().contains("at least 6"));
        assert!(Dataset::new(b"a\nb\nc\nd\ne\n", 3, 42).unwrap_err().to_string().contains("at least 6"));
        assert!(Dataset::new(b"a\nb\nc\nd\ne\nf\n", 3, 42).is_ok());
        assert!(Dataset::new(b"emma\nava\n", 0, 42).unwrap_err().to_string().contains("block_size"));
    }
}
