// Usage: node multi-device.mjs <baseUrl>
//
// Real libsignal clients, several devices per account, against the server at <baseUrl>: A (3 devices) and B
// (3 devices), companions linked with ADV signatures made by libsignal and signed device lists, every device on its
// own WebSocket; each device of A sends real ciphertext to each device of B (and sync copies to its own devices), every
// device decrypts exactly what it got, and a B device answers every A device over the sessions that made. Exits 0
// with one summary line, or non-zero naming the step that failed. See README.md.
import * as Signal from '@signalapp/libsignal-client';
import {
  CheckFailed, Device, ProtocolError, Server, check, checkEqual, fromBase64, libsignalVersion, linkCompanion,
  preKeyBundle, signedDeviceList, toBase64, verifyAccountDevices,
  stepRunner,
} from './client.mjs';

const NAME = 'multi-device';
const OVERALL_TIMEOUT_MS = 90_000;
const FRAME_TIMEOUT_MS = 15_000;
const DRAIN_TIMEOUT_MS = 5_000;

/** Runs a libsignal call, naming it in the failure when libsignal throws. */
async function libsignal(what, action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof CheckFailed || error instanceof ProtocolError) {
      throw error;
    }
    throw new CheckFailed(`${what}: ${error?.name ?? 'Error'}: ${error?.message ?? error}`, { cause: error });
  }
}

/** Deviations from the protocol the clients tolerated (see verifyAccountDevices); printed, and named in the summary. */
const serverNotes = new Set();

function verifyDevices(answer, accountId) {
  const registry = verifyAccountDevices(answer, accountId);
  for (const note of registry.notes) {
    serverNotes.add(`GET /v1/accounts/{id}/devices: ${note}`);
  }
  return registry;
}

const runner = stepRunner(NAME, OVERALL_TIMEOUT_MS);
const step = runner.step;

const utf8 = (value) => new TextEncoder().encode(value);
const sameBytes = (a, b) => Buffer.from(a).equals(Buffer.from(b));
const typeName = (type) => ({ [Signal.CiphertextMessageType.PreKey]: 'PreKey', [Signal.CiphertextMessageType.Whisper]: 'Whisper' })[type] ?? `type ${type}`;

/** Strictly increasing timestamps for signed device lists and sends, however fast the steps run. */
let lastTimestamp = 0;
function timestamp() {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return lastTimestamp;
}

/**
 * Waits for `count` deviceListChanged events about `accountId` on `socket`, each a new version; returns the versions
 * in ascending order (the fan-out to other accounts is one-way grain messages, so their order is not checked).
 */
async function deviceListEvents(socket, accountId, count, what) {
  const versions = [];
  for (let i = 0; i < count; i++) {
    const event = await socket.event('deviceListChanged', (e) => e.accountId === accountId && !versions.includes(e.version),
      `deviceListChanged #${i + 1} of ${count} for ${accountId} (${what})`, FRAME_TIMEOUT_MS);
    check(Number.isInteger(event.version) && event.version > 0, `${socket.name}: deviceListChanged with version ${JSON.stringify(event.version)}`);
    versions.push(event.version);
  }
  return versions.sort((a, b) => a - b);
}

/** Waits for a deviceListChanged event about `accountId` with each of `versions` on `socket`. */
async function expectDeviceListEvents(socket, accountId, versions, what) {
  for (const version of versions) {
    await socket.event('deviceListChanged', (e) => e.accountId === accountId && e.version === version,
      `deviceListChanged for ${accountId} version ${version} (${what})`, FRAME_TIMEOUT_MS);
  }
}

/** Connects a device's socket and reads until queueEmpty; a fresh device must have nothing queued. */
async function connectFresh(server, device, sockets, options) {
  const socket = await server.connect(device, options);
  sockets.push(socket);
  await socket.queueEmpty(FRAME_TIMEOUT_MS);
  check(!socket.pending.some((frame) => frame.kind === 'envelope'), `${socket.name}: a new device got envelopes: ${JSON.stringify(socket.pending)}`);
  return socket;
}

