// A minimal libsignal client of this server's protocol (docs/protocol.md): a device with real libsignal key
// material and in-memory stores, the signed structures of Automatic Device Verification (linking metadata, device
// lists), helpers for the HTTP endpoints a client calls, and a device's WebSocket. Scripts in this folder build on it.
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as Signal from '@signalapp/libsignal-client';

/** Standard base64 with padding, as the protocol's binary fields are. */
export function toBase64(bytes) {
  return Buffer.from(bytes).toString('base64');
}

/** Decodes a binary field, refusing anything that is not canonical standard base64 (Buffer would skip junk). */
export function fromBase64(text, what = 'value') {
  if (typeof text !== 'string') {
    throw new ProtocolError(`${what}: expected a base64 string, got ${JSON.stringify(text)}`);
  }
  const buffer = Buffer.from(text, 'base64');
  if (buffer.toString('base64') !== text) {
    throw new ProtocolError(`${what}: not canonical standard base64: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return new Uint8Array(buffer);
}

/** The server answered something a correct server would not. */
export class ProtocolError extends Error {}

/** A request answered with an unexpected status. */
export class HttpError extends ProtocolError {
  constructor(method, path, status, body) {
    super(`${method} ${path}: expected success, got ${status} ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** A fresh random E.164 account id (^\+[1-9][0-9]{6,14}$). */
export function newAccountId() {
  return `+1${randomInt(200, 1000)}${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
}

/** A fresh device password: 24 printable ASCII characters. */
export function newPassword() {
  return randomBytes(18).toString('base64');
}

const addressKey = (address) => `${address.name()}.${address.deviceId()}`;

export class MemorySessionStore extends Signal.SessionStore {
  #sessions = new Map();

  async saveSession(address, record) {
    this.#sessions.set(addressKey(address), record.serialize());
  }

  async getSession(address) {
    const bytes = this.#sessions.get(addressKey(address));
    return bytes ? Signal.SessionRecord.deserialize(bytes) : null;
  }

  async getExistingSessions(addresses) {
    return addresses.map((address) => {
      const bytes = this.#sessions.get(addressKey(address));
      if (!bytes) {
        throw new Error(`no session for ${addressKey(address)}`);
      }
      return Signal.SessionRecord.deserialize(bytes);
    });
  }
}

/** Sender keys (groups) by (sender address, distribution id), as libsignal's SenderKeyStore asks for them. */
export class MemorySenderKeyStore extends Signal.SenderKeyStore {
  #keys = new Map();

  async saveSenderKey(sender, distributionId, record) {
    this.#keys.set(`${addressKey(sender)}/${distributionId}`, record.serialize());
  }

  async getSenderKey(sender, distributionId) {
    const bytes = this.#keys.get(`${addressKey(sender)}/${distributionId}`);
    return bytes ? Signal.SenderKeyRecord.deserialize(bytes) : null;
  }
}

/** Trusts an identity on first use and then only that identity, as a client that never asks its user would. */
export class MemoryIdentityKeyStore extends Signal.IdentityKeyStore {
  #identity;
  #registrationId;
  #known = new Map();

  constructor(identity, registrationId) {
    super();
    this.#identity = identity;
    this.#registrationId = registrationId;
  }

  async getIdentityKey() {
    return this.#identity.privateKey;
  }

  async getLocalRegistrationId() {
    return this.#registrationId;
  }

  async saveIdentity(address, key) {
    const previous = this.#known.get(addressKey(address));
    this.#known.set(addressKey(address), key);
    return previous && !previous.equals(key) ? Signal.IdentityChange.ReplacedExisting : Signal.IdentityChange.NewOrUnchanged;
  }

  async isTrustedIdentity(address, key, _direction) {
    const known = this.#known.get(addressKey(address));
    return !known || known.equals(key);
  }

  async getIdentity(address) {
    return this.#known.get(addressKey(address)) ?? null;
  }
}

export class MemoryPreKeyStore extends Signal.PreKeyStore {
  #records = new Map();

  async savePreKey(id, record) {
    this.#records.set(id, record.serialize());
  }

  async getPreKey(id) {
    const bytes = this.#records.get(id);
    if (!bytes) {
      throw new Error(`no one-time prekey ${id}`);
    }
    return Signal.PreKeyRecord.deserialize(bytes);
  }

  async removePreKey(id) {
    this.#records.delete(id);
  }

  has(id) {
    return this.#records.has(id);
  }
}

export class MemorySignedPreKeyStore extends Signal.SignedPreKeyStore {
  #records = new Map();

  async saveSignedPreKey(id, record) {
    this.#records.set(id, record.serialize());
  }

  async getSignedPreKey(id) {
    const bytes = this.#records.get(id);
    if (!bytes) {
      throw new Error(`no signed prekey ${id}`);
    }
    return Signal.SignedPreKeyRecord.deserialize(bytes);
  }
}

/** One-time KEM keys are deleted once used; last-resort ones stay (libsignal tells which key was used, not its kind). */
export class MemoryKyberPreKeyStore extends Signal.KyberPreKeyStore {
  #records = new Map();
  #lastResort = new Set();

  async saveKyberPreKey(id, record) {
    this.#records.set(id, record.serialize());
  }

  markLastResort(id) {
    this.#lastResort.add(id);
  }

  async getKyberPreKey(id) {
    const bytes = this.#records.get(id);
    if (!bytes) {
      throw new Error(`no KEM prekey ${id}`);
    }
    return Signal.KyberPreKeyRecord.deserialize(bytes);
  }

  async markKyberPreKeyUsed(id, _signedPreKeyId, _baseKey) {
    if (!this.#lastResort.has(id)) {
      this.#records.delete(id);
    }
  }

  has(id) {
    return this.#records.has(id);
  }
}

/**
 * One device as a libsignal client holds it: its credentials, its identity and every private key it has published,
 * in the stores libsignal reads when it builds or accepts a session.
 */
export class Device {
  constructor({ accountId = newAccountId(), deviceId = 1, password = newPassword(), registrationId = randomInt(1, 16381), identity = Signal.IdentityKeyPair.generate() } = {}) {
    this.accountId = accountId;
    this.deviceId = deviceId;
    this.password = password;
    this.registrationId = registrationId;
    this.identity = identity;
    this.sessions = new MemorySessionStore();
    this.identities = new MemoryIdentityKeyStore(identity, registrationId);
    this.preKeys = new MemoryPreKeyStore();
    this.signedPreKeys = new MemorySignedPreKeyStore();
    this.kyberPreKeys = new MemoryKyberPreKeyStore();
    this.senderKeys = new MemorySenderKeyStore();
  }

  /** This device's libsignal address; a companion's changes once linking assigns its device id. */
  get address() {
    return Signal.ProtocolAddress.new(this.accountId, this.deviceId);
  }

  get login() {
    return `${this.accountId}.${this.deviceId}`;
  }

  get identityKey() {
    return toBase64(this.identity.publicKey.serialize());
  }

  /** A signed EC prekey, kept in the store; returns its upload form {keyId, publicKey, signature}. */
  async newSignedPreKey(keyId) {
    const privateKey = Signal.PrivateKey.generate();
    const publicKey = privateKey.getPublicKey();
    const signature = this.identity.privateKey.sign(publicKey.serialize());
    await this.signedPreKeys.saveSignedPreKey(keyId, Signal.SignedPreKeyRecord.new(keyId, Date.now(), publicKey, privateKey, signature));
    return { keyId, publicKey: toBase64(publicKey.serialize()), signature: toBase64(signature) };
  }

  /** A Kyber1024 prekey signed over its serialized public key (0x08 || 1568 bytes), kept in the store. */
  async newKemPreKey(keyId, { lastResort = false } = {}) {
    const keyPair = Signal.KEMKeyPair.generate();
    const publicKey = keyPair.getPublicKey().serialize();
    const signature = this.identity.privateKey.sign(publicKey);
    await this.kyberPreKeys.saveKyberPreKey(keyId, Signal.KyberPreKeyRecord.new(keyId, Date.now(), keyPair, signature));
    if (lastResort) {
      this.kyberPreKeys.markLastResort(keyId);
    }
    return { keyId, publicKey: toBase64(publicKey), signature: toBase64(signature) };
  }

  /** `count` unsigned one-time EC prekeys from `firstKeyId` on, kept in the store. */
  async newOneTimePreKeys(firstKeyId, count) {
    const keys = [];
    for (let keyId = firstKeyId; keyId < firstKeyId + count; keyId++) {
      const privateKey = Signal.PrivateKey.generate();
      const publicKey = privateKey.getPublicKey();
      await this.preKeys.savePreKey(keyId, Signal.PreKeyRecord.new(keyId, publicKey, privateKey));
      keys.push({ keyId, publicKey: toBase64(publicKey.serialize()) });
    }
    return keys;
  }

  async newKemOneTimeKeys(firstKeyId, count) {
    const keys = [];
    for (let keyId = firstKeyId; keyId < firstKeyId + count; keyId++) {
      keys.push(await this.newKemPreKey(keyId));
    }
    return keys;
  }

  /** A full key set as registration and linking take it: signed prekey 1, last-resort KEM key 1, one-time keys from 100. */
  async newKeySet({ oneTime = 5, kemOneTime = 5 } = {}) {
    return {
      signedPreKey: await this.newSignedPreKey(1),
      kemLastResortKey: await this.newKemPreKey(1, { lastResort: true }),
      oneTimePreKeys: await this.newOneTimePreKeys(100, oneTime),
      kemOneTimeKeys: await this.newKemOneTimeKeys(100, kemOneTime),
    };
  }

  /** Starts a session with a remote device from its bundle (X3DH/PQXDH as the sender). */
  async startSession(remoteAddress, bundle) {
    await Signal.processPreKeyBundle(bundle, remoteAddress, this.address, this.sessions, this.identities);
  }

  async hasSession(remoteAddress) {
    const record = await this.sessions.getSession(remoteAddress);
    return record?.hasCurrentState() ?? false;
  }

  /** The registration id of the remote device as the current session knows it (what a send names), or null. */
  async remoteRegistrationId(remoteAddress) {
    const record = await this.sessions.getSession(remoteAddress);
    return record?.hasCurrentState() ? record.remoteRegistrationId() : null;
  }

  /** Encrypts for a device this one has a session with: {type, content} as PUT /v1/messages will carry it. */
  async encrypt(remoteAddress, plaintext) {
    const message = await Signal.signalEncrypt(plaintext, remoteAddress, this.address, this.sessions, this.identities);
    return { type: message.type(), content: message.serialize() };
  }

  /** Decrypts a message of either kind from `remoteAddress`; a PreKey message also sets the session up. */
  async decrypt(remoteAddress, type, content) {
    switch (type) {
      case Signal.CiphertextMessageType.PreKey:
        return Signal.signalDecryptPreKey(
          Signal.PreKeySignalMessage.deserialize(content), remoteAddress, this.address,
          this.sessions, this.identities, this.preKeys, this.signedPreKeys, this.kyberPreKeys);
      case Signal.CiphertextMessageType.Whisper:
        return Signal.signalDecrypt(Signal.SignalMessage.deserialize(content), remoteAddress, this.address, this.sessions, this.identities);
      default:
        throw new Error(`cannot decrypt a message of type ${type}`);
    }
  }
}

/** The server at `baseUrl`, spoken to as docs/protocol.md describes. */
export class Server {
  constructor(baseUrl, { timeoutMs = 30_000 } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
  }

  /** One request; returns {status, body} (body parsed when JSON) whatever the status. */
  async request(method, path, { device, json } = {}) {
    const headers = {};
    if (device) {
      headers.authorization = `Basic ${Buffer.from(`${device.login}:${device.password}`, 'utf8').toString('base64')}`;
    }
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
    }
    let response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ProtocolError(`${method} ${path}: no answer from ${this.baseUrl}: ${error.cause?.message ?? error.message}`);
    }
    const text = await response.text();
    let body = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text.length > 0) {
      body = JSON.parse(text);
    }
    return { status: response.status, body };
  }

  async #expect(status, method, path, options) {
    const answer = await this.request(method, path, options);
    if (answer.status !== status) {
      throw new HttpError(method, path, answer.status, answer.body);
    }
    return answer.body;
  }

  /**
   * POST /v1/accounts/verification, then the code as the silo's development sender wrote it (a test silo runs that
   * sender; its directory is CLUSTER_VERIFICATION_CODES or the silo's default, cluster-verification-codes in the temp
   * directory).
   */
  async verificationCode(accountId) {
    await this.#expect(202, 'POST', '/v1/accounts/verification', { json: { accountId } });
    const directory = process.env.CLUSTER_VERIFICATION_CODES ?? join(tmpdir(), 'cluster-verification-codes');
    return readFileSync(join(directory, `${accountId}.code`), 'utf8');
  }

  /** POST /v1/accounts (with a verification code) for a device that will be the primary: its keys as `keys` gives them. */
  async register(device, { signedPreKey, kemLastResortKey, oneTimePreKeys, kemOneTimeKeys, name }) {
    const verificationCode = await this.verificationCode(device.accountId);
    return this.#expect(201, 'POST', '/v1/accounts', {
      json: {
        accountId: device.accountId,
        password: device.password,
        verificationCode,
        registrationId: device.registrationId,
        name,
        identityKey: device.identityKey,
        signedPreKey,
        kemLastResortKey,
        oneTimePreKeys,
        kemOneTimeKeys,
      },
    });
  }

  /** PUT /v1/keys: a one-time list given replaces the stored ones of that kind. */
  uploadKeys(device, upload) {
    return this.#expect(204, 'PUT', '/v1/keys', { device, json: upload });
  }

  /** GET /v1/keys: {oneTimeCount, kemOneTimeCount}. */
  keyCounts(device) {
    return this.#expect(200, 'GET', '/v1/keys', { device });
  }

  /** GET /v1/keys/{accountId}/{deviceId}, deviceId a number or '*'. */
  fetchBundles(requester, accountId, deviceId) {
    return this.#expect(200, 'GET', `/v1/keys/${encodeURIComponent(accountId)}/${deviceId}`, { device: requester });
  }

  /** POST /v1/devices/link-token (the primary): {token, expiresAt}. */
  linkToken(primary) {
    return this.#expect(201, 'POST', '/v1/devices/link-token', { device: primary });
  }

  /**
   * PUT /v1/devices/link (no credentials: the token is the authority) for `companion`, a Device of the account whose
   * deviceId is not known yet; `link` has {token, keyIndex, linkingMetadata, accountSignature, deviceSignature} as
   * bytes where binary. Sets `companion.deviceId` to the id the server gave; returns the answer {deviceId}.
   */
  async link(companion, { token, keyIndex, linkingMetadata, accountSignature, deviceSignature, name }, keys) {
    const answer = await this.#expect(201, 'PUT', '/v1/devices/link', {
      json: {
        accountId: companion.accountId,
        token,
        password: companion.password,
        registrationId: companion.registrationId,
        name,
        identityKey: companion.identityKey,
        keyIndex,
        linkingMetadata: toBase64(linkingMetadata),
        accountSignature: toBase64(accountSignature),
        deviceSignature: toBase64(deviceSignature),
        ...keys,
      },
    });
    if (!Number.isInteger(answer?.deviceId) || answer.deviceId < 2) {
      throw new ProtocolError(`PUT /v1/devices/link: expected {deviceId} of 2 or more, got ${JSON.stringify(answer)}`);
    }
    companion.deviceId = answer.deviceId;
    return answer;
  }

  /** PUT /v1/devices/list (the primary): a signed keyIndexList, both as bytes. */
  publishDeviceList(primary, list, signature) {
    return this.#expect(204, 'PUT', '/v1/devices/list', { device: primary, json: { list: toBase64(list), signature: toBase64(signature) } });
  }

  /** GET /v1/devices (any own device): {devices: [{deviceId, name, registrationId, linkedAt, lastSeenAt}]}. */
  ownDevices(device) {
    return this.#expect(200, 'GET', '/v1/devices', { device });
  }

  /** GET /v1/accounts/{accountId}/devices: the device registry a sender verifies (see verifyAccountDevices). */
  accountDevices(requester, accountId) {
    return this.#expect(200, 'GET', `/v1/accounts/${encodeURIComponent(accountId)}/devices`, { device: requester });
  }

  /** PUT /v1/messages/{accountId}: `body` is {messages, timestamp, online?, urgent?, clientMessageId?}; {status, body}. */
  sendMessages(sender, accountId, body) {
    return this.request('PUT', `/v1/messages/${encodeURIComponent(accountId)}`, { device: sender, json: body });
  }

  /** POST /v1/groups (the creator becomes the only admin): the group {groupId, members, admins, membershipVersion, ...}. */
  createGroup(creator, members) {
    return this.#expect(201, 'POST', '/v1/groups', { device: creator, json: { members } });
  }

  /** DELETE /v1/groups/{groupId}/members/{accountId} (an admin): the group after the removal. */
  removeGroupMember(admin, groupId, accountId) {
    return this.#expect(200, 'DELETE', `/v1/groups/${groupId}/members/${encodeURIComponent(accountId)}`, { device: admin });
  }

  /** PUT /v1/groups/{groupId}/messages: `body` is {recipients, content, timestamp, urgent?, clientMessageId?}; {status, body}. */
  sendGroupMessage(sender, groupId, body) {
    return this.request('PUT', `/v1/groups/${groupId}/messages`, { device: sender, json: body });
  }

  /** GET /v1/messages (the device): {envelopes, more}. */
  fetchMessages(device) {
    return this.#expect(200, 'GET', '/v1/messages', { device });
  }

  /**
   * Opens the device's WebSocket (GET /v1/websocket), with Basic credentials or, with `query: true`, with
   * `?login=&password=`. Resolves once the upgrade succeeded.
   */
  connect(device, { query = false, timeoutMs = 10_000 } = {}) {
    const url = new URL(`${this.baseUrl}/v1/websocket`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const headers = {};
    if (query) {
      url.searchParams.set('login', device.login);
      url.searchParams.set('password', device.password);
    } else {
      headers.authorization = `Basic ${Buffer.from(`${device.login}:${device.password}`, 'utf8').toString('base64')}`;
    }
    return DeviceSocket.open(url, headers, `socket of ${device.login}`, timeoutMs);
  }
}

/**
 * A device's WebSocket: every text frame the server sends, parsed, waits in a queue until the script takes it.
 * `take` hands out the first queued frame that matches, or waits for one (with a timeout); frames that do not match
 * stay queued, so events and envelopes may interleave in any order.
 */
export class DeviceSocket {
  #socket;
  #frames = [];
  #waiters = new Set();
  #closed = null;

  constructor(socket, name) {
    this.#socket = socket;
    this.name = name;
    socket.on('message', (data, isBinary) => {
      let frame;
      try {
        frame = JSON.parse(isBinary ? Buffer.from(data).toString('utf8') : data.toString());
      } catch {
        frame = { kind: '<not JSON>', text: data.toString().slice(0, 200) };
      }
      this.#frames.push(frame);
      this.#wake();
    });
    socket.on('close', (code, reason) => {
      this.#closed = { code, reason: reason.toString() };
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static async open(url, headers, name, timeoutMs) {
    // Imported here, so that scripts without sockets run without the `ws` package (Node 20's WebSocket needs a flag).
    const { default: WebSocket } = await import('ws');
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
      const fail = (message) => {
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        reject(new ProtocolError(`${name}: ${message}`));
      };
      socket.once('unexpected-response', (_request, response) => fail(`upgrade refused with ${response.statusCode}`));
      socket.once('error', (error) => fail(`could not connect: ${error.message}`));
      socket.once('open', () => {
        socket.removeAllListeners('unexpected-response');
        socket.removeAllListeners('error');
        resolve(new DeviceSocket(socket, name));
      });
    });
  }

  #wake() {
    for (const wake of this.#waiters) {
      wake();
    }
  }

  /** The frames received and not taken yet. */
  get pending() {
    return [...this.#frames];
  }

  get closed() {
    return this.#closed;
  }

  /** Takes the first queued frame for which `predicate` holds, waiting up to `timeoutMs` for one to come. */
  take(predicate, what, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      let timer;
      const attempt = () => {
        const index = this.#frames.findIndex(predicate);
        if (index >= 0) {
          done();
          resolve(this.#frames.splice(index, 1)[0]);
        } else if (this.#closed) {
          done();
          reject(new ProtocolError(`${this.name}: closed (${this.#closed.code} ${this.#closed.reason}) while waiting for ${what}`));
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(attempt);
      };
      timer = setTimeout(() => {
        done();
        reject(new ProtocolError(`${this.name}: no ${what} within ${timeoutMs} ms; frames not taken: ${JSON.stringify(this.#frames).slice(0, 600)}`));
      }, timeoutMs);
      this.#waiters.add(attempt);
      attempt();
    });
  }

  /** Takes the next envelope frame's envelope. */
  async envelope(what = 'an envelope', timeoutMs) {
    return (await this.take((frame) => frame.kind === 'envelope', what, timeoutMs)).envelope;
  }

  /** Takes the next event whose `type` is `type` and for which `predicate` holds. */
  async event(type, predicate = () => true, what = `a ${type} event`, timeoutMs) {
    return (await this.take((frame) => frame.kind === 'event' && frame.event?.type === type && predicate(frame.event), what, timeoutMs)).event;
  }

  /** Waits for queueEmpty (the backlog stored before the connection has been sent). */
  queueEmpty(timeoutMs) {
    return this.take((frame) => frame.kind === 'queueEmpty', 'queueEmpty', timeoutMs);
  }

  /** {"kind":"ack","ids":[...]}: the server deletes those envelopes for good. */
  ack(ids) {
    this.#socket.send(JSON.stringify({ kind: 'ack', ids }));
  }

  /** Closes the socket normally and waits (briefly) for the close to complete. */
  close() {
    if (this.#closed) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#socket.terminate();
        resolve();
      }, 2_000);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#socket.close(1000);
    });
  }
}

