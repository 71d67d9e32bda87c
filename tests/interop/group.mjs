// Usage: node group.mjs <baseUrl>
//
// Real libsignal sender keys through the server at <baseUrl>: three accounts (A, B, C) of three devices each (the
// primary and two linked companions) in one group. Every device distributes its sender key (a libsignal
// SenderKeyDistributionMessage) to the other eight over real pairwise sessions, as ordinary direct envelopes, then
// uploads one groupEncrypt ciphertext with PUT /v1/groups/{id}/messages; each of the eight decrypts it with
// groupDecrypt. Then A removes C: a send with the old key and the old view is refused with 409 naming C, and after
// rotating (a new sender key distributed to the remaining devices only) C's devices receive nothing. Exits 0 with one
// summary line, or non-zero naming the step that failed. See README.md.
import { randomUUID } from 'node:crypto';
import * as Signal from '@signalapp/libsignal-client';
import {
  Device, Server, check, checkEqual, fromBase64, libsignalCall as libsignal, libsignalVersion,
  linkCompanion, preKeyBundle, signedDeviceList, toBase64, verifyAccountDevices,
  stepRunner,
} from './client.mjs';

const NAME = 'group';
const OVERALL_TIMEOUT_MS = 150_000;
const FRAME_TIMEOUT_MS = 20_000;
const DRAIN_TIMEOUT_MS = 5_000;

const runner = stepRunner(NAME, OVERALL_TIMEOUT_MS);
const step = runner.step;

const utf8 = (value) => new TextEncoder().encode(value);
const sameBytes = (a, b) => Buffer.from(a).equals(Buffer.from(b));

/** Strictly increasing timestamps for signed device lists and sends, however fast the steps run. */
let lastTimestamp = 0;
function timestamp() {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return lastTimestamp;
}

/**
 * One account of the group: its primary and two companions, each on its own socket, with its signed device list
 * published. `devices[0]` is the primary.
 */
async function newAccount(server, name, sockets) {
  const primary = new Device();
  await server.register(primary, { name: `${name} phone`, ...await primary.newKeySet({ oneTime: 10, kemOneTime: 10 }) });
  const devices = [primary];
  for (const keyIndex of [1, 2]) {
    const companion = new Device({ accountId: primary.accountId, deviceId: null });
    await linkCompanion(server, primary, companion, {
      keyIndex, timestampMs: timestamp(), name: `${name} companion ${keyIndex}`, keys: await companion.newKeySet({ oneTime: 10, kemOneTime: 10 }),
    });
    devices.push(companion);
  }
  checkEqual(devices.map((d) => d.deviceId), [1, 2, 3], `device ids of ${name}`);
  const { list, signature } = signedDeviceList(primary, { timestampMs: timestamp(), currentIndex: 2, validIndexes: [1, 2] });
  await server.publishDeviceList(primary, list, signature);
  const socketOf = new Map();
  for (const device of devices) {
    const socket = await server.connect(device);
    sockets.push(socket);
    await socket.queueEmpty(FRAME_TIMEOUT_MS);
    check(!socket.pending.some((frame) => frame.kind === 'envelope'), `${socket.name}: a new device got envelopes`);
    socketOf.set(device, socket);
  }
  return { name, accountId: primary.accountId, devices, socketOf };
}

/**
 * What a sending device does to give `payload` to every device of `accounts` but itself over the pairwise sessions:
 * the devices come from the registries it verified (ADV signatures), a device it has a session with is encrypted to
 * over it, any other from a bundle whose identity key must be the verified one; one PUT /v1/messages per account.
 * Returns the group-send view of exactly those devices: [{accountId, devices: [{deviceId, registrationId}]}].
 */
