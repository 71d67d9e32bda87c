// Writes the JSON test vectors of tests/Cluster.Signal.Tests/Vectors with real libsignal
// (@signalapp/libsignal-client). See README.md. Binary fields are standard base64; 64-bit
// timestamps are decimal strings so that no JSON reader rounds them.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KEMKeyPair,
  KyberPreKeyRecord,
  PrivateKey,
  PublicKey,
  SignedPreKeyRecord,
} from '@signalapp/libsignal-client';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';

const here = dirname(fileURLToPath(import.meta.url));
const outputDir = join(here, '..', 'Cluster.Signal.Tests', 'Vectors');
const libsignalVersion = JSON.parse(
  readFileSync(join(here, 'node_modules', '@signalapp', 'libsignal-client', 'package.json'), 'utf8'),
).version;

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const utf8 = (text) => Buffer.from(text, 'utf8');

function check(condition, what) {
  if (!condition) {
    throw new Error(`generate.mjs: ${what}`);
  }
}

function write(name, content) {
  mkdirSync(outputDir, { recursive: true });
  const body = { generator: 'tests/vectors/generate.mjs', libsignalVersion, ...content };
  writeFileSync(join(outputDir, name), JSON.stringify(body, null, 2) + '\n');
  console.log(`wrote ${name}`);
}

// libsignal's verdict on (key, message, signature), counting a key it cannot deserialize as a rejection.
function libsignalVerdict(publicKey, message, signature) {
  let key;
  try {
    key = PublicKey.deserialize(Buffer.from(publicKey));
  } catch (e) {
    return { accepts: false, note: `PublicKey.deserialize throws: ${e.message}` };
  }
  return { accepts: key.verify(Buffer.from(message), Buffer.from(signature)) };
}

// ---------------------------------------------------------------- identities

const messages = [
  { name: 'empty', bytes: Buffer.alloc(0) },
  { name: 'text', bytes: utf8('The quick brown fox jumps over the lazy dog') },
  { name: 'ec-public-key', bytes: PrivateKey.generate().getPublicKey().serialize() },
  { name: 'kem-public-key', bytes: KEMKeyPair.generate().getPublicKey().serialize() },
  { name: 'random-1000', bytes: randomBytes(1000) },
];

function identityVector(name, privateKey, privateKeyInput) {
  const publicKey = privateKey.getPublicKey();
  const signatures = messages.map(({ name: messageName, bytes }) => {
    const signature = privateKey.sign(bytes);
    check(publicKey.verify(bytes, signature), `libsignal rejects its own signature (${name}, ${messageName})`);
    return { message: b64(bytes), signature: b64(signature) };
  });
  return {
    name,
    ...(privateKeyInput ? { privateKeyInput: b64(privateKeyInput) } : {}),
    privateKey: b64(privateKey.serialize()),
    publicKey: b64(publicKey.serialize()),
    edwardsSignBit: Buffer.from(signatures[0].signature, 'base64')[63] >> 7,
    signatures,
  };
}

// Both signs of the Edwards x-coordinate must be covered: the verifier reads it from the signature.
const identities = [];
const wanted = { 0: 3, 1: 3 };
while (wanted[0] + wanted[1] > 0) {
  const vector = identityVector(`identity-${identities.length}`, PrivateKey.generate());
  if (wanted[vector.edwardsSignBit] > 0) {
    wanted[vector.edwardsSignBit]--;
    identities.push(vector);
  }
}
// An unclamped private key: libsignal clamps it on deserialize, and so must we.
const unclamped = randomBytes(32);
unclamped[0] |= 0x07;
unclamped[31] |= 0x80;
unclamped[31] &= ~0x40 & 0xff;
identities.push(identityVector('identity-unclamped-input', PrivateKey.deserialize(unclamped), unclamped));
write('identities.json', { identities });

// ---------------------------------------------------------------- prekeys, as a client uploads them