// ---- Automatic Device Verification: the signed structures (docs/protocol.md, "Linking a companion") ----------------
// All integers big-endian; str = u16 length || UTF-8.

class ByteWriter {
  #parts = [];

  u8(value) {
    this.#parts.push(Buffer.from([value]));
    return this;
  }

  u16(value) {
    const bytes = Buffer.alloc(2);
    bytes.writeUInt16BE(value);
    this.#parts.push(bytes);
    return this;
  }

  u32(value) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    this.#parts.push(bytes);
    return this;
  }

  u64(value) {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(BigInt(value));
    this.#parts.push(bytes);
    return this;
  }

  str(value) {
    const bytes = Buffer.from(value, 'utf8');
    return this.u16(bytes.length).bytes(bytes);
  }

  bytes(value) {
    this.#parts.push(Buffer.from(value));
    return this;
  }

  build() {
    return new Uint8Array(Buffer.concat(this.#parts));
  }
}

class ByteReader {
  #bytes;
  #offset = 0;

  constructor(bytes, what) {
    this.#bytes = Buffer.from(bytes);
    this.what = what;
  }

  #need(count, field) {
    if (this.#offset + count > this.#bytes.length) {
      throw new ProtocolError(`${this.what}: truncated at ${field}`);
    }
  }

  u8(field) {
    this.#need(1, field);
    return this.#bytes.readUInt8(this.#offset++);
  }

  u16(field) {
    this.#need(2, field);
    const value = this.#bytes.readUInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  u32(field) {
    this.#need(4, field);
    const value = this.#bytes.readUInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  u64(field) {
    this.#need(8, field);
    const value = this.#bytes.readBigUInt64BE(this.#offset);
    this.#offset += 8;
    return Number(value);
  }

  str(field) {
    const length = this.u16(`${field} length`);
    this.#need(length, field);
    const value = this.#bytes.subarray(this.#offset, this.#offset + length).toString('utf8');
    this.#offset += length;
    return value;
  }

  end() {
    if (this.#offset !== this.#bytes.length) {
      throw new ProtocolError(`${this.what}: ${this.#bytes.length - this.#offset} bytes after the last field`);
    }
  }
}

