//! The search for one 1024-bit prime of an RSA-2048 key: from a random odd start, the first
//! number upwards that passes the Baillie-PSW test (a strong probable-prime test to base 2, then
//! crypto-primes' strong Lucas test), as crypto-primes' own `is_prime` decides it.
//!
//! Where the time goes, and why this is not crypto-primes' `sieve_and_find`: almost all of a
//! search is the base-2 test of the candidates that no small prime divides (about 45 per prime
//! with its 2,047 sieving primes, each a 1024-bit modular exponentiation). So this search
//! - sieves with the odd primes below 2^17 (12,250 of them): about 33 candidates a prime reach
//!   the exponentiation instead of 45, for residues that take about 0.6 ms per search (one
//!   division of the start per product of primes that fits a machine word);
//! - tests base 2 by squarings and a doubling per exponent bit, not by windowed multiplications,
//!   with a squaring written for 1024 bits ([`base_two`]); a test costs 0.41 ms against
//!   crypto-primes' 0.69 ms.
//!
//! Together a prime costs about a third less than with `sieve_and_find`: 18-22.5 ms against
//! 28-31.5 ms on average here, over five runs of 200 (a search's length is a draw; `cargo test
//! --release -p signet-gotemplate --lib -- --ignored prime_search_speed --nocapture` prints
//! both), and the result is the same prime from the same start.

mod base_two;

use crypto_bigint::{Limb, NonZero, Odd, Reciprocal, U1024, Word};
use crypto_primes::hazmat::{AStarBase, LucasCheck, lucas_test};

use base_two::strong_probable_prime_base_two;

/// The odd primes below this bound sieve the candidates. Each prime more costs a residue per
/// search and saves the exponentiations of the candidates it divides; the two balance near here.
const SIEVE_BOUND: usize = 1 << 17;

/// Candidates (odd numbers) sieved at once: an average gap between 1024-bit primes is about 710,
/// so one window (8,192 integers) holds a prime in all but about 1 search in 100,000.
const WINDOW: usize = 4096;

/// `COMPOSITE[i]`: whether the odd number `2i + 1` below [`SIEVE_BOUND`] is composite (or 1).
#[allow(
    clippy::large_const_arrays,
    reason = "read only at compile time, never in the binary"
)]
const COMPOSITE: [bool; SIEVE_BOUND / 2] = {
    let mut composite = [false; SIEVE_BOUND / 2];
    composite[0] = true;
    let mut i = 1;
    while (2 * i + 1) * (2 * i + 1) < SIEVE_BOUND {
        if !composite[i] {
            let p = 2 * i + 1;
            let mut multiple = p * p;
            while multiple < SIEVE_BOUND {
                composite[multiple / 2] = true;
                multiple += 2 * p;
            }
        }
        i += 1;
    }
    composite
};

const SMALL_PRIME_COUNT: usize = {
    let mut count = 0;
    let mut i = 0;
    while i < COMPOSITE.len() {
        if !COMPOSITE[i] {
            count += 1;
        }
        i += 1;
    }
    count
};

/// The odd primes below [`SIEVE_BOUND`], ascending.
static SMALL_PRIMES: [u32; SMALL_PRIME_COUNT] = {
    let mut primes = [0u32; SMALL_PRIME_COUNT];
    let (mut i, mut n) = (0, 0);
    while i < COMPOSITE.len() {
        if !COMPOSITE[i] {
            primes[n] = (2 * i + 1) as u32;
            n += 1;
        }
        i += 1;
    }
    primes
};

/// Where each run of [`SMALL_PRIMES`] whose product fits a word ends: the start's residue
/// modulo that product gives the residues of all its primes with one multi-word division.
const fn product_group_ends<const N: usize>() -> ([usize; N], usize) {
    let mut ends = [0usize; N];
    let (mut groups, mut product, mut i): (usize, Word, usize) = (0, 1, 0);
    while i < SMALL_PRIME_COUNT {
        match product.checked_mul(SMALL_PRIMES[i] as Word) {
            Some(p) => product = p,
            None => {
                ends[groups] = i;
                groups += 1;
                product = SMALL_PRIMES[i] as Word;
            }
        }
        i += 1;
    }
    ends[groups] = SMALL_PRIME_COUNT;
    (ends, groups + 1)
}

const GROUP_COUNT: usize = product_group_ends::<SMALL_PRIME_COUNT>().1;

/// Per product group: its end in [`SMALL_PRIMES`] (it starts where the previous one ends) and
/// the reciprocal of its product.
static PRODUCT_GROUPS: [(usize, Reciprocal); GROUP_COUNT] = {
    let ends = product_group_ends::<GROUP_COUNT>().0;
    let mut groups = [(0, Reciprocal::default()); GROUP_COUNT];
    let (mut g, mut start) = (0, 0);
    while g < GROUP_COUNT {
        let mut product: Word = 1;
        let mut i = start;
        while i < ends[g] {
            product *= SMALL_PRIMES[i] as Word;
            i += 1;
        }
        groups[g] = (
            ends[g],
            Reciprocal::new(NonZero::<Limb>::new_unwrap(Limb(product))),
        );
        start = ends[g];
        g += 1;
    }
    groups
};

