using Cluster.Abstractions.Keys;
using Cluster.Silo.Protocol;
using Cluster.Signal;

namespace Cluster.Silo.Keys;

/// <summary>
/// Turns key material from the wire into validated values: byte-exact Signal formats first (400 naming the field), then
/// signatures (422). Nothing is stored unless all of it passes.
/// </summary>
internal static class KeyValidation
{
    public const long MaxKeyId = 0xFF_FFFF;
    public const int MaxKeysPerList = 100;

    public static byte[] EcPublicKey(byte[]? value, string field)
    {
        if (value is null)
        {
            throw ApiException.MissingField(field);
        }

        return KeyFormat.ValidateECPublicKey(value) is { } error ? throw ApiException.InvalidField(field, error.Message) : value;
    }

    /// <summary>Parses an upload; with <paramref name="requireBaseKeys"/> (registration, linking) the signed and last-resort keys must be there.</summary>
    public static PreKeyUpload Upload(
        SignedPreKeyDto? signedPreKey,
        SignedPreKeyDto? kemLastResortKey,
        List<PreKeyDto?>? oneTimePreKeys,
        List<SignedPreKeyDto?>? kemOneTimeKeys,
        bool requireBaseKeys)
    {
        if (requireBaseKeys)
        {
            _ = signedPreKey ?? throw ApiException.MissingField("signedPreKey");
            _ = kemLastResortKey ?? throw ApiException.MissingField("kemLastResortKey");
        }

        return new PreKeyUpload
        {
            SignedPreKey = signedPreKey is null ? null : Signed(signedPreKey, "signedPreKey", KeyFormat.ValidateECPublicKey),
            KemLastResortKey = kemLastResortKey is null ? null : Signed(kemLastResortKey, "kemLastResortKey", KeyFormat.ValidateKemPublicKey),
            OneTimePreKeys = oneTimePreKeys is null ? null : OneTime(oneTimePreKeys, "oneTimePreKeys"),
            KemOneTimeKeys = kemOneTimeKeys is null ? null : SignedList(kemOneTimeKeys, "kemOneTimeKeys"),
        };
    }

    /// <summary>Checks every signature in the upload under the device's identity key (422 naming the first that fails).</summary>
    public static void VerifySignatures(PreKeyUpload upload, byte[] identityKey)
    {
        Verify(upload.SignedPreKey, "signedPreKey", identityKey);
        Verify(upload.KemLastResortKey, "kemLastResortKey", identityKey);
        if (upload.KemOneTimeKeys is { } kemKeys)
        {
            for (var i = 0; i < kemKeys.Count; i++)
            {
                Verify(kemKeys[i], $"kemOneTimeKeys[{i}]", identityKey);
            }
        }
    }

    public static SignedPreKeyDto ToDto(SignedPreKey key) => new() { KeyId = key.KeyId, PublicKey = key.PublicKey, Signature = key.Signature };

    public static PreKeyDto ToDto(PreKey key) => new() { KeyId = key.KeyId, PublicKey = key.PublicKey };

    private static void Verify(SignedPreKey? key, string field, byte[] identityKey)
    {
        if (key is not null && !XEdDsa.Verify(identityKey, key.PublicKey, key.Signature))
        {
            throw ApiException.BadSignature($"{field}.signature");
        }
    }

    private static SignedPreKey Signed(SignedPreKeyDto dto, string field, KeyValidator validateKey)
    {
        var keyId = KeyId(dto.KeyId, field);
        var publicKey = dto.PublicKey ?? throw ApiException.MissingField($"{field}.publicKey");
        if (validateKey(publicKey) is { } keyError)
        {
            throw ApiException.InvalidField($"{field}.publicKey", keyError.Message);
        }

        var signature = dto.Signature ?? throw ApiException.MissingField($"{field}.signature");
        if (KeyFormat.ValidateSignature(signature) is { } signatureError)
        {
            throw ApiException.InvalidField($"{field}.signature", signatureError.Message);
        }

        return new SignedPreKey(keyId, publicKey, signature);
    }

    private delegate FormatError? KeyValidator(ReadOnlySpan<byte> key);

    private static List<PreKey> OneTime(List<PreKeyDto?> list, string field)
    {
        CheckCount(list.Count, field);
        var keys = new List<PreKey>(list.Count);
        var ids = new HashSet<int>();
        for (var i = 0; i < list.Count; i++)
        {
            var item = $"{field}[{i}]";
            var dto = list[i] ?? throw ApiException.InvalidField(item, "must be an object");
            var keyId = KeyId(dto.KeyId, item);
            if (!ids.Add(keyId))
            {
                throw ApiException.InvalidField($"{item}.keyId", $"key id {keyId} appears twice in {field}");
            }

            keys.Add(new PreKey(keyId, EcPublicKey(dto.PublicKey, $"{item}.publicKey")));
        }

        return keys;
    }

    private static List<SignedPreKey> SignedList(List<SignedPreKeyDto?> list, string field)
    {
        CheckCount(list.Count, field);
        var keys = new List<SignedPreKey>(list.Count);
        var ids = new HashSet<int>();
        for (var i = 0; i < list.Count; i++)
        {
            var item = $"{field}[{i}]";
            var key = Signed(list[i] ?? throw ApiException.InvalidField(item, "must be an object"), item, KeyFormat.ValidateKemPublicKey);
            if (!ids.Add(key.KeyId))
            {
                throw ApiException.InvalidField($"{item}.keyId", $"key id {key.KeyId} appears twice in {field}");
            }

            keys.Add(key);
        }

        return keys;
    }

    private static void CheckCount(int count, string field)
    {
        if (count > MaxKeysPerList)
        {
            throw ApiException.InvalidField(field, $"at most {MaxKeysPerList} keys per call");
        }
    }

    private static int KeyId(long? keyId, string field) => keyId switch
    {
        null => throw ApiException.MissingField($"{field}.keyId"),
        < 0 or > MaxKeyId => throw ApiException.InvalidField($"{field}.keyId", "must be a uint24 (0..16777215)"),
        _ => (int)keyId.Value,
    };
}
