using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Signal.Tests;

/// <summary>The libsignal-made fixtures of Vectors/ (see tests/vectors/README.md).</summary>
internal static class Vectors
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public static IReadOnlyList<IdentityVector> Identities { get; } = Load<IdentityFile>("identities.json").Identities;

    public static IReadOnlyList<PreKeyUpload> PreKeyUploads { get; } = Load<PreKeyFile>("prekeys.json").Devices;

    public static IReadOnlyList<AdvCase> Adv { get; } = Load<AdvFile>("adv.json").Cases;

    public static IReadOnlyList<SignatureEdgeCase> SignatureEdgeCases { get; } =
        Load<SignatureEdgeCaseFile>("signature-edge-cases.json").Cases;

    public static IdentityVector Identity(string name) => Identities.Single(identity => identity.Name == name);

    public static AdvCase AdvCase(string name) => Adv.Single(adv => adv.Name == name);

    public static SignatureEdgeCase SignatureEdgeCase(string name) => SignatureEdgeCases.Single(edge => edge.Name == name);

    private static T Load<T>(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", fileName);
        return JsonSerializer.Deserialize<T>(File.ReadAllBytes(path), Options)
            ?? throw new InvalidOperationException($"{path} is empty.");
    }
}

internal sealed record IdentityFile(string LibsignalVersion, IReadOnlyList<IdentityVector> Identities);

internal sealed record IdentityVector(
    string Name,
    byte[]? PrivateKeyInput,
    byte[] PrivateKey,
    byte[] PublicKey,
    int EdwardsSignBit,
    IReadOnlyList<SignedMessage> Signatures);

internal sealed record SignedMessage(byte[] Message, byte[] Signature);

internal sealed record PreKeyFile(IReadOnlyList<PreKeyUpload> Devices);

internal sealed record PreKeyUpload(
    byte[] IdentityKey,
    SignedKey SignedPreKey,
    SignedKey KemLastResortKey,
    IReadOnlyList<SignedKey> KemOneTimeKeys,
    IReadOnlyList<UnsignedKey> OneTimePreKeys);

internal sealed record SignedKey(int KeyId, byte[] PublicKey, byte[] Signature);

internal sealed record UnsignedKey(int KeyId, byte[] PublicKey);

internal sealed record AdvFile(IReadOnlyList<AdvCase> Cases);

internal sealed record AdvCase(
    string Name,
    byte[] PrimaryIdentityKey,
    byte[] CompanionIdentityKey,
    LinkingMetadataVector LinkingMetadata,
    byte[] AccountSignature,
    byte[] DeviceSignature,
    KeyIndexListVector KeyIndexList);

internal sealed record LinkingMetadataVector(string AccountId, uint KeyIndex, long TimestampMs, byte[] Bytes);

internal sealed record KeyIndexListVector(
    string AccountId,
    long TimestampMs,
    uint CurrentIndex,
    IReadOnlyList<uint> ValidIndexes,
    byte[] Bytes,
    byte[] Signature);

internal sealed record SignatureEdgeCaseFile(IReadOnlyList<SignatureEdgeCase> Cases);

internal sealed record SignatureEdgeCase(
    string Name,
    string Description,
    byte[] PublicKey,
    byte[] Message,
    byte[] Signature,
    bool Expected,
    FormatProblem? KeyProblem,
    FormatProblem? SignatureProblem,
    bool LibsignalAccepts,
    byte[]? EdwardsPublicKey);