function preKeyUpload(deviceIndex) {
  const identity = PrivateKey.generate();
  const identityKey = identity.getPublicKey();
  const now = Date.now();

  const ecPair = PrivateKey.generate();
  const signedPreKeyRecord = SignedPreKeyRecord.new(
    100 + deviceIndex,
    now,
    ecPair.getPublicKey(),
    ecPair,
    identity.sign(ecPair.getPublicKey().serialize()),
  );
  const signedPreKey = {
    keyId: signedPreKeyRecord.id(),
    publicKey: signedPreKeyRecord.publicKey().serialize(),
    signature: signedPreKeyRecord.signature(),
  };

  const kemKey = (keyId) => {
    const keyPair = KEMKeyPair.generate();
    const record = KyberPreKeyRecord.new(keyId, now, keyPair, identity.sign(keyPair.getPublicKey().serialize()));
    return { keyId: record.id(), publicKey: record.publicKey().serialize(), signature: record.signature() };
  };

  const signed = [signedPreKey, kemKey(1), kemKey(2), kemKey(3)];
  for (const key of signed) {
    check(identityKey.verify(key.publicKey, key.signature), 'libsignal rejects a prekey signature');
  }
  const encode = ({ keyId, publicKey, signature }) => ({ keyId, publicKey: b64(publicKey), signature: b64(signature) });
  return {
    identityKey: b64(identityKey.serialize()),
    signedPreKey: encode(signed[0]),
    kemLastResortKey: encode(signed[1]),
    kemOneTimeKeys: signed.slice(2).map(encode),
    oneTimePreKeys: [1, 2].map((keyId) => ({ keyId, publicKey: b64(PrivateKey.generate().getPublicKey().serialize()) })),
  };
}
write('prekeys.json', { devices: [preKeyUpload(0), preKeyUpload(1)] });

// ---------------------------------------------------------------- ADV structures (PROTOCOL.md), built here, signed by libsignal

function u16(value) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}
function u32(value) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}
function u64(value) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
}
function str(text) {
  const bytes = utf8(text);
  return Buffer.concat([u16(bytes.length), bytes]);
}

function advCase(name, { accountId, keyIndex, timestampMs, list }) {
  const primary = PrivateKey.generate();
  const companion = PrivateKey.generate();
  const primaryKey = primary.getPublicKey().serialize();
  const companionKey = companion.getPublicKey().serialize();

  const linkingMetadata = Buffer.concat([Buffer.from([1]), str(accountId), u32(keyIndex), u64(timestampMs)]);
  const accountSignature = primary.sign(Buffer.concat([Buffer.from([0x06, 0x00]), linkingMetadata, companionKey]));
  const deviceSignature = companion.sign(
    Buffer.concat([Buffer.from([0x06, 0x01]), linkingMetadata, companionKey, primaryKey]),
  );

  const keyIndexList = Buffer.concat([
    Buffer.from([1]),
    str(accountId),
    u64(list.timestampMs),
    u32(list.currentIndex),
    u16(list.validIndexes.length),
    ...list.validIndexes.map(u32),
  ]);
  const listSignature = primary.sign(Buffer.concat([Buffer.from([0x06, 0x02]), keyIndexList]));

  return {
    name,
    primaryIdentityKey: b64(primaryKey),
    companionIdentityKey: b64(companionKey),
    linkingMetadata: { accountId, keyIndex, timestampMs: timestampMs.toString(), bytes: b64(linkingMetadata) },
    accountSignature: b64(accountSignature),
    deviceSignature: b64(deviceSignature),
    keyIndexList: {
      accountId,
      timestampMs: list.timestampMs.toString(),
      currentIndex: list.currentIndex,
      validIndexes: list.validIndexes,
      bytes: b64(keyIndexList),
      signature: b64(listSignature),
    },
  };
}

write('adv.json', {
  cases: [
    advCase('first-companion', {
      accountId: '+15551230001',
      keyIndex: 1,
      timestampMs: 1767225600000n,
      list: { timestampMs: 1767225600001n, currentIndex: 1, validIndexes: [1] },
    }),
    advCase('several-companions', {
      accountId: '+442071838750',
      keyIndex: 7,
      timestampMs: 1767225600000n,
      list: { timestampMs: 1767225600500n, currentIndex: 7, validIndexes: [2, 5, 7] },
    }),
    advCase('extreme-values', {
      accountId: '+999999999999999',
      keyIndex: 0xffffffff,
      timestampMs: 0x7fffffffffffffffn,
      list: { timestampMs: 0x7fffffffffffffffn, currentIndex: 0xffffffff, validIndexes: [0, 0x10000, 0xffffffff] },
    }),
    advCase('no-companions', {
      accountId: '+15551230002',
      keyIndex: 3,
      timestampMs: 0n,
      list: { timestampMs: 1n, currentIndex: 3, validIndexes: [] },
    }),
    // str is a byte length: a non-ASCII id makes characters and bytes differ.
    advCase('non-ascii-account-id', {
      accountId: 'Zoë 📱',
      keyIndex: 2,
      timestampMs: 1767225600000n,
      list: { timestampMs: 1767225600000n, currentIndex: 2, validIndexes: [2] },
    }),
  ],
});