const concat = (...parts) => new Uint8Array(Buffer.concat(parts.map((part) => Buffer.from(part))));

export const Adv = {
  /** linkingMetadata = u8 1 || str accountId || u32 keyIndex || u64 timestampMs */
  linkingMetadata(accountId, keyIndex, timestampMs) {
    return new ByteWriter().u8(1).str(accountId).u32(keyIndex).u64(timestampMs).build();
  },

  parseLinkingMetadata(bytes) {
    const reader = new ByteReader(bytes, 'linkingMetadata');
    const version = reader.u8('version');
    if (version !== 1) {
      throw new ProtocolError(`linkingMetadata: version ${version}, expected 1`);
    }
    const metadata = { accountId: reader.str('accountId'), keyIndex: reader.u32('keyIndex'), timestampMs: reader.u64('timestampMs') };
    reader.end();
    return metadata;
  },

  /** keyIndexList = u8 1 || str accountId || u64 timestampMs || u32 currentIndex || u16 n || n × u32 validIndex */
  keyIndexList(accountId, timestampMs, currentIndex, validIndexes) {
    const writer = new ByteWriter().u8(1).str(accountId).u64(timestampMs).u32(currentIndex).u16(validIndexes.length);
    for (const index of validIndexes) {
      writer.u32(index);
    }
    return writer.build();
  },

  parseKeyIndexList(bytes) {
    const reader = new ByteReader(bytes, 'keyIndexList');
    const version = reader.u8('version');
    if (version !== 1) {
      throw new ProtocolError(`keyIndexList: version ${version}, expected 1`);
    }
    const list = { accountId: reader.str('accountId'), timestampMs: reader.u64('timestampMs'), currentIndex: reader.u32('currentIndex') };
    const count = reader.u16('count');
    list.validIndexes = [];
    for (let i = 0; i < count; i++) {
      list.validIndexes.push(reader.u32(`validIndex[${i}]`));
    }
    reader.end();
    return list;
  },

  /** What the primary signs as accountSignature: 0x06 0x00 || linkingMetadata || companionIdentityKey */
  accountMessage(linkingMetadata, companionIdentityKey) {
    return concat([0x06, 0x00], linkingMetadata, companionIdentityKey);
  },

  /** What the companion signs as deviceSignature: 0x06 0x01 || linkingMetadata || companionIdentityKey || primaryIdentityKey */
  deviceMessage(linkingMetadata, companionIdentityKey, primaryIdentityKey) {
    return concat([0x06, 0x01], linkingMetadata, companionIdentityKey, primaryIdentityKey);
  },

  /** What the primary signs as the device list's signature: 0x06 0x02 || keyIndexList */
  deviceListMessage(keyIndexList) {
    return concat([0x06, 0x02], keyIndexList);
  },
};

