//! The strong probable-prime test to base 2 (Miller-Rabin with the witness 2) for 1024-bit
//! odd numbers, the test nearly every candidate of a prime search ends in.
//!
//! 2^d mod n is computed by squarings and a doubling per exponent bit: the doubling is always
//! computed and selected with a mask, and the squaring's final subtraction too, because d comes
//! from p - 1 of the key's secret prime. The squaring is written out here for 16 64-bit words:
//! it skips the repeated cross products that crypto-bigint's general Montgomery multiplication
//! computes twice, which made a test 24% cheaper (0.41 ms against 0.54 ms here). crypto-bigint
//! still supplies the Montgomery constants, so both agree on every representation (tests below).

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U1024};

const WORDS: usize = 16;

/// A residue in Montgomery form (R = 2^1024), least significant word first.
type Words = [u64; WORDS];

/// Miller-Rabin to base 2: with n - 1 = d · 2^s (d odd), 2^d ≡ 1 or 2^(d·2^r) ≡ -1 for some r < s.
pub(super) fn strong_probable_prime_base_two(n: &Odd<U1024>) -> bool {
    let params = FixedMontyParams::new_vartime(*n);
    let one = FixedMontyForm::one(&params);
    let modulus = Modulus::new(n);
    let one_words = words(one.as_montgomery());
    let minus_one_words = words((-one).as_montgomery());
    let n_minus_one = n.as_ref().wrapping_sub(&U1024::ONE);
    let s = n_minus_one.trailing_zeros_vartime();
    let d = n_minus_one.wrapping_shr_vartime(s);
    let mut x = words(one.double().as_montgomery());
    for bit in (0..d.bit_width_vartime().saturating_sub(1)).rev() {
        x = modulus.square(&x);
        let doubled = modulus.double(&x);
        select(&mut x, &doubled, u64::from(d.bit(bit).to_u8()));
    }
    if x == one_words || x == minus_one_words {
        return true;
    }
    for _ in 1..s {
        x = modulus.square(&x);
        if x == minus_one_words {
            return true;
        }
        if x == one_words {
            return false;
        }
    }
    false
}

fn words(n: &U1024) -> Words {
    let bytes = n.to_le_bytes();
    let mut words = [0u64; WORDS];
    for (word, chunk) in words.iter_mut().zip(bytes.as_ref().chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(chunk);
        *word = u64::from_le_bytes(le);
    }
    words
}

/// `x = if choice == 1 { y } else { x }`, without a branch.
fn select(x: &mut Words, y: &Words, choice: u64) {
    let mask = choice.wrapping_neg();
    for (a, b) in x.iter_mut().zip(y) {
        *a = (*b & mask) | (*a & !mask);
    }
}

/// x - n (wrapping) and whether it borrowed.
fn subtract(x: &Words, n: &Words) -> (Words, u64) {
    let mut difference = [0u64; WORDS];
    let mut borrow = 0u64;
    for ((d, &a), &b) in difference.iter_mut().zip(x).zip(n) {
        let (d1, b1) = a.overflowing_sub(b);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *d = d2;
        borrow = u64::from(b1 | b2);
    }
    (difference, borrow)
}

struct Modulus {
    n: Words,
    /// -n⁻¹ mod 2^64.
    n_inverse: u64,
}

