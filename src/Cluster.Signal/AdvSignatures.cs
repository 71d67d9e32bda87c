namespace Cluster.Signal;

/// <summary>The messages that Automatic Device Verification signs with XEdDSA (see <see cref="XEdDsa"/>).
/// Each starts with <c>0x06</c> and a byte naming the kind of signature, so one kind never verifies as another.</summary>
/// <remarks>Pass the structures' bytes exactly as received: a signature covers those bytes, not a re-serialization.</remarks>
public static class AdvSignatures
{
    private const byte Prefix = 0x06;
    private const byte AccountKind = 0x00;
    private const byte DeviceKind = 0x01;
    private const byte DeviceListKind = 0x02;

    /// <summary>The message the <b>primary</b> identity key signs as <c>accountSignature</c>:
    /// <c>0x06 0x00 || linkingMetadata || companionIdentityKey</c>.</summary>
    /// <param name="linkingMetadata">The serialized <see cref="LinkingMetadata"/>.</param>
    /// <param name="companionIdentityKey">The companion's 33-byte identity key.</param>
    /// <returns>The message to sign or verify.</returns>
    public static byte[] AccountMessage(ReadOnlySpan<byte> linkingMetadata, ReadOnlySpan<byte> companionIdentityKey) =>
        [Prefix, AccountKind, .. linkingMetadata, .. companionIdentityKey];

    /// <summary>The message the <b>companion</b> identity key signs as <c>deviceSignature</c>:
    /// <c>0x06 0x01 || linkingMetadata || companionIdentityKey || primaryIdentityKey</c>.</summary>
    /// <param name="linkingMetadata">The serialized <see cref="LinkingMetadata"/>.</param>
    /// <param name="companionIdentityKey">The companion's 33-byte identity key.</param>
    /// <param name="primaryIdentityKey">The primary's 33-byte identity key.</param>
    /// <returns>The message to sign or verify.</returns>
    public static byte[] DeviceMessage(
        ReadOnlySpan<byte> linkingMetadata,
        ReadOnlySpan<byte> companionIdentityKey,
        ReadOnlySpan<byte> primaryIdentityKey) =>
        [Prefix, DeviceKind, .. linkingMetadata, .. companionIdentityKey, .. primaryIdentityKey];

    /// <summary>The message the <b>primary</b> identity key signs as the device list's <c>signature</c>:
    /// <c>0x06 0x02 || keyIndexList</c>.</summary>
    /// <param name="keyIndexList">The serialized <see cref="KeyIndexList"/>.</param>
    /// <returns>The message to sign or verify.</returns>
    public static byte[] DeviceListMessage(ReadOnlySpan<byte> keyIndexList) => [Prefix, DeviceListKind, .. keyIndexList];
}