/// The first probable prime at or above `start` (made odd), or `None` if the search would
/// leave `start`'s bit length first.
pub(super) fn first_prime_from(start: &U1024) -> Option<U1024> {
    first_prime_within(start, u64::MAX)
}

/// [`first_prime_from`], giving up (`None`) after `windows` windows: tests bound their
/// searches, so that a broken test of primality fails them instead of searching for ever.
fn first_prime_within(start: &U1024, windows: u64) -> Option<U1024> {
    let start = *start | U1024::ONE;
    let bits = start.bit_width_vartime();
    // Below the bound, the sieve marks the small primes themselves as their own multiples.
    let meets_small_primes = bits <= SIEVE_BOUND.ilog2();
    // For each small prime p, the next window index i at which p divides start + 2i.
    let mut next_multiple = first_multiples(&start);
    let mut composite = [false; WINDOW];
    let mut window: u64 = 0;
    loop {
        mark_multiples(&mut next_multiple, &mut composite);
        for (i, marked) in composite.iter().enumerate() {
            if *marked && !meets_small_primes {
                continue;
            }
            let offset = U1024::from_u64(2 * (window * WINDOW as u64 + i as u64));
            let (candidate, carry) = start.carrying_add(&offset, Limb::ZERO);
            if carry != Limb::ZERO || candidate.bit_width_vartime() != bits {
                return None;
            }
            let prime = if *marked {
                is_small_prime(&candidate)
            } else {
                candidate != U1024::ONE && is_probable_prime(Odd::new(candidate).into_option()?)
            };
            if prime {
                return Some(candidate);
            }
        }
        window += 1;
        if window >= windows {
            return None;
        }
    }
}

/// Whether `n` is one of the sieving primes.
fn is_small_prime(n: &U1024) -> bool {
    n.bit_width_vartime() <= 32
        && SMALL_PRIMES
            .binary_search(&(n.as_words()[0] as u32))
            .is_ok()
}

/// Window indices of the first multiples: start + 2i ≡ 0 (mod p) ⇔ i ≡ -start · 2⁻¹ (mod p).
fn first_multiples(start: &U1024) -> Vec<u32> {
    let mut next = Vec::with_capacity(SMALL_PRIME_COUNT);
    let mut group_start = 0;
    for (group_end, reciprocal) in &PRODUCT_GROUPS {
        #[allow(
            clippy::useless_conversion,
            reason = "a word is 32 bits on 32-bit targets"
        )]
        let residue = u64::from(start.rem_limb_with_reciprocal(reciprocal).0);
        for &p in &SMALL_PRIMES[group_start..*group_end] {
            let p = u64::from(p);
            let minus_start = (p - residue % p) % p;
            let half = p.div_ceil(2);
            // Both factors are below p < 2^17, so the index fits u32.
            next.push((minus_start * half % p) as u32);
        }
        group_start = *group_end;
    }
    next
}

/// Marks the window's multiples of each small prime and moves each prime's next multiple into
/// the next window.
fn mark_multiples(next_multiple: &mut [u32], composite: &mut [bool; WINDOW]) {
    composite.fill(false);
    for (next, &p) in next_multiple.iter_mut().zip(&SMALL_PRIMES) {
        let mut i = *next as usize;
        while i < WINDOW {
            composite[i] = true;
            i += p as usize;
        }
        *next = (i - WINDOW) as u32;
    }
}