// ---------------------------------------------------------------- signatures that must be rejected, and where libsignal differs

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const p = Point.Fp.ORDER;
const modL = (n) => ((n % L) + L) % L;
const modP = (n) => ((n % p) + p) % p;
const toLe = (n, length = 32) => {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++, n >>= 8n) b[i] = Number(n & 0xffn);
  return b;
};
const fromLe = (bytes) => bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
const sha512 = (...parts) => createHash('sha512').update(Buffer.concat(parts)).digest();
const randomScalar = () => modL(fromLe(randomBytes(64)));
const powMod = (base, exponent, modulus) => {
  let result = 1n;
  for (base %= modulus; exponent > 0n; exponent >>= 1n, base = (base * base) % modulus) {
    if (exponent & 1n) result = (result * base) % modulus;
  }
  return result;
};
// u = (1 + y) / (1 - y), the inverse of the map the verifier applies.
const montgomeryU = (point) => {
  const { y } = point.toAffine();
  return modP((1n + y) * powMod(modP(1n - y), p - 2n, p));
};
const ecKey = (u) => Buffer.concat([Buffer.from([0x05]), toLe(u)]);
const torsion = (order) =>
  ED25519_TORSION_SUBGROUP.map((hex) => Point.fromHex(hex)).find((point) => {
    let multiple = point;
    let n = 1;
    for (; !multiple.is0(); n++) multiple = multiple.add(point);
    return n === order;
  });

// An XEdDSA signature by hand: R is given (with its discrete log r, if any), h = H(R || A || M), s = r + h·a.
function craftSignature(A, a, message, R, r) {
  const aBytes = A.toBytes();
  const h = modL(fromLe(sha512(R.toBytes(), aBytes, message)));
  const signature = Buffer.concat([R.toBytes(), toLe(modL(r + h * a))]);
  signature[63] |= aBytes[31] & 0x80;
  return { signature, h };
}

const signer = identities[0];
const signerKey = Buffer.from(signer.publicKey, 'base64');
const message = Buffer.from(signer.signatures[1].message, 'base64');
const goodSignature = Buffer.from(signer.signatures[1].signature, 'base64');
const signerScalar = modL(fromLe(Buffer.from(signer.privateKey, 'base64')));
const signerPoint = Point.BASE.multiply(signerScalar);
check(montgomeryU(signerPoint) === fromLe(signerKey.subarray(1)), 'the Edwards and Montgomery keys disagree');

const flip = (bytes, index, mask = 0x01) => {
  const copy = Buffer.from(bytes);
  copy[index] ^= mask;
  return copy;
};

const edgeCases = [];
function edgeCase(name, description, { publicKey = signerKey, message: signed = message, signature, expected = false, keyProblem = null, signatureProblem = null, edwardsPublicKey, libsignalAccepts }) {
  const verdict = libsignalVerdict(publicKey, signed, signature);
  check(
    verdict.accepts === libsignalAccepts,
    `${name}: libsignal ${verdict.accepts ? 'accepts' : 'rejects'} it, expected the opposite (${verdict.note ?? ''})`,
  );
  edgeCases.push({
    name,
    description,
    publicKey: b64(publicKey),
    message: b64(signed),
    signature: b64(signature),
    expected,
    keyProblem,
    signatureProblem,
    libsignalAccepts: verdict.accepts,
    ...(verdict.note ? { libsignalNote: verdict.note } : {}),
    ...(edwardsPublicKey ? { edwardsPublicKey: b64(edwardsPublicKey) } : {}),
  });
}

