//! The safetensors container, as far as weights files use it: little-endian f32
//! tensors and string metadata. A file is an 8-byte little-endian header length
//! N, N bytes of JSON (`{"__metadata__": {key: value}, name: {"dtype": "F32",
//! "shape": [..], "data_offsets": [begin, end]}, ..}`, padded with spaces to a
//! multiple of 8), then the tensors' bytes, offsets counted from the end of the
//! header. Written here rather than through the `safetensors` crate, whose
//! general reader and writer (every dtype, sorting, maps per file) were 43 KB of
//! the page's wasm. This reads the files that crate wrote (the fuzz seeds), and
//! writes the tensors contiguously from offset 0, as its reader requires.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// The safetensors crate's limit on the header, so both refuse the same files.
const MAX_HEADER: usize = 100_000_000;
const METADATA: &str = "__metadata__";

/// One tensor's entry in the header.
#[derive(Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// A file's header entries, in the order written, and its metadata.
struct Header {
    tensors: Vec<(String, Entry)>,
    meta: HashMap<String, String>,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Header;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a safetensors header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
                let mut h = Header { tensors: Vec::new(), meta: HashMap::new() };
                while let Some(key) = map.next_key::<String>()? {
                    if key == METADATA {
                        h.meta = map.next_value()?;
                    } else {
                        h.tensors.push((key, map.next_value()?));
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

/// A tensor of a read file.
pub struct View<'a> {
    pub dtype: &'a str,
    pub shape: &'a [usize],
    /// Its bytes, `4 * shape.product()` of them when `dtype` is `F32`.
    pub bytes: &'a [u8],
}

/// A read file: tensors (checked to lie inside the data and to fill it) and metadata.
pub struct File<'a> {
    header: Header,
    data: &'a [u8],
}

impl<'a> File<'a> {
    /// Reads `bytes`; the error says what is wrong with them.
    pub fn read(bytes: &'a [u8]) -> Result<File<'a>, String> {
        let n = bytes.get(..8).ok_or("the file is shorter than the 8-byte header length")?;
        let n = u64::from_le_bytes(n.try_into().expect("8 bytes"));
        let start = usize::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_HEADER)
            .and_then(|n| n.checked_add(8))
            .filter(|&s| s <= bytes.len())
            .ok_or_else(|| format!("the header length {n} is larger than the file"))?;
        let text = std::str::from_utf8(&bytes[8..start]).map_err(|_| "the header is not UTF-8")?;
        let header: Header = serde_json::from_str(text).map_err(|e| format!("the header is not valid: {e}"))?;
        let data = &bytes[start..];
        let mut filled = 0u64;
        // Of Strings, the set the wasm already has for the words (one of &strs was 2 KB more).
        let mut names: HashSet<String> = HashSet::new();
        for (name, e) in &header.tensors {
            let [begin, end] = e.data_offsets;
            if begin > end || end > data.len() {
                return Err(format!("tensor {name}'s offsets {begin}..{end} lie outside the data"));
            }
            if !names.insert(name.clone()) {
                return Err(format!("tensor {name} is named twice"));
            }
            let elements = e.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if e.dtype == "F32" && elements.and_then(|n| n.checked_mul(4)) != Some(end - begin) {
                return Err(format!("tensor {name}'s shape {:?} does not match its {} bytes", e.shape, end - begin));
            }
            filled += (end - begin) as u64;
        }
        if filled != data.len() as u64 {
            return Err(format!("the tensors hold {filled} bytes but the file has {} after its header", data.len()));
        }
        Ok(File { header, data })
    }

    pub fn tensor(&self, name: &str) -> Option<View<'_>> {
        let (_, e) = self.header.tensors.iter().find(|(n, _)| n == name)?;
        let [begin, end] = e.data_offsets;
        Some(View { dtype: &e.dtype, shape: &e.shape, bytes: &self.data[begin..end] })
    }

    pub fn len(&self) -> usize {
        self.header.tensors.len()
    }