/**
 * Links `companion` (a new Device of `primary`'s account, with its own identity) as the protocol describes: the primary
 * asks for a link token, signs the companion's identity key with the linking metadata (accountSignature), the companion
 * signs both identity keys (deviceSignature), and the companion calls PUT /v1/devices/link with its keys. In a real
 * client the token, metadata and accountSignature travel to the companion through the provisioning channel.
 * Returns {deviceId, linkingMetadata, accountSignature, deviceSignature}.
 */
export async function linkCompanion(server, primary, companion, { keyIndex, timestampMs = Date.now(), name, keys }) {
  const { token } = await server.linkToken(primary);
  const companionKey = companion.identity.publicKey.serialize();
  const primaryKey = primary.identity.publicKey.serialize();
  const linkingMetadata = Adv.linkingMetadata(primary.accountId, keyIndex, timestampMs);
  const accountSignature = primary.identity.privateKey.sign(Adv.accountMessage(linkingMetadata, companionKey));
  const deviceSignature = companion.identity.privateKey.sign(Adv.deviceMessage(linkingMetadata, companionKey, primaryKey));
  const { deviceId } = await server.link(companion, { token, keyIndex, linkingMetadata, accountSignature, deviceSignature, name }, keys);
  return { deviceId, linkingMetadata, accountSignature, deviceSignature };
}