/**
 * What a sending client does for one message to `accountId`: the devices to encrypt for come from the registry it
 * verified itself (`verified`, from verifyAccountDevices), less the sender; a device it has a session with is encrypted
 * to over that session (its registration id from the session), any other from a bundle (GET /v1/keys) whose identity
 * key must be the verified one. Sends with PUT /v1/messages and returns {answer, sent: Map deviceId -> {type, plaintext}}.
 */
async function sendToAccount(server, sender, accountId, verified, plaintext, messageTimestamp, what) {
  const ownAccount = accountId === sender.accountId;
  const targets = verified.devices.filter((device) => !(ownAccount && device.deviceId === sender.deviceId));
  const addressOf = (deviceId) => Signal.ProtocolAddress.new(accountId, deviceId);
  const needBundles = [];
  for (const target of targets) {
    if (!await sender.hasSession(addressOf(target.deviceId))) {
      needBundles.push(target);
    }
  }

  const bundleEntries = new Map();
  if (needBundles.length > 0) {
    // Another account: all its devices at once (GET /v1/keys/{id}/*); the own account: one device at a time, so the
    // sender does not use up its own one-time keys.
    const answers = ownAccount
      ? await Promise.all(needBundles.map((target) => server.fetchBundles(sender, accountId, target.deviceId)))
      : [await server.fetchBundles(sender, accountId, '*')];
    for (const answer of answers) {
      check(answer?.identityKey === verified.primaryIdentityKey, `${what}: GET /v1/keys/${accountId}: identityKey is not the verified primary identity key`);
      for (const entry of answer.devices ?? []) {
        bundleEntries.set(entry.deviceId, entry);
      }
    }
    if (!ownAccount) {
      checkEqual([...bundleEntries.keys()].sort((a, b) => a - b), verified.devices.map((device) => device.deviceId),
        `${what}: device ids of GET /v1/keys/${accountId}/* against the verified device list`);
    }
  }

  const messages = [];
  const sent = new Map();
  for (const target of targets) {
    const address = addressOf(target.deviceId);
    let registrationId;
    const entry = bundleEntries.get(target.deviceId);
    if (needBundles.includes(target)) {
      check(entry, `${what}: no bundle for device ${target.deviceId}`);
      checkEqual({ identityKey: entry.identityKey, registrationId: entry.registrationId },
        { identityKey: target.identityKey, registrationId: target.registrationId },
        `${what}: bundle of ${accountId}.${target.deviceId} against its verified (ADV-signed) identity`);
      await libsignal(`${what}: processPreKeyBundle for ${accountId}.${target.deviceId}`, () => sender.startSession(address, preKeyBundle(entry)));
      registrationId = entry.registrationId;
    } else {
      registrationId = await sender.remoteRegistrationId(address);
    }
    const message = await libsignal(`${what}: signalEncrypt for ${accountId}.${target.deviceId}`, () => sender.encrypt(address, plaintext));
    messages.push({ deviceId: target.deviceId, registrationId, type: message.type, content: toBase64(message.content) });
    sent.set(target.deviceId, { type: message.type });
  }

  const answer = await server.sendMessages(sender, accountId, { messages, timestamp: messageTimestamp, urgent: true });
  check(answer.status === 200, `${what}: PUT /v1/messages/${accountId} by ${sender.login}: expected 200, got ${answer.status} ${JSON.stringify(answer.body)}`);
  return { answer: answer.body, sent };
}

/**
 * Takes `expected.length` envelopes from the device's socket, each addressed to this device and matching one expected
 * message (by source device), decrypts each with libsignal, acks them, checks no other envelope came, and that
 * GET /v1/messages is empty once the acks are applied. `expected`: [{from: Device, type, timestamp, plaintext}].
 */