async function sendPairwise(server, sender, accounts, registries, payload, what) {
  const view = [];
  const sentAt = timestamp();
  for (const account of accounts) {
    const registry = registries.get(`${sender.login}>${account.accountId}`);
    const own = account.accountId === sender.accountId;
    const targets = registry.devices.filter((device) => !(own && device.deviceId === sender.deviceId));
    const address = (deviceId) => Signal.ProtocolAddress.new(account.accountId, deviceId);
    const withoutSession = [];
    for (const target of targets) {
      if (!await sender.hasSession(address(target.deviceId))) {
        withoutSession.push(target);
      }
    }
    if (withoutSession.length > 0) {
      // Another account's devices at once; the own account's one at a time, so no own one-time key is used up twice.
      const answers = own
        ? await Promise.all(withoutSession.map((target) => server.fetchBundles(sender, account.accountId, target.deviceId)))
        : [await server.fetchBundles(sender, account.accountId, '*')];
      const entries = new Map(answers.flatMap((answer) => answer.devices ?? []).map((entry) => [entry.deviceId, entry]));
      for (const target of withoutSession) {
        const entry = entries.get(target.deviceId);
        check(entry, `${what}: GET /v1/keys/${account.accountId} has no bundle for device ${target.deviceId}`);
        checkEqual({ identityKey: entry.identityKey, registrationId: entry.registrationId },
          { identityKey: target.identityKey, registrationId: target.registrationId },
          `${what}: bundle of ${account.accountId}.${target.deviceId} against its verified identity`);
        await libsignal(`${what}: processPreKeyBundle for ${account.accountId}.${target.deviceId}`,
          () => sender.startSession(address(target.deviceId), preKeyBundle(entry)));
      }
    }
    const messages = [];
    for (const target of targets) {
      const registrationId = await sender.remoteRegistrationId(address(target.deviceId));
      check(registrationId === target.registrationId,
        `${what}: the session with ${account.accountId}.${target.deviceId} has registration id ${registrationId}, verified ${target.registrationId}`);
      const message = await libsignal(`${what}: signalEncrypt for ${account.accountId}.${target.deviceId}`,
        () => sender.encrypt(address(target.deviceId), payload));
      messages.push({ deviceId: target.deviceId, registrationId, type: message.type, content: toBase64(message.content) });
    }
    if (messages.length > 0) {
      const answer = await server.sendMessages(sender, account.accountId, { messages, timestamp: sentAt, urgent: true });
      check(answer.status === 200, `${what}: PUT /v1/messages/${account.accountId} by ${sender.login}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    view.push({ accountId: account.accountId, devices: targets.map(({ deviceId, registrationId }) => ({ deviceId, registrationId })) });
  }
  return view;
}

/** Takes the next envelope from `sender` of the given kind (group or direct) at `device`, checks its addressing, acks it. */
async function takeFrom(device, socket, sender, group, what) {
  const frame = await socket.take(
    (f) => f.kind === 'envelope' && f.envelope?.sourceAccount === sender.accountId && f.envelope?.sourceDevice === sender.deviceId
      && (f.envelope?.type === Signal.CiphertextMessageType.SenderKey) === group,
    `${what} from ${sender.login}`, FRAME_TIMEOUT_MS);
  const envelope = frame.envelope;
  check(envelope.destinationDevice === device.deviceId, `${what} at ${device.login}: destinationDevice ${envelope.destinationDevice}`);
  check(Number.isInteger(envelope.serverTimestamp) && envelope.serverTimestamp > 0, `${what} at ${device.login}: serverTimestamp ${envelope.serverTimestamp}`);
  socket.ack([envelope.id]);
  return envelope;
}

/**
 * One sender-key round of `sender` to every other device of `accounts` (its own account among them): a sender key for
 * `distributionId` distributed over the pairwise sessions, every receiver processes it, one groupEncrypt ciphertext
 * through the group send, and every receiver decrypts it with groupDecrypt. Returns {view, content, plaintext}.
 */
async function senderKeyRound(server, groupId, sender, accounts, registries, distributionId, text) {
  const what = `${sender.login}'s sender key`;
  const distribution = await libsignal(`${what}: SenderKeyDistributionMessage.create`,
    () => Signal.SenderKeyDistributionMessage.create(sender.address, distributionId, sender.senderKeys));
  const view = await sendPairwise(server, sender, accounts, registries, distribution.serialize(), what);
  const receivers = accounts.flatMap((account) => account.devices.map((device) => [device, account.socketOf.get(device)])).filter(([d]) => d !== sender);

  for (const [device, socket] of receivers) {
    const envelope = await takeFrom(device, socket, sender, false, 'the sender key distribution');
    const plaintext = await libsignal(`${what} at ${device.login}: decrypt the distribution (type ${envelope.type})`,
      () => device.decrypt(sender.address, envelope.type, fromBase64(envelope.content, 'content')));
    const received = await libsignal(`${what} at ${device.login}: SenderKeyDistributionMessage.deserialize`,
      () => Signal.SenderKeyDistributionMessage.deserialize(plaintext));
    checkEqual(received.distributionId(), distributionId, `${what} at ${device.login}: distribution id`);
    await libsignal(`${what} at ${device.login}: processSenderKeyDistributionMessage`,
      () => Signal.processSenderKeyDistributionMessage(sender.address, received, device.senderKeys));
  }

  const plaintext = utf8(text);
  const message = await libsignal(`${what}: groupEncrypt`, () => Signal.groupEncrypt(sender.address, distributionId, sender.senderKeys, plaintext));
  check(message.type() === Signal.CiphertextMessageType.SenderKey, `${what}: groupEncrypt made a message of type ${message.type()}`);
  const content = message.serialize();
  const sentAt = timestamp();
  const answer = await server.sendGroupMessage(sender, groupId, { recipients: view, content: toBase64(content), timestamp: sentAt, urgent: true });
  checkEqual({ status: answer.status, body: answer.body }, { status: 200, body: { groupId } }, `PUT /v1/groups/${groupId}/messages by ${sender.login}`);

  for (const [device, socket] of receivers) {
    const envelope = await takeFrom(device, socket, sender, true, 'the group message');
    checkEqual({ groupId: envelope.groupId, timestamp: envelope.timestamp, urgent: envelope.urgent }, { groupId, timestamp: sentAt, urgent: true },
      `group message of ${sender.login} at ${device.login}`);
    const bytes = fromBase64(envelope.content, 'content');
    check(sameBytes(bytes, content), `group message of ${sender.login} at ${device.login}: content is not the uploaded ciphertext`);
    const decrypted = await libsignal(`group message of ${sender.login} at ${device.login}: groupDecrypt`,
      () => Signal.groupDecrypt(sender.address, device.senderKeys, bytes));
    check(sameBytes(decrypted, plaintext), `group message of ${sender.login} at ${device.login}: decrypted ${JSON.stringify(Buffer.from(decrypted).toString())}`);
  }
  return { view, content, plaintext, receivers: receivers.length };
}

/** No envelope waits on the device's socket, and GET /v1/messages is empty once the acks (unanswered) are applied. */
async function expectDrained(server, device, socket, what) {
  const extra = socket.pending.filter((frame) => frame.kind === 'envelope');
  check(extra.length === 0, `${what}: ${device.login} got envelopes beyond its own: ${JSON.stringify(extra).slice(0, 400)}`);
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const left = await server.fetchMessages(device);
    if (Array.isArray(left?.envelopes) && left.envelopes.length === 0 && left.more === false) {
      return;
    }
    check(Date.now() < deadline, `${what}: GET /v1/messages for ${device.login} still holds ${JSON.stringify(left).slice(0, 400)} ${DRAIN_TIMEOUT_MS} ms after the acks`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function expectGroupChanged(accounts, groupId, membershipVersion, what) {
  for (const account of accounts) {
    for (const device of account.devices) {
      await account.socketOf.get(device).event('groupChanged', (e) => e.groupId === groupId && e.membershipVersion === membershipVersion,
        `groupChanged version ${membershipVersion} (${what})`, FRAME_TIMEOUT_MS);
    }
  }
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
  // 1. Three accounts, each a primary and two linked companions, all nine on their own sockets.
  const [a, b, c] = await step('1 A, B and C register and link two companions each', async () => [
    await newAccount(server, 'A', sockets), await newAccount(server, 'B', sockets), await newAccount(server, 'C', sockets),
  ]);
  const all = [a, b, c];
  const everyDevice = all.flatMap((account) => account.devices);

  // 2. Every device verifies every account's devices (ADV signatures), as a sender must before it encrypts to them.
  const registries = await step('2 every device verifies the devices of every account', async () => {
    const of = new Map();
    for (const reader of everyDevice) {
      for (const account of all) {
        const registry = verifyAccountDevices(await server.accountDevices(reader, account.accountId), account.accountId);
        checkEqual(registry.devices.map((d) => [d.deviceId, d.identityKey, d.registrationId]),
          account.devices.map((d) => [d.deviceId, d.identityKey, d.registrationId]), `devices of ${account.name} as ${reader.login} verified them`);
        of.set(`${reader.login}>${account.accountId}`, registry);
      }
    }
    return of;
  });

  // 3. A's primary creates the group; all nine devices hear of it.
  const groupId = await step('3 A creates the group of A, B and C', async () => {
    const group = await server.createGroup(a.devices[0], [b.accountId, c.accountId]);
    checkEqual({ members: group.members, admins: group.admins, membershipVersion: group.membershipVersion },
      { members: all.map((x) => x.accountId).sort(), admins: [a.accountId], membershipVersion: 1 }, 'POST /v1/groups');
    await expectGroupChanged(all, group.groupId, 1, 'the group was created');
    return group.groupId;
  });

  // 4. Every device distributes its sender key to the other eight and sends one group message they all decrypt.
  const distributionIds = new Map();
  const views = new Map();
  const decrypted = await step('4 every device distributes its sender key and sends one group message to the other eight', async () => {
    let count = 0;
    for (const sender of everyDevice) {
      const distributionId = randomUUID();
      distributionIds.set(sender, distributionId);
      const round = await senderKeyRound(server, groupId, sender, all, registries, distributionId, `group hello from ${sender.login} ✓`);
      check(round.receivers === 8, `${sender.login}: ${round.receivers} receivers, expected 8`);
      views.set(sender, round.view);
      count += round.receivers;
    }
    for (const account of all) {
      for (const device of account.devices) {
        await expectDrained(server, device, account.socketOf.get(device), 'after the nine group messages');
      }
    }
    return count;
  });

  // 5. A removes C; all nine devices (C's too, once) hear of it.
  const remaining = [a, b];
  await step('5 A removes C from the group', async () => {
    const group = await server.removeGroupMember(a.devices[0], groupId, c.accountId);
    checkEqual({ members: group.members, membershipVersion: group.membershipVersion },
      { members: remaining.map((x) => x.accountId).sort(), membershipVersion: 2 }, `DELETE /v1/groups/${groupId}/members/${c.accountId}`);
    await expectGroupChanged(all, groupId, 2, 'C was removed');
  });

  // 6. B's companion sends with its old sender key and its old view: 409 naming C; and C could have read it.
  const b2 = b.devices[1];
  await step('6 a send without rotation is refused with 409 naming the removed member', async () => {
    const plaintext = utf8('sent without rotating: C must not get this');
    const message = await libsignal('groupEncrypt with the old key', () => Signal.groupEncrypt(b2.address, distributionIds.get(b2), b2.senderKeys, plaintext));
    const answer = await server.sendGroupMessage(b2, groupId, { recipients: views.get(b2), content: toBase64(message.serialize()), timestamp: timestamp(), urgent: true });
    checkEqual({ status: answer.status, error: answer.body?.error, missingMembers: answer.body?.missingMembers, unknownMembers: answer.body?.unknownMembers, accounts: answer.body?.accounts },
      { status: 409, error: 'mismatched_devices', missingMembers: [], unknownMembers: [c.accountId], accounts: [] }, `PUT /v1/groups/${groupId}/messages with the old view`);
    const leaked = await libsignal('groupDecrypt of the refused message by C', () => Signal.groupDecrypt(b2.address, c.devices[2].senderKeys, message.serialize()));
    check(sameBytes(leaked, plaintext), 'C could not read a message under the old key: the refusal proved nothing');
  });

  // 7. B's companion and A's primary rotate: a new sender key, distributed to A's and B's devices only, then a send.
  const rotated = await step('7 after rotation the remaining devices decrypt and C\'s devices receive nothing', async () => {
    const rounds = [];
    for (const sender of [b2, a.devices[0]]) {
      const round = await senderKeyRound(server, groupId, sender, remaining, registries, randomUUID(), `after C left, from ${sender.login} ✓`);
      check(round.receivers === 5, `${sender.login}: ${round.receivers} receivers after the removal, expected 5`);
      check(!round.view.some((entry) => entry.accountId === c.accountId), `${sender.login}: the view still names C`);
      rounds.push([sender, round]);
    }
    for (const device of c.devices) {
      await expectDrained(server, device, c.socketOf.get(device), 'C after its removal');
      for (const [sender, round] of rounds) {
        let refused = false;
        try {
          await Signal.groupDecrypt(sender.address, device.senderKeys, round.content);
        } catch (error) {
          refused = error instanceof Error;
        }
        check(refused, `${device.login} decrypted ${sender.login}'s message under the rotated key`);
      }
    }
    for (const account of remaining) {
      for (const device of account.devices) {
        await expectDrained(server, device, account.socketOf.get(device), 'after the rotated messages');
      }
    }
    for (const socket of sockets) {
      check(socket.closed === null, `${socket.name} was closed: ${JSON.stringify(socket.closed)}`);
    }
    return rounds.reduce((sum, [, round]) => sum + round.receivers, 0);
  });

  return `${NAME}: OK: group ${groupId} of A ${a.accountId}, B ${b.accountId} and C ${c.accountId} (3 devices each); `
    + `9 sender keys distributed over pairwise sessions and ${decrypted} group messages decrypted with groupDecrypt; `
    + `after C's removal the old view got 409 naming C, and ${rotated} messages under rotated keys decrypted on A's and B's devices, `
    + `none reached C (libsignal-client ${libsignalVersion()})`;
}

await runner.run(main);