/// Baillie-PSW, as crypto-primes' `is_prime` composes it.
fn is_probable_prime(n: Odd<U1024>) -> bool {
    strong_probable_prime_base_two(&n)
        && lucas_test(n, AStarBase, LucasCheck::Bpsw21).is_probably_prime()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1024 random bits.
    pub(super) fn random_u1024() -> U1024 {
        let mut bytes = [0u8; 128];
        getrandom::getrandom(&mut bytes).unwrap();
        U1024::from_be_slice(&bytes)
    }

    #[test]
    fn the_small_primes_are_the_odd_primes_below_the_bound() {
        assert_eq!(SMALL_PRIMES[..8], [3, 5, 7, 11, 13, 17, 19, 23]);
        assert_eq!(
            SMALL_PRIME_COUNT, 12_250,
            "π(2^17) - 1, the even prime left out"
        );
        assert_eq!(
            SMALL_PRIMES[SMALL_PRIME_COUNT - 1],
            131_071,
            "2^17 - 1 is a Mersenne prime"
        );
        // Every group's product fits a word, and together the groups cover every prime once.
        let mut start = 0;
        for (end, reciprocal) in &PRODUCT_GROUPS {
            let product = SMALL_PRIMES[start..*end]
                .iter()
                .try_fold(1 as Word, |p, &q| p.checked_mul(Word::from(q)))
                .expect("fits a word");
            let n = U1024::from_u64(product + 12345);
            assert_eq!(n.rem_limb_with_reciprocal(reciprocal).0, 12345);
            start = *end;
        }
        assert_eq!(start, SMALL_PRIME_COUNT);
    }

    /// The first odd number at or above `start` (made odd) that crypto-primes' `is_prime`
    /// accepts, found by trying each one: what the sieve must not change.
    fn first_prime_by_trial(start: &U1024) -> U1024 {
        let mut n = *start | U1024::ONE;
        while !crypto_primes::is_prime(crypto_primes::Flavor::Any, &n) {
            n = n.wrapping_add(&U1024::from_u64(2));
        }
        n
    }

    /// Enough windows that a 1024-bit search misses a prime about once in 10^80.
    pub(super) const TEST_WINDOWS: u64 = 16;

    #[test]
    fn the_search_finds_the_first_prime_from_its_start() {
        for bits in [40u32, 64, 512, 1024] {
            let start = random_u1024().wrapping_shr_vartime(1024 - bits)
                | U1024::ONE.shl_vartime(bits - 1)
                | U1024::ONE;
            let expected = first_prime_by_trial(&start);
            assert_eq!(
                first_prime_within(&start, TEST_WINDOWS),
                Some(expected),
                "{bits}-bit start {start}"
            );
        }
    }

    #[test]
    fn below_the_sieve_bound_the_search_finds_the_sieving_primes() {
        for start in [2u64, 3, 8, 9, 13, 127, 131_068, 131_072] {
            let start = U1024::from_u64(start);
            let expected = first_prime_by_trial(&start);
            let found = first_prime_within(&start, TEST_WINDOWS);
            assert_eq!(found, Some(expected), "from {start}");
        }
    }

    #[test]
    fn the_search_stops_at_the_start_bit_length() {
        // No prime lies between 2^1024 - 1 and the end of the 1024-bit range, and the search
        // from 2^32 - 4 would need a 33-bit number (the next prime is 2^32 + 15). Both reach
        // the end within the first window: searching one window at most, a search that went
        // past the end would find a prime there rather than give up.
        assert_eq!(first_prime_within(&U1024::MAX, 1), None);
        assert_eq!(first_prime_within(&U1024::from_u64((1 << 32) - 4), 1), None);
    }

    #[test]
    fn a_window_marks_exactly_the_multiples_of_the_small_primes() {
        let start = random_u1024() | U1024::ONE;
        let mut next = first_multiples(&start);
        let mut composite = [false; WINDOW];
        // The second window, so that carrying the next multiples over is covered too.
        mark_multiples(&mut next, &mut composite);
        mark_multiples(&mut next, &mut composite);
        let residues: Vec<Word> = SMALL_PRIMES
            .iter()
            .map(|&p| start.rem_limb(NonZero::new(Limb(Word::from(p))).unwrap()).0)
            .collect();
        for (i, marked) in composite.iter().enumerate() {
            let offset = 2 * (WINDOW + i) as Word;
            let divisible = SMALL_PRIMES
                .iter()
                .zip(&residues)
                .any(|(&p, r)| (r + offset).is_multiple_of(Word::from(p)));
            assert_eq!(*marked, divisible, "index {i}");
        }
    }

    /// Prints per-prime milliseconds of this search and of crypto-primes' `sieve_and_find`.
    #[test]
    #[ignore = "a measurement: cargo test --release -p signet-gotemplate --lib -- --ignored prime_search_speed --nocapture"]
    fn prime_search_speed() {
        use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
        let runs = 200;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            let from = random_u1024() | U1024::ONE.shl_vartime(1023);
            assert!(first_prime_within(&from, TEST_WINDOWS).is_some());
        }
        let ours = start.elapsed().as_secs_f64() * 1e3 / runs as f64;
        use chacha20::rand_core::SeedableRng;
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).unwrap();
        let mut rng = chacha20::ChaCha20Rng::from_seed(seed);
        let start = std::time::Instant::now();
        for _ in 0..runs {
            let sieve =
                SmallFactorsSieveFactory::new(crypto_primes::Flavor::Any, 1024, SetBits::TwoMsb)
                    .unwrap();
            let found: Option<U1024> = crypto_primes::sieve_and_find(&mut rng, sieve, |_, c| {
                crypto_primes::is_prime(crypto_primes::Flavor::Any, c)
            })
            .unwrap();
            assert!(found.is_some());
        }
        let theirs = start.elapsed().as_secs_f64() * 1e3 / runs as f64;
        println!(
            "1024-bit prime, mean of {runs}: this search {ours:.1} ms, crypto-primes sieve_and_find {theirs:.1} ms"
        );
    }
}
