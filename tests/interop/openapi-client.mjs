// @ts-check
// Usage: node openapi-client.mjs <baseUrl>   (after `npm run openapi-types`; `npm run openapi-client -- <baseUrl>` does both)
//
// A client generated from the committed OpenAPI document (docs/openapi.json): openapi-typescript turns it into
// generated/openapi.d.ts, openapi-fetch is the typed client, and tsc checks this file against those types, so a
// change of the document that breaks a call below fails the type check. Every HTTP call goes through the generated
// client; only the key material (libsignal) and the device WebSocket (outside OpenAPI) come from client.mjs.
// Two accounts register with verification codes, list their devices, fetch a bundle, send one message (read on the
// recipient's socket and decrypted) and get a typed 409 mismatched_devices. See README.md.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createClient from 'openapi-fetch';
import {
  CheckFailed, Device, Server, check, checkEqual, fromBase64, libsignalCall, preKeyBundle, runScript, toBase64,
} from './client.mjs';

/** @typedef {import('./generated/openapi.js').paths} Paths */
/** @typedef {import('./generated/openapi.js').components['schemas']} Schemas */

const NAME = 'openapi-client';

/**
 * The generated client, with Basic credentials of `device` when given (the document's `device` security scheme).
 * @param {string} baseUrl
 * @param {Device} [device]
 */
function api(baseUrl, device) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (device) {
    headers.authorization = `Basic ${Buffer.from(`${device.login}:${device.password}`, 'utf8').toString('base64')}`;
  }
  /** @type {import('openapi-fetch').Client<Paths>} */
  const client = createClient({ baseUrl: baseUrl.replace(/\/+$/, ''), headers });
  return client;
}

/**
 * Fails unless the answer has the expected status; returns its (typed) success body.
 * @template T
 * @param {{ data?: T, error?: unknown, response: Response }} answer
 * @param {number} status
 * @param {string} what
 * @returns {T}
 */
function expect(answer, status, what) {
  check(answer.response.status === status, `${what}: expected ${status}, got ${answer.response.status} ${JSON.stringify(answer.error ?? answer.data)}`);
  return /** @type {T} */ (answer.data);
}

/** The code the silo's development sender wrote for `accountId` (as Server.verificationCode reads it). */
function writtenCode(/** @type {string} */ accountId) {
  const directory = process.env.CLUSTER_VERIFICATION_CODES ?? join(tmpdir(), 'cluster-verification-codes');
  return readFileSync(join(directory, `${accountId}.code`), 'utf8');
}

/**
 * POST /v1/accounts/verification, then POST /v1/accounts with the code and the device's libsignal keys.
 * @param {ReturnType<typeof api>} anonymous
 * @param {Device} device
 * @param {string} name
 */
async function register(anonymous, device, name) {
  expect(await anonymous.POST('/v1/accounts/verification', { body: { accountId: device.accountId } }), 202, 'POST /v1/accounts/verification');
  /** @type {Schemas['RegisterAccountRequest']} */
  const body = {
    accountId: device.accountId,
    password: device.password,
    verificationCode: writtenCode(device.accountId),
    registrationId: device.registrationId,
    name,
    identityKey: device.identityKey,
    ...(await device.newKeySet({ oneTime: 2, kemOneTime: 2 })),
  };
  const registered = expect(await anonymous.POST('/v1/accounts', { body }), 201, 'POST /v1/accounts');
  checkEqual({ accountId: registered.accountId, deviceId: registered.deviceId }, { accountId: device.accountId, deviceId: 1 }, 'POST /v1/accounts answer');
}

