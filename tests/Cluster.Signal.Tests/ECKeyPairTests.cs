namespace Cluster.Signal.Tests;

public sealed class ECKeyPairTests
{
    public static TheoryData<string> Identities { get; } = new(Vectors.Identities.Select(identity => identity.Name));

    [Theory]
    [MemberData(nameof(Identities))]
    public void FromPrivateKey_LibsignalPrivateKey_DerivesLibsignalPublicKey(string identityName)
    {
        var identity = Vectors.Identity(identityName);

        var keyPair = ECKeyPair.FromPrivateKey(identity.PrivateKeyInput ?? identity.PrivateKey);

        Assert.Equal(identity.PublicKey, keyPair.PublicKey.ToArray());
        Assert.Equal(identity.PrivateKey, keyPair.PrivateKey.ToArray());
    }

    [Fact]
    public void Generate_Twice_GivesDistinctWellFormedKeys()
    {
        var first = ECKeyPair.Generate();
        var second = ECKeyPair.Generate();

        Assert.Null(KeyFormat.ValidateECPublicKey(first.PublicKey.Span));
        Assert.Equal(KeyFormat.ECPrivateKeyLength, first.PrivateKey.Length);
        Assert.NotEqual(first.PublicKey.ToArray(), second.PublicKey.ToArray());
    }

    [Fact]
    public void Generate_PrivateKey_IsClamped()
    {
        var privateKey = ECKeyPair.Generate().PrivateKey.Span;

        Assert.Equal(0, privateKey[0] & 0x07);
        Assert.Equal(0x40, privateKey[31] & 0xC0);
    }

    [Fact]
    public void Sign_GeneratedKey_VerifiesUnderItsPublicKeyOnly()
    {
        var keyPair = ECKeyPair.Generate();
        var signedPreKey = ECKeyPair.Generate();

        var signature = keyPair.Sign(signedPreKey.PublicKey.Span);

        Assert.True(XEdDsa.Verify(keyPair.PublicKey.Span, signedPreKey.PublicKey.Span, signature));
        Assert.False(XEdDsa.Verify(signedPreKey.PublicKey.Span, signedPreKey.PublicKey.Span, signature));
    }

    [Fact]
    public void FromPrivateKey_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => ECKeyPair.FromPrivateKey(new byte[31]));
    }
}
