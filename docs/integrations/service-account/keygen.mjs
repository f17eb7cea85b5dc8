// Makes the service account's key pair: NAME.key.pem, the private key
// (PKCS #8, mode 0600, it never leaves this machine), and NAME.jwks.json,
// the public key to register with `portcullis client add --jwks-file`.
// Prints the key id (the RFC 7638 thumbprint).
//
//   node keygen.mjs orders-bot
import { writeFileSync } from 'node:fs';
import * as jose from 'jose';

const name = process.argv[2];
if (!name) throw new Error('usage: node keygen.mjs NAME');
const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const jwk = await jose.exportJWK(publicKey);
const kid = await jose.calculateJwkThumbprint(jwk);
writeFileSync(`${name}.key.pem`, await jose.exportPKCS8(privateKey), { mode: 0o600, flag: 'wx' });
writeFileSync(`${name}.jwks.json`, JSON.stringify({ keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] }, null, 2) + '\n');
console.log(kid);
