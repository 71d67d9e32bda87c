// A minimal libsignal client of this server's HTTP protocol (docs/protocol.md): a device with real libsignal key
// material and in-memory stores, and helpers for the endpoints a client calls. Scripts in this folder build on it;
// messaging (PUT /v1/messages, the WebSocket) will add its helpers here.
import { randomBytes, randomInt } from 'node:crypto';
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
    this.address = Signal.ProtocolAddress.new(accountId, deviceId);
    this.sessions = new MemorySessionStore();
    this.identities = new MemoryIdentityKeyStore(identity, registrationId);
    this.preKeys = new MemoryPreKeyStore();
    this.signedPreKeys = new MemorySignedPreKeyStore();
    this.kyberPreKeys = new MemoryKyberPreKeyStore();
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

  /** Starts a session with a remote device from its bundle (X3DH/PQXDH as the sender). */
  async startSession(remoteAddress, bundle) {
    await Signal.processPreKeyBundle(bundle, remoteAddress, this.address, this.sessions, this.identities);
  }

  async hasSession(remoteAddress) {
    const record = await this.sessions.getSession(remoteAddress);
    return record?.hasCurrentState() ?? false;
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

  /** POST /v1/accounts for a device that will be the primary: its keys as `keys` gives them. */
  register(device, { signedPreKey, kemLastResortKey, oneTimePreKeys, kemOneTimeKeys, name }) {
    return this.#expect(201, 'POST', '/v1/accounts', {
      json: {
        accountId: device.accountId,
        password: device.password,
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