/** A keyIndexList signed by the primary: {list, signature}, both bytes. */
export function signedDeviceList(primary, { timestampMs, currentIndex, validIndexes }) {
  const list = Adv.keyIndexList(primary.accountId, timestampMs, currentIndex, validIndexes);
  return { list, signature: primary.identity.privateKey.sign(Adv.deviceListMessage(list)) };
}

/**
 * What a sender checks in a GET /v1/accounts/{accountId}/devices answer before it encrypts to those devices, all with
 * libsignal's PublicKey.verify: the primary is device 1 with key index 0 and the account's identity key; each companion's
 * linkingMetadata names this account and its key index, its accountSignature verifies under the primary identity key and
 * its deviceSignature under its own identity key; the device list is signed by the primary, names this account, and its
 * valid indexes are exactly the companions' key indexes. Throws a ProtocolError naming the first thing that does not
 * hold; returns {primaryIdentityKey, list, devices: [{deviceId, registrationId, identityKey, keyIndex}], notes} (keys
 * base64; `notes`: deviations from the protocol that were tolerated).
 */
export function verifyAccountDevices(answer, accountId) {
  const fail = (message) => {
    throw new ProtocolError(`devices of ${accountId}: ${message}`);
  };
  if (answer?.accountId !== accountId) {
    fail(`answer names account ${JSON.stringify(answer?.accountId)}`);
  }
  const primaryBytes = fromBase64(answer.primaryIdentityKey, 'primaryIdentityKey');
  const primaryKey = Signal.PublicKey.deserialize(primaryBytes);
  if (!Array.isArray(answer.devices) || answer.devices.length === 0) {
    fail('no devices');
  }
  const ids = new Set();
  const devices = [];
  const notes = [];
  for (const entry of answer.devices) {
    const what = `device ${entry.deviceId}`;
    if (!Number.isInteger(entry.deviceId) || entry.deviceId < 1 || ids.has(entry.deviceId)) {
      fail(`${what}: bad or repeated device id`);
    }
    ids.add(entry.deviceId);
    const identityBytes = fromBase64(entry.identityKey, `${what}.identityKey`);
    const identityKey = Signal.PublicKey.deserialize(identityBytes);
    if (entry.deviceId === 1) {
      // The protocol says the primary has key index 0 and null signatures.
      const fields = ['linkingMetadata', 'accountSignature', 'deviceSignature'];
      if (entry.keyIndex !== 0 || fields.some((name) => entry[name] !== null)) {
        fail(`the primary must have keyIndex 0 and null signatures, got ${JSON.stringify(entry)}`);
      }
      if (!Buffer.from(identityBytes).equals(Buffer.from(primaryBytes))) {
        fail('the primary\'s identity key is not primaryIdentityKey');
      }
    } else {
      const metadataBytes = fromBase64(entry.linkingMetadata, `${what}.linkingMetadata`);
      const metadata = Adv.parseLinkingMetadata(metadataBytes);
      if (metadata.accountId !== accountId || metadata.keyIndex !== entry.keyIndex || entry.keyIndex < 1) {
        fail(`${what}: linkingMetadata ${JSON.stringify(metadata)} does not name this account and key index ${entry.keyIndex}`);
      }
      const accountSignature = fromBase64(entry.accountSignature, `${what}.accountSignature`);
      if (!primaryKey.verify(Adv.accountMessage(metadataBytes, identityBytes), accountSignature)) {
        fail(`${what}: accountSignature does not verify under the primary identity key`);
      }
      const deviceSignature = fromBase64(entry.deviceSignature, `${what}.deviceSignature`);
      if (!identityKey.verify(Adv.deviceMessage(metadataBytes, identityBytes, primaryBytes), deviceSignature)) {
        fail(`${what}: deviceSignature does not verify under its own identity key`);
      }
    }
    devices.push({ deviceId: entry.deviceId, registrationId: entry.registrationId, identityKey: entry.identityKey, keyIndex: entry.keyIndex });
  }
  if (!ids.has(1)) {
    fail('no primary (device 1)');
  }
  const companionIndexes = devices.filter((device) => device.deviceId !== 1).map((device) => device.keyIndex).sort((a, b) => a - b);
  let list = null;
  if (answer.deviceList === null || answer.deviceList === undefined) {
    if (companionIndexes.length > 0) {
      fail(`${companionIndexes.length} companions but no signed device list`);
    }
  } else {
    const listBytes = fromBase64(answer.deviceList.list, 'deviceList.list');
    if (!primaryKey.verify(Adv.deviceListMessage(listBytes), fromBase64(answer.deviceList.signature, 'deviceList.signature'))) {
      fail('the device list signature does not verify under the primary identity key');
    }
    list = Adv.parseKeyIndexList(listBytes);
    if (list.accountId !== accountId) {
      fail(`the device list names ${list.accountId}`);
    }
    if (JSON.stringify(list.validIndexes) !== JSON.stringify(companionIndexes)) {
      fail(`the signed list's valid indexes ${JSON.stringify(list.validIndexes)} are not the companions' key indexes ${JSON.stringify(companionIndexes)}`);
    }
    if (companionIndexes.some((index) => index > list.currentIndex)) {
      fail(`a companion's key index is above the list's currentIndex ${list.currentIndex}`);
    }
  }
  devices.sort((a, b) => a.deviceId - b.deviceId);
  return { primaryIdentityKey: answer.primaryIdentityKey, list, devices, notes };
}