    pub fn meta(&self, key: &str) -> Option<&str> {
        self.header.meta.get(key).map(String::as_str)
    }
}

/// A file of f32 `tensors` (name, shape, values), in the order given, and `meta`.
pub fn write(tensors: &[(&str, Vec<usize>, &[f32])], meta: &[(&str, String)]) -> Vec<u8> {
    let quote = |s: &str| serde_json::to_string(s).expect("strings serialize");
    let mut json = format!("{{{}:{{", quote(METADATA));
    for (i, (k, v)) in meta.iter().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        let _ = write!(json, "{comma}{}:{}", quote(k), quote(v));
    }
    json.push('}');
    let mut offset = 0;
    for (name, shape, values) in tensors {
        let end = offset + 4 * values.len();
        let _ = write!(json, r#",{}:{{"dtype":"F32","shape":{shape:?},"data_offsets":[{offset},{end}]}}"#, quote(name));
        offset = end;
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(json.as_bytes());
    for (_, _, values) in tensors {
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let a = [1.0f32, -2.5, 3.25, 0.0, 7.0, 8.0];
        let bytes = write(&[("a", vec![2, 3], &a), ("b \"quoted\"", vec![0], &[])], &[("k", "v\n\"x\"".into())]);
        assert_eq!(u64::from_le_bytes(bytes[..8].try_into().unwrap()) % 8, 0, "the header is padded to 8 bytes");
        let f = File::read(&bytes).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f.meta("k"), Some("v\n\"x\""));
        let t = f.tensor("a").unwrap();
        assert_eq!((t.dtype, t.shape), ("F32", &[2usize, 3][..]));
        assert_eq!(t.bytes.len(), 24);
        assert_eq!(f32::from_le_bytes(t.bytes[4..8].try_into().unwrap()), -2.5);
        assert!(f.tensor("b \"quoted\"").unwrap().bytes.is_empty());
        assert!(f.tensor("c").is_none());
    }

    /// A file as the `safetensors` crate writes it (its own test vector's layout:
    /// the header, then the data), other dtypes included.
    #[test]
    fn reads_other_writers_files() {
        let header = r#"{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"f":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.extend([0u8; 16]);
        bytes.extend(1.5f32.to_le_bytes());
        let f = File::read(&bytes).unwrap();
        assert_eq!(f.tensor("test").unwrap().dtype, "I32");
        assert_eq!(f.tensor("f").unwrap().bytes, 1.5f32.to_le_bytes());
        assert_eq!(f.meta("format"), None);
    }

    #[test]
    fn refuses_inconsistent_files() {
        let file = |header: &str, data: usize| {
            let mut b = (header.len() as u64).to_le_bytes().to_vec();
            b.extend(header.as_bytes());
            b.extend(vec![0u8; data]);
            File::read(&b).err().unwrap_or_default()
        };
        let entry = |name: &str, shape: &str, a: usize, b: usize| {
            format!(r#""{name}":{{"dtype":"F32","shape":{shape},"data_offsets":[{a},{b}]}}"#)
        };
        assert!(file(&format!("{{{}}}", entry("a", "[2]", 0, 8)), 4).contains("outside"));
        assert!(file(&format!("{{{}}}", entry("a", "[3]", 0, 8)), 8).contains("does not match"));
        assert!(file(&format!("{{{}}}", entry("a", "[1]", 4, 8)), 8).contains("hold 4 bytes"));
        assert!(file(&format!("{{{},{}}}", entry("a", "[1]", 0, 4), entry("a", "[1]", 4, 8)), 8).contains("twice"));
        assert!(file(&format!("{{{}}}", entry("a", "[1]", 8, 4)), 8).contains("outside"));
        assert!(file("[1, 2]", 0).contains("not valid"));
        assert!(file(r#"{"__metadata__": {"a": 1}}"#, 0).contains("not valid"));
        assert!(File::read(&u64::MAX.to_le_bytes()).err().unwrap().contains("larger than the file"));
        assert!(File::read(b"1234").err().unwrap().contains("shorter"));
    }
}
