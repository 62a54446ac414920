//! The WGSL sources as the binary embeds them: `shaders/*.wgsl` with their `//`
//! comments and the spaces around and inside each line taken out at compile time
//! (the comments are close to half of the shaders' 42 KB, which every wasm download
//! carried). Every line stays where it was, so a line number in a shader compile
//! error still points into the file.

/// The stripped text of `shaders/$file`, a `&'static str` built at compile time.
macro_rules! wgsl {
    ($file:literal) => {{
        const RAW: &str = include_str!(concat!("../../../shaders/", $file));
        const BYTES: [u8; $crate::backend::gpu::wgsl::stripped_len(RAW)] = $crate::backend::gpu::wgsl::strip(RAW);
        const TEXT: &str = match core::str::from_utf8(&BYTES) {
            Ok(text) => text,
            Err(_) => panic!("a stripped shader is not UTF-8"),
        };
        TEXT
    }};
}
pub(crate) use wgsl;

/// Walks `src` as [`strip`] writes it, handing each kept byte to `out` with its
/// index; returns how many it kept. One walk for both, so the two cannot disagree.
/// (WGSL has no string literals, so `//` always starts a comment.)
const fn walk(src: &[u8], out: &mut [u8], write: bool) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < src.len() {
        // One line: skip its indentation, stop at `//` or the newline, and write
        // each run of spaces inside it as one space, and none at its end.
        while i < src.len() && (src[i] == b' ' || src[i] == b'\t') {
            i += 1;
        }
        let mut space = false;
        while i < src.len() && src[i] != b'\n' && !(src[i] == b'/' && i + 1 < src.len() && src[i + 1] == b'/') {
            let c = src[i];
            if c == b' ' || c == b'\t' || c == b'\r' {
                space = true;
            } else {
                if space {
                    if write {
                        out[n] = b' ';
                    }
                    n += 1;
                    space = false;
                }
                if write {
                    out[n] = c;
                }
                n += 1;
            }
            i += 1;
        }
        while i < src.len() && src[i] != b'\n' {
            i += 1;
        }
        if i < src.len() {
            if write {
                out[n] = b'\n';
            }
            n += 1;
            i += 1;
        }
    }
    n
}

/// Bytes of `src` once stripped.
pub const fn stripped_len(src: &str) -> usize {
    walk(src.as_bytes(), &mut [], false)
}

/// `src` stripped; `N` must be [`stripped_len`]`(src)`.
pub const fn strip<const N: usize>(src: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let n = walk(src.as_bytes(), &mut out, true);
    assert!(n == N, "strip's length is not stripped_len's");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(src: &str) -> String {
        let mut out = vec![0; stripped_len(src)];
        walk(src.as_bytes(), &mut out, true);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strips_comments_and_spaces_but_keeps_every_line() {
        let src = "// header\n\tconst A: u32 = 4u;   // note\n\n  fn f(x: u32) -> u32 {\r\n    return x / 2u;\n}";
        assert_eq!(stripped(src), "\nconst A: u32 = 4u;\n\nfn f(x: u32) -> u32 {\nreturn x / 2u;\n}");
    }

    #[test]
    fn every_shader_keeps_its_line_count_and_code() {
        let common = wgsl!("common.wgsl");
        let raw = include_str!("../../../shaders/common.wgsl");
        assert_eq!(common.lines().count(), raw.lines().count());
        assert!(!common.contains("//"));
        assert!(common.len() < raw.len() * 3 / 4, "{} of {} bytes", common.len(), raw.len());
        for line in raw.lines() {
            let code = line.split("//").next().unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(common.lines().any(|l| l == code), "{code:?} is missing");
        }
    }
}