/** A libsignal PreKeyBundle from one entry of a GET /v1/keys answer's `devices`. */
export function preKeyBundle(entry) {
  const field = (name) => {
    if (entry[name] === undefined || entry[name] === null) {
      throw new ProtocolError(`bundle of device ${entry.deviceId}: ${name} is missing`);
    }
    return entry[name];
  };
  const signedPreKey = field('signedPreKey');
  const kemPreKey = field('kemPreKey');
  const oneTimePreKey = entry.oneTimePreKey ?? null;
  return Signal.PreKeyBundle.new(
    field('registrationId'),
    field('deviceId'),
    oneTimePreKey ? oneTimePreKey.keyId : null,
    oneTimePreKey ? Signal.PublicKey.deserialize(fromBase64(oneTimePreKey.publicKey, 'oneTimePreKey.publicKey')) : null,
    signedPreKey.keyId,
    Signal.PublicKey.deserialize(fromBase64(signedPreKey.publicKey, 'signedPreKey.publicKey')),
    fromBase64(signedPreKey.signature, 'signedPreKey.signature'),
    Signal.PublicKey.deserialize(fromBase64(field('identityKey'), 'identityKey')),
    kemPreKey.keyId,
    Signal.KEMPublicKey.deserialize(fromBase64(kemPreKey.publicKey, 'kemPreKey.publicKey')),
    fromBase64(kemPreKey.signature, 'kemPreKey.signature'),
  );
}

