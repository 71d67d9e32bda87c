namespace Cluster.Signal.Tests;

public sealed class AdvSignaturesTests
{
    public static TheoryData<string> Cases { get; } = new(Vectors.Adv.Select(adv => adv.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void AccountMessage_JsCase_LibsignalSignatureVerifiesUnderPrimaryKey(string name)
    {
        var adv = Vectors.AdvCase(name);

        var message = AdvSignatures.AccountMessage(adv.LinkingMetadata.Bytes, adv.CompanionIdentityKey);

        Assert.True(XEdDsa.Verify(adv.PrimaryIdentityKey, message, adv.AccountSignature));
        Assert.False(XEdDsa.Verify(adv.CompanionIdentityKey, message, adv.AccountSignature));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DeviceMessage_JsCase_LibsignalSignatureVerifiesUnderCompanionKey(string name)
    {
        var adv = Vectors.AdvCase(name);

        var message = AdvSignatures.DeviceMessage(adv.LinkingMetadata.Bytes, adv.CompanionIdentityKey, adv.PrimaryIdentityKey);

        Assert.True(XEdDsa.Verify(adv.CompanionIdentityKey, message, adv.DeviceSignature));
        Assert.False(XEdDsa.Verify(adv.PrimaryIdentityKey, message, adv.DeviceSignature));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DeviceListMessage_JsCase_LibsignalSignatureVerifiesUnderPrimaryKey(string name)
    {
        var adv = Vectors.AdvCase(name);

        var message = AdvSignatures.DeviceListMessage(adv.KeyIndexList.Bytes);

        Assert.True(XEdDsa.Verify(adv.PrimaryIdentityKey, message, adv.KeyIndexList.Signature));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Messages_FromStructuresBuiltInCSharp_VerifyLibsignalSignatures(string name)
    {
        var adv = Vectors.AdvCase(name);
        var metadata = new LinkingMetadata(adv.LinkingMetadata.AccountId, adv.LinkingMetadata.KeyIndex, adv.LinkingMetadata.TimestampMs).ToBytes();
        var list = new KeyIndexList(adv.KeyIndexList.AccountId, adv.KeyIndexList.TimestampMs, adv.KeyIndexList.CurrentIndex, adv.KeyIndexList.ValidIndexes).ToBytes();

        Assert.True(XEdDsa.Verify(adv.PrimaryIdentityKey, AdvSignatures.AccountMessage(metadata, adv.CompanionIdentityKey), adv.AccountSignature));
        Assert.True(XEdDsa.Verify(adv.CompanionIdentityKey, AdvSignatures.DeviceMessage(metadata, adv.CompanionIdentityKey, adv.PrimaryIdentityKey), adv.DeviceSignature));
        Assert.True(XEdDsa.Verify(adv.PrimaryIdentityKey, AdvSignatures.DeviceListMessage(list), adv.KeyIndexList.Signature));
    }

    [Fact]
    public void Signatures_OfOneKind_DoNotVerifyAsAnother()
    {
        var adv = Vectors.AdvCase("first-companion");
        var metadata = adv.LinkingMetadata.Bytes;

        // The primary signs both the account message and the device list: the kind byte keeps them apart.
        Assert.False(XEdDsa.Verify(adv.PrimaryIdentityKey, AdvSignatures.DeviceListMessage(adv.KeyIndexList.Bytes), adv.AccountSignature));
        Assert.False(XEdDsa.Verify(adv.PrimaryIdentityKey, AdvSignatures.AccountMessage(metadata, adv.CompanionIdentityKey), adv.KeyIndexList.Signature));
        Assert.False(XEdDsa.Verify(adv.CompanionIdentityKey, AdvSignatures.DeviceMessage(metadata, adv.PrimaryIdentityKey, adv.CompanionIdentityKey), adv.DeviceSignature));
    }

    [Fact]
    public void AccountMessage_Layout_IsPrefixMetadataThenKey()
    {
        var message = AdvSignatures.AccountMessage([1, 2, 3], [5, 6]);

        Assert.Equal([0x06, 0x00, 1, 2, 3, 5, 6], message);
        Assert.Equal([0x06, 0x01, 1, 2, 3, 5, 6, 7], AdvSignatures.DeviceMessage([1, 2, 3], [5, 6], [7]));
        Assert.Equal([0x06, 0x02, 9], AdvSignatures.DeviceListMessage([9]));
    }

    [Fact]
    public void LinkingFlow_SignedWithECKeyPairs_VerifiesAsTheServerChecksIt()
    {
        var primary = ECKeyPair.Generate();
        var companion = ECKeyPair.Generate();
        var metadata = new LinkingMetadata("+15551230001", 1, 1767225600000).ToBytes();
        var list = new KeyIndexList("+15551230001", 1767225600001, 1, [1]).ToBytes();

        var accountSignature = primary.Sign(AdvSignatures.AccountMessage(metadata, companion.PublicKey.Span));
        var deviceSignature = companion.Sign(AdvSignatures.DeviceMessage(metadata, companion.PublicKey.Span, primary.PublicKey.Span));
        var listSignature = primary.Sign(AdvSignatures.DeviceListMessage(list));

        Assert.True(XEdDsa.Verify(primary.PublicKey.Span, AdvSignatures.AccountMessage(metadata, companion.PublicKey.Span), accountSignature));
        Assert.True(XEdDsa.Verify(companion.PublicKey.Span, AdvSignatures.DeviceMessage(metadata, companion.PublicKey.Span, primary.PublicKey.Span), deviceSignature));
        Assert.True(XEdDsa.Verify(primary.PublicKey.Span, AdvSignatures.DeviceListMessage(list), listSignature));
    }
}
