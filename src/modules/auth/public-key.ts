import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JwtAlgorithm } from 'src/core/config/boards-config';
import { ConfigError } from 'src/core/config/env-parsers';

const EC_CURVES: Partial<Record<JwtAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
};

/**
 * Reads BOARDS_JWT_PUBLIC_KEY (SPKI or PKCS#1 PEM, or an X.509 certificate; `\n` escapes are
 * accepted for one-line environment files) and checks it fits the configured algorithm.
 */
export function publicKeyFromPem(pem: string, algorithm: JwtAlgorithm): KeyObject {
  const text = pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new ConfigError('BOARDS_JWT_PUBLIC_KEY', 'is not a PEM public key or certificate');
  }
  const type = key.asymmetricKeyType;
  const fits = algorithm.startsWith('ES')
    ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[algorithm]
    : type === 'rsa' || (algorithm.startsWith('PS') && type === 'rsa-pss');
  if (!fits) {
    throw new ConfigError(
      'BOARDS_JWT_PUBLIC_KEY',
      `holds a ${type ?? 'unknown'} key, which cannot verify ${algorithm} (BOARDS_JWT_ALGORITHM)`,
    );
  }
  return key;
}