/** The version of @signalapp/libsignal-client installed next to these scripts. */
export function libsignalVersion() {
  try {
    return JSON.parse(readFileSync(new URL('./node_modules/@signalapp/libsignal-client/package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** The silo's base URL from the command line (`node <script>.mjs <baseUrl>`); exits 2 with a usage line when missing. */
export function baseUrlArgument(name) {
  const baseUrl = process.argv[2];
  if (!baseUrl || !/^https?:\/\//.test(baseUrl)) {
    console.error(`usage: node ${name}.mjs <baseUrl>   e.g. http://127.0.0.1:8080`);
    process.exit(2);
  }
  return baseUrl;
}

/** A check of the scenario failed: the server broke its contract (as opposed to a libsignal or transport error). */
export class CheckFailed extends Error {}

/** Runs a libsignal call, naming it in the failure when libsignal throws (a CheckFailed or ProtocolError passes as it is). */
export async function libsignalCall(what, action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof CheckFailed || error instanceof ProtocolError) {
      throw error;
    }
    throw new CheckFailed(`${what}: ${error?.name ?? 'Error'}: ${error?.message ?? error}`, { cause: error });
  }
}

export function check(condition, message) {
  if (!condition) {
    throw new CheckFailed(message);
  }
}

export function checkEqual(actual, expected, what) {
  check(isDeepStrictEqual(actual, expected), `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/**
 * Runs a script's `main(baseUrl)`: prints the summary line it returns, or `<name>: FAILED: ...` on stderr with exit
 * code 1 (a failed check or contract by its message, anything else with its stack).
 */
export async function runScript(name, main) {
  const baseUrl = baseUrlArgument(name);
  try {
    console.log(await main(baseUrl));
  } catch (error) {
    const known = error instanceof CheckFailed || error instanceof ProtocolError;
    console.error(`${name}: FAILED: ${known ? error.message : error?.stack ?? error}`);
    process.exitCode = 1;
  }
}

/**
 * Runs a script made of named steps (`steps.step(name, action)`) against the base URL of the command line: prints
 * main's story, or which step failed and the steps passed (exit code 1); gives up past `timeoutMs` overall.
 * `atEnd` runs last, whatever happened (for notes the script collected).
 */
export function stepRunner(name, timeoutMs) {
  let currentStep = 'start';
  const stepsDone = [];
  return {
    async step(stepName, action) {
      currentStep = stepName;
      const result = await action();
      stepsDone.push(stepName);
      return result;
    },
    async run(main, atEnd = () => {}) {
      const baseUrl = baseUrlArgument(name);
      const overall = setTimeout(() => {
        console.error(`${name}: FAILED at step "${currentStep}": the whole run took over ${timeoutMs / 1000} s`);
        process.exit(1);
      }, timeoutMs);
      try {
        console.log(await main(baseUrl));
      } catch (error) {
        const message = error instanceof CheckFailed || error instanceof ProtocolError ? error.message : error?.stack ?? String(error);
        console.error(`${name}: FAILED at step "${currentStep}": ${message}`);
        console.error(`${name}: steps passed: ${stepsDone.length ? stepsDone.join('; ') : 'none'}`);
        process.exitCode = 1;
      } finally {
        clearTimeout(overall);
        atEnd();
      }
    },
  };
}
