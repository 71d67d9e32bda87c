namespace Cluster.Signal.Tests;

public sealed class KeyFormatTests
{
    public static TheoryData<string> KeyProblemCases { get; } = new(
        Vectors.SignatureEdgeCases.Where(edge => edge.KeyProblem is not null).Select(edge => edge.Name));

    public static TheoryData<string> SignatureProblemCases { get; } = new(
        Vectors.SignatureEdgeCases.Where(edge => edge.SignatureProblem is not null).Select(edge => edge.Name));

    [Fact]
    public void ValidateECPublicKey_LibsignalKeys_ReturnsNull()
    {
        var keys = Vectors.Identities.Select(identity => identity.PublicKey)
            .Concat(Vectors.PreKeyUploads.SelectMany(upload =>
                new[] { upload.IdentityKey, upload.SignedPreKey.PublicKey }
                    .Concat(upload.OneTimePreKeys.Select(key => key.PublicKey))));

        Assert.All(keys, key => Assert.Null(KeyFormat.ValidateECPublicKey(key)));
    }

    [Theory]
    [MemberData(nameof(KeyProblemCases))]
    public void ValidateECPublicKey_MalformedKey_NamesTheProblem(string name)
    {
        var edge = Vectors.SignatureEdgeCase(name);

        var error = KeyFormat.ValidateECPublicKey(edge.PublicKey);

        Assert.Equal(edge.KeyProblem, error?.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(32)]
    [InlineData(34)]
    [InlineData(1569)]
    public void ValidateECPublicKey_WrongLength_SaysExpectedAndActualLength(int length)
    {
        var key = new byte[length];
        if (length > 0)
        {
            key[0] = KeyFormat.ECPublicKeyType;
        }

        var error = KeyFormat.ValidateECPublicKey(key);

        Assert.Equal(FormatProblem.WrongLength, error?.Problem);
        Assert.Contains("33 bytes", error?.Message, StringComparison.Ordinal);
        Assert.Contains($"got {length}", error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateECPublicKey_KemTypeByte_SaysWhichTypeByte()
    {
        var key = Vectors.Identities[0].PublicKey.ToArray();
        key[0] = KeyFormat.KemPublicKeyType;

        var error = KeyFormat.ValidateECPublicKey(key);

        Assert.Equal(FormatProblem.WrongType, error?.Problem);
        Assert.Contains("0x08", error?.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", null)]
    [InlineData("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", FormatProblem.NonCanonical)]
    [InlineData("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", FormatProblem.NonCanonical)]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000080", FormatProblem.NonCanonical)]
    public void ValidateECPublicKey_AroundTheFieldPrime_RejectsOnlyUnreducedValues(string uHex, FormatProblem? expected)
    {
        byte[] key = [KeyFormat.ECPublicKeyType, .. Convert.FromHexString(uHex)];

        Assert.Equal(expected, KeyFormat.ValidateECPublicKey(key)?.Problem);
    }

    [Fact]
    public void ValidateKemPublicKey_LibsignalKyberKeys_ReturnsNull()
    {
        var keys = Vectors.PreKeyUploads.SelectMany(upload =>
            upload.KemOneTimeKeys.Append(upload.KemLastResortKey).Select(key => key.PublicKey));

        Assert.All(keys, key => Assert.Null(KeyFormat.ValidateKemPublicKey(key)));
    }

    [Theory]
    [InlineData(1568)]
    [InlineData(1570)]
    [InlineData(33)]
    public void ValidateKemPublicKey_WrongLength_ReturnsWrongLength(int length)
    {
        var key = new byte[length];
        key[0] = KeyFormat.KemPublicKeyType;

        var error = KeyFormat.ValidateKemPublicKey(key);

        Assert.Equal(FormatProblem.WrongLength, error?.Problem);
        Assert.Contains("1569 bytes", error?.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x05)]
    [InlineData(0x0A)]
    public void ValidateKemPublicKey_OtherTypeByte_ReturnsWrongType(byte type)
    {
        var key = Vectors.PreKeyUploads[0].KemLastResortKey.PublicKey.ToArray();
        key[0] = type;

        Assert.Equal(FormatProblem.WrongType, KeyFormat.ValidateKemPublicKey(key)?.Problem);
    }

    [Theory]
    [MemberData(nameof(SignatureProblemCases))]
    public void ValidateSignature_WrongLength_ReturnsWrongLength(string name)
    {
        var edge = Vectors.SignatureEdgeCase(name);

        Assert.Equal(edge.SignatureProblem, KeyFormat.ValidateSignature(edge.Signature)?.Problem);
    }

    [Fact]
    public void ValidateSignature_LibsignalSignatures_ReturnsNull()
    {
        Assert.All(
            Vectors.Identities.SelectMany(identity => identity.Signatures),
            signed => Assert.Null(KeyFormat.ValidateSignature(signed.Signature)));
    }
}