async function main(/** @type {string} */ baseUrl) {
  const anonymous = api(baseUrl);
  const alice = new Device();
  const bob = new Device();
  await register(anonymous, alice, 'openapi A');
  await register(anonymous, bob, 'openapi B');
  const asAlice = api(baseUrl, alice);
  const asBob = api(baseUrl, bob);

  // GET /v1/devices with Basic auth: the one primary, under the name it registered with.
  const own = expect(await asBob.GET('/v1/devices'), 200, 'GET /v1/devices');
  checkEqual(own.devices.map((device) => ({ deviceId: device.deviceId, name: device.name, registrationId: device.registrationId })),
    [{ deviceId: 1, name: 'openapi B', registrationId: bob.registrationId }], 'GET /v1/devices');
  const unauthorized = await anonymous.GET('/v1/devices');
  check(unauthorized.response.status === 401 && unauthorized.error?.error === 'unauthorized',
    `GET /v1/devices without credentials: expected 401 unauthorized, got ${unauthorized.response.status} ${JSON.stringify(unauthorized.error)}`);

  // A fetches B's bundle and starts a PQXDH session from it.
  const bundle = expect(await asAlice.GET('/v1/keys/{accountId}/{deviceId}', { params: { path: { accountId: bob.accountId, deviceId: '1' } } }),
    200, `GET /v1/keys/${bob.accountId}/1`);
  check(bundle.identityKey === bob.identityKey, `GET /v1/keys: identityKey is not B's (${bundle.identityKey})`);
  checkEqual(bundle.devices.map((device) => device.deviceId), [1], 'GET /v1/keys: device ids');
  const entry = bundle.devices[0];
  await libsignalCall('processPreKeyBundle', () => alice.startSession(bob.address, preKeyBundle(entry)));

  // One message to B's device 1, read on B's socket (outside OpenAPI: client.mjs) and decrypted.
  const socket = await new Server(baseUrl).connect(bob);
  try {
    await socket.queueEmpty();
    const plaintext = 'hello B, through the generated client';
    const sealed = await libsignalCall('signalEncrypt', () => alice.encrypt(bob.address, new TextEncoder().encode(plaintext)));
    const timestamp = Date.now();
    /** @type {Schemas['SendMessagesRequest']} */
    const send = { timestamp, messages: [{ deviceId: 1, registrationId: entry.registrationId, type: sealed.type, content: toBase64(sealed.content) }] };
    const sent = expect(await asAlice.PUT('/v1/messages/{accountId}', { params: { path: { accountId: bob.accountId } }, body: send }),
      200, `PUT /v1/messages/${bob.accountId}`);
    check(sent.needsSync === false, `PUT /v1/messages: needsSync ${sent.needsSync} for a sender without other devices`);
    const envelope = await socket.envelope('the message on B\'s socket');
    checkEqual({ source: `${envelope.sourceAccount}.${envelope.sourceDevice}`, type: envelope.type, timestamp: envelope.timestamp },
      { source: alice.login, type: sealed.type, timestamp }, 'envelope on B\'s socket');
    const received = await libsignalCall('decrypt', () => bob.decrypt(alice.address, envelope.type, fromBase64(envelope.content, 'envelope content')));
    checkEqual(new TextDecoder().decode(received), plaintext, 'decrypted message');
    socket.ack([envelope.id]);
  } finally {
    socket.close();
  }

  // A copy for a device B does not have, none for device 1: 409 mismatched_devices, its body typed by the document.
  const again = await libsignalCall('signalEncrypt', () => alice.encrypt(bob.address, new TextEncoder().encode('to nobody')));
  const mismatched = await asAlice.PUT('/v1/messages/{accountId}', {
    params: { path: { accountId: bob.accountId } },
    body: { timestamp: Date.now(), messages: [{ deviceId: 7, registrationId: 1, type: again.type, content: toBase64(again.content) }] },
  });
  check(mismatched.response.status === 409, `PUT /v1/messages to device 7: expected 409, got ${mismatched.response.status} ${JSON.stringify(mismatched.error ?? mismatched.data)}`);
  const conflict = mismatched.error;
  if (conflict === undefined || !('missingDevices' in conflict)) {
    throw new CheckFailed(`PUT /v1/messages to device 7: 409 body without missingDevices: ${JSON.stringify(conflict)}`);
  }
  checkEqual({ error: conflict.error, missingDevices: conflict.missingDevices, extraDevices: conflict.extraDevices },
    { error: 'mismatched_devices', missingDevices: [1], extraDevices: [7] }, 'PUT /v1/messages 409 body');

  return `${NAME}: OK: generated client (openapi-typescript types from docs/openapi.json, openapi-fetch): `
    + `A ${alice.accountId} and B ${bob.accountId} registered with verification codes; GET /v1/devices listed B's device 1; `
    + `A fetched B's bundle and sent 1 message, decrypted on B's socket; `
    + `409 ${conflict.error} missingDevices [${conflict.missingDevices.join(',')}] extraDevices [${conflict.extraDevices.join(',')}]`;
}

await runScript(NAME, main);
