using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Cluster.Signal.Tests;

public sealed class XEdDsaTests
{
    public static TheoryData<string, int> LibsignalSignatures { get; } = new(
        Vectors.Identities.SelectMany(identity => identity.Signatures.Select((_, index) => (identity.Name, index))));

    public static TheoryData<string> Identities { get; } = new(Vectors.Identities.Select(identity => identity.Name));

    public static TheoryData<string> EdgeCases { get; } = new(Vectors.SignatureEdgeCases.Select(edge => edge.Name));

    [Theory]
    [MemberData(nameof(LibsignalSignatures))]
    public void Verify_LibsignalSignature_ReturnsTrue(string identityName, int signatureIndex)
    {
        var identity = Vectors.Identity(identityName);
        var signed = identity.Signatures[signatureIndex];

        Assert.True(XEdDsa.Verify(identity.PublicKey, signed.Message, signed.Signature));
    }

    [Theory]
    [MemberData(nameof(LibsignalSignatures))]
    public void Verify_LibsignalSignatureOverOtherMessage_ReturnsFalse(string identityName, int signatureIndex)
    {
        var identity = Vectors.Identity(identityName);
        var signature = identity.Signatures[signatureIndex].Signature;
        var otherMessage = identity.Signatures[(signatureIndex + 1) % identity.Signatures.Count].Message;

        Assert.False(XEdDsa.Verify(identity.PublicKey, otherMessage, signature));
    }

    [Fact]
    public void Verify_LibsignalPreKeySignatures_ReturnTrue()
    {
        foreach (var upload in Vectors.PreKeyUploads)
        {
            SignedKey[] keys = [upload.SignedPreKey, upload.KemLastResortKey, .. upload.KemOneTimeKeys];
            Assert.All(keys, key => Assert.True(XEdDsa.Verify(upload.IdentityKey, key.PublicKey, key.Signature)));
        }
    }

    [Fact]
    public void Verify_PreKeySignatureUnderOtherIdentity_ReturnsFalse()
    {
        var (first, second) = (Vectors.PreKeyUploads[0], Vectors.PreKeyUploads[1]);

        Assert.False(XEdDsa.Verify(second.IdentityKey, first.SignedPreKey.PublicKey, first.SignedPreKey.Signature));
        Assert.False(XEdDsa.Verify(second.IdentityKey, first.KemLastResortKey.PublicKey, first.KemLastResortKey.Signature));
    }

    [Theory]
    [MemberData(nameof(EdgeCases))]
    public void Verify_EdgeCase_ReturnsExpectedVerdict(string name)
    {
        var edge = Vectors.SignatureEdgeCase(name);

        Assert.Equal(edge.Expected, XEdDsa.Verify(edge.PublicKey, edge.Message, edge.Signature));
    }

    [Fact]
    public void EdgeCases_EveryOneWeAccept_LibsignalAcceptsToo()
    {
        Assert.All(
            Vectors.SignatureEdgeCases.Where(edge => edge.Expected),
            edge => Assert.True(edge.LibsignalAccepts, edge.Name));
    }

    [Theory]
    [InlineData("r-with-torsion")]
    [InlineData("key-with-torsion")]
    public void Verify_TorsionComponent_ReturnsFalseWherePlainEd25519Accepts(string name)
    {
        var edge = Vectors.SignatureEdgeCase(name);
        var ed25519Signature = edge.Signature.ToArray();
        ed25519Signature[^1] &= 0x7F;

        // BouncyCastle's cofactored check accepts these; libsignal's cofactorless one does not.
        Assert.True(Ed25519.Verify(ed25519Signature, edge.EdwardsPublicKey, edge.Message));
        Assert.False(XEdDsa.Verify(edge.PublicKey, edge.Message, edge.Signature));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Sign_LibsignalPrivateKey_VerifiesUnderLibsignalPublicKey(string identityName)
    {
        var identity = Vectors.Identity(identityName);

        foreach (var signed in identity.Signatures)
        {
            var signature = XEdDsa.Sign(identity.PrivateKey, signed.Message);

            Assert.True(XEdDsa.Verify(identity.PublicKey, signed.Message, signature));
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Sign_LibsignalPrivateKey_SetsSameSignBitAsLibsignal(string identityName)
    {
        var identity = Vectors.Identity(identityName);

        var signature = XEdDsa.Sign(identity.PrivateKey, identity.Signatures[0].Message);

        Assert.Equal(identity.EdwardsSignBit, signature[^1] >> 7);
        Assert.All(identity.Signatures, signed => Assert.Equal(identity.EdwardsSignBit, signed.Signature[^1] >> 7));
    }

    [Fact]
    public void Sign_BothEdwardsSigns_AreCoveredByTheVectors()
    {
        Assert.Equal([0, 1], Vectors.Identities.Select(identity => identity.EdwardsSignBit).Distinct().Order());
    }

    [Fact]
    public void Sign_UnclampedPrivateKey_SignsAsTheClampedKey()
    {
        var identity = Vectors.Identity("identity-unclamped-input");
        var message = identity.Signatures[1].Message;

        var signature = XEdDsa.Sign(identity.PrivateKeyInput, message);

        Assert.NotEqual(identity.PrivateKeyInput, identity.PrivateKey);
        Assert.True(XEdDsa.Verify(identity.PublicKey, message, signature));
    }

    [Fact]
    public void Sign_SameMessageTwice_UsesFreshNonces()
    {
        var identity = Vectors.Identities[0];
        var message = identity.Signatures[1].Message;

        Assert.NotEqual(XEdDsa.Sign(identity.PrivateKey, message), XEdDsa.Sign(identity.PrivateKey, message));
    }

    [Fact]
    public void Sign_SignatureForOneKey_FailsUnderAnother()
    {
        var (signer, other) = (Vectors.Identities[0], Vectors.Identities[1]);
        var message = signer.Signatures[1].Message;

        Assert.False(XEdDsa.Verify(other.PublicKey, message, XEdDsa.Sign(signer.PrivateKey, message)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Sign_PrivateKeyOfWrongLength_Throws(int length)
    {
        Assert.Throws<ArgumentException>(() => XEdDsa.Sign(new byte[length], [1, 2, 3]));
    }

    [Fact]
    public void Verify_ArbitraryBytes_ReturnsFalseWithoutThrowing()
    {
        var random = new Random(1234);
        var identity = Vectors.Identities[0];
        for (var i = 0; i < 500; i++)
        {
            var key = new byte[random.Next(2) == 0 ? 33 : random.Next(0, 40)];
            random.NextBytes(key);
            if (key.Length > 0 && random.Next(2) == 0)
            {
                key[0] = KeyFormat.ECPublicKeyType;
            }

            var signature = new byte[random.Next(2) == 0 ? 64 : random.Next(0, 70)];
            random.NextBytes(signature);

            Assert.False(XEdDsa.Verify(key, identity.Signatures[1].Message, signature));
            Assert.False(XEdDsa.Verify(identity.PublicKey, identity.Signatures[1].Message, signature));
        }
    }
}