edgeCase('message-bit-flipped', 'One bit of the message changed.', { message: flip(message, 3), signature: goodSignature, libsignalAccepts: false });
edgeCase('signature-r-bit-flipped', 'One bit of R changed.', { signature: flip(goodSignature, 5), libsignalAccepts: false });
edgeCase('signature-s-bit-flipped', 'One bit of s changed.', { signature: flip(goodSignature, 40), libsignalAccepts: false });
edgeCase('key-bit-flipped', 'One bit of the public key u-coordinate changed.', { publicKey: flip(signerKey, 10), signature: goodSignature, libsignalAccepts: false });
edgeCase('sign-bit-flipped', 'The Edwards sign bit (top bit of the last signature byte) flipped.', { signature: flip(goodSignature, 63, 0x80), libsignalAccepts: false });
edgeCase('key-type-0x06', 'Type byte 0x06 instead of 0x05.', { publicKey: Buffer.concat([Buffer.from([0x06]), signerKey.subarray(1)]), signature: goodSignature, keyProblem: 'WrongType', libsignalAccepts: false });
edgeCase('key-32-bytes', 'Type byte and the first 31 bytes of the key.', { publicKey: signerKey.subarray(0, 32), signature: goodSignature, keyProblem: 'WrongLength', libsignalAccepts: false });
edgeCase('key-34-bytes', 'A trailing zero byte after the key. libsignal ignores trailing bytes (with a warning); the protocol does not.', { publicKey: Buffer.concat([signerKey, Buffer.from([0])]), signature: goodSignature, keyProblem: 'WrongLength', libsignalAccepts: true });
edgeCase('signature-63-bytes', 'The last signature byte dropped.', { signature: goodSignature.subarray(0, 63), signatureProblem: 'WrongLength', libsignalAccepts: false });
edgeCase('signature-65-bytes', 'A zero byte appended to the signature.', { signature: Buffer.concat([goodSignature, Buffer.from([0])]), signatureProblem: 'WrongLength', libsignalAccepts: false });

// Non-canonical keys: libsignal's verifier reduces u modulo p (ignoring bit 255); we refuse such keys outright.
edgeCase('key-top-bit-set', 'Bit 255 of u set. libsignal ignores it; it is not a canonical X25519 key.', { publicKey: flip(signerKey, 32, 0x80), signature: goodSignature, keyProblem: 'NonCanonical', libsignalAccepts: true });
{
  const r = randomScalar();
  const { signature } = craftSignature(Point.BASE, 1n, message, Point.BASE.multiply(r), r);
  edgeCase('base-point-key', 'Key u = 9 (private scalar 1), signed by hand: a valid signature.', { publicKey: ecKey(9n), signature, expected: true, libsignalAccepts: true });
  edgeCase('base-point-key-u-plus-p', 'The same key and signature, with u encoded as 9 + p (not reduced). libsignal reduces it.', { publicKey: ecKey(9n + p), signature, keyProblem: 'NonCanonical', libsignalAccepts: true });
}

// A non-reduced s (s + L): libsignal reduces it, RFC 8032 (and we) refuse it.
{
  const s = fromLe(goodSignature.subarray(32, 64).map((byte, i) => (i === 31 ? byte & 0x7f : byte))) + L;
  check(s < 1n << 253n, 's + L does not fit in 253 bits; run again');
  const signature = Buffer.concat([goodSignature.subarray(0, 32), toLe(s)]);
  signature[63] |= goodSignature[63] & 0x80;
  edgeCase('s-not-reduced', 'The valid signature with s replaced by s + L. libsignal reduces s modulo L; RFC 8032 requires s < L.', { signature, libsignalAccepts: true });
}

// BouncyCastle's Ed25519 verification is cofactored, libsignal's is not: these two tell them apart.
{
  const r = randomScalar();
  const R = Point.BASE.multiply(r).add(torsion(8));
  const { signature } = craftSignature(signerPoint, signerScalar, message, R, r);
  edgeCase('r-with-torsion', 'Signed by the key owner with R = rB + T (T of order 8). libsignal rejects it; a cofactored Ed25519 verifier accepts it.', { signature, edwardsPublicKey: signerPoint.toBytes(), libsignalAccepts: false });
}
{
  const key = signerPoint.add(torsion(2));
  for (;;) {
    const r = randomScalar();
    const { signature, h } = craftSignature(key, signerScalar, message, Point.BASE.multiply(r), r);
    if (h % 2n === 0n) {
      edgeCase('key-with-torsion', 'Key aB + T (T of order 2, not in the prime-order subgroup) with a signature libsignal accepts.', { publicKey: ecKey(montgomeryU(key)), signature, edwardsPublicKey: key.toBytes(), libsignalAccepts: true });
      break;
    }
  }
}
{
  const smallOrder = torsion(2); // u = 0 maps to (0, -1)
  for (;;) {
    const s = randomScalar();
    const R = Point.BASE.multiply(s);
    const h = modL(fromLe(sha512(R.toBytes(), smallOrder.toBytes(), message)));
    if (h % 2n === 0n) {
      edgeCase('small-order-key-forgery', 'Key u = 0 (a point of order 2) and a signature forged without any private key. libsignal accepts it.', { publicKey: ecKey(0n), signature: Buffer.concat([R.toBytes(), toLe(s)]), libsignalAccepts: true });
      break;
    }
  }
}
write('signature-edge-cases.json', { cases: edgeCases });
