namespace Cluster.Signal.Tests;

public sealed class KeyIndexListTests
{
    public static TheoryData<string> Cases { get; } = new(Vectors.Adv.Select(adv => adv.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void TryParse_JsBuiltBytes_ReadsEveryField(string name)
    {
        var expected = Vectors.AdvCase(name).KeyIndexList;

        Assert.True(KeyIndexList.TryParse(expected.Bytes, out var list, out var error), error?.Message);
        Assert.Equal(expected.AccountId, list.AccountId);
        Assert.Equal(expected.TimestampMs, list.TimestampMs);
        Assert.Equal(expected.CurrentIndex, list.CurrentIndex);
        Assert.Equal(expected.ValidIndexes, list.ValidIndexes);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ToBytes_JsCaseFields_EqualsJsBuiltBytes(string name)
    {
        var expected = Vectors.AdvCase(name).KeyIndexList;

        var list = new KeyIndexList(expected.AccountId, expected.TimestampMs, expected.CurrentIndex, expected.ValidIndexes);

        Assert.Equal(expected.Bytes, list.ToBytes());
    }

    [Fact]
    public void TryParse_EveryTruncation_ReturnsTruncated()
    {
        var bytes = Vectors.AdvCase("several-companions").KeyIndexList.Bytes;

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(KeyIndexList.TryParse(bytes.AsSpan(0, length), out _, out var error));
            Assert.Equal(FormatProblem.Truncated, error.Problem);
        }
    }

    [Fact]
    public void TryParse_TrailingByte_ReturnsTrailingBytes()
    {
        byte[] bytes = [.. Vectors.AdvCase("several-companions").KeyIndexList.Bytes, 0];

        Assert.False(KeyIndexList.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.TrailingBytes, error.Problem);
    }

    [Fact]
    public void TryParse_OtherVersion_ReturnsUnsupportedVersion()
    {
        var bytes = Vectors.AdvCase("several-companions").KeyIndexList.Bytes.ToArray();
        bytes[0] = 2;

        Assert.False(KeyIndexList.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.UnsupportedVersion, error.Problem);
    }

    [Theory]
    [InlineData(new uint[] { 2, 2 })]
    [InlineData(new uint[] { 5, 2 })]
    [InlineData(new uint[] { 1, 3, 3, 4 })]
    public void TryParse_IndexesNotStrictlyAscending_ReturnsNotAscending(uint[] indexes)
    {
        byte[] bytes =
        [
            1, 0, 1, (byte)'+', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, (byte)indexes.Length,
            .. indexes.SelectMany(index => new byte[] { 0, 0, 0, (byte)index }),
        ];

        Assert.False(KeyIndexList.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.NotAscending, error.Problem);
    }

    [Fact]
    public void TryParse_CountLargerThanIndexes_ReturnsTruncated()
    {
        var bytes = Vectors.AdvCase("first-companion").KeyIndexList.Bytes.ToArray();
        bytes[^5] = 2;

        Assert.False(KeyIndexList.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.Truncated, error.Problem);
    }

    [Fact]
    public void TryParse_CountSmallerThanIndexes_ReturnsTrailingBytes()
    {
        var bytes = Vectors.AdvCase("first-companion").KeyIndexList.Bytes.ToArray();
        bytes[^5] = 0;

        Assert.False(KeyIndexList.TryParse(bytes, out _, out var error));
        Assert.Equal(FormatProblem.TrailingBytes, error.Problem);
    }

    [Fact]
    public void Constructor_IndexesNotAscending_Throws()
    {
        Assert.Throws<ArgumentException>(() => new KeyIndexList("+15551230001", 1, 3, [3, 1]));
    }

    [Fact]
    public void Constructor_NegativeTimestamp_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyIndexList("+15551230001", -1, 3, [1]));
    }

    [Fact]
    public void ValidIndexes_CallerArrayChangedAfterwards_ListUnchanged()
    {
        uint[] indexes = [1, 2];
        var list = new KeyIndexList("+15551230001", 1, 2, indexes);

        indexes[0] = 7;

        Assert.Equal([1u, 2u], list.ValidIndexes);
    }
}
