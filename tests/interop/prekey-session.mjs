// Usage: node prekey-session.mjs <baseUrl>
//
// Two real libsignal clients against the server at <baseUrl>: A registers and uploads keys, B fetches A's bundle
// and starts a PQXDH session with it (processPreKeyBundle), B encrypts and A decrypts. Exits 0 with one summary line,
// or non-zero with the first check that failed. See README.md.
import * as Signal from '@signalapp/libsignal-client';
import {
  CheckFailed, Device, ProtocolError, Server, baseUrlArgument, check, checkEqual, libsignalVersion, preKeyBundle, toBase64,
} from './client.mjs';

const NAME = 'prekey-session';

/** The key as published, byte for byte: same id, same base64 public key and signature. */
function checkRelayed(actual, published, what) {
  check(actual && typeof actual === 'object', `${what}: missing from the bundle`);
  const subset = Object.fromEntries(Object.keys(published).map((name) => [name, actual[name]]));
  checkEqual(subset, published, `${what} (key ${published.keyId}) as relayed by the server`);
}

/** An upload that must be refused with 422 bad_signature naming `field`, and change nothing. */
async function checkRefused(server, device, upload, field, what) {
  const answer = await server.request('PUT', '/v1/keys', { device, json: upload });
  check(answer.status === 422, `${what}: expected 422, got ${answer.status} ${JSON.stringify(answer.body)}`);
  checkEqual({ error: answer.body?.error, field: answer.body?.field }, { error: 'bad_signature', field }, `${what}: error body`);
}

function tamper(base64) {
  const bytes = Buffer.from(base64, 'base64');
  bytes[bytes.length - 1] ^= 0x01;
  return toBase64(bytes);
}

/** Runs a libsignal step, naming it in the failure when libsignal throws. */
async function step(what, action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof CheckFailed || error instanceof ProtocolError) {
      throw error;
    }
    throw new CheckFailed(`${what}: ${error?.name ?? 'Error'}: ${error?.message ?? error}`, { cause: error });
  }
}

const text = (value) => new TextEncoder().encode(value);
const sameBytes = (a, b) => Buffer.from(a).equals(Buffer.from(b));