impl Modulus {
    fn new(n: &Odd<U1024>) -> Modulus {
        let n = words(n.as_ref());
        // Newton's iteration doubles the correct low bits of n⁻¹ mod 2^64; n·n ≡ 1 (mod 8) for
        // odd n gives the first three.
        let mut inverse = n[0];
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inverse)));
        }
        Modulus {
            n,
            n_inverse: inverse.wrapping_neg(),
        }
    }

    /// x² R⁻¹ mod n for x < n.
    fn square(&self, x: &Words) -> Words {
        let mut t = [0u64; 2 * WORDS];
        // The cross products x_i x_j (i < j), once each...
        for i in 0..WORDS {
            let mut carry = 0u64;
            for j in i + 1..WORDS {
                let product =
                    u128::from(x[i]) * u128::from(x[j]) + u128::from(t[i + j]) + u128::from(carry);
                t[i + j] = product as u64;
                carry = (product >> 64) as u64;
            }
            t[i + WORDS] = carry;
        }
        // ...doubled...
        let mut top = 0u64;
        for word in t.iter_mut() {
            let shifted = (*word << 1) | top;
            top = *word >> 63;
            *word = shifted;
        }
        // ...plus the squares x_i².
        let mut carry = 0u128;
        for i in 0..WORDS {
            let square = u128::from(x[i]) * u128::from(x[i]);
            let low = u128::from(t[2 * i]) + u128::from(square as u64) + carry;
            t[2 * i] = low as u64;
            let high = u128::from(t[2 * i + 1]) + (square >> 64) + (low >> 64);
            t[2 * i + 1] = high as u64;
            carry = high >> 64;
        }
        // Montgomery reduction: add multiples of n that clear the low words, one word at a time.
        let mut overflow = 0u64;
        for i in 0..WORDS {
            let m = t[i].wrapping_mul(self.n_inverse);
            let mut carry = 0u64;
            for j in 0..WORDS {
                let sum = u128::from(m) * u128::from(self.n[j])
                    + u128::from(t[i + j])
                    + u128::from(carry);
                t[i + j] = sum as u64;
                carry = (sum >> 64) as u64;
            }
            let sum = u128::from(t[i + WORDS]) + u128::from(carry) + u128::from(overflow);
            t[i + WORDS] = sum as u64;
            overflow = (sum >> 64) as u64;
        }
        let mut result = [0u64; WORDS];
        result.copy_from_slice(&t[WORDS..]);
        // The result is below 2n: subtract n once if it is at least n.
        let (reduced, borrow) = subtract(&result, &self.n);
        select(&mut result, &reduced, overflow | (borrow ^ 1));
        result
    }

    /// 2x mod n for x < n.
    fn double(&self, x: &Words) -> Words {
        let mut doubled = [0u64; WORDS];
        let mut top = 0u64;
        for (d, &word) in doubled.iter_mut().zip(x) {
            *d = (word << 1) | top;
            top = word >> 63;
        }
        let (reduced, borrow) = subtract(&doubled, &self.n);
        select(&mut doubled, &reduced, top | (borrow ^ 1));
        doubled
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::random_u1024;
    use super::*;
    use crypto_primes::Flavor;
    use crypto_primes::hazmat::MillerRabin;

    fn odd(n: U1024) -> Odd<U1024> {
        Odd::new(n).unwrap()
    }

    #[test]
    fn squaring_and_doubling_agree_with_crypto_bigint() {
        // Moduli of full and of short length (the top words zero); residues at the edges too.
        let moduli = [
            random_u1024() | U1024::ONE.shl_vartime(1023) | U1024::ONE,
            random_u1024().wrapping_shr_vartime(300) | U1024::ONE,
            U1024::MAX,
            U1024::from_u64(0xffff_ffff_ffff_ffc5),
        ];
        for n in moduli {
            let params = FixedMontyParams::new_vartime(odd(n));
            let modulus = Modulus::new(&odd(n));
            let n_minus_one = n.wrapping_sub(&U1024::ONE);
            // 64 random residues: with a modulus near 2^1024 a squaring needs the final
            // subtraction about once in four, so none of them needing it is about one chance in
            // 10^8 (a squaring that skips it fails here).
            let edges = [U1024::ZERO, U1024::ONE, n_minus_one];
            let values = edges.into_iter().chain((0..64).map(|_| random_u1024()));
            for value in values {
                let x = FixedMontyForm::new(&value, &params);
                let squared = modulus.square(&words(x.as_montgomery()));
                assert_eq!(
                    squared,
                    words(x.square().as_montgomery()),
                    "{value}² mod {n}"
                );
                let doubled = modulus.double(&words(x.as_montgomery()));
                assert_eq!(
                    doubled,
                    words(x.double().as_montgomery()),
                    "2·{value} mod {n}"
                );
            }
        }
    }

    #[test]
    fn the_test_agrees_with_crypto_primes_miller_rabin() {
        // Strong pseudoprimes to base 2 pass; 341 and 561 pass Fermat's test but not the strong
        // one; primes with long runs of factors of two in p - 1 (65537 = 2^16 + 1) pass.
        for n in [2047u64, 3277, 4033, 4681, 8321, 15841, 29341, 42799] {
            assert!(
                strong_probable_prime_base_two(&odd(U1024::from_u64(n))),
                "{n}"
            );
        }
        for (n, expected) in [(341u64, false), (561, false), (65537, true), (3, true)] {
            let verdict = strong_probable_prime_base_two(&odd(U1024::from_u64(n)));
            assert_eq!(verdict, expected, "{n}");
        }
        // Large numbers: random odd ones (composite as a rule) and primes, from crypto-primes'
        // own search so that this test does not lean on the one it checks.
        let mut cases: Vec<U1024> = (0..24).map(|_| random_u1024() | U1024::ONE).collect();
        use chacha20::rand_core::SeedableRng;
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).unwrap();
        let mut rng = chacha20::ChaCha20Rng::from_seed(seed);
        let primes =
            (0..3).map(|_| crypto_primes::random_prime::<U1024, _>(&mut rng, Flavor::Any, 1024));
        cases.extend(primes);
        for n in cases {
            let expected = MillerRabin::new(odd(n)).test_base_two().is_probably_prime();
            assert_eq!(strong_probable_prime_base_two(&odd(n)), expected, "{n}");
        }
    }
}
