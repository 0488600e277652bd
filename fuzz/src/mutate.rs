//! The mutator: a seeded PRNG and structure-aware edits of real inputs (bit flips, splices,
//! number and length-field edits, truncation, repeats, dictionary tokens).

/// SplitMix64: small, fast, and the same sequence for a seed on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Inputs never grow past this (a target that needs a bomb builds it itself).
pub const MAX_LEN: usize = 64 << 10;

/// Decimal numbers that sit on the edges parsers get wrong: zero, signs, the ends of
/// 8/16/32/64-bit integers and one past them, and tar's largest octal field.
const NUMBERS: [&str; 18] = [
    "0",
    "1",
    "-1",
    "127",
    "255",
    "256",
    "4095",
    "65535",
    "65536",
    "2147483647",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "77777777777",
];

/// Binary integers for length fields (written little- or big-endian, 2, 4 or 8 bytes wide).
const WIDE: [u64; 10] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    u64::MAX,
];

/// Bytes that are structure in most formats.
const BYTES: [u8; 14] = [
    0, 1, 0x7f, 0x80, 0xff, b'/', b'.', b'\n', b'\r', b' ', b'"', b'[', b'=', b'\\',
];

/// Mutates inputs of one target: its seeds to splice from, its dictionary of tokens.
#[derive(Debug)]
pub struct Mutator<'a> {
    /// The random source (one per run, from `--seed`).
    pub rng: Rng,
    seeds: &'a [Vec<u8>],
    dict: &'a [&'a [u8]],
}

impl<'a> Mutator<'a> {
    /// A mutator splicing from `seeds` and inserting `dict` tokens.
    pub fn new(seed: u64, seeds: &'a [Vec<u8>], dict: &'a [&'a [u8]]) -> Self {
        Self {
            rng: Rng::new(seed),
            seeds,
            dict,
        }
    }

    /// `base` with one to four stacked edits, at most [`MAX_LEN`] bytes.
    pub fn mutate(&mut self, base: &[u8]) -> Vec<u8> {
        let mut data = base.to_vec();
        for _ in 0..1 + self.rng.below(4) {
            self.edit(&mut data);
        }
        data.truncate(MAX_LEN);
        data
    }

    fn edit(&mut self, d: &mut Vec<u8>) {
        let rng = &mut self.rng;
        match rng.below(12) {
            // Flip one bit.
            0 if !d.is_empty() => {
                let at = rng.below(d.len());
                d[at] ^= 1 << rng.below(8);
            }
            // A structural byte in place of another.
            1 if !d.is_empty() => {
                let at = rng.below(d.len());
                d[at] = *rng.pick(&BYTES);
            }
            // Random bytes inserted.
            2 => {
                let at = rng.below(d.len() + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                d.splice(at..at, bytes);
            }
            // A range deleted.
            3 if !d.is_empty() => {
                let at = rng.below(d.len());
                let n = 1 + rng.below((d.len() - at).min(64));
                d.drain(at..at + n);
            }
            // Truncated.
            4 => {
                let at = rng.below(d.len() + 1);
                d.truncate(at);
            }
            // A range repeated (headers, frames, members, table keys twice or many times).
            5 if !d.is_empty() => {
                let at = rng.below(d.len());
                let n = 1 + rng.below((d.len() - at).min(1024));
                let chunk = d[at..at + n].to_vec();
                let most = if rng.one_in(8) { 256 } else { 3 };
                let times = 1 + rng.below(most);
                let repeated: Vec<u8> = chunk
                    .iter()
                    .copied()
                    .cycle()
                    .take((n * times).min(MAX_LEN))
                    .collect();
                d.splice(at..at, repeated);
            }
            // Spliced with a range of another seed.
            6 if !self.seeds.is_empty() => {
                let other = rng.pick(self.seeds);
                if other.is_empty() {
                    return;
                }
                let from = rng.below(other.len());
                let n = 1 + rng.below(other.len() - from);
                let at = rng.below(d.len() + 1);
                let end = if rng.one_in(2) {
                    at
                } else {
                    (at + n).min(d.len())
                };
                d.splice(at..end, other[from..from + n].iter().copied());
            }
            // A decimal (or octal) number edited: lengths, sizes, ports, seq, modes.
            7 => {
                let runs = digit_runs(d);
                if runs.is_empty() {
                    return;
                }
                let (start, end) = *rng.pick(&runs);
                let number = rng.pick(&NUMBERS).as_bytes().to_vec();
                d.splice(start..end, number);
            }
            // A binary length field overwritten.
            8 if d.len() >= 2 => {
                let width = *rng.pick(&[2usize, 4, 8]).min(&d.len());
                let at = rng.below(d.len() - width + 1);
                let value = *rng.pick(&WIDE);
                let bytes = if rng.one_in(2) {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                let bytes = if rng.one_in(2) {
                    &bytes[..width]
                } else {
                    &bytes[8 - width..]
                };
                d[at..at + width].copy_from_slice(bytes);
            }
            // A dictionary token inserted or written over.
            9 if !self.dict.is_empty() => {
                let token = *rng.pick(self.dict);
                let at = rng.below(d.len() + 1);
                if rng.one_in(2) || at + token.len() > d.len() {
                    d.splice(at..at, token.iter().copied());
                } else {
                    d[at..at + token.len()].copy_from_slice(token);
                }
            }
            // A range copied over another place.
            10 if d.len() >= 2 => {
                let from = rng.below(d.len());
                let n = 1 + rng.below((d.len() - from).min(256));
                let chunk = d[from..from + n].to_vec();
                let at = rng.below(d.len());
                let end = (at + n).min(d.len());
                d.splice(at..end, chunk);
            }
            // A byte incremented or decremented (off-by-one lengths, checksums, types).
            11 if !d.is_empty() => {
                let at = rng.below(d.len());
                d[at] = if rng.one_in(2) {
                    d[at].wrapping_add(1)
                } else {
                    d[at].wrapping_sub(1)
                };
            }
            _ => {}
        }
    }
}

/// The `(start, end)` of every run of ASCII digits.
fn digit_runs(d: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, b) in d.iter().enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, d.len()));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_is_one_sequence() {
        let seeds = vec![b"host=127.0.0.1&port=17342".to_vec()];
        let run = |seed| {
            let mut m = Mutator::new(seed, &seeds, &[b"%0d%0a"]);
            (0..200).map(|_| m.mutate(&seeds[0])).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|m| m.len() <= MAX_LEN));
        // Numbers in the input are replaced by edge values (those the seed cannot contain).
        let edges = &NUMBERS[7..];
        assert!(run(7).iter().any(|m| {
            edges
                .iter()
                .any(|n| m.windows(n.len()).any(|w| w == n.as_bytes()))
        }));
    }

    #[test]
    fn digit_runs_are_found() {
        assert_eq!(digit_runs(b"a12b3"), [(1, 3), (4, 5)]);
        assert_eq!(digit_runs(b""), []);
    }
}