async function main(baseUrl) {
  const server = new Server(baseUrl);

  // A registers with real libsignal keys, then replaces its signed prekey and one-time keys with PUT /v1/keys.
  const alice = new Device();
  const registered = await server.register(alice, {
    name: 'interop A',
    signedPreKey: await alice.newSignedPreKey(1),
    kemLastResortKey: await alice.newKemPreKey(1, { lastResort: true }),
    oneTimePreKeys: await alice.newOneTimePreKeys(100, 3),
    kemOneTimeKeys: await alice.newKemOneTimeKeys(100, 2),
  });
  checkEqual({ accountId: registered?.accountId, deviceId: registered?.deviceId }, { accountId: alice.accountId, deviceId: 1 }, 'POST /v1/accounts answer');

  const upload = {
    signedPreKey: await alice.newSignedPreKey(2),
    oneTimePreKeys: await alice.newOneTimePreKeys(200, 5),
    kemOneTimeKeys: await alice.newKemOneTimeKeys(200, 3),
  };
  await server.uploadKeys(alice, upload);
  checkEqual(await server.keyCounts(alice), { oneTimeCount: 5, kemOneTimeCount: 3 }, 'GET /v1/keys after the upload');

  // Bad signatures are refused, and a refused upload stores nothing (not even its valid one-time keys).
  const good = await alice.newSignedPreKey(3);
  const extra = await alice.newOneTimePreKeys(300, 1);
  await checkRefused(server, alice, { signedPreKey: { ...good, signature: tamper(good.signature) }, oneTimePreKeys: extra },
    'signedPreKey.signature', 'signed prekey with a tampered signature');
  const stranger = Signal.IdentityKeyPair.generate();
  await checkRefused(server, alice, { signedPreKey: { ...good, signature: toBase64(stranger.privateKey.sign(Buffer.from(good.publicKey, 'base64'))) } },
    'signedPreKey.signature', 'signed prekey signed by another identity key');
  const lastResort = await alice.newKemPreKey(4, { lastResort: true });
  await checkRefused(server, alice, { kemLastResortKey: { ...lastResort, signature: tamper(lastResort.signature) } },
    'kemLastResortKey.signature', 'KEM last-resort key with a tampered signature');
  checkEqual(await server.keyCounts(alice), { oneTimeCount: 5, kemOneTimeCount: 3 }, 'GET /v1/keys after the refused uploads');

  // B registers and fetches A's bundle twice: each fetch hands out its own one-time keys.
  const bob = new Device();
  await server.register(bob, {
    signedPreKey: await bob.newSignedPreKey(1),
    kemLastResortKey: await bob.newKemPreKey(1, { lastResort: true }),
  });
  const one = await server.fetchBundles(bob, alice.accountId, 1);
  const all = await server.fetchBundles(bob, alice.accountId, '*');

  const published = {
    oneTime: new Map(upload.oneTimePreKeys.map((key) => [key.keyId, key])),
    kemOneTime: new Map(upload.kemOneTimeKeys.map((key) => [key.keyId, key])),
  };
  const entries = [];
  for (const [what, answer] of [[`GET /v1/keys/${alice.accountId}/1`, one], [`GET /v1/keys/${alice.accountId}/*`, all]]) {
    check(answer?.identityKey === alice.identityKey, `${what}: identityKey is not A's (${answer?.identityKey})`);
    checkEqual(answer.devices?.map((device) => device.deviceId), [1], `${what}: device ids`);
    const entry = answer.devices[0];
    checkEqual({ registrationId: entry.registrationId, identityKey: entry.identityKey },
      { registrationId: alice.registrationId, identityKey: alice.identityKey }, `${what}: device 1`);
    checkRelayed(entry.signedPreKey, upload.signedPreKey, `${what}: signedPreKey`);
    check(published.oneTime.has(entry.oneTimePreKey?.keyId), `${what}: oneTimePreKey ${JSON.stringify(entry.oneTimePreKey)} is not one A uploaded`);
    checkRelayed(entry.oneTimePreKey, published.oneTime.get(entry.oneTimePreKey.keyId), `${what}: oneTimePreKey`);
    check(published.kemOneTime.has(entry.kemPreKey?.keyId), `${what}: kemPreKey ${entry.kemPreKey?.keyId} is not a one-time KEM key A uploaded`);
    checkRelayed(entry.kemPreKey, published.kemOneTime.get(entry.kemPreKey.keyId), `${what}: kemPreKey`);
    entries.push(entry);
  }
  const [first, second] = entries;
  check(first.oneTimePreKey.keyId !== second.oneTimePreKey.keyId, `the second fetch handed out one-time prekey ${second.oneTimePreKey.keyId} again`);
  check(first.kemPreKey.keyId !== second.kemPreKey.keyId, `the second fetch handed out one-time KEM key ${second.kemPreKey.keyId} again`);
  checkEqual(await server.keyCounts(alice), { oneTimeCount: 3, kemOneTimeCount: 1 }, 'GET /v1/keys after two fetches');

  // B starts a session from the bundle; A, holding the private keys, decrypts B's PreKey message; A answers.
  const { address: aliceAddress } = alice;
  const { address: bobAddress } = bob;
  let messages = 0;
  const roundTrip = async (from, fromAddress, to, toAddress, plaintext, expectedType, what) => {
    const sent = await step(`${what}: signalEncrypt`, () => from.encrypt(toAddress, plaintext));
    check(sent.type === expectedType, `${what}: expected a message of type ${expectedType}, got ${sent.type}`);
    const received = await step(`${what}: decrypt`, () => to.decrypt(fromAddress, sent.type, sent.content));
    check(sameBytes(received, plaintext), `${what}: decrypted ${JSON.stringify(Buffer.from(received).toString())}`);
    messages++;
  };

  for (const [index, entry] of entries.entries()) {
    const what = `session ${index + 1} (bundle from fetch ${index + 1})`;
    await step(`${what}: processPreKeyBundle`, () => bob.startSession(aliceAddress, preKeyBundle(entry)));
    check(await bob.hasSession(aliceAddress), `${what}: processPreKeyBundle left B without a session`);
    await roundTrip(bob, bobAddress, alice, aliceAddress, text(`hello A, from B, ${what}`), Signal.CiphertextMessageType.PreKey, `${what}: B to A`);
    check(!alice.preKeys.has(entry.oneTimePreKey.keyId), `${what}: A still holds one-time prekey ${entry.oneTimePreKey.keyId} after using it`);
    check(!alice.kyberPreKeys.has(entry.kemPreKey.keyId), `${what}: A still holds one-time KEM key ${entry.kemPreKey.keyId} after using it`);
    await roundTrip(alice, aliceAddress, bob, bobAddress, text(`hello B, from A, ${what}`), Signal.CiphertextMessageType.Whisper, `${what}: A to B`);
  }

  return `${NAME}: OK: A ${alice.accountId} registered and uploaded keys; 3 bad signatures refused with 422; `
    + `B ${bob.accountId} fetched 2 bundles (one-time prekeys ${first.oneTimePreKey.keyId}, ${second.oneTimePreKey.keyId}; `
    + `KEM ${first.kemPreKey.keyId}, ${second.kemPreKey.keyId}), ran processPreKeyBundle on each and `
    + `${messages} messages round-tripped (libsignal-client ${libsignalVersion()})`;
}

const baseUrl = baseUrlArgument(NAME);

try {
  console.log(await main(baseUrl));
} catch (error) {
  if (error instanceof CheckFailed || error instanceof ProtocolError) {
    console.error(`${NAME}: FAILED: ${error.message}`);
  } else {
    console.error(`${NAME}: FAILED: ${error?.stack ?? error}`);
  }
  process.exitCode = 1;
}
