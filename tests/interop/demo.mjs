// Usage: node demo.mjs [baseUrl]        (default http://127.0.0.1:8080; tests/interop/demo.sh installs what it needs)
//
// The whole product as a story, told by real libsignal clients against a running server: Alice and Bob register
// with verification codes, Alice links her laptop by the QR flow, messages go both ways to every device, Bob calls
// Alice and her laptop answers. Every key, signature and ciphertext is libsignal's; the server only ever sees
// ciphertext. It reads the verification codes where the development sender writes them, so it runs against a server
// on this machine started as the README's first command starts it. Exits 0 after the last line of the story, or 1
// with what went wrong.
import * as Signal from '@signalapp/libsignal-client';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  Adv, DeviceSocket, Device, ProtocolError, Server, check, fromBase64, libsignalVersion, newAccountId, preKeyBundle,
  signedDeviceList, toBase64, verifyAccountDevices,
} from './client.mjs';

const FRAME_TIMEOUT_MS = 15_000;
const base = (process.argv[2] ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const server = new Server(base);
const sockets = [];
const utf8 = (text) => new TextEncoder().encode(text);
const text = (bytes) => Buffer.from(bytes).toString('utf8');
const base64url = (bytes) => Buffer.from(bytes).toString('base64url');
let chapter = 0;

function say(line) {
  console.log(`   ${line}`);
}

function heading(title) {
  console.log(`\n${++chapter}. ${title}`);
}

/** A device's readable name in the story. */
const names = new Map();
const nameOf = (device) => names.get(device) ?? device.login;

async function registerPrimary(person, pronoun, phoneName) {
  const phone = new Device({ accountId: newAccountId() });
  names.set(phone, `${person}'s ${phoneName}`);
  // Registration asks for the code itself (POST /v1/accounts/verification) and reads it from the development sender.
  await server.register(phone, { ...await phone.newKeySet(), name: phoneName });
  say(`${person} asks for a verification code for ${phone.accountId}; the server "texts" it (development sender:`);
  say(`the code is in its log and in cluster-verification-codes/${phone.accountId}.code), and ${person} registers`);
  say(`${pronoun} ${phoneName} with it as device 1: identity key, signed prekey, Kyber prekey and one-time keys, all libsignal's.`);
  return phone;
}

async function connect(device) {
  const socket = await server.connect(device);
  sockets.push(socket);
  await socket.queueEmpty(FRAME_TIMEOUT_MS);
  return socket;
}

// ---- The QR provisioning flow: what the new device shows, and the primary's sealed message -------------------------
// The server relays the provisioning message unread (docs/devices.md): its encryption is the two clients' business.
// Here: an ephemeral X25519 agreement with the new device's identity key (libsignal), HKDF-SHA256, AES-256-GCM.

const PROVISIONING_INFO = 'cluster demo provisioning message v1';

function provisioningKey(sharedSecret) {
  return Buffer.from(hkdfSync('sha256', sharedSecret, Buffer.alloc(32), PROVISIONING_INFO, 32));
}

function sealProvisioning(recipientIdentityKey, message) {
  const ephemeral = Signal.PrivateKey.generate();
  const key = provisioningKey(ephemeral.agree(Signal.PublicKey.deserialize(recipientIdentityKey)));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(JSON.stringify(message), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return toBase64(Buffer.concat([ephemeral.getPublicKey().serialize(), iv, sealed]));
}

function openProvisioning(identity, body) {
  const bytes = Buffer.from(fromBase64(body, 'provisioning body'));
  const ephemeral = Signal.PublicKey.deserialize(bytes.subarray(0, 33));
  const iv = bytes.subarray(33, 45);
  const decipher = createDecipheriv('aes-256-gcm', provisioningKey(identity.privateKey.agree(ephemeral)), iv);
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(45, bytes.length - 16)), decipher.final()]).toString('utf8'));
}