async function receiveExactly(server, device, socket, expected, what) {
  const remaining = [...expected];
  const ids = [];
  const decrypted = [];
  while (remaining.length > 0) {
    const envelope = await socket.envelope(`envelope ${ids.length + 1} of ${expected.length} (${what})`, FRAME_TIMEOUT_MS);
    const where = `${what}: envelope ${envelope?.id} at ${device.login}`;
    check(envelope && typeof envelope.id === 'string', `${what}: malformed envelope frame ${JSON.stringify(envelope)}`);
    check(envelope.destinationDevice === device.deviceId, `${where}: destinationDevice ${envelope.destinationDevice}`);
    const index = remaining.findIndex((message) => message.from.accountId === envelope.sourceAccount && message.from.deviceId === envelope.sourceDevice);
    check(index >= 0, `${where}: unexpected source ${envelope.sourceAccount}.${envelope.sourceDevice} (expected ${remaining.map((m) => m.from.login).join(', ')})`);
    const message = remaining.splice(index, 1)[0];
    checkEqual({ type: envelope.type, timestamp: envelope.timestamp, urgent: envelope.urgent },
      { type: message.type, timestamp: message.timestamp, urgent: true }, `${where}: from ${message.from.login}`);
    check(Number.isInteger(envelope.serverTimestamp) && envelope.serverTimestamp > 0, `${where}: serverTimestamp ${envelope.serverTimestamp}`);
    check(!ids.includes(envelope.id), `${where}: envelope id delivered twice`);
    const content = fromBase64(envelope.content, `${where}: content`);
    const plaintext = await libsignal(`${where}: ${typeName(envelope.type)} decrypt`,
      () => device.decrypt(message.from.address, envelope.type, content));
    check(sameBytes(plaintext, message.plaintext),
      `${where}: decrypted ${JSON.stringify(Buffer.from(plaintext).toString())}, sent ${JSON.stringify(Buffer.from(message.plaintext).toString())}`);
    ids.push(envelope.id);
    decrypted.push(typeName(envelope.type));
  }
  socket.ack(ids);

  // Acks travel up the socket without an answer: poll the queue until they are applied.
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let left;
  for (;;) {
    left = await server.fetchMessages(device);
    if (Array.isArray(left?.envelopes) && left.envelopes.length === 0 && left.more === false) {
      break;
    }
    check(Date.now() < deadline, `${what}: GET /v1/messages for ${device.login} still holds ${JSON.stringify(left).slice(0, 400)} ${DRAIN_TIMEOUT_MS} ms after the acks`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const extra = socket.pending.filter((frame) => frame.kind === 'envelope');
  check(extra.length === 0, `${what}: ${device.login} got envelopes beyond its own: ${JSON.stringify(extra).slice(0, 400)}`);
  return decrypted;
}

async function main(baseUrl) {
  const server = new Server(baseUrl, { timeoutMs: 20_000 });
  const sockets = [];
  try {
    return await scenario(server, sockets);
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
  }
}

async function scenario(server, sockets) {
  // 1. A and B register their primaries; B's primary connects and fetches A's devices, so B is interested in A.
  const a1 = new Device();
  const b1 = new Device();
  const b1Socket = await step('1 register A and B, B fetches A\'s devices', async () => {
    await server.register(a1, { name: 'A phone', ...await a1.newKeySet() });
    await server.register(b1, { name: 'B phone', ...await b1.newKeySet() });
    const socket = await connectFresh(server, b1, sockets);
    const registry = verifyDevices(await server.accountDevices(b1, a1.accountId), a1.accountId);
    checkEqual({ primaryIdentityKey: registry.primaryIdentityKey, devices: registry.devices.map((d) => d.deviceId), list: registry.list },
      { primaryIdentityKey: a1.identityKey, devices: [1], list: null }, `GET /v1/accounts/${a1.accountId}/devices before linking`);
    return socket;
  });

  // 2. A links two companions (key indexes 1 and 2) and publishes a signed device list; B hears of each change.
  const a2 = new Device({ accountId: a1.accountId, deviceId: null });
  const a3 = new Device({ accountId: a1.accountId, deviceId: null });
  const aSockets = new Map();
  const aVersions = await step('2 A links two companions and publishes its signed device list', async () => {
    aSockets.set(a1, await connectFresh(server, a1, sockets));
    await linkCompanion(server, a1, a2, { keyIndex: 1, timestampMs: timestamp(), name: 'A laptop', keys: await a2.newKeySet() });
    aSockets.set(a2, await connectFresh(server, a2, sockets));
    await linkCompanion(server, a1, a3, { keyIndex: 2, timestampMs: timestamp(), name: 'A tablet', keys: await a3.newKeySet() });
    aSockets.set(a3, await connectFresh(server, a3, sockets, { query: true }));
    checkEqual([a2.deviceId, a3.deviceId], [2, 3], 'device ids given to A\'s companions');
    const { list, signature } = signedDeviceList(a1, { timestampMs: timestamp(), currentIndex: 2, validIndexes: [1, 2] });
    await server.publishDeviceList(a1, list, signature);

    const own = await server.ownDevices(a2);
    checkEqual(own?.devices?.map((d) => [d.deviceId, d.name, d.registrationId]),
      [[1, 'A phone', a1.registrationId], [2, 'A laptop', a2.registrationId], [3, 'A tablet', a3.registrationId]], 'GET /v1/devices of A');

    // B (interested) hears of all three changes; A's own devices of each change they did not make.
    const seenByB = await deviceListEvents(b1Socket, a1.accountId, 3, 'B is interested in A: link, link, list');
    const [first] = seenByB;
    checkEqual(seenByB, [first, first + 1, first + 2], `versions of A's changes seen by ${b1.login}`);
    await expectDeviceListEvents(aSockets.get(a1), a1.accountId, [first, first + 1], 'the two links');
    await expectDeviceListEvents(aSockets.get(a2), a1.accountId, [first + 1, first + 2], 'the second link and the list');
    await expectDeviceListEvents(aSockets.get(a3), a1.accountId, [first + 2], 'the list');
    return seenByB;
  });

  // 3. B links two companions the same way and publishes its list; every device of both accounts is connected.
  const b2 = new Device({ accountId: b1.accountId, deviceId: null });
  const b3 = new Device({ accountId: b1.accountId, deviceId: null });
  const bSockets = new Map([[b1, b1Socket]]);
  await step('3 B links two companions and publishes its signed device list', async () => {
    await linkCompanion(server, b1, b2, { keyIndex: 1, timestampMs: timestamp(), name: 'B laptop', keys: await b2.newKeySet() });
    bSockets.set(b2, await connectFresh(server, b2, sockets));
    await linkCompanion(server, b1, b3, { keyIndex: 2, timestampMs: timestamp(), name: 'B desktop', keys: await b3.newKeySet() });
    bSockets.set(b3, await connectFresh(server, b3, sockets, { query: true }));
    checkEqual([b2.deviceId, b3.deviceId], [2, 3], 'device ids given to B\'s companions');
    const { list, signature } = signedDeviceList(b1, { timestampMs: timestamp(), currentIndex: 2, validIndexes: [1, 2] });
    await server.publishDeviceList(b1, list, signature);
    const links = await deviceListEvents(b1Socket, b1.accountId, 2, 'B\'s own two links');
    checkEqual(links, [links[0], links[0] + 1], `versions of B's links seen by ${b1.login}`);
    await expectDeviceListEvents(bSockets.get(b2), b1.accountId, [links[1], links[1] + 1], 'the second link and the list');
    await expectDeviceListEvents(bSockets.get(b3), b1.accountId, [links[1] + 1], 'the list');
  });

  // 4. Each side verifies the other's devices itself, with libsignal: the device-list signature, and each companion's
  //    accountSignature and deviceSignature; and knows them for the identities those devices made.
  const verified = await step('4 each device verifies the other account\'s devices (ADV signatures)', async () => {
    const expectRegistry = (registry, primary, companions, what) => {
      checkEqual(
        { primaryIdentityKey: registry.primaryIdentityKey, list: { currentIndex: registry.list?.currentIndex, validIndexes: registry.list?.validIndexes } },
        { primaryIdentityKey: primary.identityKey, list: { currentIndex: 2, validIndexes: [1, 2] } }, `${what}: primary and list`);
      checkEqual(registry.devices, [primary, ...companions].map((device, keyIndex) => ({
        deviceId: device.deviceId, registrationId: device.registrationId, identityKey: device.identityKey, keyIndex,
      })), `${what}: devices`);
    };
    const of = new Map();
    for (const [reader, target, primary, companions] of [
      [b1, a1.accountId, a1, [a2, a3]], [b2, a1.accountId, a1, [a2, a3]], [b3, a1.accountId, a1, [a2, a3]],
      [a1, b1.accountId, b1, [b2, b3]], [a2, b1.accountId, b1, [b2, b3]], [a3, b1.accountId, b1, [b2, b3]],
      [a1, a1.accountId, a1, [a2, a3]], [b2, b1.accountId, b1, [b2, b3]],
    ]) {
      const answer = await server.accountDevices(reader, target);
      const registry = verifyDevices(answer, target);
      expectRegistry(registry, primary, companions, `GET /v1/accounts/${target}/devices by ${reader.login}`);
      of.set(`${reader.login}>${target}`, registry);

      // The checks are real: one flipped bit in any signature makes verification fail.
      const flip = (base64) => {
        const bytes = Buffer.from(base64, 'base64');
        bytes[5] ^= 0x01;
        return toBase64(bytes);
      };
      const tampered = [
        ['device list signature', { ...answer, deviceList: { ...answer.deviceList, signature: flip(answer.deviceList.signature) } }],
        ...answer.devices.filter((d) => d.deviceId !== 1).flatMap((d) => [
          [`accountSignature of device ${d.deviceId}`, { ...answer, devices: answer.devices.map((e) => (e === d ? { ...e, accountSignature: flip(e.accountSignature) } : e)) }],
          [`deviceSignature of device ${d.deviceId}`, { ...answer, devices: answer.devices.map((e) => (e === d ? { ...e, deviceSignature: flip(e.deviceSignature) } : e)) }],
        ]),
      ];
      for (const [what, copy] of tampered) {
        let refused = false;
        try {
          verifyAccountDevices(copy, target);
        } catch (error) {
          refused = error instanceof ProtocolError && /verify/.test(error.message);
        }
        check(refused, `a tampered ${what} of ${target} still verified`);
      }
    }
    return of;
  });

  // 5. Each of A's devices sends one message to B (every B device) and sync copies to A's other devices.
  const toB = new Map([[b1, []], [b2, []], [b3, []]]);
  const toA = new Map([[a1, []], [a2, []], [a3, []]]);
  const aDevices = [a1, a2, a3];
  const bDevices = [b1, b2, b3];
  const deviceOf = (accountDevices, deviceId) => accountDevices.find((device) => device.deviceId === deviceId);
  await step('5 each A device sends to every B device and sync copies to its own devices', async () => {
    for (const sender of aDevices) {
      const plaintext = utf8(`hello B from ${sender.login} — message ${sender.deviceId} ✓`);
      const sentAt = timestamp();
      const { answer, sent } = await sendToAccount(server, sender, b1.accountId, verified.get(`${sender.login}>${b1.accountId}`),
        plaintext, sentAt, `${sender.login} to B`);
      checkEqual(answer, { needsSync: true }, `PUT /v1/messages/${b1.accountId} by ${sender.login} (A has 3 devices)`);
      for (const [deviceId, { type }] of sent) {
        check(type === Signal.CiphertextMessageType.PreKey, `${sender.login} to ${b1.accountId}.${deviceId}: first message is ${typeName(type)}, not PreKey`);
        toB.get(deviceOf(bDevices, deviceId)).push({ from: sender, type, timestamp: sentAt, plaintext });
      }

      const syncText = utf8(`sync: ${sender.login} told ${b1.accountId} "${Buffer.from(plaintext).toString()}"`);
      const syncAt = timestamp();
      const ownRegistry = verifyDevices(await server.accountDevices(sender, a1.accountId), a1.accountId);
      const sync = await sendToAccount(server, sender, a1.accountId, ownRegistry, syncText, syncAt, `${sender.login} sync copies`);
      checkEqual([...sync.sent.keys()], aDevices.filter((d) => d !== sender).map((d) => d.deviceId), `${sender.login}: sync copies went to`);
      for (const [deviceId, { type }] of sync.sent) {
        toA.get(deviceOf(aDevices, deviceId)).push({ from: sender, type, timestamp: syncAt, plaintext: syncText });
      }
    }
  });

  // 6. Every B device receives exactly its three envelopes and decrypts them; A's devices get their sync copies.
  const received = await step('6 every device receives, decrypts and acks exactly its own envelopes', async () => {
    const counts = { b: 0, sync: 0 };
    for (const device of bDevices) {
      const kinds = await receiveExactly(server, device, bSockets.get(device), toB.get(device), `B device ${device.deviceId} from A's devices`);
      checkEqual(kinds, ['PreKey', 'PreKey', 'PreKey'], `${device.login}: kinds of message decrypted`);
      counts.b += kinds.length;
    }
    for (const device of aDevices) {
      const kinds = await receiveExactly(server, device, aSockets.get(device), toA.get(device), `A device ${device.deviceId} sync copies`);
      check(kinds.length === 2, `${device.login}: expected 2 sync copies, decrypted ${kinds.length}`);
      counts.sync += kinds.length;
    }
    return counts;
  });

  // 7. B's device 2 replies to every A device over the sessions that A's messages set up (Whisper messages), with sync
  //    copies to B's other devices; every one decrypts it.
  await step('7 a B device replies to every A device over the established sessions', async () => {
    const sender = b2;
    const plaintext = utf8(`reply from ${sender.login} to all of ${a1.accountId} ✓`);
    const sentAt = timestamp();
    for (const device of aDevices) {
      check(await sender.hasSession(device.address), `${sender.login} has no session with ${device.login} after decrypting its message`);
    }
    const { answer, sent } = await sendToAccount(server, sender, a1.accountId, verified.get(`${sender.login}>${a1.accountId}`), plaintext, sentAt, `${sender.login} to A`);
    checkEqual(answer, { needsSync: true }, `PUT /v1/messages/${a1.accountId} by ${sender.login}`);
    for (const [deviceId, { type }] of sent) {
      check(type === Signal.CiphertextMessageType.Whisper, `${sender.login} to ${a1.accountId}.${deviceId}: reply is ${typeName(type)}, not Whisper`);
    }
    const syncText = utf8(`sync: ${sender.login} replied to ${a1.accountId}`);
    const syncAt = timestamp();
    const sync = await sendToAccount(server, sender, b1.accountId, verified.get(`${sender.login}>${b1.accountId}`), syncText, syncAt, `${sender.login} sync copies`);
    checkEqual([...sync.sent.keys()], [1, 3], `${sender.login}: sync copies went to`);

    for (const device of aDevices) {
      const kinds = await receiveExactly(server, device, aSockets.get(device),
        [{ from: sender, type: Signal.CiphertextMessageType.Whisper, timestamp: sentAt, plaintext }], `A device ${device.deviceId} reply`);
      checkEqual(kinds, ['Whisper'], `${device.login}: reply decrypted as`);
    }
    for (const device of [b1, b3]) {
      await receiveExactly(server, device, bSockets.get(device),
        [{ from: sender, type: sync.sent.get(device.deviceId).type, timestamp: syncAt, plaintext: syncText }], `B device ${device.deviceId} sync copy of the reply`);
    }
    for (const socket of sockets) {
      check(socket.closed === null, `${socket.name} was closed: ${JSON.stringify(socket.closed)}`);
    }
  });

  return `${NAME}: OK: A ${a1.accountId} (3 devices) and B ${b1.accountId} (3 devices) linked companions with libsignal ADV signatures `
    + `and signed lists; B's primary saw A's device-list versions ${aVersions.join(',')}; each side verified the other's list and `
    + `companion signatures; ${received.b} PreKey messages A→B and ${received.sync} sync copies decrypted on the right devices `
    + `and acked (queues empty); 3 Whisper replies B→A decrypted (libsignal-client ${libsignalVersion()})`
    + (serverNotes.size > 0 ? `; tolerated: ${[...serverNotes].join('; ')}` : '');
}

await runner.run(main, () => {
  for (const note of serverNotes) {
    console.error(`${NAME}: NOTE: server deviates from the protocol: ${note}`);
  }
});
