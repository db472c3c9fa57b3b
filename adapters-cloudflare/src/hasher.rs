//! Password hashing in the Worker. New hashes are PBKDF2-HMAC-SHA256 through WebCrypto (native
//! code, so it fits the Worker's CPU budget) at [`PBKDF2_ITERATIONS`], workerd's maximum; they are
//! written as PHC strings (`$pbkdf2-sha256$i=100000,l=32$salt$hash`), the same format the native
//! hasher reads. Hashes made by the native server (argon2id PHC strings) verify here too, with the
//! pure-Rust argon2 implementation.

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use burstflare_core::error::PortError;
use burstflare_core::ports::{PasswordHasher, PortResult};
use password_hash::PasswordHash;

/// The iteration count workerd allows at most for PBKDF2; OWASP recommends 600,000 for
/// PBKDF2-SHA256, so argon2id stays the native default and this is the Worker's best.
pub const PBKDF2_ITERATIONS: u32 = 100_000;

/// The PHC string of a PBKDF2-SHA256 hash (base64 without padding, like the `pbkdf2` crate).
pub fn phc_pbkdf2(iterations: u32, salt: &[u8], hash: &[u8]) -> String {
    format!(
        "$pbkdf2-sha256$i={iterations},l={}${}${}",
        hash.len(),
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// WebCrypto PBKDF2 for new hashes; PBKDF2 or argon2id for verification.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCryptoHasher;

#[async_trait]
impl PasswordHasher for WebCryptoHasher {
    async fn hash(&self, password: &str) -> PortResult<String> {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|e| PortError::Other(format!("random salt: {e}")))?;
        let derived = webcrypto::pbkdf2_sha256(password.as_bytes(), &salt, PBKDF2_ITERATIONS).await?;
        Ok(phc_pbkdf2(PBKDF2_ITERATIONS, &salt, &derived))
    }

    async fn verify(&self, password: &str, hash: &str) -> PortResult<bool> {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return Ok(false);
        };
        match parsed.algorithm.as_str() {
            "pbkdf2-sha256" => {
                let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Ok(false) };
                let mut salt_bytes = [0u8; 64];
                let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return Ok(false) };
                let Some(iterations) = parsed.params.get_decimal("i") else { return Ok(false) };
                let derived = webcrypto::pbkdf2_sha256(password.as_bytes(), salt, iterations).await?;
                Ok(constant_time_eq(&derived, expected.as_bytes()))
            }
            "argon2id" | "argon2i" | "argon2d" => {
                use argon2::password_hash::PasswordVerifier as _;
                Ok(argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            }
            _ => Ok(false),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `crypto.subtle` calls, made through `js_sys` so no extra bindings are needed.
mod webcrypto {
    use burstflare_core::error::PortError;
    use burstflare_core::ports::PortResult;
    use worker::js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
    use worker::send::SendFuture;
    use worker::wasm_bindgen::{JsCast, JsValue};
    use worker::wasm_bindgen_futures::JsFuture;

    fn js_error(what: &str) -> impl Fn(JsValue) -> PortError + '_ {
        move |e| PortError::Other(format!("webcrypto {what}: {e:?}"))
    }

    fn get(target: &JsValue, key: &str) -> PortResult<JsValue> {
        Reflect::get(target, &JsValue::from_str(key)).map_err(js_error(key))
    }

    fn call(target: &JsValue, method: &str, args: &Array) -> PortResult<Promise> {
        let function: Function = get(target, method)?.dyn_into().map_err(js_error(method))?;
        function.apply(target, args).map_err(js_error(method))?.dyn_into().map_err(js_error(method))
    }

    /// PBKDF2-HMAC-SHA256, 32 bytes of output.
    pub async fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> PortResult<Vec<u8>> {
        let (password, salt) = (password.to_vec(), salt.to_vec());
        SendFuture::new(async move {
            let subtle = get(&get(&worker::js_sys::global(), "crypto")?, "subtle")?;
            let usages = Array::of1(&JsValue::from_str("deriveBits"));
            let import_args = Array::of5(
                &JsValue::from_str("raw"),
                &Uint8Array::from(password.as_slice()),
                &JsValue::from_str("PBKDF2"),
                &JsValue::FALSE,
                &usages,
            );
            let key = JsFuture::from(call(&subtle, "importKey", &import_args)?).await.map_err(js_error("importKey"))?;
            let params = Object::new();
            for (k, v) in [
                ("name", JsValue::from_str("PBKDF2")),
                ("hash", JsValue::from_str("SHA-256")),
                ("salt", Uint8Array::from(salt.as_slice()).into()),
                ("iterations", JsValue::from_f64(f64::from(iterations))),
            ] {
                Reflect::set(&params, &JsValue::from_str(k), &v).map_err(js_error("params"))?;
            }
            let derive_args = Array::of3(&params, &key, &JsValue::from_f64(256.0));
            let bits =
                JsFuture::from(call(&subtle, "deriveBits", &derive_args)?).await.map_err(js_error("deriveBits"))?;
            Ok(Uint8Array::new(&bits).to_vec())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use password_hash::PasswordVerifier as _;

    #[test]
    fn phc_strings_match_what_the_native_side_verifies() {
        let salt = b"0123456789abcdef";
        let mut derived = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"pw-123456", salt, 1_000, &mut derived);
        let phc = phc_pbkdf2(1_000, salt, &derived);
        assert!(phc.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(pbkdf2::Pbkdf2.verify_password(b"pw-123456", &parsed).is_ok());
        assert!(pbkdf2::Pbkdf2.verify_password(b"wrong", &parsed).is_err());
    }
}
