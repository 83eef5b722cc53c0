/**
 * The RSA-2048 public key every benchmark user registers with. Registration checks the key
 * (at least 2048 bits) but the benchmark never decrypts, so one fixed key serves every user;
 * it is embedded so the compiled binary reads no file and makes no key at run time.
 *
 * @module
 */

/** A fixed RSA-2048 public key (SPKI PEM), the one in tests/testdata/rsa. */
export const BENCH_RSA_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1F9Gq5RwXIWAVfROssOK
gbOPrZy2f1evE7HqprJMwBTd2OilAEjyVW07Vv2uyY8zqB6YmeNJoAOiRKISDXLk
JEDa+yMljnoix4kcfFGEJwTLve9mvxtDBZ/GgHE6R+6C2Ler5ppnbHT/+XuUiWOC
QdijbKrKNPpsMpHfFawCyy2MJIVPG1//rc88lTpYE5doEZg2RYcqSkfvJtQTaLA3
MxcJyGTEkyABjHVpL16xT/Ba2xXZZDvRweRDDJlEG7UP4i+Y5jLleKBKpfFdTTgD
AvoyjFBEr+OUGnmsKLp2xYlOmaNV+M5MrGj0Kyt+pBFKEuZguPHIW7nhVFNeEH06
1QIDAQAB
-----END PUBLIC KEY-----
`;