async function linkByQrCode(primary, person, deviceName) {
  // The new device: no account yet, only its own identity key. It opens the provisioning socket and shows the QR code.
  const device = new Device({ accountId: 'unknown', deviceId: 0 });
  names.set(device, `${person}'s ${deviceName}`);
  const url = new URL(`${base}/v1/provisioning`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const provisioning = await DeviceSocket.open(url, {}, `provisioning socket of the ${deviceName}`, FRAME_TIMEOUT_MS);
  const { address } = await provisioning.take((frame) => frame.kind === 'address', 'the provisioning address', FRAME_TIMEOUT_MS);
  const qrCode = `cluster://link?address=${address}&pub=${base64url(device.identity.publicKey.serialize())}`;
  say(`The ${deviceName} opens a provisioning socket and shows a QR code: ${qrCode.slice(0, 60)}...`);

  // The primary scans it: a link token, the linking metadata and its signature over the new device's identity key
  // (Automatic Device Verification), sealed for the key in the code.
  const scanned = new URL(qrCode);
  const companionKey = Buffer.from(scanned.searchParams.get('pub'), 'base64url');
  const { token } = await server.linkToken(primary);
  const keyIndex = 1;
  const linkingMetadata = Adv.linkingMetadata(primary.accountId, keyIndex, Date.now());
  const accountSignature = primary.identity.privateKey.sign(Adv.accountMessage(linkingMetadata, companionKey));
  const body = sealProvisioning(companionKey, {
    accountId: primary.accountId,
    token,
    keyIndex,
    linkingMetadata: toBase64(linkingMetadata),
    accountSignature: toBase64(accountSignature),
    primaryIdentityKey: primary.identityKey,
  });
  const put = await server.request('PUT', `/v1/provisioning/${scanned.searchParams.get('address')}`, { device: primary, json: { body } });
  check(put.status === 204, `PUT /v1/provisioning: expected 204, got ${put.status} ${JSON.stringify(put.body)}`);
  say(`${person}'s phone scans it, asks for a link token, signs the ${deviceName}'s identity key and sends the sealed`);
  say(`provisioning message (${body.length} characters the server relays and cannot read).`);

  // The new device opens it, signs both identity keys itself and links with its own keys.
  const { body: received } = await provisioning.take((frame) => frame.kind === 'provision', 'the provisioning message', FRAME_TIMEOUT_MS);
  await provisioning.close();
  const message = openProvisioning(device.identity, received);
  device.accountId = message.accountId;
  const metadata = fromBase64(message.linkingMetadata, 'linkingMetadata');
  const deviceSignature = device.identity.privateKey.sign(
    Adv.deviceMessage(metadata, device.identity.publicKey.serialize(), fromBase64(message.primaryIdentityKey, 'primaryIdentityKey')));
  await server.link(device, {
    token: message.token,
    keyIndex: message.keyIndex,
    linkingMetadata: metadata,
    accountSignature: fromBase64(message.accountSignature, 'accountSignature'),
    deviceSignature,
    name: deviceName,
  }, await device.newKeySet());
  const list = signedDeviceList(primary, { timestampMs: Date.now(), currentIndex: keyIndex, validIndexes: [keyIndex] });
  await server.publishDeviceList(primary, list.list, list.signature);
  say(`The ${deviceName} decrypts it, countersigns, and links itself as device ${device.deviceId} of ${device.accountId};`);
  say(`${person}'s phone publishes the signed device list [phone, ${deviceName}].`);
  return device;
}

// ---- Messages: the sender verifies the recipient's devices, encrypts once per device, sends once ------------------

/** Encrypts `plaintext` for every device of `accountId` but the sender (sessions from bundles where needed); sends it. */
async function sendToEveryDevice(sender, accountId, plaintext) {
  const registry = verifyAccountDevices(await server.accountDevices(sender, accountId), accountId);
  const targets = registry.devices.filter((target) => !(accountId === sender.accountId && target.deviceId === sender.deviceId));
  const messages = [];
  for (const target of targets) {
    const address = Signal.ProtocolAddress.new(accountId, target.deviceId);
    if (!await sender.hasSession(address)) {
      const bundle = await server.fetchBundles(sender, accountId, target.deviceId);
      check(bundle.identityKey === registry.primaryIdentityKey, `${accountId}: bundle identity is not the verified one`);
      await sender.startSession(address, preKeyBundle(bundle.devices[0]));
    }
    const { type, content } = await sender.encrypt(address, utf8(plaintext));
    messages.push({ deviceId: target.deviceId, registrationId: await sender.remoteRegistrationId(address), type, content: toBase64(content) });
  }
  const answer = await server.sendMessages(sender, accountId, { messages, timestamp: Date.now(), urgent: true });
  check(answer.status === 200, `PUT /v1/messages/${accountId}: expected 200, got ${answer.status} ${JSON.stringify(answer.body)}`);
  return registry;
}

/** The next envelope on `socket`, decrypted by `device`, acked; returns the plaintext. */
async function receive(device, socket, from) {
  const envelope = await socket.envelope(`a message for ${nameOf(device)}`, FRAME_TIMEOUT_MS);
  check(envelope.sourceAccount === from.accountId && envelope.sourceDevice === from.deviceId,
    `${nameOf(device)}: envelope from ${envelope.sourceAccount}.${envelope.sourceDevice}, expected ${from.login}`);
  const plaintext = text(await device.decrypt(from.address, envelope.type, fromBase64(envelope.content, 'content')));
  socket.ack([envelope.id]);
  say(`${nameOf(device)} decrypts "${plaintext}" (${envelope.type === Signal.CiphertextMessageType.PreKey ? 'a PreKey message: a new session' : 'over the session'}) and acks it; the server deletes it.`);
  return plaintext;
}

// ---- Calls: one sealed SRTP master secret per callee device; the first answer wins ---------------------------------

async function seal(sender, accountId, deviceId, bytes) {
  const { type, content } = await sender.encrypt(Signal.ProtocolAddress.new(accountId, deviceId), bytes);
  return toBase64(Buffer.concat([Buffer.from([type]), content]));
}

async function unseal(device, from, payload) {
  const bytes = Buffer.from(fromBase64(payload, 'payload'));
  return device.decrypt(from, bytes[0], bytes.subarray(1));
}

async function main() {
  console.log(`Cluster demo against ${base}: real libsignal ${libsignalVersion()} clients; the server sees only ciphertext.`);

  heading('Alice and Bob register with verification codes');
  const alicePhone = await registerPrimary('Alice', 'her', 'phone');
  const bobPhone = await registerPrimary('Bob', 'his', 'phone');
  const alicePhoneSocket = await connect(alicePhone);
  const bobSocket = await connect(bobPhone);

  heading('Alice links her laptop by scanning a QR code');
  const laptop = await linkByQrCode(alicePhone, 'Alice', 'laptop');
  const laptopSocket = await connect(laptop);
  const own = (await server.ownDevices(laptop)).devices.map((device) => `${device.deviceId} ${device.name ?? ''}`.trim());
  say(`GET /v1/devices on the laptop: ${own.join(', ')}.`);

  heading('Bob writes to Alice: one ciphertext per device, one request');
  const registry = await sendToEveryDevice(bobPhone, alicePhone.accountId, 'Hi Alice, dinner at eight?');
  say(`Bob's phone verified Alice's ${registry.devices.length} devices (device list signed by her primary identity key,`);
  say('the laptop vouched for by both signatures), made a session with each and sent one request with both copies.');
  await receive(alicePhone, alicePhoneSocket, bobPhone);
  await receive(laptop, laptopSocket, bobPhone);

  heading('Alice answers from her laptop; her phone gets the sync copy');
  await sendToEveryDevice(laptop, bobPhone.accountId, 'Yes! See you there.');
  await sendToEveryDevice(laptop, alicePhone.accountId, 'Yes! See you there.');
  await receive(bobPhone, bobSocket, laptop);
  await receive(alicePhone, alicePhoneSocket, laptop);

  heading('Bob calls Alice: every device rings, the first answer wins');
  const offers = [];
  for (const device of [alicePhone, laptop]) {
    offers.push({
      deviceId: device.deviceId,
      registrationId: await bobPhone.remoteRegistrationId(device.address),
      payload: await seal(bobPhone, alicePhone.accountId, device.deviceId, randomBytes(32)),
    });
  }
  const placed = await server.request('POST', '/v1/calls', { device: bobPhone, json: { to: alicePhone.accountId, offers } });
  check(placed.status === 201, `POST /v1/calls: expected 201, got ${placed.status} ${JSON.stringify(placed.body)}`);
  const { callId } = placed.body;
  for (const [device, socket] of [[alicePhone, alicePhoneSocket], [laptop, laptopSocket]]) {
    const offer = await socket.event('callOffer', (event) => event.callId === callId, `the call offer on ${nameOf(device)}`, FRAME_TIMEOUT_MS);
    const secret = await unseal(device, bobPhone.address, offer.payload);
    check(secret.length === 32, `${nameOf(device)}: SRTP master secret of ${secret.length} bytes`);
    say(`${nameOf(device)} rings; it unseals its own SRTP master secret (${Buffer.from(secret).subarray(0, 4).toString('hex')}...).`);
  }
  const answer = await server.request('POST', `/v1/calls/${callId}/answer`, {
    device: laptop, json: { payload: await seal(laptop, bobPhone.accountId, bobPhone.deviceId, utf8('answer: opus, vp8')) },
  });
  check(answer.status === 200, `answer: expected 200, got ${answer.status} ${JSON.stringify(answer.body)}`);
  const late = await server.request('POST', `/v1/calls/${callId}/answer`, {
    device: alicePhone, json: { payload: await seal(alicePhone, bobPhone.accountId, bobPhone.deviceId, utf8('answer')) },
  });
  check(late.status === 409, `a second answer: expected 409, got ${late.status}`);
  const answered = await bobSocket.event('callAnswered', (event) => event.callId === callId, 'callAnswered', FRAME_TIMEOUT_MS);
  say(`The laptop answers first; Bob's phone hears it (byDevice ${answered.byDevice}: "${text(await unseal(bobPhone, laptop.address, answered.payload))}").`);
  await alicePhoneSocket.event('callAnsweredElsewhere', (event) => event.callId === callId, 'callAnsweredElsewhere', FRAME_TIMEOUT_MS);
  say(`Alice's phone answers a moment later: 409 ${late.body.error}; it has been told callAnsweredElsewhere and stops ringing.`);
  const hangup = await server.request('POST', `/v1/calls/${callId}/hangup`, { device: bobPhone });
  check(hangup.status === 204, `hangup: expected 204, got ${hangup.status}`);
  const ended = await laptopSocket.event('callEnded', (event) => event.callId === callId, 'callEnded', FRAME_TIMEOUT_MS);
  say(`Bob hangs up; the laptop gets callEnded (${ended.reason}). Media would have flowed device to device.`);

  heading('Nothing delivered stays on the server');
  for (const device of [alicePhone, laptop, bobPhone]) {
    let left = await server.fetchMessages(device);
    for (let i = 0; i < 50 && left.envelopes.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // acks go up the socket unanswered
      left = await server.fetchMessages(device);
    }
    check(left.envelopes.length === 0, `${nameOf(device)} still has ${left.envelopes.length} envelopes stored`);
  }
  say('Every inbox is empty: each envelope was deleted when its device acked it.');
  console.log('\ndemo: OK');
}

const overall = setTimeout(() => {
  console.error('demo: FAILED: the story took longer than 90 s');
  process.exit(1);
}, 90_000);
try {
  await main();
  clearTimeout(overall);
} catch (error) {
  clearTimeout(overall);
  const hint = error instanceof ProtocolError && /no answer from/.test(error.message)
    ? `\n(is the server running? start it with: dotnet run --project src/Cluster.Silo)` : '';
  console.error(`demo: FAILED in chapter ${chapter}: ${error?.message ?? error}${hint}`);
  process.exitCode = 1;
} finally {
  await Promise.all(sockets.map((socket) => socket.close()));
}
