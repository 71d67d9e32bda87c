// Proves that libsignal accepts what Cluster.Signal (C#) makes: runs sign-with-csharp.cs, then checks every
// signature with libsignal's PublicKey.verify and every C#-derived public key against libsignal's derivation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrivateKey, PublicKey } from '@signalapp/libsignal-client';

const here = dirname(fileURLToPath(import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'csharp-signatures-'));
const output = join(workDir, 'signatures.json');
try {
  execFileSync('dotnet', ['run', join(here, 'sign-with-csharp.cs'), '--', output], { cwd: here, stdio: 'inherit' });
  const signatures = JSON.parse(readFileSync(output, 'utf8'));
  const bytes = (b64) => Buffer.from(b64, 'base64');
  let failures = 0;
  for (const { source, privateKey, publicKey, message, signature } of signatures) {
    const derived = PrivateKey.deserialize(bytes(privateKey)).getPublicKey().serialize();
    const keyMatches = Buffer.compare(Buffer.from(derived), bytes(publicKey)) === 0;
    const verifies = PublicKey.deserialize(bytes(publicKey)).verify(bytes(message), bytes(signature));
    const edwardsSign = bytes(signature)[63] >> 7;
    if (!keyMatches || !verifies) {
      failures++;
      console.error(`FAIL ${source}: public key ${keyMatches ? 'matches' : 'differs'}, signature ${verifies ? 'verifies' : 'rejected'}`);
    } else {
      console.log(`ok   ${source}, sign bit ${edwardsSign}, ${bytes(message).length}-byte message`);
    }
  }
  console.log(`${signatures.length - failures} of ${signatures.length} C# signatures accepted by libsignal`);
  process.exitCode = failures === 0 && signatures.length > 0 ? 0 : 1;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
