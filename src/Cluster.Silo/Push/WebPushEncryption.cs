using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Cluster.Silo.Push;

/// <summary>
/// RFC 8291 message encryption with the RFC 8188 <c>aes128gcm</c> content coding: one record, a fresh ephemeral P-256
/// key and salt per message, encrypted to the subscription's <c>p256dh</c> key and <c>auth</c> secret. Holds no state.
/// </summary>
internal static class WebPushEncryption
{
    private const int RecordSize = 4096;

    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, byte[] uaPublic, byte[] authSecret)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var asParameters = ephemeral.ExportParameters(false);
        var asPublic = new byte[65];
        asPublic[0] = 4;
        asParameters.Q.X!.CopyTo(asPublic, 1);
        asParameters.Q.Y!.CopyTo(asPublic, 33);

        using var ua = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = uaPublic[1..33], Y = uaPublic[33..] },
        });
        var ecdhSecret = ephemeral.DeriveRawSecretAgreement(ua.PublicKey);

        // key_info = "WebPush: info" || 0x00 || ua_public || as_public; IKM = HKDF(auth, ecdh_secret, key_info, 32).
        var keyInfo = new byte[14 + 65 + 65];
        "WebPush: info\0"u8.CopyTo(keyInfo);
        uaPublic.CopyTo(keyInfo, 14);
        asPublic.CopyTo(keyInfo, 79);
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, ecdhSecret, 32, authSecret, keyInfo);

        var salt = RandomNumberGenerator.GetBytes(16);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var cek = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0"));
        var nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, Encoding.ASCII.GetBytes("Content-Encoding: nonce\0"));

        // The one (last) record: the plaintext, then the delimiter 0x02, no padding.
        var record = new byte[plaintext.Length + 1];
        plaintext.CopyTo(record);
        record[^1] = 2;

        // Header: salt (16) || rs (4) || idlen (1) || keyid (as_public, 65); then ciphertext || tag.
        var body = new byte[16 + 4 + 1 + 65 + record.Length + 16];
        salt.CopyTo(body, 0);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(16), RecordSize);
        body[20] = 65;
        asPublic.CopyTo(body, 21);
        using var aes = new AesGcm(cek, 16);
        aes.Encrypt(nonce, record, body.AsSpan(86, record.Length), body.AsSpan(86 + record.Length, 16));
        return body;
    }
}
