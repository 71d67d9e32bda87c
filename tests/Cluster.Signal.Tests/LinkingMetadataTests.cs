namespace Cluster.Signal.Tests;

public sealed class LinkingMetadataTests
{
    public static TheoryData<string> Cases { get; } = new(Vectors.Adv.Select(adv => adv.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void TryParse_JsBuiltBytes_ReadsEveryField(string name)
    {
        var expected = Vectors.AdvCase(name).LinkingMetadata;

        Assert.True(LinkingMetadata.TryParse(expected.Bytes, out var metadata, out var error), error?.Message);
        Assert.Equal(expected.AccountId, metadata.AccountId);
        Assert.Equal(expected.KeyIndex, metadata.KeyIndex);
        Assert.Equal(expected.TimestampMs, metadata.TimestampMs);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ToBytes_JsCaseFields_EqualsJsBuiltBytes(string name)
    {
        var expected = Vectors.AdvCase(name).LinkingMetadata;

        var metadata = new LinkingMetadata(expected.AccountId, expected.KeyIndex, expected.TimestampMs);

        Assert.Equal(expected.Bytes, metadata.ToBytes());
    }

    [Fact]
    public void TryParse_EveryTruncation_ReturnsTruncated()
    {
        var bytes = Vectors.AdvCase("first-companion").LinkingMetadata.Bytes;

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(LinkingMetadata.TryParse(bytes.AsSpan(0, length), out _, out var error));
            Assert.Equal(FormatProblem.Truncated, error.Problem);
        }
    }

    [Fact]
    public void TryParse_TrailingByte_ReturnsTrailingBytes()
    {
        byte[] bytes = [.. Vectors.AdvCase("first-companion").LinkingMetadata.Bytes, 0];

        Assert.False(LinkingMetadata.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.TrailingBytes, error.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void TryParse_OtherVersion_ReturnsUnsupportedVersion(byte version)
    {
        var bytes = Vectors.AdvCase("first-companion").LinkingMetadata.Bytes.ToArray();
        bytes[0] = version;

        Assert.False(LinkingMetadata.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.UnsupportedVersion, error.Problem);
    }

    [Fact]
    public void TryParse_InvalidUtf8AccountId_ReturnsInvalidUtf8()
    {
        byte[] bytes = [1, 0, 2, 0xC3, 0x28, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];

        Assert.False(LinkingMetadata.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.InvalidUtf8, error.Problem);
    }

    [Fact]
    public void TryParse_TimestampBeyondInt64_ReturnsOutOfRange()
    {
        byte[] bytes = [1, 0, 1, (byte)'+', 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0];

        Assert.False(LinkingMetadata.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.OutOfRange, error.Problem);
    }

    [Fact]
    public void TryParse_EmptyAccountId_IsWellFormed()
    {
        var bytes = new LinkingMetadata(string.Empty, 1, 2).ToBytes();

        Assert.True(LinkingMetadata.TryParse(bytes, out var metadata, out _));
        Assert.Equal(new LinkingMetadata(string.Empty, 1, 2), metadata);
    }

    [Fact]
    public void Constructor_NegativeTimestamp_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinkingMetadata("+15551230001", 1, -1));
    }

    [Fact]
    public void Constructor_AccountIdOver65535Bytes_Throws()
    {
        Assert.Throws<ArgumentException>(() => new LinkingMetadata(new string('1', ushort.MaxValue + 1), 1, 0));
    }
}
